"""JSON API (/api/v1), its OpenAPI description (/api/openapi.json, /api/docs) and /healthz.

The pydantic models in web.schemas both validate requests (through spectree) and generate
the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.blueprints import BlueprintSetupState
from pydantic import ValidationError
from spectree import Response as Responses
from spectree import SpecTree
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from triage import Assessment, InvalidReport, Problem
from triage.answer.languages import ENGLISH_CODE
from triage.engine.report import MAX_SYMPTOMS
from triage.exports.cds_hooks import REPORT_EXTENSION, SERVICE_ID, cds_hooks_response, discovery
from triage.vocabulary import DEFAULT_SEVERITY, MAX_HOURS, SEVERITIES, Channel
from web.answer_check import AnswerCheck, WrittenAnswers
from web.assessor import current_assessor, current_knowledge, patient_assessor
from web.clinic import current_clinic, current_organization
from web.db import store_new_record
from web.i18n import select_language
from web.logs import ERROR_LOGGER
from web.schemas import (
    AssessmentOut,
    AssessRequest,
    CdsHooksResponse,
    ErrorResponse,
    Health,
    KnowledgeOut,
    ProblemResponse,
)
from web.spectree_plugin import LeanFlaskPlugin

api = Blueprint("api", __name__, url_prefix="/api/v1")
meta = Blueprint("meta", __name__)

FIELDS = ", ".join(AssessRequest.model_fields)


def _field(loc: tuple[int | str, ...]) -> str:
    """pydantic's ("symptoms", 0, "id") as "symptoms[0].id"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def _message(err: dict[str, Any]) -> str:
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


def problems_response(problems: list[dict[str, str]]) -> Response:
    response = jsonify({"error": "invalid report", "problems": problems})
    response.status_code = 422
    return response


def _before(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """spectree hook: rewrite its 422 body into our problem list (and do not log the input)."""
    if error is None or resp is None:
        return
    if isinstance(error, ValidationError):
        problems = [{"field": _field(tuple(e["loc"])), "message": _message(dict(e))} for e in error.errors()]
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
    naming_strategy=lambda model: model.__name__,  # "AssessRequest", not "AssessRequest.<hash>"
    nested_naming_strategy=lambda _parent, child: child,
    title="Microneedling side-effect triage API",
    version="1",
    description=(
        "Triage of side effects after microneedling: expected, monitor or contact clinician, with the "
        "reasons, advice and when to check again. Supports, and does not replace, clinical judgement."
    ),
)

ANSWER_CHECK = AnswerCheck(AssessmentOut)  # each distinct finding checked once (web.answer_check)
WRITTEN_ANSWERS = "triage.written_answers"  # app.extensions key: answers sent before, as sent

ERRORS = {
    "HTTP_400": ErrorResponse,
    "HTTP_413": ErrorResponse,
    "HTTP_415": ErrorResponse,
    "HTTP_429": ErrorResponse,
}


@api.before_request
def _json_body() -> None:
    """Wrong content type: 415; unreadable JSON: 400; both before validation, both JSON."""
    if request.method != "POST":
        return
    if not request.is_json:
        raise UnsupportedMediaType(
            f"send the report as JSON with Content-Type: application/json, not {request.mimetype or 'nothing'}"
        )
    try:
        request.get_json()
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    except BadRequest:
        raise BadRequest("the request body is not valid JSON") from None


@api.post("/assess")
@spec.validate(json=AssessRequest, resp=Responses(HTTP_200=AssessmentOut, **ERRORS), tags=["triage"])
def assess() -> Response:
    """Assess a report.

    Returns the disposition (expected, monitor or contact clinician), the emergency flag, every
    finding with its rule, reason and source, the advice and when to check again. A symptom or
    factor id the knowledge base does not know is a 422 naming the valid ids.
    """
    body: AssessRequest = request.context.json  # type: ignore[attr-defined]
    answer = _answer(body, language=select_language())
    if isinstance(answer, Response):
        return answer
    clinic = current_clinic()
    written = _written_answers()
    if not body.record and (sent := written.get(answer, clinic)) is not None:
        return ANSWER_CHECK.mark_written(current_app.response_class(sent, mimetype="application/json"))  # as jsonify
    data = answer.to_dict()
    if clinic is not None:
        data["contact"] = clinic.contact()
    if body.record:  # stored in English, as the nurse reads it (the same answer; a cache hit)
        data["reference"] = store_new_record(current_assessor().assess_report(answer.report), Channel.API)
        if data["reference"] is None:
            data["record_error"] = (
                "a report without hours is not stored, so no reference code was issued"
                if answer.report.hours is None
                else "the answer was not stored, so no reference code could be issued"
            )
    response = ANSWER_CHECK.mark(jsonify(data), answer, data)
    if not body.record and ANSWER_CHECK.marked(response):
        written.offer(answer, clinic, response)
    return response


@api.record_once
def _keep_written_answers(state: BlueprintSetupState) -> None:
    """Each app keeps its own answers already written, as its JSON settings and clinic make the bytes."""
    state.app.extensions[WRITTEN_ANSWERS] = WrittenAnswers()


def _written_answers() -> WrittenAnswers:
    """This app's answers already written (web.answer_check.WrittenAnswers)."""
    found: WrittenAnswers = current_app.extensions[WRITTEN_ANSWERS]
    return found


@api.post("/assess/cds-hooks")
@spec.validate(json=AssessRequest, resp=Responses(HTTP_200=CdsHooksResponse, **ERRORS), tags=["triage"])
def assess_cds_hooks() -> Response:
    """Assess a report and return the answer as a CDS Hooks card.

    The card's indicator is info, warning or critical for expected, monitor or contact
    clinician (critical also for an emergency); its detail lists every finding's rule, reason
    and source. With `record: true` the card also names the record's reference code.
    """
    return _cards(request.context.json)  # type: ignore[attr-defined]


def _cards(body: AssessRequest, where: str = "") -> Response:
    """The answer as CDS Hooks cards (stored first when the body asks), or the 422 (fields
    prefixed with `where`, e.g. "extension." for a CDS Hooks call)."""
    answer = _answer(body, where)
    if isinstance(answer, Response):
        return answer
    reference = store_new_record(answer, Channel.API) if body.record else None
    return jsonify(cds_hooks_response(answer.to_dict(), current_knowledge(), reference, current_organization()))


def _answer(body: AssessRequest, where: str = "", language: str = ENGLISH_CODE) -> Assessment | Response:
    """The engine's answer (the patient's words in `language`; exports and cards are English),
    or the 422 naming every problem the engine found."""
    try:  # (hours + 0.0 turns -0.0 into 0.0)
        return patient_assessor(language).assess(
            [f"{s.id}:{s.severity}" for s in body.symptoms],
            None if body.hours is None else body.hours + 0.0,
            body.factors,
            body.worsening,
        )
    except InvalidReport as exc:
        return problems_response([_engine_problem(p, where) for p in exc.problems])


def _engine_problem(problem: Problem, where: str = "") -> dict[str, str]:
    field = problem.field
    if field.startswith("symptoms["):
        field += ".id"
    return {"field": where + field, "message": problem.message}


@api.get("/knowledge")
@spec.validate(resp=Responses(HTTP_200=KnowledgeOut, HTTP_429=ErrorResponse), tags=["knowledge"])
def knowledge() -> Response:
    """The vocabulary: symptoms, risk factors, severities, dispositions and the KB version.

    Names, descriptions, questions and patient texts are in the Accept-Language's language
    when the knowledge base is translated into it (the `Content-Language` header says which)."""
    kb = patient_assessor(select_language()).kb
    data = {
        "kb_version": kb.version,
        "kb_digest": kb.digest,
        "title": kb.header.title,
        "disclaimer": kb.header.disclaimer,
        "severities": list(SEVERITIES),
        "default_severity": DEFAULT_SEVERITY,
        "max_hours": MAX_HOURS,
        "max_symptoms": MAX_SYMPTOMS,
        "symptoms": [
            {
                "id": s.id,
                "name": s.name,
                "description": s.description,
                "group": s.group,
                "likelihood": s.likelihood,
                "emergency": s.emergency,
            }
            for s in kb.symptoms.values()
        ],
        "factors": [{"id": f.id, "label": f.label, "question": f.question} for f in kb.factors.values()],
        "dispositions": [
            {"value": key.replace("-", " "), "label": d.label, "patient": d.patient, "nurse": d.nurse}
            for key, d in kb.header.dispositions.items()
        ],
    }
    response = jsonify(data)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@meta.get("/healthz")
@spec.validate(resp=Responses(HTTP_200=Health), tags=["operations"])
def healthz() -> Response:
    """Liveness for load balancers: the knowledge base is loaded and its engine built."""
    kb = current_knowledge()
    response = jsonify({"status": "ok", "kb_version": kb.version, "kb_digest": kb.digest})
    response.headers["Cache-Control"] = "no-store"
    return response


@meta.get("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document, generated from the models that validate requests."""
    return jsonify(spec.spec)


@meta.get("/api/docs")
def docs() -> str:
    """A self-contained API reference rendered from the OpenAPI document (no scripts, no CDN)."""
    document = spec.spec
    return render_template("api_docs.html", spec=document, pretty=lambda v: json.dumps(v, indent=2))


# --- CDS Hooks service (EHR integration) ------------------------------------------------------

cds = Blueprint("cds", __name__, url_prefix="/cds-services")
cds.before_request(_json_body)


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
            [{"field": f"extension.{_field(tuple(e['loc']))}", "message": _message(dict(e))} for e in exc.errors()]
        )
    return _cards(body, "extension.")
