"""CDS Hooks 2.0 cards for a triage answer, and the discovery document.

Pure functions over `Assessment.to_dict()` (no Flask, no database), so whichever endpoint
serves `/cds-services` only has to call them. One card per answer: the EHR shows the summary
line and, on request, the findings in markdown with each rule, reason and source.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from triage.exports.organization import Organization
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.digest import short
from triage.vocabulary import Disposition

SERVICE_ID = "microneedling-triage"
REPORT_EXTENSION = "org.microneedling-triage.report"  # where the request carries our report
SUMMARY_MAX = 139  # the spec: a "<140-character summary"
_NAMESPACE = uuid.UUID("0b8e6c2d-4f3a-5e71-8c9d-1a2b3c4d5e6f")


def indicator(answer: Mapping[str, Any]) -> str:
    """info | warning | critical for expected | monitor | contact clinician (and any emergency)."""
    if answer["emergency"] or answer["disposition"] == Disposition.CONTACT_CLINICIAN:
        return "critical"
    return "warning" if answer["disposition"] == Disposition.MONITOR else "info"


def _names(answer: Mapping[str, Any], kb: KnowledgeBase) -> list[str]:
    ids = [s["id"] for s in answer["report"]["symptoms"]]
    return [kb.symptom_name(i) for i in ids]


def _label(answer: Mapping[str, Any], kb: KnowledgeBase) -> str:
    key = str(answer["disposition"]).replace(" ", "-")
    labels: dict[str, str] = {k: v.label for k, v in kb.header.dispositions.items()}
    return labels.get(key, str(answer["disposition"]))


def summary(answer: Mapping[str, Any], kb: KnowledgeBase) -> str:
    """One line under 140 characters: the answer, the symptoms (shortened to fit), the hours."""
    head = "EMERGENCY, call emergency services now" if answer["emergency"] else _label(answer, kb)
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
    answer: Mapping[str, Any], kb: KnowledgeBase, reference: str | None = None, organization: Organization | None = None
) -> str:
    """The findings as GitHub-flavoured markdown: disposition, rule id, reason and source each,
    and the clinic the patient is sent to (`organization`) when the deployment names one."""
    report = answer["report"]
    version, digest = answer["kb_version"], short(answer.get("kb_digest") or "")
    lines = [f"**{_md(_label(answer, kb))}** (knowledge base {_md(version)}, digest {_md(digest)})"]
    if reference:
        lines[0] += f", record {_md(reference)}"
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
    lines += ["", f"_{_md(kb.header.disclaimer)}_"]
    return "\n".join(lines)


def cds_hooks_response(
    answer: dict[str, Any],
    kb: KnowledgeBase,
    reference: str | None = None,
    organization: Organization | None = None,
) -> dict[str, Any]:
    """A CDS Hooks 2.0 response with one card for the answer; the card uuid is derived from the
    answer (and reference) so the same answer always gives the same card (EHR feedback dedupes).
    With `organization`, the card's source and detail name the clinic."""
    seed = json.dumps(answer, sort_keys=True, default=str) + f"|{reference or ''}"
    who = f"{organization.name}: microneedling triage" if organization is not None else "Microneedling triage"
    card = {
        "uuid": str(uuid.uuid5(_NAMESPACE, seed)),
        "summary": summary(answer, kb),
        "indicator": indicator(answer),
        "detail": detail(answer, kb, reference, organization),
        "source": {
            "label": f"{who}, knowledge base {answer['kb_version']}",
            "topic": {
                "system": "urn:microneedling-triage:disposition",
                "code": str(answer["disposition"]).replace(" ", "-"),
                "display": _label(answer, kb),
            },
        },
    }
    return {"cards": [card]}


def discovery() -> dict[str, Any]:
    """The `GET /cds-services` document: one service on the standard `patient-view` hook.

    No EHR hook context carries post-microneedling symptoms, and our records hold no patient
    data to fetch by prefetch, so the service takes our own report (the JSON body of
    `POST /api/v1/assess`) in the request's `extension` under `org.microneedling-triage.report`.
    `patient-view` is used because the check happens when a clinician opens the patient's chart
    after a call or message; the patient context itself is not read.
    """
    return {
        "services": [
            {
                "hook": "patient-view",
                "id": SERVICE_ID,
                "title": "Microneedling side-effect triage",
                "description": (
                    "Triage of symptoms after a microneedling session: expected, monitor or contact "
                    "clinician (with an emergency flag), with the rule, reason and source of each finding."
                ),
                "usageRequirements": (
                    f"Send the symptom report in the request's extension under '{REPORT_EXTENSION}', "
                    'shaped like the body of POST /api/v1/assess: {"symptoms": [{"id", "severity"}], '
                    '"hours", "factors", "worsening"}. No prefetch and no FHIR access are needed.'
                ),
            }
        ]
    }
