"""Nurse console (/nurse): fast keyboard entry and the full answer on one page, for a live call."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from triage import InvalidReport
from triage.vocabulary import Channel
from web.assessor import current_assessor, current_knowledge
from web.auth import require_login, signed_in_nurse
from web.clinic import current_organization
from web.clock import now, zone, zone_name, zones
from web.db import store_new_record
from web.forms import Entry, engine_problems, read_nurse
from web.present import ResultView, note, view

bp = Blueprint("nurse", __name__, url_prefix="/nurse")
bp.before_request(require_login)


def _page(
    entry: Entry,
    result: ResultView | None = None,
    text: str | None = None,
    status: int = 200,
    reference: str | None = None,
) -> tuple[str, int]:
    kb = current_knowledge()
    return (
        render_template(
            "nurse.html",
            entry=entry,
            result=result,
            note=text,
            reference=reference,
            symptoms=list(kb.symptoms.values()),
            factors=list(kb.factors.values()),
            zones=zones(),
            default_zone=entry.get("timezone") or zone_name(zone(None)),
        ),
        status,
    )


@bp.get("")
def console() -> tuple[str, int]:
    return _page(Entry())


@bp.post("")
def assess() -> tuple[str, int]:
    assessor = current_assessor()
    at = now()
    entry, parsed = read_nurse(request.form, assessor.kb)
    if parsed is None:
        return _page(entry, status=400)
    try:
        answer = assessor.assess(parsed.symptoms, parsed.hours, parsed.factors, parsed.worsening)
    except InvalidReport as exc:
        engine_problems(entry, exc.problems, "nurse", assessor.kb)
        return _page(entry, status=400)
    reference = store_new_record(answer, Channel.NURSE_CONSOLE, signed_in_nurse().id)
    result = view(assessor.kb, answer, at, parsed.tz)
    text = note(assessor.kb, result, parsed.tz, current_organization())
    if reference:
        text = f"Reference: {reference}\n{text}"
    return _page(entry, result, text, reference=reference)


@bp.errorhandler(CSRFError)
def expired(exc: CSRFError) -> ResponseReturnValue:
    """The form token was missing or stale. CSRF is checked before sign-in, so sign-in is
    checked here first: nobody signed out sees the console or what was posted."""
    if (denied := require_login()) is not None:
        return denied
    entry = Entry(MultiDict(request.form))
    entry.add("csrf", "symptoms", "The console page had expired; press Assess again.")
    return _page(entry, status=400)
