"""The answer's JSON shape (Assessment.to_dict()), defined once as pydantic models.

The API validates every answer it sends against these and documents them in its OpenAPI
schema; tests/test_answer_schema.py checks that to_dict() and these models name exactly the
same fields, so neither can change alone. No Flask here: the CLI's --json is the same shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from triage.vocabulary import Disposition, Severity


class _Exact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SymptomOut(_Exact):
    id: str
    severity: Severity


class ReportOut(_Exact):
    """The report as the engine read it (ids canonical, duplicates merged)."""

    symptoms: list[SymptomOut]
    hours: float | None = Field(description="null when the report gave none (answered only when no hour changes it)")
    factors: list[str]
    worsening: bool
    worse_symptoms: list[str] = Field(
        description="Symptoms a triage record shows are more severe than at its previous report"
    )


class FindingOut(_Exact):
    """One rule's conclusion, with everything needed to explain it."""

    symptom: str | None = Field(description="None when the finding concerns a combination or the whole report")
    severity: Severity | None
    disposition: Disposition
    rule: str
    reason: str
    source: str
    emergency: bool
    kind: str
    symptoms: list[str] = Field(description="Every symptom the rule looked at")
    factors: list[str] = Field(description="Every risk factor the rule looked at")
    until_hours: float | None = Field(description="When this finding's current window ends")
    advice: str | None
    urgent_if: str | None
    nurse_reason: str = Field(
        description="The same conclusion in clinical words, for a nurse (`reason` is the patient's)"
    )
    likelihood: str | None = Field(
        description='Findings about a symptom: how common it is, e.g. "very common: more than 1 in 10 people"'
    )
    typical_duration: str | None = Field(
        description='Findings about a symptom: how long it usually lasts, e.g. "Usually fades within 2 days."'
    )


class SafetyNetOut(_Exact):
    """One thing that would make the answer more urgent, and what to do then."""

    level: Literal["emergency", "clinic"] = Field(
        description="emergency: call the emergency number now; clinic: contact the clinic sooner"
    )
    text: str = Field(description="In the patient's words and language")
    nurse_text: str = Field(description="The same in the nurse's words")
    symptoms: list[str] = Field(description="The reported symptoms it is said for; empty for the general line")


class AnswerOut(_Exact):
    """The engine's answer: the most urgent finding's disposition, and why."""

    disposition: Disposition
    emergency: bool
    hours_since_treatment: float | None
    findings: list[FindingOut] = Field(
        description="Why: each symptom's strongest finding, and the findings about combinations or the whole report"
    )
    more_detail: list[FindingOut] = Field(
        description="The findings the answer outranks, or that say less about a symptom than its strongest one"
    )
    advice: list[str] = Field(description="What to do, most urgent first, each meaning once")
    safety_net: list[SafetyNetOut] = Field(
        description="What would make the answer more urgent (none in an emergency): each reported symptom's "
        '"call now if" lines, then the general one, then (expected and monitor answers only) each symptom\'s '
        '"contact the clinic if"; each meaning once'
    )
    recheck_in_hours: float | None = Field(description="When the answer could next change; null for contact clinician")
    kb_version: str
    kb_digest: str = Field(description="sha256 digest of the knowledge content that decided (beside kb_version)")
    summary: str
    report: ReportOut
