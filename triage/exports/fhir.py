"""FHIR R4 export of a triage record: a Bundle of the Questionnaire the reports answer, then
QuestionnaireResponse + RiskAssessment pairs.

Pure data in, plain JSON-ready dicts out (no Flask, no database, no FHIR library at run time),
so the web layer and the store can both call it; the tests validate the output against R4
(SMART's `fhirclient` models, generated from FHIR 4.0.1) and the `fhir.resources` R4B models.

What it means (policy v2 review):
- The QuestionnaireResponse holds what the person reported: each symptom (SNOMED CT coded
  where the knowledge base has a checked code) with its severity (SNOMED CT qualifier values),
  the hours, the risk factors and "getting worse"; the Questionnaire defines every linkId.
- The RiskAssessment predicts the outcomes that matter, not the symptoms: the need for
  clinician review (low for `expected`, moderate for `monitor`, high for `contact clinician`)
  and the need for emergency care (high only with the emergency flag). Its `basis` is the
  QuestionnaireResponse; each rationale gives the findings in the nurse's words, rule and source.

Choices, and why:
- A record holds no patient data by design, but R4 makes `RiskAssessment.subject` 1..1: the
  subject is a logical Reference (our reference code as identifier, display "Anonymous patient,
  record ...") that points at no Patient resource.
- Entries use `urn:uuid:` fullUrls made with uuid5 from the reference and sequence number, so
  exporting the same record twice gives the same ids (stable diffs, idempotent imports).
- The engine's answer is exported as it was given; a nurse override is added beside it (a note
  and a meta tag), never written over it, so the audit trail shows both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from triage.exports.organization import Organization
from triage.knowledge.base import KnowledgeBase
from triage.vocabulary import CHANNELS, SEVERITIES, Disposition

REFERENCE_SYSTEM = "urn:microneedling-triage:reference"
NURSE_SYSTEM = "urn:microneedling-triage:nurse"
CHANNEL_SYSTEM = "urn:microneedling-triage:channel"
FLAG_SYSTEM = "urn:microneedling-triage:flag"
FACTOR_SYSTEM = "urn:microneedling-triage:factor"
SNOMED_SYSTEM = "http://snomed.info/sct"
RISK_PROBABILITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/risk-probability"
QUESTIONNAIRE_URL = "urn:microneedling-triage:questionnaire"

# Fixed namespace for the uuid5 ids; changing it changes every exported id.
_NAMESPACE = uuid.UUID("6f1c3a52-8e0b-5d4e-9a7f-2b1d0c9e8a41")

# Disposition -> how likely the person needs a clinician's review, on HL7's risk-probability scale.
_REVIEW_RISK = {Disposition.EXPECTED: "low", Disposition.MONITOR: "moderate", Disposition.CONTACT_CLINICIAN: "high"}
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
    """A FHIR R4 Bundle (type collection) holding, per entry, the report as a
    QuestionnaireResponse and the engine's answer as a RiskAssessment based on it; with the
    clinic the answers send the patient to (`organization`), that clinic as an Organization."""
    if not reference:
        raise ValueError("reference must not be empty")
    ordered = sorted(entries, key=lambda e: e.seq)
    bundle_entries: list[dict[str, Any]] = [
        {"fullUrl": _urn(reference, 0, "questionnaire"), "resource": questionnaire(kb)}
    ]
    if organization is not None:
        bundle_entries.append(
            {"fullUrl": _urn(reference, 0, "organization"), "resource": organization_resource(organization)}
        )
    for entry in ordered:
        if entry.channel not in CHANNELS:
            raise ValueError(f"unknown channel {entry.channel!r}; valid: {', '.join(CHANNELS)}")
        qr_url = _urn(reference, entry.seq, "questionnaire-response")
        ra_url = _urn(reference, entry.seq, "risk-assessment")
        bundle_entries.append({"fullUrl": qr_url, "resource": _questionnaire_response(reference, entry, kb)})
        bundle_entries.append({"fullUrl": ra_url, "resource": _risk_assessment(reference, entry, kb, qr_url)})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": REFERENCE_SYSTEM, "value": reference},
        "type": "collection",
        "timestamp": _instant(exported_at),
        "entry": bundle_entries,
    }


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


def _symptom_option(kb: KnowledgeBase, sid: str) -> dict[str, Any]:
    coding = snomed_coding(kb, sid)
    return {"valueCoding": coding} if coding is not None else {"valueString": kb.symptom_name(sid)}


def questionnaire(kb: KnowledgeBase) -> dict[str, Any]:
    """The Questionnaire whose linkIds the QuestionnaireResponses use (one per knowledge base)."""
    severity_options = [_severity_answer(kb, s) for s in SEVERITIES]
    symptom_items = [
        {
            "linkId": f"symptom-{sid}",
            "text": s.name,
            "type": "open-choice",  # SNOMED coded where a code was checked, else the name as text
            "answerOption": [_symptom_option(kb, sid)],
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
                "answerOption": [_symptom_option(kb, sid) for sid in kb.symptoms],
            },
        ],
    }


def _questionnaire_response(reference: str, entry: ExportEntry, kb: KnowledgeBase) -> dict[str, Any]:
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
    if entry.author:
        resource["author"] = _nurse(entry.author)
    return resource


def _nurse(username: str) -> dict[str, Any]:
    return {"identifier": {"system": NURSE_SYSTEM, "value": username}, "display": f"Nurse {username}"}


def _risk(code: str, words: str) -> dict[str, Any]:
    return {
        "coding": [{"system": RISK_PROBABILITY_SYSTEM, "code": code, "display": f"{code.capitalize()} likelihood"}],
        "text": f"{code} ({words})",
    }


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
    """What the answer predicts: the need for clinician review and for emergency care (not the
    symptoms, which the QuestionnaireResponse in `basis` holds)."""
    disposition, emergency = answer["disposition"], bool(answer["emergency"])
    findings: list[Mapping[str, Any]] = answer["findings"]
    review = {
        "outcome": {"text": REVIEW_OUTCOME},
        "qualitativeRisk": _risk(_REVIEW_RISK.get(disposition, "high"), f"triage answer: {disposition}"),
        "rationale": " ".join(_explained(kb, f) for f in findings),
    }
    urgent = [f for f in findings if f.get("emergency")]
    emergency_care = {
        "outcome": {"text": EMERGENCY_OUTCOME},
        "qualitativeRisk": _risk("high", "EMERGENCY flag") if emergency else _risk("low", "no emergency sign reported"),
        "rationale": (
            "EMERGENCY. " + " ".join(_explained(kb, f) for f in urgent)
            if emergency
            else "No finding of the report is an emergency sign."
        ),
    }
    return [review, emergency_care]


def _rules(findings: Iterable[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(f["rule"] for f in findings))


def _risk_assessment(reference: str, entry: ExportEntry, kb: KnowledgeBase, basis_url: str) -> dict[str, Any]:
    answer = entry.answer
    findings: list[Mapping[str, Any]] = answer["findings"]
    version = answer["kb_version"]
    digest = answer.get("kb_digest") or "not recorded"  # answers stored before digests have none
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
    for o in entry.overrides:
        flag = " with EMERGENCY flag" if o.get("emergency") else ""
        notes.append(
            {
                "authorString": f"Nurse {o['nurse']}",
                "time": _instant(o["at"]),
                "text": (
                    f"NURSE OVERRIDE: disposition {o['disposition']}{flag} (engine answer {answer['disposition']} "
                    f"kept above) by nurse {o['nurse']} at {_instant(o['at'])}. Reason: {o['reason']}"
                ),
            }
        )
    if entry.overrides:
        tags.append({"system": FLAG_SYSTEM, "code": "nurse-override", "display": "Nurse override"})
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "meta": {"tag": tags},
        "identifier": [_entry_identifier(reference, entry.seq)],
        "status": "final",
        "method": {"text": f"microneedling-triage knowledge base {version}, content digest {digest}"},
        "code": {"text": "Microneedling side-effect triage"},
        "subject": {
            "identifier": {"system": REFERENCE_SYSTEM, "value": reference},
            "display": f"Anonymous patient, record {reference}",
        },
        "occurrenceDateTime": _instant(entry.created_at),
        "basis": [{"reference": basis_url}],
        "prediction": _predictions(kb, answer),
        "note": notes,
    }
    if mitigation := _mitigation(answer):
        resource["mitigation"] = mitigation
    return resource


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
        task["owner"] = {"identifier": {"system": NURSE_SYSTEM, "value": owner}, "display": owner}
    return {"fullUrl": _urn(reference, request.item, "call-back-task"), "resource": task}
