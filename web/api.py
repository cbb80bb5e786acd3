"""JSON API (/api/v1): assess a report (as the answer, or as CDS Hooks cards) and the
vocabulary (/api/v1/knowledge).

Requests and responses are checked against the models in web.schemas by web.openapi's spec,
which also describes them (/api/openapi.json, served by web.health_and_docs).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from spectree import Response as Responses
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from triage import Assessment, InvalidReport, Problem
from triage.answer.languages import ENGLISH_CODE
from triage.engine.report import MAX_SYMPTOMS, hours_for_engine, hours_text_forms
from triage.exports.cds_hooks import cds_hooks_response
from triage.vocabulary import DEFAULT_SEVERITY, MAX_HOURS, SEVERITIES, Channel
from web.answer_check import AnswerCheck, WrittenAnswers
from web.api_clients import NOT_STORED_WITHOUT_KEY, api_client, refuse_unknown_key
from web.assessor import current_assessor, current_knowledge, patient_assessor
from web.clinic import current_clinic, current_organization
from web.db import store_new_record
from web.i18n import select_language
from web.openapi import problems_response, spec
from web.schemas import AssessmentOut, AssessRequest, CdsHooksResponse, ErrorResponse, KnowledgeOut
from web.storage import api_keys

api = Blueprint("api", __name__, url_prefix="/api/v1")
api.before_request(refuse_unknown_key)  # a wrong or revoked API key: 401 (web.api_clients)

ANSWER_CHECK = AnswerCheck(AssessmentOut)  # each distinct finding checked once (web.answer_check)
WRITTEN_ANSWERS = "triage.written_answers"  # app.extensions key: answers sent before, as sent

ERRORS = {
    "HTTP_400": ErrorResponse,
    "HTTP_401": ErrorResponse,
    "HTTP_413": ErrorResponse,
    "HTTP_415": ErrorResponse,
    "HTTP_429": ErrorResponse,
}


@api.before_request
def check_json_body() -> None:
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
    client = api_client() if body.record else None
    if body.record and client is None:
        data["record_error"] = NOT_STORED_WITHOUT_KEY
    elif body.record and client is not None:  # stored in English, as the nurse reads it (the same answer; a cache hit)
        data["reference"] = store_new_record(
            current_assessor().assess_report(answer.report),
            Channel.API,
            language=select_language(),
            actor=api_keys.api_actor(client),
        )
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
    and source. With `record: true` and an API key the card also names the record's reference code.
    """
    return cds_cards(request.context.json)  # type: ignore[attr-defined]


def cds_cards(body: AssessRequest, where: str = "", reported_at: str | None = None) -> Response:
    """The answer as CDS Hooks cards (stored first when the body asks), or the 422 (fields
    prefixed with `where`, e.g. "extension." for a CDS Hooks call); `reported_at`: when a
    report read from the EHR was made."""
    answer = _answer(body, where)
    if isinstance(answer, Response):
        return answer
    client = api_client() if body.record else None
    reference = store_new_record(answer, Channel.API, actor=api_keys.api_actor(client)) if client else None
    card = cds_hooks_response(answer.to_dict(), current_knowledge(), reference, current_organization(), reported_at)
    return jsonify(card)


def _answer(body: AssessRequest, where: str = "", language: str = ENGLISH_CODE) -> Assessment | Response:
    """The engine's answer (the patient's words in `language`; exports and cards are English),
    or the 422 naming every problem the engine found."""
    assessor = patient_assessor(language)
    hours = body.hours  # text is read in the language's units ("2 días"), as on the form
    hours = hours_for_engine(hours, assessor.kb.words) if isinstance(hours, str) else hours
    try:  # (hours + 0.0 turns -0.0 into 0.0)
        return assessor.assess(
            [f"{s.id}:{s.severity}" for s in body.symptoms],
            hours if hours is None or isinstance(hours, str) else hours + 0.0,
            body.factors,
            body.worsening,
        )
    except InvalidReport as exc:
        forms = f"; {hours_text_forms(assessor.kb.words)}" if isinstance(hours, str) else ""
        return problems_response([_engine_problem(p, where, forms) for p in exc.problems])


def _engine_problem(problem: Problem, where: str = "", hours_forms: str = "") -> dict[str, str]:
    field = problem.field
    if field.startswith("symptoms["):
        field += ".id"
    return {"field": where + field, "message": problem.message + (hours_forms if field == "hours" else "")}


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
