"""The API's request and response shapes: one pydantic model validates and documents each.

These check the JSON's shape only (types, lengths, severities); whether a symptom or factor
id exists is the engine's call (triage.answer.assess), so its message lists the valid ids.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidatorFunctionWrapHandler, field_validator
from pydantic_core import PydanticCustomError

from triage.answer.schema import AnswerOut
from triage.engine.report import MAX_SYMPTOMS
from triage.vocabulary import DEFAULT_SEVERITY, MAX_HOURS, Severity
from triage.vocabulary import Disposition as DispositionValue

Id = Annotated[str, Field(min_length=1, max_length=60, description="An id from GET /api/v1/knowledge")]
HoursNumber = Annotated[float, Field(strict=True, ge=0, le=MAX_HOURS, allow_inf_nan=False)]
HoursText = Annotated[str, Field(min_length=1, max_length=40)]  # read by triage.engine.report.hours_from_text
MAX_FACTORS = 40


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SymptomIn(_Strict):
    id: Id = Field(examples=["redness"])
    severity: Severity = Field(
        Severity(DEFAULT_SEVERITY), description=f"Defaults to {DEFAULT_SEVERITY}, as the triage policy says."
    )

    @field_validator("id")
    @classmethod
    def _no_severity_in_id(cls, value: str) -> str:
        if ":" in value:
            raise ValueError(f"give the symptom id alone ({value.partition(':')[0]!r}) and its severity in 'severity'")
        return value


class AssessRequest(_Strict):
    """A report: what the person has, how long since the session ended, and their risk factors."""

    symptoms: list[SymptomIn] = Field(
        max_length=MAX_SYMPTOMS,
        description=(
            "At least one, unless a factor is answered without symptoms (the knowledge base's "
            "`answers_without_symptoms` rules, e.g. shared-equipment); otherwise 422."
        ),
    )
    hours: HoursNumber | HoursText | None = Field(
        None,
        description=(
            f"Hours since the microneedling session ended (0 to {MAX_HOURS:g}): a number, or the text a "
            'patient typed, read in the request\'s language (Accept-Language): "30", "36 hours", "2 days", '
            '"1.5 days"; in Spanish "36 horas", "2 días", "1,5 días". May be left out only when the '
            "answer is the same at every hour (an emergency sign, for example); otherwise leaving it out is a 422."
        ),
        examples=[30, "2 days"],
    )
    factors: list[Id] = Field(default_factory=list, max_length=MAX_FACTORS)
    worsening: Annotated[bool, Field(strict=True)] = Field(
        False, description="True when the symptoms are getting worse rather than settling."
    )
    record: Annotated[bool, Field(strict=True)] = Field(
        False,
        description=(
            "True to store the report and answer as a triage record: the answer then carries its "
            "`reference` code, which a nurse can open. No name or contact details are stored. Only a "
            "client with an API key (`Authorization: Bearer KEY`) can store records; without one the "
            "answer is the same, nothing is stored and `record_error` says why."
        ),
    )

    @field_validator("hours", mode="wrap")
    @classmethod
    def _one_hours_problem(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """One problem for bad hours, from the form they were sent in (a number or text), not one per form."""
        try:
            return handler(value)
        except ValidationError as exc:
            text = isinstance(value, str)
            err = next((e for e in exc.errors() if e["type"].startswith("string_") == text), exc.errors()[0])
            message = str(err["msg"])
            if err["type"] == "float_type":
                message = 'give the hours as a number, or as text such as "36 hours" or "2 days"'
            raise PydanticCustomError(err["type"], message) from None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "symptoms": [{"id": "redness", "severity": Severity.MILD.value}],
                    "hours": 30,
                    "factors": [],
                    "worsening": False,
                }
            ]
        },
    )


class ContactOut(_Strict):
    """Whom the patient contacts: the clinic's profile (CLINIC_PROFILE, web/clinic.py)."""

    clinic: str = Field(description="The clinic's name")
    phone: str = Field(description="The clinic's phone number, as written in the profile")
    out_of_hours: str = Field(description="A phone number, or a sentence saying whom to call out of hours")
    emergency_number: str = Field(description="What to call in an emergency in the clinic's country, e.g. 112")
    country: str = Field(description="ISO 3166-1 alpha-2 country code")


class AssessmentOut(AnswerOut):
    """The engine's answer (triage.answer_schema.AnswerOut), plus what the web layer adds: whom
    to contact (the clinic is the deployment's, not the engine's) and what storing it adds."""

    contact: ContactOut | None = Field(
        None,
        description=(
            "The clinic's name and numbers, for every 'contact the clinic', and the emergency number for "
            "'call your emergency number'. Only when the server has a clinic profile; without one, say "
            "'your clinic' and 'your local emergency number'."
        ),
    )

    reference: str | None = Field(
        None,
        description=(
            "Only with `record: true` and an API key: the record's reference code, or null if it could not be stored"
        ),
    )
    record_error: str | None = Field(
        None, description="Only when `record: true` was not stored (no API key, or storing failed): why"
    )


class CdsCardSource(BaseModel):
    label: str
    url: str | None = None


class CdsCard(BaseModel):
    """A CDS Hooks 2.0 card."""

    uuid: str | None = None
    summary: str = Field(max_length=140)
    indicator: Literal["info", "warning", "critical"]
    detail: str | None = None
    source: CdsCardSource


class CdsHooksResponse(BaseModel):
    """The answer as CDS Hooks cards (indicator info / warning / critical), for EHR integration."""

    cards: list[CdsCard]


class Problem(BaseModel):
    field: str = Field(description='Where the problem is, e.g. "symptoms[0].id", "hours", "factors[1]"')
    message: str


class ProblemResponse(BaseModel):
    """422: the report cannot be assessed; every problem names its field."""

    error: Literal["invalid report"]
    problems: list[Problem]


class ErrorResponse(BaseModel):
    """Any other error (400, 404, 405, 413, 415, 429): a status and a message, always JSON."""

    error: str
    message: str
    status: int


class SymptomInfo(BaseModel):
    id: str
    name: str
    description: str
    group: Literal["common", "warning"]
    likelihood: str
    emergency: bool = Field(description="An emergency sign: ask about it first; the answer needs no hours")


class FactorInfo(BaseModel):
    id: str
    label: str
    question: str


class DispositionInfo(BaseModel):
    value: DispositionValue
    label: str
    patient: str
    nurse: str


class KnowledgeOut(BaseModel):
    """The vocabulary a client app needs to build its own form."""

    kb_version: str
    kb_digest: str = Field(description="sha256 digest of the loaded knowledge content (beside kb_version)")
    title: str
    disclaimer: str
    severities: list[Severity]
    default_severity: Severity
    max_hours: float
    max_symptoms: int
    symptoms: list[SymptomInfo]
    factors: list[FactorInfo]
    dispositions: list[DispositionInfo]


class Health(BaseModel):
    status: Literal["ok"]
    kb_version: str
    kb_digest: str = Field(description="sha256 digest of the loaded knowledge content (beside kb_version)")
