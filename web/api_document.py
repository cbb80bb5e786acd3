"""The API document as served (/api/openapi.json): spectree's document of the validated routes,
completed with what only the running app knows.

- the symptom and factor ids as enums from the loaded knowledge base (the request models keep
  them free strings, so an unknown id is the engine's 422 naming the valid ones);
- when `hours` may be null, with the symptoms answered the same at every hour;
- the CDS Hooks routes (web.cds_service checks their calls itself, as the specification's
  errors are not spectree's), from the pydantic models in web.cds_schemas;
- `servers`: where this app was reached.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from triage.exports.cds_hooks import SERVICE_ID
from triage.knowledge.base import KnowledgeBase
from web.cds_schemas import CdsDiscovery, CdsRequest, FeedbackRequest, FeedbackStored
from web.openapi import spec
from web.schemas import CdsHooksResponse, ErrorResponse, ProblemResponse

_REF = "#/components/schemas/{model}"
_CDS_MODELS: tuple[type[BaseModel], ...] = (
    CdsDiscovery,
    CdsRequest,
    CdsHooksResponse,
    FeedbackRequest,
    FeedbackStored,
    ErrorResponse,
    ProblemResponse,
)


# The last knowledge base's document: built once, not per request (spectree's own part is fixed
# once generated); held with its knowledge base, so another one builds its own.
_built: tuple[KnowledgeBase, dict[str, Any]] | None = None


def api_document(kb: KnowledgeBase, server_url: str) -> dict[str, Any]:
    """The OpenAPI document for this app's knowledge base, reached at `server_url` (a shallow
    copy of the one built for `kb`: read it, do not change it)."""
    global _built
    held = _built
    if held is None or held[0] is not kb:
        held = _built = (kb, _document_of(kb))
    server = {"url": server_url, "description": "This server, as the document was requested from it"}
    return {**held[1], "servers": [server]}


def _document_of(kb: KnowledgeBase) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(spec.spec)
    _knowledge_enums(document["components"]["schemas"], kb)
    _cds_routes(document)
    return document


def _knowledge_enums(schemas: dict[str, Any], kb: KnowledgeBase) -> None:
    schemas["SymptomIn"]["properties"]["id"]["enum"] = list(kb.symptoms)
    schemas["AssessRequest"]["properties"]["factors"]["items"]["enum"] = list(kb.factors)
    same_at_every_hour = [sid for sid, s in kb.symptoms.items() if s.always is not None]
    hours = schemas["AssessRequest"]["properties"]["hours"]
    hours["description"] += (
        " null (or left out) is answered only when the answer is the same at every hour: a report with any of "
        f"{', '.join(same_at_every_hour)} (answered 'contact clinician' at any hour); with other symptoms alone, "
        "null is a 422 naming `hours`."
    )


def _cds_routes(document: dict[str, Any]) -> None:
    _, defs = models_json_schema([(m, "validation") for m in _CDS_MODELS], ref_template=_REF)
    for name, schema in defs.get("$defs", {}).items():
        document["components"]["schemas"].setdefault(name, schema)
    document["components"].setdefault("securitySchemes", {})["ehrJwt"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "The EHR's signed JWT (CDS Hooks 2.0): required when the server sets CDS_HOOKS_ISSUERS; iss, aud "
            "(the URL called), iat, exp (within 5 minutes) and a single-use jti."
        ),
    }
    service = {"name": "service_id", "in": "path", "required": True, "schema": {"type": "string", "enum": [SERVICE_ID]}}
    errors = {
        "401": _json("The JWT is missing or not valid (only with CDS_HOOKS_ISSUERS)", "ErrorResponse"),
        "404": _json("No CDS service with this id", "ErrorResponse"),
        "413": _json("The body is too large", "ErrorResponse"),
        "415": _json("The body is not JSON", "ErrorResponse"),
        "422": _json(
            "The call's shape, or the report it carries, cannot be read; every problem names its field",
            "ProblemResponse",
        ),
        "429": _json("Too many requests", "ErrorResponse"),
        "503": _json("Production without CDS_HOOKS_ISSUERS: the CDS routes are off", "ErrorResponse"),
    }
    security: list[dict[str, list[str]]] = [{"ehrJwt": []}, {}]  # optional: required only with the setting
    paths = document["paths"]
    paths["/cds-services"] = {
        "get": {
            "tags": ["cds-hooks"],
            "summary": "CDS Hooks discovery",
            "description": "The one service: patient-view, with its prefetch of the patient's newest triage report.",
            "operationId": "cds_discovery",
            "responses": {
                "200": _json("The services", "CdsDiscovery"),
                "429": errors["429"],
                "503": errors["503"],
            },
        }
    }
    paths["/cds-services/{service_id}"] = {
        "post": {
            "tags": ["cds-hooks"],
            "summary": "A patient-view call",
            "description": (
                "Cards for the patient's newest triage QuestionnaireResponse (prefetch `triageResponse`), or for "
                "the report in `extension`; none when there is neither. Another hook is a 400; each card has a "
                "random uuid; the detail is in the nurse's words."
            ),
            "operationId": "cds_service",
            "parameters": [service],
            "security": security,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": _ref("CdsRequest")}}},
            },
            "responses": {
                "200": _json("The cards (an empty list without a report)", "CdsHooksResponse"),
                "400": _json("Another hook than the service's, or not a JSON object", "ErrorResponse"),
                **errors,
            },
        }
    }
    paths["/cds-services/{service_id}/feedback"] = {
        "post": {
            "tags": ["cds-hooks"],
            "summary": "Feedback on cards",
            "description": "What the EHR's user did with each card (accepted or overridden, and why): kept for review.",
            "operationId": "cds_feedback",
            "parameters": [service],
            "security": security,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": _ref("FeedbackRequest")}}},
            },
            "responses": {
                "200": _json("Stored", "FeedbackStored"),
                "400": _json("The body is not valid JSON", "ErrorResponse"),
                **errors,
            },
        }
    }
    document.setdefault("tags", []).append({"name": "cds-hooks", "description": "CDS Hooks 2.0 service for EHRs"})


def _ref(model: str) -> str:
    return _REF.format(model=model)


def _json(description: str, model: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _ref(model)}}}}
