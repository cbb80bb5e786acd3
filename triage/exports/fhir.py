"""FHIR R4 export of a triage record: a Bundle (type collection) an EHR can take as it is.

Pure data in, plain JSON-ready dicts out (no Flask, no database, no FHIR library at run time),
so the web layer and the store can both call it; the tests validate the output against R4
(SMART's `fhirclient` models, generated from FHIR 4.0.1) and the `fhir.resources` R4B models.

What the bundle holds, in order (`record_bundle`):
- the Questionnaire the reports answer (symptom items SNOMED CT coded where the knowledge base
  has a checked code) and the product's CodeSystem (triage_codes: levels, emergency flag,
  outcomes);
- the clinic as an Organization (with a clinic profile), the engine as a Device per knowledge
  base that decided (fhir_actors), and each nurse as a Practitioner without a name;
- per assessment: the report as a QuestionnaireResponse, the engine's answer as a
  RiskAssessment performed by the Device, and per nurse override a RiskAssessment performed by
  the nurse with the engine's answer as `basis` and the reason as a note, and a Provenance
  (who, when) of it.

What it means (policy v2 review):
- The RiskAssessment predicts the outcomes that matter, not the symptoms: clinician review,
  with the triage level (expected, monitor, contact clinician) as its qualitative risk, and
  emergency care, with the emergency flag. Its `basis` is the QuestionnaireResponse; each
  rationale gives the findings in the nurse's words, rule and source.

Choices, and why:
- A record holds no patient data by design, but R4 makes `RiskAssessment.subject` 1..1: the
  subject is a logical Reference (our reference code as identifier, display "Anonymous patient,
  record ...") that points at no Patient resource.
- Entries use `urn:uuid:` fullUrls made with uuid5 from the reference and what they hold, so
  exporting the same record twice gives the same ids (stable diffs, idempotent imports).
- The engine's answer is exported as it was given; a nurse override is a RiskAssessment of its
  own beside it, never written over it, so the audit trail shows both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from triage.exports import triage_codes
from triage.exports.fhir_actors import (
    ENGINE_NAME,
    NURSE_SYSTEM,
    UNRECORDED_DIGEST,
    engine_device,
    nurse_id,
    practitioner,
)
from triage.exports.organization import Organization
from triage.knowledge.base import KnowledgeBase
from triage.vocabulary import CHANNELS, SEVERITIES

REFERENCE_SYSTEM = "urn:microneedling-triage:reference"
CHANNEL_SYSTEM = "urn:microneedling-triage:channel"
FLAG_SYSTEM = "urn:microneedling-triage:flag"
FACTOR_SYSTEM = "urn:microneedling-triage:factor"
SNOMED_SYSTEM = "http://snomed.info/sct"
PROVENANCE_PARTICIPANT_SYSTEM = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
QUESTIONNAIRE_URL = "urn:microneedling-triage:questionnaire"

# Fixed namespace for the uuid5 ids; changing it changes every exported id.
_NAMESPACE = uuid.UUID("6f1c3a52-8e0b-5d4e-9a7f-2b1d0c9e8a41")

REVIEW_OUTCOME = "Needs same-day clinician review"
EMERGENCY_OUTCOME = "Needs emergency care"
# A safety-net line's level as the mitigation says it (triage.answer.safety_net)
SAFETY_NET_LEVELS = {"emergency": "call now", "clinic": "contact the clinic"}


@dataclass(frozen=True)
class ExportEntry:
    """One assessment in a record, as the store hands it to the export."""

    seq: int
    created_at: datetime  # aware, UTC
    channel: str  # a Channel value
    answer: dict[str, Any]  # exactly Assessment.to_dict()
    # Each nurse override, oldest first: {"disposition", "emergency", "reason", "nurse", "at": datetime}
    overrides: tuple[dict[str, Any], ...] = ()
    author: str | None = None  # nurse username, or None for the patient form and API


def record_bundle(
    reference: str,
    entries: Sequence[ExportEntry],
    kb: KnowledgeBase,
    exported_at: datetime,
    organization: Organization | None = None,
) -> dict[str, Any]:
    """A FHIR R4 Bundle (type collection) of a record: the definitions and who decided first,
    then per entry the report, the engine's answer and any nurse overrides (module docstring).
    With the clinic the answers send the patient to (`organization`), that clinic as an
    Organization, referenced from the engine's Device and the reports."""
    if not reference:
        raise ValueError("reference must not be empty")
    ordered = sorted(entries, key=lambda e: e.seq)
    for entry in ordered:
        if entry.channel not in CHANNELS:
            raise ValueError(f"unknown channel {entry.channel!r}; valid: {', '.join(CHANNELS)}")
    org_url = _urn(reference, 0, "organization") if organization is not None else None
    bundle_entries = [
        _entry(_urn(reference, 0, "questionnaire"), questionnaire(kb)),
        _entry(_urn(reference, 0, "code-system"), triage_codes.code_system()),
    ]
    if organization is not None and org_url is not None:
        bundle_entries.append(_entry(org_url, organization_resource(organization)))
    bundle_entries += _actor_entries(reference, ordered, org_url)
    for entry in ordered:
        bundle_entries += _assessment_entries(reference, entry, kb, org_url)
    return {
        "resourceType": "Bundle",
        "identifier": {"system": REFERENCE_SYSTEM, "value": reference},
        "type": "collection",
        "timestamp": _instant(exported_at),
        "entry": bundle_entries,
    }


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource}


def _actor_entries(reference: str, entries: Sequence[ExportEntry], org_url: str | None) -> list[dict[str, Any]]:
    """The engine's Device per knowledge base that decided, then each nurse as a Practitioner."""
    engines = dict.fromkeys(_engine_key(e.answer) for e in entries)
    nurses = dict.fromkeys(
        [e.author for e in entries if e.author] + [str(o["nurse"]) for e in entries for o in e.overrides]
    )
    return [
        *(_entry(_device_url(reference, v, d), engine_device(v, d, org_url)) for v, d in engines),
        *(_entry(_nurse_url(reference, n), practitioner(n)) for n in nurses),
    ]


def _assessment_entries(
    reference: str, entry: ExportEntry, kb: KnowledgeBase, org_url: str | None
) -> list[dict[str, Any]]:
    """One assessment: the report, the engine's answer, then each override and its Provenance."""
    qr_url = _urn(reference, entry.seq, "questionnaire-response")
    ra_url = _urn(reference, entry.seq, "risk-assessment")
    device_url = _device_url(reference, *_engine_key(entry.answer))
    out = [
        _entry(qr_url, _questionnaire_response(reference, entry, kb, org_url)),
        _entry(ra_url, _risk_assessment(reference, entry, kb, qr_url, device_url)),
    ]
    for n, override in enumerate(entry.overrides, start=1):
        override_url = _urn(reference, entry.seq, f"override/{n}")
        nurse_url = _nurse_url(reference, str(override["nurse"]))
        out.append(_entry(override_url, _override_assessment(reference, entry, n, override, ra_url, qr_url, nurse_url)))
        out.append(
            _entry(
                _urn(reference, entry.seq, f"override/{n}/provenance"),
                _override_provenance(override, override_url, ra_url, nurse_url, org_url),
            )
        )
    return out


def _engine_key(answer: Mapping[str, Any]) -> tuple[str, str]:
    return str(answer["kb_version"]), str(answer.get("kb_digest") or UNRECORDED_DIGEST)


def _device_url(reference: str, kb_version: str, kb_digest: str) -> str:
    return _urn(reference, 0, f"device/{kb_version}|{kb_digest}")


def _nurse_url(reference: str, username: str) -> str:
    return _urn(reference, 0, f"practitioner/{nurse_id(username)}")


def organization_resource(org: Organization) -> dict[str, Any]:
    """The clinic as an R4 Organization: its name, phone, country and whom to call out of hours."""
    out_of_hours: dict[str, Any] = {"purpose": {"text": "Out of hours"}}
    if org.out_of_hours_is_phone:
        out_of_hours["telecom"] = [{"system": "phone", "value": org.out_of_hours, "use": "work"}]
    else:
        out_of_hours["purpose"]["text"] = f"Out of hours: {org.out_of_hours}"
    return {
        "resourceType": "Organization",
        "active": True,
        "name": org.name,
        "telecom": [{"system": "phone", "value": org.phone, "use": "work", "rank": 1}],
        "address": [{"use": "work", "country": org.country}],
        "contact": [out_of_hours],
    }


def _urn(reference: str, seq: int, kind: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{reference}/{seq}/{kind}')}"


def _instant(value: datetime | str) -> str:
    """An R4 instant/dateTime in UTC; naive datetimes are refused (R4 needs the offset)."""
    if isinstance(value, str):  # already serialised by the caller
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value!r} has no time zone; give an aware (UTC) datetime")
    return value.astimezone(UTC).isoformat()


def _entry_identifier(reference: str, seq: int) -> dict[str, str]:
    return {"system": REFERENCE_SYSTEM, "value": f"{reference}/{seq}"}


def snomed_coding(kb: KnowledgeBase, sid: str) -> dict[str, str] | None:
    """The symptom's SNOMED CT Coding, or None when the KB has no checked code for it."""
    s = kb.symptoms.get(sid)
    if s is None or s.snomed is None:
        return None
    return {"system": SNOMED_SYSTEM, "code": s.snomed.code, "display": s.snomed.display}


def _symptom_answer(kb: KnowledgeBase, sid: str) -> dict[str, Any]:
    coding = snomed_coding(kb, sid)
    return {"valueCoding": coding} if coding is not None else {"valueString": kb.symptom_name(sid)}


def _severity_answer(kb: KnowledgeBase, severity: str) -> dict[str, Any]:
    coded = kb.header.severity_snomed.get(severity)  # type: ignore[call-overload]
    if coded is None:
        return {"valueString": severity}
    return {"valueCoding": {"system": SNOMED_SYSTEM, "code": coded.code, "display": coded.display}}


def questionnaire(kb: KnowledgeBase) -> dict[str, Any]:
    """The Questionnaire whose linkIds the QuestionnaireResponses use (one per knowledge base)."""
    severity_options = [_severity_answer(kb, s) for s in SEVERITIES]
    symptom_items = [
        {
            "linkId": f"symptom-{sid}",
            **({"code": [coding]} if (coding := snomed_coding(kb, sid)) is not None else {}),
            "text": s.name,
            "type": "open-choice",  # SNOMED coded where a code was checked, else the name as text
            "answerOption": [_symptom_answer(kb, sid)],
            "item": [
                {
                    "linkId": f"symptom-{sid}-severity",
                    "text": "Severity",
                    "type": "choice" if kb.header.severity_snomed else "string",
                    **({"answerOption": severity_options} if kb.header.severity_snomed else {}),
                }
            ],
        }
        for sid, s in kb.symptoms.items()
    ]
    return {
        "resourceType": "Questionnaire",
        "url": QUESTIONNAIRE_URL,
        "version": kb.version,
        "title": "Symptoms after a microneedling session",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            {
                "linkId": "hours",
                "text": "Hours since the end of the microneedling session",
                "type": "decimal",
                "required": True,
            },
            *symptom_items,
            {
                "linkId": "factors",
                "text": "Risk factors reported",
                "type": "choice",
                "repeats": True,
                "answerOption": [
                    {"valueCoding": {"system": FACTOR_SYSTEM, "code": f, "display": kb.factor_label(f)}}
                    for f in kb.factors
                ],
            },
            {"linkId": "worsening", "text": "Getting worse", "type": "boolean", "required": True},
            {
                "linkId": "worse-symptoms",
                "text": "Symptoms getting worse",
                "type": "open-choice",
                "repeats": True,
                "answerOption": [_symptom_answer(kb, sid) for sid in kb.symptoms],
            },
        ],
    }


def _questionnaire_response(
    reference: str, entry: ExportEntry, kb: KnowledgeBase, org_url: str | None
) -> dict[str, Any]:
    report: Mapping[str, Any] = entry.answer["report"]
    items: list[dict[str, Any]] = [
        {
            "linkId": "hours",
            "text": "Hours since the end of the microneedling session",
            "answer": [{"valueDecimal": float(report["hours"])}],
        }
    ]
    for s in report["symptoms"]:
        sid, severity = s["id"], s["severity"]
        # R4 qrs-1: an item has either answers or child items, so the severity hangs off the answer.
        answer = _symptom_answer(kb, sid)
        answer["item"] = [
            {"linkId": f"symptom-{sid}-severity", "text": "Severity", "answer": [_severity_answer(kb, severity)]}
        ]
        items.append({"linkId": f"symptom-{sid}", "text": kb.symptom_name(sid), "answer": [answer]})
    if factors := list(report.get("factors", [])):
        items.append(
            {
                "linkId": "factors",
                "text": "Risk factors reported",
                "answer": [
                    {
                        "valueCoding": {
                            "system": FACTOR_SYSTEM,
                            "code": f,
                            "display": kb.factor_label(f),
                        }
                    }
                    for f in factors
                ],
            }
        )
    items.append(
        {"linkId": "worsening", "text": "Getting worse", "answer": [{"valueBoolean": bool(report["worsening"])}]}
    )
    if worse := list(report.get("worse_symptoms") or []):
        items.append(
            {
                "linkId": "worse-symptoms",
                "text": "Symptoms getting worse",
                "answer": [_symptom_answer(kb, sid) for sid in worse],
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "meta": {"tag": [{"system": CHANNEL_SYSTEM, "code": entry.channel}]},
        "identifier": _entry_identifier(reference, entry.seq),
        "questionnaire": f"{QUESTIONNAIRE_URL}|{entry.answer['kb_version']}",
        "status": "completed",
        "authored": _instant(entry.created_at),
        "item": items,
    }
    # Who received and recorded the answers: the nurse who typed them in, else the clinic's service.
    if entry.author:
        resource["author"] = {"reference": _nurse_url(reference, entry.author)}
    elif org_url is not None:
        resource["author"] = {"reference": org_url}
    return resource


def _about(kb: KnowledgeBase, finding: Mapping[str, Any]) -> str:
    if sid := finding.get("symptom"):
        return kb.symptom_name(sid)
    return " + ".join(kb.symptom_name(x) for x in finding.get("symptoms", [])) or "Whole report"


def _explained(kb: KnowledgeBase, finding: Mapping[str, Any]) -> str:
    """One finding in the nurse's words, with its rule and source."""
    reason = finding.get("nurse_reason") or finding["reason"]
    flag = ", EMERGENCY" if finding.get("emergency") else ""
    return (
        f"[{finding['disposition']}{flag}] {_about(kb, finding)}: {reason} "
        f"(rule {finding['rule']}; source: {finding['source']})"
    )


def _predictions(kb: KnowledgeBase, answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the answer predicts: the need for clinician review, at the answer's triage level,
    and for emergency care, with the emergency flag (not the symptoms, which the
    QuestionnaireResponse in `basis` holds)."""
    findings: list[Mapping[str, Any]] = answer["findings"]
    urgent = [f for f in findings if f.get("emergency")]
    return decision_predictions(
        str(answer["disposition"]),
        bool(answer["emergency"]),
        " ".join(_explained(kb, f) for f in findings),
        "EMERGENCY. " + " ".join(_explained(kb, f) for f in urgent)
        if urgent
        else "No finding of the report is an emergency sign.",
    )


def decision_predictions(
    disposition: str, emergency: bool, review_rationale: str, emergency_rationale: str
) -> list[dict[str, Any]]:
    """The two predictions of a decision, the engine's or a nurse's: clinician review with the
    triage level, emergency care with the emergency flag; both coded in the product's CodeSystem."""
    level = triage_codes.level_code(disposition)
    flag = triage_codes.EMERGENCY if emergency else triage_codes.NO_EMERGENCY
    return [
        {
            "outcome": triage_codes.concept(triage_codes.CLINICIAN_REVIEW, REVIEW_OUTCOME),
            "qualitativeRisk": triage_codes.concept(level),
            "rationale": review_rationale,
        },
        {
            "outcome": triage_codes.concept(triage_codes.EMERGENCY_CARE, EMERGENCY_OUTCOME),
            "qualitativeRisk": triage_codes.concept(flag),
            "rationale": emergency_rationale,
        },
    ]


def _rules(findings: Iterable[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(f["rule"] for f in findings))


def _subject(reference: str) -> dict[str, Any]:
    return {
        "identifier": {"system": REFERENCE_SYSTEM, "value": reference},
        "display": f"Anonymous patient, record {reference}",
    }


def _risk_assessment(
    reference: str, entry: ExportEntry, kb: KnowledgeBase, basis_url: str, device_url: str
) -> dict[str, Any]:
    """The engine's answer as it was given, performed by the engine's Device."""
    answer = entry.answer
    findings: list[Mapping[str, Any]] = answer["findings"]
    version, digest = _engine_key(answer)
    emergency = bool(answer["emergency"])
    recheck = answer.get("recheck_in_hours")
    engine = (
        f"Engine answer: {answer['disposition']}"
        + (" with EMERGENCY flag" if emergency else "")
        + (f"; re-check in {recheck:g} h" if recheck is not None else "")
        + f"; knowledge base {version} (content digest {digest}); rules: {', '.join(_rules(findings))}."
    )
    notes: list[dict[str, Any]] = [{"text": engine}]
    tags = [{"system": CHANNEL_SYSTEM, "code": entry.channel}]
    if emergency:
        notes.append({"text": f"EMERGENCY: {kb.header.emergency.nurse}"})
        tags.append({"system": FLAG_SYSTEM, "code": "emergency", "display": "Emergency"})
    if entry.overrides:  # the nurse's decision is a RiskAssessment of its own, based on this one
        tags.append({"system": FLAG_SYSTEM, "code": "overridden", "display": "Overridden by a nurse"})
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "meta": {"tag": tags},
        "identifier": [_entry_identifier(reference, entry.seq)],
        "status": "final",
        "method": {"text": f"microneedling-triage knowledge base {version}, content digest {digest}"},
        "code": {"text": "Microneedling side-effect triage"},
        "subject": _subject(reference),
        "occurrenceDateTime": _instant(entry.created_at),
        "performer": {"reference": device_url, "display": ENGINE_NAME},
        "basis": [{"reference": basis_url}],
        "prediction": _predictions(kb, answer),
        "note": notes,
    }
    if mitigation := _mitigation(answer):
        resource["mitigation"] = mitigation
    return resource


def _override_assessment(
    reference: str,
    entry: ExportEntry,
    n: int,
    override: Mapping[str, Any],
    engine_url: str,
    report_url: str,
    nurse_url: str,
) -> dict[str, Any]:
    """A nurse's override: the nurse's decision, performed by the nurse, based on the engine's
    answer (and the report it answered); the reason is the note."""
    disposition, emergency = str(override["disposition"]), bool(override.get("emergency"))
    said = f"Nurse override of the engine answer {entry.answer['disposition']}"
    reason = str(override["reason"])
    return {
        "resourceType": "RiskAssessment",
        "meta": {"tag": [{"system": FLAG_SYSTEM, "code": "nurse-override", "display": "Nurse override"}]},
        "identifier": [{"system": REFERENCE_SYSTEM, "value": f"{reference}/{entry.seq}/override/{n}"}],
        "status": "final",
        "code": {"text": "Microneedling side-effect triage"},
        "subject": _subject(reference),
        "occurrenceDateTime": _instant(override["at"]),
        "performer": {"reference": nurse_url},
        "basis": [{"reference": engine_url}, {"reference": report_url}],
        "prediction": decision_predictions(
            disposition,
            emergency,
            f"{said}. Reason: {reason}",
            f"{said}: EMERGENCY. Reason: {reason}" if emergency else f"{said}: no emergency flag.",
        ),
        "note": [{"authorReference": {"reference": nurse_url}, "time": _instant(override["at"]), "text": reason}],
    }


def _override_provenance(
    override: Mapping[str, Any], override_url: str, engine_url: str, nurse_url: str, org_url: str | None
) -> dict[str, Any]:
    """Who made an override and when: the nurse (for the clinic), revising the engine's answer."""
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": PROVENANCE_PARTICIPANT_SYSTEM, "code": "author", "display": "Author"}]},
        "who": {"reference": nurse_url},
    }
    if org_url is not None:
        agent["onBehalfOf"] = {"reference": org_url}
    return {
        "resourceType": "Provenance",
        "target": [{"reference": override_url}],
        "recorded": _instant(override["at"]),
        "reason": [{"text": str(override["reason"])}],
        "agent": [agent],
        "entity": [{"role": "revision", "what": {"reference": engine_url}}],
    }


def _mitigation(answer: Mapping[str, Any]) -> str:
    """The advice the person was given, then the safety net: what would make it more urgent
    (answers stored before it have none; an emergency has none)."""
    lines = list(answer.get("advice") or [])
    if net := answer.get("safety_net"):
        lines.append("Safety-net advice given:")
        for line in net:
            said_for = f" ({', '.join(line['symptoms'])})" if line.get("symptoms") else ""
            lines.append(f"- {SAFETY_NET_LEVELS.get(line['level'], line['level'])}{said_for}: {line['text']}")
    return "\n".join(lines)


# --- photos (issue 32) ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportPhoto:
    """A photo the patient added to a report, as the export names it: where a nurse's session
    fetches it (`url`; the export never inlines the image) and when it was uploaded."""

    seq: int  # the report (entry) it belongs to
    photo_id: int
    url: str
    uploaded_at: datetime  # aware, UTC: the upload's time, not the file's
    width: int
    height: int


def photo_media(reference: str, photos: Iterable[ExportPhoto]) -> list[dict[str, Any]]:
    """Bundle entries: each photo as an R4 Media, `partOf` the QuestionnaireResponse of its
    report, its content a URL (JPEG) rather than inlined data."""
    entries = []
    for photo in photos:
        media = {
            "resourceType": "Media",
            "identifier": [{"system": REFERENCE_SYSTEM, "value": f"{reference}/{photo.seq}/photo/{photo.photo_id}"}],
            "status": "completed",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/media-type", "code": "image", "display": "Image"}
                ]
            },
            "partOf": [{"reference": _urn(reference, photo.seq, "questionnaire-response")}],
            "issued": _instant(photo.uploaded_at),
            "width": photo.width,
            "height": photo.height,
            "content": {
                "contentType": "image/jpeg",
                "url": photo.url,
                "title": f"Photo from the patient, report {photo.seq}",
            },
            "note": [{"text": "Sent by the patient; orientation applied and every piece of metadata removed."}],
        }
        entries.append({"fullUrl": _urn(reference, photo.seq, f"photo-{photo.photo_id}"), "resource": media})
    return entries


# --- call-back requests (issue 31) ----------------------------------------------------------

CALL_BACK_SYSTEM = "urn:microneedling-triage:call-back"


@dataclass(frozen=True)
class CallBackRequest:
    """A patient's call-back request as the export sees it: never the phone number, never the
    nurse's note; the outcome and who closed it are the clinic's own work."""

    item: int
    seq: int  # the entry whose answer it is about
    requested_at: datetime
    window: str
    claimed_by: str | None
    attempts: int
    outcome: str | None
    closed_at: datetime | None
    closed_by: str | None


def call_back_task(reference: str, request: CallBackRequest) -> dict[str, Any]:
    """A call-back request as an R4 Task (a Bundle entry): requested, in progress once a nurse
    has claimed it, completed when closed; its focus is the RiskAssessment of that answer."""
    status = "completed" if request.closed_at else ("in-progress" if request.claimed_by else "requested")
    task: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": CALL_BACK_SYSTEM, "value": f"{reference}/{request.item}"}],
        "status": status,
        "intent": "order",
        "priority": "urgent",
        "code": {"text": "Call the patient back"},
        "description": f"The patient asked the clinic to call ({request.window}).",
        "focus": {"reference": _urn(reference, request.seq, "risk-assessment")},
        "for": {
            "identifier": {"system": REFERENCE_SYSTEM, "value": reference},
            "display": f"Anonymous patient, record {reference}",
        },
        "authoredOn": _instant(request.requested_at),
        "lastModified": _instant(request.closed_at or request.requested_at),
    }
    if request.outcome:
        task["businessStatus"] = {"text": f"{request.outcome} ({request.attempts} calls)"}
    owner = request.closed_by or request.claimed_by
    if owner:
        # the nurse as every export names one: an opaque id, never the account name (fhir_actors)
        task["owner"] = {"identifier": {"system": NURSE_SYSTEM, "value": nurse_id(owner)}}
    return {"fullUrl": _urn(reference, request.item, "call-back-task"), "resource": task}
