"""The API's OpenAPI description and its request and response checks (spectree), and the
problem list (a 422) for a request body that does not match the schema.

The pydantic models in web.schemas both validate requests (through spectree) and generate
the OpenAPI document, so the two cannot drift apart. The document lists the models in the
order the routes were decorated: web.api's first, then /healthz's (create_app imports web.api
before web.health_and_docs).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, jsonify, request
from pydantic import ValidationError
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

from triage.engine.report import MAX_SYMPTOMS
from triage.vocabulary import SEVERITIES
from web.logs import ERROR_LOGGER
from web.schemas import AssessRequest, ProblemResponse
from web.spectree_plugin import LeanFlaskPlugin

FIELDS = ", ".join(AssessRequest.model_fields)


def field_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's ("symptoms", 0, "id") as "symptoms[0].id"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def problem_message(err: dict[str, Any]) -> str:
    kind, msg = err["type"], str(err["msg"]).removeprefix("Value error, ")
    loc = err["loc"]
    if kind == "extra_forbidden":
        return f"unknown field {loc[-1]!r}; valid fields: {FIELDS}" if len(loc) == 1 else f"unknown field {loc[-1]!r}"
    if kind == "missing":
        return "this field is required"
    if loc == ("symptoms",) and kind == "too_short":
        return "give at least one symptom; see GET /api/v1/knowledge for the ids"
    if loc == ("symptoms",) and kind == "too_long":
        return f"at most {MAX_SYMPTOMS} symptoms per report"
    if loc and loc[-1] == "severity":
        return f"{msg}; valid severities: {', '.join(SEVERITIES)}"
    return msg


def validation_problems(error: ValidationError, where: str = "") -> list[dict[str, str]]:
    """pydantic's errors as the problem list, each field named from the request's top (`where`:
    its prefix, e.g. "extension.")."""
    return [
        {"field": f"{where}{field_path(tuple(e['loc']))}", "message": problem_message(dict(e))} for e in error.errors()
    ]


def problems_response(problems: list[dict[str, str]]) -> Response:
    response = jsonify({"error": "invalid report", "problems": problems})
    response.status_code = 422
    return response


def _before(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """spectree hook: rewrite its 422 body into our problem list (and do not log the input)."""
    if error is None or resp is None:
        return
    if isinstance(error, ValidationError):
        problems = validation_problems(error)
    else:  # pragma: no cover - spectree only raises pydantic errors with the pydantic adapter
        problems = [{"field": "(body)", "message": "the request body does not match the schema"}]
    resp.set_data(json.dumps({"error": "invalid report", "problems": problems}))
    resp.mimetype = "application/json"


def _after(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """spectree hook: a response that breaks our own schema is a bug; log the type only."""
    if error is not None:
        logging.getLogger(ERROR_LOGGER).error(
            "response schema mismatch",
            extra={"fields": {"event": "response schema mismatch", "method": request.method, "path": request.path}},
        )


spec = SpecTree(
    "flask",
    backend=LeanFlaskPlugin,  # spectree's checks, without per-request work our routes do not need
    mode="strict",
    # spectree skips routes under its own path; ours is unused, as /api/openapi.json and
    # /api/docs are served below (its doc pages need CDN scripts that our CSP forbids).
    path="_spectree",
    page_templates={},
    annotations=False,
    before=_before,
    after=_after,
    validation_error_model=ProblemResponse,
    # An API key (flask api-key create NAME) is needed only to store records ("record": true).
    security_schemes=[
        SecurityScheme(
            name="apiKey",
            data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer", description="Needed only to store records"),
        )
    ],
    security=[{}, {"apiKey": []}],  # optional: every endpoint answers without a key
    naming_strategy=lambda model: model.__name__,  # "AssessRequest", not "AssessRequest.<hash>"
    nested_naming_strategy=lambda _parent, child: child,
    title="Microneedling side-effect triage API",
    version="1",
    description=(
        "Triage of side effects after microneedling: expected, monitor or contact clinician, with the "
        "reasons, advice and when to check again. Supports, and does not replace, clinical judgement."
    ),
)
