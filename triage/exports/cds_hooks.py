"""CDS Hooks 2.0 cards for a triage answer, and the discovery document.

Pure functions over `Assessment.to_dict()` (no Flask, no database), so whichever endpoint
serves `/cds-services` only has to call them. One card per answer: the EHR shows the summary
line and, on request, the findings in markdown with each rule, reason and source, all in the
nurse's words (a card is read by a clinician, never by the patient).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from triage.exports import triage_codes
from triage.exports.fhir import QUESTIONNAIRE_URL
from triage.exports.organization import Organization
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.digest import short
from triage.vocabulary import Disposition

SERVICE_ID = "microneedling-triage"
HOOK = "patient-view"
PREFETCH_KEY = "triageResponse"
# The patient's triage reports, newest first; the service reads the newest (any version of our Questionnaire).
PREFETCH_QUERY = (
    "QuestionnaireResponse?patient={{context.patientId}}"
    f"&questionnaire={QUESTIONNAIRE_URL}&status=completed,amended&_sort=-authored&_count=1"
)
REPORT_EXTENSION = "org.microneedling-triage.report"  # where a caller may send our report itself
SUMMARY_MAX = 139  # the spec: a "<140-character summary"
# The card's last line: what the card is, for the clinician reading it (not the patient's disclaimer).
NURSE_DISCLAIMER = (
    "Rule-based decision support from the patient's own report; it supports, and does not replace, clinical judgement."
)


def indicator(answer: Mapping[str, Any]) -> str:
    """info | warning | critical for expected | monitor | contact clinician (and any emergency)."""
    if answer["emergency"] or answer["disposition"] == Disposition.CONTACT_CLINICIAN:
        return "critical"
    return "warning" if answer["disposition"] == Disposition.MONITOR else "info"


def _names(answer: Mapping[str, Any], kb: KnowledgeBase) -> list[str]:
    ids = [s["id"] for s in answer["report"]["symptoms"]]
    return [kb.symptom_name(i) for i in ids]


def _label(answer: Mapping[str, Any], kb: KnowledgeBase) -> str:
    """The answer's triage level in the knowledge base's words."""
    return kb.header.dispositions[Disposition(answer["disposition"]).key].label


def summary(answer: Mapping[str, Any], kb: KnowledgeBase) -> str:
    """One line under 140 characters: the answer, the symptoms (shortened to fit), the hours."""
    head = "EMERGENCY, advise calling emergency services now" if answer["emergency"] else _label(answer, kb)
    hours = answer.get("hours_since_treatment")
    tail = f", {hours:g} h after microneedling" if hours is not None else ", time since microneedling not given"
    names = _names(answer, kb)
    if not names:  # a report answered on its factors alone (e.g. shared equipment)
        factors = ", ".join(kb.factor_label(f) for f in answer["report"].get("factors", []))
        return f"{head}: no symptoms; {factors}{tail}"[:SUMMARY_MAX]
    for shown in range(len(names), 0, -1):
        listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if shown < len(names) else "")
        text = f"{head}: {listed}{tail}"
        if len(text) <= SUMMARY_MAX:
            return text
    return f"{head}: {len(names)} symptoms{tail}"[:SUMMARY_MAX]


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


def _md(text: str) -> str:
    """Knowledge-base text as literal markdown (no accidental emphasis, links or HTML)."""
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def detail(
    answer: Mapping[str, Any],
    kb: KnowledgeBase,
    reference: str | None = None,
    organization: Organization | None = None,
    reported_at: str | None = None,
) -> str:
    """The findings as GitHub-flavoured markdown: disposition, rule id, reason and source each,
    and the clinic the patient is sent to (`organization`) when the deployment names one. With
    `reported_at` (a report read from the EHR), when it was made: its hours are as of then."""
    report = answer["report"]
    version, digest = answer["kb_version"], short(answer.get("kb_digest") or "")
    lines = [f"**{_md(_label(answer, kb))}** (knowledge base {_md(version)}, digest {_md(digest)})"]
    if reference:
        lines[0] += f", record {_md(reference)}"
    if reported_at:
        lines += ["", f"**Triage report of {_md(reported_at)}:** assessed as reported then, hours included."]
    if answer["emergency"]:
        lines += ["", f"**Emergency:** {_md(kb.header.emergency.nurse)}"]
    if organization is not None:
        lines += ["", f"**Clinic:** {_md(organization.contact_line())}"]
    lines += ["", "Findings:", ""]
    for f in answer["findings"]:
        sid = f.get("symptom")
        if sid is None:  # a finding about a combination or the whole report: name what it looked at
            looked = [kb.symptom_name(x) for x in f.get("symptoms", [])]
            what = "Whole report" + (f" ({', '.join(looked)})" if looked else "")
        else:
            what = kb.symptom_name(sid)
        sev = f" ({_md(f['severity'])})" if f.get("severity") else ""
        flag = ", emergency" if f.get("emergency") else ""
        lines.append(
            f"- **{_md(what)}**{sev}: {_md(f['disposition'])}{flag}; rule `{f['rule']}`. "
            f"{_md(f.get('nurse_reason') or f['reason'])} Source: {_md(f['source'])}."
        )
    factors = ", ".join(kb.factor_label(x) for x in report.get("factors", [])) or "none"
    recheck = answer.get("recheck_in_hours")
    hours = answer.get("hours_since_treatment")
    lines += [
        "",
        f"Hours since treatment: {'not given' if hours is None else format(hours, 'g')}; risk factors: {_md(factors)}; "
        f"getting worse: {'yes' if report.get('worsening') else 'no'}.",
    ]
    if recheck is not None:
        lines.append(f"Re-check in {recheck:g} hours.")
    lines += ["", f"_{_md(NURSE_DISCLAIMER)}_"]
    return "\n".join(lines)


def cds_hooks_response(
    answer: dict[str, Any],
    kb: KnowledgeBase,
    reference: str | None = None,
    organization: Organization | None = None,
    reported_at: str | None = None,
) -> dict[str, Any]:
    """A CDS Hooks 2.0 response with one card for the answer. Each card gets a random uuid (the
    specification: unique per card, so the EHR's feedback names this card, not every card that
    looked like it). With `organization`, the card's source and detail name the clinic; with
    `reported_at`, the detail says when the report was made."""
    who = f"{organization.name}: microneedling triage" if organization is not None else "Microneedling triage"
    card = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(answer, kb),
        "indicator": indicator(answer),
        "detail": detail(answer, kb, reference, organization, reported_at),
        "source": {
            "label": f"{who}, knowledge base {answer['kb_version']}",
            # the triage level in the product's CodeSystem, as the FHIR export codes it
            "topic": {
                "system": triage_codes.TRIAGE_CODE_SYSTEM,
                "code": triage_codes.level_code(answer["disposition"]),
                "display": _label(answer, kb),
            },
        },
    }
    return {"cards": [card]}


def discovery() -> dict[str, Any]:
    """The `GET /cds-services` document: one service on the standard `patient-view` hook.

    Its prefetch asks the EHR for the patient's newest triage QuestionnaireResponse (answering
    the Questionnaire our FHIR export carries); the service assesses that report, and answers
    no cards when there is none. A caller without FHIR may instead send the report itself in
    the request's `extension` under `org.microneedling-triage.report`.
    """
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "Microneedling side-effect triage",
                "description": (
                    "Triage of symptoms after a microneedling session: expected, monitor or contact "
                    "clinician (with an emergency flag), with the rule, reason and source of each finding."
                ),
                "prefetch": {PREFETCH_KEY: PREFETCH_QUERY},
                "usageRequirements": (
                    "Assesses the patient's newest triage QuestionnaireResponse "
                    f"(questionnaire {QUESTIONNAIRE_URL}, written by our FHIR export) from the prefetch "
                    f"'{PREFETCH_KEY}'; without one, no cards. The service does not query the FHIR server. "
                    f"A caller may instead send the report in the request's extension under '{REPORT_EXTENSION}', "
                    'shaped like the body of POST /api/v1/assess: {"symptoms": [{"id", "severity"}], '
                    '"hours", "factors", "worsening"}.'
                ),
            }
        ]
    }
