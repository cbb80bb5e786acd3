"""Patient pages: the symptom form (/) and its result, for a worried person on a phone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from triage import InvalidReport
from triage.vocabulary import DEFAULT_SEVERITY
from web.assessor import patient_assessor
from web.clinic import current_clinic
from web.clock import likely_zone_choices, now, zone, zone_choices, zone_name
from web.db import store_self_check
from web.forms import SEVERITY_WORDS, Entry, engine_problems, read_patient
from web.i18n import select_language
from web.photos import photo_grant
from web.present import view

bp = Blueprint("patient", __name__)


def form_page(entry: Entry, status: int = 200, template: str = "patient_form.html", **extra: Any) -> tuple[str, int]:
    """The symptom form (`template`: also the private link's page, which adds `extra`)."""
    language = select_language()
    kb = patient_assessor(language).kb
    # The time zone list: a short one (the zone chosen or the clinic's first), all ~500 on request
    # (?zones=all, a plain link), or when the zone sent is not a known one.
    default_zone = entry.get("timezone") or zone_name(zone(None))
    all_zones = request.args.get("zones") == "all" or default_zone not in dict(zone_choices(language))
    others = [s for s in kb.symptoms.values() if not s.emergency]  # the emergency signs come first
    groups = [
        ("common", _("Common after microneedling"), [s for s in others if s.group == "common"]),
        ("warning", _("Warning signs"), [s for s in others if s.group == "warning"]),
    ]
    return (
        render_template(
            template,
            entry=entry,
            groups=groups,
            emergency=[s for s in kb.symptoms.values() if s.emergency],
            default_severity=DEFAULT_SEVERITY,
            factors=list(kb.factors.values()),
            severities=SEVERITY_WORDS,
            zones=zone_choices(language) if all_zones else likely_zone_choices(language, default_zone),
            default_zone=default_zone,
            all_zones=all_zones,
            **extra,
        ),
        status,
    )


@bp.get("/")
def form() -> tuple[str, int]:
    """The empty form."""
    return form_page(Entry())


@bp.post("/")
def result() -> tuple[str, int]:
    """Assess the report; on any problem, show the form again with everything kept."""
    assessor = patient_assessor(select_language())
    at = now()
    entry, parsed = read_patient(request.form, assessor.kb, at)
    if parsed is None:
        return form_page(entry, 400)
    try:
        answer = assessor.assess(parsed.symptoms, parsed.hours, parsed.factors, parsed.worsening)
    except InvalidReport as exc:
        engine_problems(entry, exc.problems, "patient", assessor.kb)
        return form_page(entry, 400)
    # Stored in English, as the nurse reads it: the same answer, from the English engine's cache.
    english = assessor.english.assess_report(answer.report)
    stored = store_self_check(english, select_language())
    result = view(assessor.kb, answer, at, parsed.tz, current_clinic())
    reference, follow = None, None
    if stored is not None:
        from web.follow_up import follow_view  # the link's module builds on this one

        reference, token = stored
        follow = follow_view(token, english.to_dict(), parsed.tz)
    # Photos for the nurse: offered with a stored answer that is not an emergency (web/photos.py).
    grant = photo_grant(reference, 1, zone_name(parsed.tz)) if reference and not answer.emergency else None
    return (
        render_template("patient_result.html", result=result, reference=reference, follow=follow, photo_grant=grant),
        200,
    )


@bp.errorhandler(CSRFError)
def expired(exc: CSRFError) -> tuple[str, int]:
    """The CSRF token was missing or stale: show the form again, input kept, and say why."""
    entry = Entry(MultiDict(request.form))
    entry.add(
        "csrf",
        "emergency-heading",
        _("This page was open too long and has expired. Check your answers and send them again."),
    )
    return form_page(entry, 400)
