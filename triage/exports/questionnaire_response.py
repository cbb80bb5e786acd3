"""A triage report read back from a FHIR QuestionnaireResponse answering our Questionnaire.

The CDS Hooks service's prefetch brings the patient's latest triage QuestionnaireResponse (the
one triage.exports.fhir wrote into the EHR); this turns it back into the report the API takes
(`{"symptoms": [{"id", "severity"}], "hours", "factors", "worsening"}`), read by linkId, so the
service assesses what the patient reported. Anything else (another questionnaire, a draft) is
not a triage report: None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triage.exports.fhir import FACTOR_SYSTEM, QUESTIONNAIRE_URL
from triage.knowledge.base import KnowledgeBase

FINAL_STATUSES = ("completed", "amended")


class UnreadableResponse(ValueError):
    """A QuestionnaireResponse of our Questionnaire whose answers cannot be read as a report."""


def latest_response(prefetched: Any) -> Mapping[str, Any] | None:
    """The newest (by `authored`) final QuestionnaireResponse of our Questionnaire in a prefetch
    result: a searchset Bundle or one resource. None when there is none."""
    if not isinstance(prefetched, Mapping):
        return None
    if prefetched.get("resourceType") == "Bundle":
        resources = [e.get("resource") for e in prefetched.get("entry") or [] if isinstance(e, Mapping)]
    else:
        resources = [prefetched]
    ours = [r for r in resources if isinstance(r, Mapping) and is_triage_response(r)]
    return max(ours, key=lambda r: str(r.get("authored") or ""), default=None)


def is_triage_response(resource: Mapping[str, Any]) -> bool:
    """A final QuestionnaireResponse answering our Questionnaire (any version)."""
    canonical = str(resource.get("questionnaire") or "")
    return (
        resource.get("resourceType") == "QuestionnaireResponse"
        and canonical.split("|")[0] == QUESTIONNAIRE_URL
        and resource.get("status") in FINAL_STATUSES
    )


def report_from_response(response: Mapping[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    """The report the QuestionnaireResponse holds, shaped like the API's request body."""
    severities = {coded.code: name for name, coded in kb.header.severity_snomed.items()}
    report: dict[str, Any] = {"symptoms": [], "factors": [], "worsening": False}
    for item in response.get("item") or []:
        link = str(item.get("linkId") or "")
        answers = list(item.get("answer") or [])
        if link == "hours" and answers:
            report["hours"] = _value(answers[0], "valueDecimal", link)
        elif link == "worsening" and answers:
            report["worsening"] = bool(_value(answers[0], "valueBoolean", link))
        elif link == "factors":
            report["factors"] = [
                str(a["valueCoding"]["code"])
                for a in answers
                if isinstance(a.get("valueCoding"), Mapping) and a["valueCoding"].get("system") == FACTOR_SYSTEM
            ]
        elif link.startswith("symptom-") and answers:
            symptom: dict[str, Any] = {"id": link.removeprefix("symptom-")}
            for nested in answers[0].get("item") or []:
                if nested.get("linkId") == f"{link}-severity" and nested.get("answer"):
                    symptom["severity"] = _severity(nested["answer"][0], severities)
            report["symptoms"].append(symptom)
    return report


def _value(answer: Mapping[str, Any], key: str, link: str) -> Any:
    if key not in answer:
        raise UnreadableResponse(f"item {link!r}: expected {key}, got {sorted(answer)}")
    return answer[key]


def _severity(answer: Mapping[str, Any], coded: Mapping[str, str]) -> str:
    if isinstance(answer.get("valueCoding"), Mapping):
        code = str(answer["valueCoding"].get("code"))
        if code in coded:
            return coded[code]
        raise UnreadableResponse(f"severity code {code!r} is not one of {', '.join(coded)}")
    if isinstance(answer.get("valueString"), str):
        return str(answer["valueString"])
    raise UnreadableResponse("a severity answer is neither a coding nor text")
