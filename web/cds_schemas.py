"""The CDS Hooks service's request and response shapes (CDS Hooks 2.0), as pydantic models: they
check a call and describe the routes in the API document (web.openapi).

Unknown members are allowed where the specification lets a CDS client add them (a request's
fhirServer, fhirAuthorization, extension; a context's encounterId and others), refused in the
feedback, whose shape is closed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from triage.exports.cds_hooks import HOOK, PREFETCH_KEY

MAX_FEEDBACK = 50  # cards per feedback request
MAX_COMMENT = 2000


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PatientViewContext(_Open):
    """patient-view's context: who is looking at which patient's chart."""

    userId: str = Field(min_length=1, max_length=255, description="e.g. Practitioner/123")
    patientId: str = Field(min_length=1, max_length=255)
    encounterId: str | None = Field(None, max_length=255)


class CdsRequest(_Open):
    """A CDS Hooks call. The service reads the prefetched QuestionnaireResponse under
    `prefetch.triageResponse` (or the report in `extension`, see the discovery document)."""

    hook: Literal["patient-view"] = Field(description=f"Must be the service's hook, {HOOK}; another hook is a 400.")
    hookInstance: str = Field(min_length=1, max_length=255)
    context: PatientViewContext
    prefetch: dict[str, Any] | None = Field(
        None,
        description=(
            f"`{PREFETCH_KEY}`: the result of the discovery document's query (a searchset Bundle or one "
            "QuestionnaireResponse), or null when the patient has none; without it, no cards."
        ),
    )
    fhirServer: str | None = None
    fhirAuthorization: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None


class Coding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    system: str | None = Field(None, max_length=255)
    display: str | None = Field(None, max_length=255)


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Coding | None = None
    userComment: str | None = Field(None, max_length=MAX_COMMENT)


class AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=255)


class CardFeedback(BaseModel):
    """What the user did with one card."""

    model_config = ConfigDict(extra="forbid")

    card: str = Field(min_length=1, max_length=36, description="The card's uuid")
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion], Field(max_length=20)] = []
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str = Field(min_length=1, max_length=40, description="ISO 8601, as the EHR wrote it")


class FeedbackRequest(BaseModel):
    """POST /cds-services/{id}/feedback: the outcome of one or more cards."""

    model_config = ConfigDict(extra="forbid")

    feedback: Annotated[list[CardFeedback], Field(min_length=1, max_length=MAX_FEEDBACK)]


class FeedbackStored(BaseModel):
    stored: int = Field(description="How many card outcomes were stored for clinical review")


class CdsService(_Open):
    hook: str
    id: str
    title: str | None = None
    description: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class CdsDiscovery(BaseModel):
    """GET /cds-services: the services this server offers."""

    services: list[CdsService]
