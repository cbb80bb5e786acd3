"""CDS Hooks service (/cds-services) for EHR integration: the discovery document, the one
`patient-view` service, and the feedback route, with the CORS headers and the JWT check the
specification asks for.

The service assesses the patient's newest triage QuestionnaireResponse from the prefetch (or a
report sent in the request's extension) and answers with the same cards as
/api/v1/assess/cds-hooks (web.api); without a report, no cards. In production without
CDS_HOOKS_ISSUERS every route here answers 503 saying so (web.cds_auth).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.sansio.app import App
from pydantic import ValidationError
from werkzeug.exceptions import BadRequest, NotFound

from triage.exports.cds_hooks import HOOK, PREFETCH_KEY, REPORT_EXTENSION, SERVICE_ID, discovery
from triage.exports.questionnaire_response import UnreadableResponse, latest_response, report_from_response
from web.api import cds_cards, check_json_body
from web.assessor import current_knowledge
from web.cds_auth import SETTING, Issuers, TokenRefused, load_issuers
from web.cds_schemas import CardFeedback, CdsRequest, FeedbackRequest
from web.db import database
from web.errors import json_error
from web.openapi import problems_response, validation_problems
from web.ratelimits import EXTENSION as LIMITER
from web.schemas import AssessRequest
from web.storage.feedback import FeedbackItem, add_feedback

cds = Blueprint("cds", __name__, url_prefix="/cds-services")
ISSUERS = "triage.cds_issuers"  # app.extensions key: Issuers, or None (no check)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


@cds.record_once
def _load_issuers(state: BlueprintSetupState) -> None:
    """CDS_HOOKS_ISSUERS is read once at start-up; a malformed one stops it (ConfigError)."""
    issuers = load_issuers(state.app.config.get(SETTING))
    if issuers is not None and state.app.config.get("RATELIMIT_ENABLED"):
        issuers.first_use = _first_use_in(state.app)
    state.app.extensions[ISSUERS] = issuers


def _first_use_in(app: App) -> Callable[[str, float], bool]:
    """Token ids counted in the rate limiter's storage: memory:// in this process, redis://
    across every worker and server, so a replay to another worker is refused too."""
    prefix = app.config["RATELIMIT_KEY_PREFIX"]

    def first_use(key: str, seconds: float) -> bool:
        storage = app.extensions[LIMITER].storage
        return bool(storage.incr(f"{prefix}/cds-jti/{key}", math.ceil(seconds)) == 1)  # Redis: whole seconds

    return first_use


@cds.after_request
def _cors(response: Response) -> Response:
    """CORS as the specification recommends: any origin, with the Authorization header."""
    response.headers.update(CORS_HEADERS)
    return response


@cds.before_request
def _guard() -> Response | None:
    """Preflights pass; production without trusted issuers answers 503; with them, a call
    without a valid JWT from one of them answers 401; then the JSON body is checked."""
    if request.method == "OPTIONS":
        return None
    issuers: Issuers | None = current_app.extensions.get(ISSUERS)
    if issuers is None and current_app.config["TRIAGE_ENV"] == "production":
        return json_error(503, "service unavailable", f"CDS Hooks is off: {SETTING} names no trusted EHR issuer")
    if issuers is not None and request.method == "POST":
        try:
            request.environ[ISSUERS] = issuers.verify(request.headers.get("Authorization"), request.base_url)["iss"]
        except TokenRefused as exc:
            response = json_error(401, "unauthorized", str(exc))
            response.headers["WWW-Authenticate"] = 'Bearer realm="cds-services"'
            return response
    check_json_body()
    return None


@cds.get("")
def cds_discovery() -> Response:
    """CDS Hooks discovery: the one service this app offers."""
    return jsonify(discovery())


@cds.post("/<service_id>")
def cds_service(service_id: str) -> Response:
    """A `patient-view` call: cards for the patient's newest triage report, or none."""
    _known(service_id)
    call = request.get_json(silent=True)
    if not isinstance(call, dict):
        raise BadRequest("a CDS Hooks request is a JSON object with 'hook', 'hookInstance' and 'context'")
    if call.get("hook") != HOOK:
        raise BadRequest(f"service {SERVICE_ID!r} answers the {HOOK!r} hook, not {call.get('hook')!r}")
    try:
        CdsRequest.model_validate(call)
    except ValidationError as exc:
        return _invalid(exc)
    extension = call.get("extension")
    if isinstance(extension, dict) and REPORT_EXTENSION in extension:
        return _assessed(extension[REPORT_EXTENSION], "extension.")
    response = latest_response((call.get("prefetch") or {}).get(PREFETCH_KEY))
    if response is None:  # no triage report for this patient (or the EHR sent no prefetch): nothing to say
        return jsonify({"cards": []})
    try:
        report = report_from_response(response, current_knowledge())
    except UnreadableResponse as exc:
        return problems_response([{"field": f"prefetch.{PREFETCH_KEY}", "message": str(exc)}])
    authored = response.get("authored")
    return _assessed(report, f"prefetch.{PREFETCH_KEY}.", authored if isinstance(authored, str) else None)


def _assessed(report: Any, where: str, reported_at: str | None = None) -> Response:
    try:
        body = AssessRequest.model_validate(report)
    except ValidationError as exc:
        return _invalid(exc, where)
    return cds_cards(body, where, reported_at)


@cds.post("/<service_id>/feedback")
def cds_feedback(service_id: str) -> Response:
    """What the EHR's user did with our cards: stored for clinical review."""
    _known(service_id)
    try:
        body = FeedbackRequest.model_validate(request.get_json(silent=True))
    except ValidationError as exc:
        return _invalid(exc)
    items = [_feedback_item(f) for f in body.feedback]
    issuer = request.environ.get(ISSUERS)
    with database().transaction() as session:
        stored = add_feedback(session, service_id, items, issuer if isinstance(issuer, str) else None)
    return jsonify({"stored": stored})


def _feedback_item(card: CardFeedback) -> FeedbackItem:
    override = card.overrideReason
    reason = override.reason if override else None
    return FeedbackItem(
        card_uuid=card.card,
        outcome=card.outcome,
        outcome_at=card.outcomeTimestamp,
        override_code=reason.code if reason else None,
        override_system=reason.system if reason else None,
        override_display=reason.display if reason else None,
        user_comment=override.userComment if override else None,
        accepted_suggestions=[s.id for s in card.acceptedSuggestions],
    )


def _invalid(exc: ValidationError, where: str = "") -> Response:
    """The 422 problem list, each field named from the request's top (`where`: its prefix)."""
    return problems_response(validation_problems(exc, where))


def _known(service_id: str) -> None:
    if service_id != SERVICE_ID:
        raise NotFound(f"no CDS service {service_id!r}; this server offers {SERVICE_ID!r} (see GET /cds-services)")
