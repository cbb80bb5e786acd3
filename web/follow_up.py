"""The patient's private link (/c/<token>): their own course, a short form filled in from their
last check, "forget this link", a calendar reminder, "ask the clinic to call me" and, when the last answer
is not an emergency, the patient's photos of that report with "Add photos for the nurse" (the
link authorises them: web.photos.linked_target).

No account and no name: the token (256 random bits) is the key, and the database keeps only
its SHA-256 (web.storage.followups). A wrong, expired or forgotten link gets one plain page with
one status, and the look-ups share the records' rate limit. The route's pattern is logged,
never the path, so a token never reaches a log (web/logs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from triage import Assessment, Disposition, InvalidReport, KnowledgeBase
from triage.engine.report import parse_report
from triage.vocabulary import Channel
from web.assessor import patient_assessor
from web.clinic import current_clinic
from web.clock import clock, now, zone, zone_name
from web.data_key import encrypt_phone, read_phone
from web.db import database, told
from web.forms import SEVERITY_WORDS, Entry, engine_problems, read_patient
from web.i18n import select_language
from web.patient import form_page
from web.photos import PhotoTarget, authority, photo_grant
from web.present import quarter_down, view
from web.records import assess_against_record, hours_since_session, session_time
from web.reminder import reminder
from web.storage import followups, store
from web.storage import photos as photo_store
from web.storage.models import Entry as StoredEntry
from web.storage.models import Record

bp = Blueprint("follow_up", __name__)

WINDOWS = {  # in the patient's language when shown (lazy: read at each request)
    followups.TimeWindow.ANY: lazy_gettext("Any time"),
    followups.TimeWindow.MORNING: lazy_gettext("Morning (8:00 to 12:00)"),
    followups.TimeWindow.AFTERNOON: lazy_gettext("Afternoon (12:00 to 17:00)"),
    followups.TimeWindow.EVENING: lazy_gettext("Evening (17:00 to 20:00)"),
}


@dataclass(frozen=True)
class LinkPhotos:
    """The link page's photos: the latest report's, with the fields that authorise its forms."""

    shown: list[photo_store.PhotoInfo]
    auth: dict[str, str]
    when: Callable[[datetime], str]  # an upload's time in the patient's zone and language

    @property
    def room(self) -> int:
        return photo_store.room_left(self.shown)


@dataclass(frozen=True)
class FollowView:
    """The follow-up parts of a result or link page."""

    token: str
    link: str  # the private link, absolute
    calendar: str | None  # the reminder's address, when the answer has a re-check time
    call_back: bool  # the answer offers "ask the clinic to call me"
    form: Entry = field(default_factory=Entry)  # the call-back form: what was typed, its errors
    status: followups.PatientStatus | None = None
    windows: tuple[tuple[str, str], ...] = ()
    region_known: bool = False  # a clinic profile: numbers may be typed without the country code
    photos: LinkPhotos | None = None  # the link page, when its latest answer is not an emergency


def has_recheck(answer: Mapping[str, Any]) -> bool:
    """The answer tells the patient when to check again (as web.present.view shows it)."""
    return (
        answer.get("recheck_in_hours") is not None
        and not answer.get("emergency")
        and answer.get("disposition") != Disposition.CONTACT_CLINICIAN
    )


def recheck_at(entry: StoredEntry) -> datetime | None:
    """When the stored answer said to check again, or None (`contact clinician`, an emergency)."""
    if not has_recheck(entry.answer):
        return None
    return entry.created_at + timedelta(hours=float(entry.answer["recheck_in_hours"]))


def follow_view(
    token: str,
    answer: Mapping[str, Any],
    tz: tzinfo,
    form: Entry | None = None,
    status: followups.PatientStatus | None = None,
    photos: LinkPhotos | None = None,
) -> FollowView:
    """`answer`: the stored answer (Assessment.to_dict()) the page is about."""
    disposition, emergency = str(answer["disposition"]), bool(answer.get("emergency"))
    recheck = has_recheck(answer)
    return FollowView(
        token=token,
        link=url_for("follow_up.link", token=token, _external=True),
        calendar=url_for("follow_up.calendar", token=token, timezone=zone_name(tz)) if recheck else None,
        call_back=followups.callback_refusal(disposition, emergency) is None,
        form=form or Entry(),
        status=status,
        windows=tuple((w.value, str(words)) for w, words in WINDOWS.items()),
        region_known=current_clinic() is not None,
        photos=photos,
    )


def gone() -> tuple[str, int]:
    """The one page for a wrong, expired or forgotten link: it does not say which."""
    return render_template("link_gone.html"), 404


@dataclass(frozen=True)
class CourseRow:
    when: str
    symptoms: str
    answer: str
    recheck: str | None


def course(kb: KnowledgeBase, record: Record, tz: tzinfo) -> list[CourseRow]:
    """The patient's own checks: when, what they reported, the answer and the re-check time;
    never a nurse's note or an override's reason."""
    rows = []
    for e in record.entries:
        symptoms = ", ".join(
            f"{kb.symptom_name(s['id'])} ({str(SEVERITY_WORDS[s['severity']]).split(':')[0].lower()})"
            for s in e.report.get("symptoms", [])
        )
        label = kb.header.dispositions[Disposition(e.disposition).key].label
        recheck = recheck_at(e)
        rows.append(
            CourseRow(
                when=clock(e.created_at, tz, kb.language),
                symptoms=symptoms or "-",
                answer=_("Emergency") if e.emergency else label,
                recheck=clock(quarter_down(recheck, tz), tz, kb.language) if recheck else None,
            )
        )
    return rows


def _prefill(record: Record) -> Entry:
    """The form filled in from the last check, with the hours from the session time the patient
    gave at their first check to now ("getting worse" left for them to say)."""
    last = record.entries[-1]
    hours = hours_since_session(record, now())
    fields: list[tuple[str, str]] = [("hours", f"{hours:.1f}".removesuffix(".0"))]
    for s in last.report.get("symptoms", []):
        fields += [("symptom", s["id"]), (f"severity-{s['id']}", s["severity"])]
    fields += [("factor", f) for f in last.report.get("factors", [])]
    return Entry(MultiDict(fields))


def _photos(session: Session, record: Record, token: str, tz: tzinfo, language: str) -> LinkPhotos | None:
    """The latest report's photos and what authorises adding and removing (the link itself);
    None on an emergency answer, which says to call now and nothing else."""
    last = record.entries[-1]
    if last.emergency:
        return None
    return LinkPhotos(
        shown=photo_store.photos_of_entry(session, last),
        auth=authority(PhotoTarget(record.reference, last.seq, zone_name(tz), link=token)),
        when=lambda moment: clock(moment, tz, language),
    )


def _link_page(
    session: Session, record: Record, token: str, entry: Entry, call_back: Entry | None = None, status: int = 200
) -> tuple[str, int]:
    language = select_language()
    kb = patient_assessor(language).kb
    tz = zone(entry.get("timezone") or request.args.get("timezone"))
    return form_page(
        entry,
        status,
        template="patient_link.html",
        form_action=url_for("follow_up.link", token=token),
        course=course(kb, record, tz),
        session_ended=clock(session_time(record), tz, language),
        follow=follow_view(
            token,
            record.entries[-1].answer,
            tz,
            call_back,
            status=followups.patient_status(session, record),
            photos=_photos(session, record, token, tz, language),
        ),
    )


@bp.get("/c/<token>")
def link(token: str) -> ResponseReturnValue:
    with database().transaction() as session:
        record = followups.record_for_link(session, token)
        if record is None:
            return gone()
        return _link_page(session, record, token, _prefill(record))


@bp.post("/c/<token>")
def check_again(token: str) -> ResponseReturnValue:
    """A new check through the link: added to the same record, compared with the report before
    exactly as a nurse's call-back is (web.records.assess_against_record)."""
    language = select_language()
    assessor = patient_assessor(language)
    at = now()
    entry, parsed = read_patient(request.form, assessor.kb, at)
    with database().transaction() as session:
        record = followups.record_for_link(session, token)
        if record is None:
            return gone()
        if parsed is not None and parsed.hours is None:  # cleared: the session time they gave
            parsed = replace(parsed, hours=hours_since_session(record, at))
        report = None
        if parsed is not None:
            try:
                report = parse_report(assessor.kb, parsed.symptoms, parsed.hours, parsed.factors, parsed.worsening)
            except InvalidReport as exc:
                engine_problems(entry, exc.problems, "patient", assessor.kb)
        if parsed is None or report is None:
            return _link_page(session, record, token, entry, status=400)
        english = assess_against_record(session, record, assessor.english, parsed, report)
        added = store.add_entry(session, record, english, Channel.PATIENT_FORM, None, told(language), at)
        followups.note_self_check(session, record, added)
        reference = record.reference
        follow = follow_view(token, added.answer, parsed.tz)
        # Photos for the new report, as on a first check's result page (never on an emergency).
        grant = None if added.emergency else photo_grant(reference, added.seq, zone_name(parsed.tz))
    answer: Assessment = assessor.assess_report(english.report, english)
    result = view(assessor.kb, answer, at, parsed.tz, current_clinic())
    return (
        render_template("patient_result.html", result=result, reference=reference, follow=follow, photo_grant=grant),
        200,
    )


@bp.post("/c/<token>/forget")
def forget(token: str) -> ResponseReturnValue:
    """ "Forget this link": it stops working at once; the record stays for the clinic."""
    with database().transaction() as session:
        record = followups.record_for_link(session, token)
        if record is None:
            return gone()
        followups.end_link(session, record, followups.LINK_ACTOR)
    return render_template("link_forgotten.html"), 200


@bp.post("/c/<token>/call-back")
def call_back(token: str) -> ResponseReturnValue:
    """ "Ask the clinic to call me": a checked number (stored encrypted), a time window and consent."""
    form = Entry(MultiDict(request.form))
    clinic = current_clinic()
    e164, problem = read_phone(form.get("phone"), clinic.country if clinic else None)
    if problem:
        form.add("phone", "phone", problem)
    window = form.get("window") or followups.TimeWindow.ANY.value
    if window not in {w.value for w in followups.TimeWindow}:
        form.add("window", "window-any", _("Choose when we may call you."))
    if form.get("consent") != "yes":
        form.add("consent", "consent", _("Tick the box to say the clinic may call you on this number."))
    with database().transaction() as session:
        record = followups.record_for_link(session, token)
        if record is None:
            return gone()
        last = record.entries[-1]
        if followups.callback_refusal(last.disposition, last.emergency) is not None:
            return _link_page(session, record, token, _prefill(record), status=409)
        if form.errors or e164 is None:
            return _link_page(session, record, token, _prefill(record), call_back=form, status=400)
        followups.request_call_back(session, record, encrypt_phone(e164), followups.TimeWindow(window), now())
    return redirect(url_for("follow_up.link", token=token, _anchor="call-back-status"), 303)


@bp.get("/c/<token>/reminder.ics")
def calendar(token: str) -> ResponseReturnValue:
    """The reminder at the last answer's re-check time, in the patient's zone (?timezone=)."""
    with database().transaction() as session:
        record = followups.record_for_link(session, token)
        if record is None:
            return gone()
        at = recheck_at(record.entries[-1])
    if at is None:
        return gone()
    return _ics(at, zone(request.args.get("timezone")), url_for("follow_up.link", token=token, _external=True))


@bp.get("/reminder.ics")
def calendar_in_hours() -> ResponseReturnValue:
    """Without a stored check (no session time given) the reminder is "in N hours" from now."""
    try:
        hours = float(request.args.get("hours", ""))
    except ValueError:
        hours = -1.0
    if not 0 < hours <= 24 * 14:
        return render_template("error.html", status=400, message=_("This reminder address is not complete.")), 400
    return _ics(now() + timedelta(hours=hours), zone(request.args.get("timezone")), None)


def _ics(at: datetime, tz: tzinfo, link: str | None) -> Response:
    language = select_language()
    body = reminder(quarter_down(at, tz), tz, _("Check your skin again"), link, language, now())
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=check-your-skin-again.ics"
    return response


@bp.errorhandler(CSRFError)
def expired(exc: CSRFError) -> ResponseReturnValue:
    """An expired form on a link page: the page again with what was typed, and why."""
    token = str((request.view_args or {}).get("token", ""))
    with database().transaction() as session:
        record = followups.record_for_link(session, token)
        if record is None:
            return gone()
        typed = request.endpoint == "follow_up.check_again"
        entry = Entry(MultiDict(request.form)) if typed else _prefill(record)
        entry.add(
            "csrf",
            "emergency-heading",
            _("This page was open too long and has expired. Check your answers and send them again."),
        )
        return _link_page(session, record, token, entry, status=400)
