"""CDS Hooks service (/cds-services) for EHR integration: the discovery document and the one
service, whose report rides in the request's extension. It answers with the same cards as
/api/v1/assess/cds-hooks (web.api).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import BadRequest

from triage.exports.cds_hooks import REPORT_EXTENSION, SERVICE_ID, discovery
from web.api import cds_cards, check_json_body
from web.api_clients import refuse_unknown_key
from web.openapi import field_path, problem_message, problems_response
from web.schemas import AssessRequest

cds = Blueprint("cds", __name__, url_prefix="/cds-services")
cds.before_request(check_json_body)
cds.before_request(refuse_unknown_key)


@cds.get("")
def cds_discovery() -> Response:
    """CDS Hooks discovery: the one service this app offers."""
    return jsonify(discovery())


@cds.post(f"/{SERVICE_ID}")
def cds_service() -> Response:
    """A CDS Hooks call: the report rides in the request's extension (see the discovery document)."""
    call = request.get_json(silent=True)
    if not isinstance(call, dict) or not isinstance(call.get("hook"), str) or not call.get("hookInstance"):
        raise BadRequest("a CDS Hooks request is a JSON object with 'hook' and 'hookInstance'")
    extension = call.get("extension")
    report = extension.get(REPORT_EXTENSION) if isinstance(extension, dict) else None
    if report is None:
        raise BadRequest(f"put the symptom report in the request's extension under {REPORT_EXTENSION!r}")
    try:
        body = AssessRequest.model_validate(report)
    except ValidationError as exc:
        return problems_response(
            [
                {"field": f"extension.{field_path(tuple(e['loc']))}", "message": problem_message(dict(e))}
                for e in exc.errors()
            ]
        )
    return cds_cards(body, "extension.")
