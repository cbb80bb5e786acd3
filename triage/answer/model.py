"""The answer's types: Disposition, Finding, Assessment and its JSON shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from triage.engine.report import Report
from triage.vocabulary import Disposition, FindingKind

__all__ = ["Assessment", "Disposition", "Finding", "Report", "SafetyNetLine", "shows_how_common"]


def shows_how_common(disposition: str) -> bool:
    """Whether a finding says how common its effect is and how long it usually lasts: those
    reassure, so only `expected` and `monitor` findings do, never a `contact clinician` one
    (emergencies included; policy v3 "Words a patient reads")."""
    return disposition != Disposition.CONTACT_CLINICIAN


@dataclass(frozen=True)
class Finding:
    """One rule's conclusion about the report, with everything needed to explain it."""

    symptom: str | None  # None when the finding concerns the whole report (e.g. a combination)
    severity: str | None
    disposition: Disposition
    rule: str
    reason: str
    source: str
    emergency: bool = False
    kind: str = FindingKind.WINDOW  # a FindingKind (an answer stored before may hold another text)
    symptoms: tuple[str, ...] = ()  # every symptom the rule looked at
    factors: tuple[str, ...] = ()  # every risk factor the rule looked at
    until_hours: float | None = None  # when this finding's current window ends
    advice: str | None = None
    urgent_if: str | None = None
    nurse_reason: str = ""  # the same conclusion in clinical words (nurse console, note, exports)
    likelihood: str | None = None  # findings about a symptom: its band in plain words
    typical_duration: str | None = None  # and how long it usually lasts, in plain words

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The inverse of to_dict."""
        return cls(
            symptom=data.get("symptom"),
            severity=data.get("severity"),
            disposition=Disposition(data["disposition"]),
            rule=data["rule"],
            reason=data["reason"],
            source=data["source"],
            emergency=bool(data.get("emergency", False)),
            kind=data.get("kind", FindingKind.WINDOW),
            symptoms=tuple(data.get("symptoms", ())),
            factors=tuple(data.get("factors", ())),
            until_hours=data.get("until_hours"),
            advice=data.get("advice"),
            urgent_if=data.get("urgent_if"),
            nurse_reason=data.get("nurse_reason") or data["reason"],  # answers stored before it existed
            likelihood=data.get("likelihood"),
            typical_duration=data.get("typical_duration"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symptom": self.symptom,
            "severity": self.severity,
            "disposition": str(self.disposition),  # a StrEnum: its value (without the enum property)
            "rule": self.rule,
            "reason": self.reason,
            "nurse_reason": self.nurse_reason,
            "source": self.source,
            "emergency": self.emergency,
            "kind": self.kind,
            "symptoms": list(self.symptoms),
            "factors": list(self.factors),
            "until_hours": self.until_hours,
            "advice": self.advice,
            "urgent_if": self.urgent_if,
            "likelihood": self.likelihood,
            "typical_duration": self.typical_duration,
        }


@dataclass(frozen=True)
class SafetyNetLine:
    """One thing that would make the answer more urgent, and what to do then (policy
    "safety-netting"; triage.answer.safety_net): call the emergency number now (`emergency`), or
    contact the clinic sooner (`clinic`)."""

    level: str  # "emergency" or "clinic"
    text: str  # the patient's words, in the answer's language
    nurse_text: str  # the same in the nurse's words (English)
    symptoms: tuple[str, ...] = ()  # the reported symptoms it is said for; () for the general line

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SafetyNetLine:
        return cls(
            level=str(data["level"]),
            text=str(data["text"]),
            nurse_text=str(data.get("nurse_text") or data["text"]),
            symptoms=tuple(data.get("symptoms", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "text": self.text, "nurse_text": self.nurse_text, "symptoms": list(self.symptoms)}


@dataclass(frozen=True)
class Assessment:
    """The engine's answer: the most urgent finding's disposition, and why."""

    disposition: Disposition
    emergency: bool
    report: Report
    findings: tuple[Finding, ...]
    advice: tuple[str, ...]
    recheck_in_hours: float | None
    kb_version: str
    summary: str  # the answer in one line for the patient (the emergency call when there is one)
    # Findings "why" leaves out: weaker findings about a symptom, and in an emergency answer
    # those below contact clinician (triage.message.fold).
    more_detail: tuple[Finding, ...] = ()
    kb_digest: str = ""  # the digest of the knowledge content that decided ("" in answers stored before it)
    # What would make it more urgent: none in an emergency; emergency lines first (answers stored
    # before it have none).
    safety_net: tuple[SafetyNetLine, ...] = ()

    @property
    def hours_since_treatment(self) -> float | None:
        return self.report.hours

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assessment:
        """The answer a person was shown, rebuilt from its stored to_dict() form (triage records)."""
        return cls(
            disposition=Disposition(data["disposition"]),
            emergency=bool(data["emergency"]),
            report=Report.from_dict(data["report"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            advice=tuple(data.get("advice", ())),
            recheck_in_hours=data.get("recheck_in_hours"),
            kb_version=str(data["kb_version"]),
            summary=str(data.get("summary", "")),
            more_detail=tuple(Finding.from_dict(f) for f in data.get("more_detail", ())),
            kb_digest=str(data.get("kb_digest") or ""),
            safety_net=tuple(SafetyNetLine.from_dict(line) for line in data.get("safety_net", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "disposition": str(self.disposition),  # a StrEnum: its value (without the enum property)
            "emergency": self.emergency,
            "hours_since_treatment": self.report.hours,
            "findings": [f.to_dict() for f in self.findings],
            "advice": list(self.advice),
            "recheck_in_hours": self.recheck_in_hours,
            "kb_version": self.kb_version,
            "kb_digest": self.kb_digest,
            "summary": self.summary,
            "more_detail": [f.to_dict() for f in self.more_detail],
            "safety_net": [line.to_dict() for line in self.safety_net],
            "report": self.report.to_dict(),
        }
