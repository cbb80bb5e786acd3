"""Triage records for nurses: open a record by its code, read it, add a call-back report,
override a disposition (the engine's answer always stays beside it), review every override
(/nurse/overrides, and as CSV) and export a record as FHIR.

Every page needs a signed-in nurse; every view and change is audited by web.storage.store in the
same transaction as the work itself. Symptoms are never logged. What the pages show (entries,
the course table and chart) is shaped in web.record_views.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session, object_session
from werkzeug.datastructures import MultiDict

from triage import Assessment, Assessor, Disposition, InvalidReport, KnowledgeBase, Report
from triage.engine.report import parse_report
from triage.vocabulary import Channel
from web.assessor import current_assessor, current_knowledge
from web.auth import require_login, signed_in_nurse
from web.clinic import current_organization
from web.clock import hours_between, now, zone, zone_name
from web.db import database, told
from web.follow_up_export import call_back_tasks
from web.forms import Entry as FormEntry
from web.forms import Parsed, engine_problems, read_nurse
from web.record_views import chart, entry_view, label, labels, local_time, timeline_rows
from web.storage import store
from web.storage.codes import normalize_code
from web.storage.models import Nurse, Record
from web.storage.photos import photos_for_record

bp = Blueprint("records", __name__, url_prefix="/nurse/records")
bp.before_request(require_login)
# The overrides review lives beside the records, at /nurse/overrides: its own small blueprint.
review = Blueprint("review", __name__, url_prefix="/nurse")
review.before_request(require_login)

OVERRIDES_SHOWN = 500  # the page shows the newest ones; the CSV has every override


# --- pages --------------------------------------------------------------------------------


def _open_page(code: str = "", error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("record_open.html", code=code, error=error), status


def _not_found(code: str) -> tuple[str, int]:
    if normalize_code(code) is None:
        message = (
            f'"{code.strip()[:20]}" is not a reference code. Codes have 6 letters and digits, like K7M-4QX; '
            "check it with the patient."
        )
        return _open_page(code, message, 400)
    return _open_page(code, f"There is no record with the code {normalize_code(code)}. Check it with the patient.", 404)


@dataclass(frozen=True)
class Prefill:
    """Where the call-back form's first values came from, for the note above it."""

    seq: int  # the entry whose symptoms, severities and factors it holds
    session: str  # when the session was, in the clinic's zone
    now: str
    hours: str


def session_time(record: Record) -> datetime:
    """When the treatment session was: the first report's time minus its hours since the session."""
    first = record.entries[0]
    return first.created_at - timedelta(hours=first.hours)


def hours_since_session(record: Record, at: datetime) -> float:
    """Hours from the session to `at` (never below 0: a clock a little behind the first report)."""
    return max(hours_between(session_time(record), at), 0.0)


def _prefill(record: Record, tz: tzinfo) -> tuple[FormEntry, Prefill]:
    """The call-back form filled in from the last report (symptoms, severities, risk factors)
    and the hours from the session to now, on the app's clock; the nurse changes what differs."""
    last = record.entries[-1]
    at, session = now(), session_time(record)
    hours = f"{hours_since_session(record, at):.1f}".removesuffix(".0")
    fields: list[tuple[str, str]] = [
        ("symptoms", " ".join(f"{s['id']}:{s['severity']}" for s in last.report.get("symptoms", []))),
        ("hours", hours),
    ]
    fields += [("factor", f) for f in last.report.get("factors", [])]
    return FormEntry(MultiDict(fields)), Prefill(last.seq, local_time(session, tz), local_time(at, tz), hours)


def _record_page(
    record: Record,
    report: FormEntry | None = None,
    override: FormEntry | None = None,
    override_seq: int | None = None,
    status: int = 200,
) -> tuple[str, int]:
    kb = current_knowledge()
    tz = zone(None)  # the clinic's zone: its profile's, else DEFAULT_TIMEZONE
    entries = list(record.entries)
    views = [entry_view(kb, e, entries[i - 1] if i else None, tz) for i, e in enumerate(entries)]
    t = store.timeline(record)
    session = object_session(record)
    photos = photos_for_record(session, record.id) if session is not None else {}
    prefill = None
    if report is None:
        report, prefill = _prefill(record, tz)
    return (
        render_template(
            "record.html",
            record=record,
            created=local_time(record.created_at, tz),
            updated=local_time(record.updated_at, tz),
            timezone=zone_name(tz),
            prefill=prefill,
            confirm_lowering=store.CONFIRM_LOWERING,
            entries=views,
            timeline=t,
            rows=timeline_rows(kb, t),
            chart=chart(kb, t),
            labels=labels(kb),
            report=report,
            override=override or FormEntry(),
            override_seq=override_seq,
            factors=list(kb.factors.values()),
            dispositions=[(d.value, label(kb, d.value)) for d in Disposition],
            worse_rule=kb.header.record_worsening,
            photos=photos,
            when=lambda moment: local_time(moment, tz),
        ),
        status,
    )


def active_nurse(session: Session) -> Nurse:
    """The signed-in nurse's row, in this transaction; 403 when the account was turned off."""
    nurse = session.get(Nurse, signed_in_nurse().id)
    if nurse is None or not nurse.active:
        abort(403)
    return nurse


@bp.get("")
def open_form() -> tuple[str, int]:
    return _open_page()


@bp.get("/open")
def open_record() -> ResponseReturnValue:
    code = request.args.get("code", "")
    with database().transaction() as session:
        # Only the look-up is audited here (a miss as "not-found"); the record page audits the view.
        record = store.find_record(session, code, signed_in_nurse().actor, audited_as="")
        reference = record.reference if record is not None else None
    if reference is None:
        return _not_found(code)
    return redirect(url_for("records.record", code=reference), 303)


@bp.get("/<code>")
def record(code: str) -> ResponseReturnValue:
    with database().transaction() as session:
        found = store.find_record(session, code, signed_in_nurse().actor)
        page = _not_found(code) if found is None else _record_page(found)
    return page


def _parse(form: MultiDict[str, str], kb: KnowledgeBase) -> tuple[FormEntry, Parsed | None, Report | None]:
    entry, parsed = read_nurse(form, kb)
    if parsed is None:
        return entry, None, None
    try:
        report = parse_report(kb, parsed.symptoms, parsed.hours, parsed.factors, parsed.worsening)
    except InvalidReport as exc:
        engine_problems(entry, exc.problems, "nurse", kb)
        return entry, None, None
    return entry, parsed, report


def assess_against_record(
    session: Session, record: Record, assessor: Assessor, parsed: Parsed, report: Report
) -> Assessment:
    """A report added to a record (a nurse's call-back, a patient's private link), assessed with
    what the record shows got worse since its previous report (store.worse_than_before).

    The lock first, then the latest report: two reports added at once are serialised, and each
    compares with the entry the other stored."""
    store.lock_record(session, record)
    before = store.latest_symptoms(session, record)
    worse = store.worse_than_before(assessor.kb, before, report.symptoms, report.hours)
    return assessor.assess(parsed.symptoms, parsed.hours, parsed.factors, parsed.worsening, worse=worse)


@bp.post("/<code>/entries")
def add_entry(code: str) -> ResponseReturnValue:
    """A call-back report: assessed with what the record shows got worse, stored as the next entry."""
    assessor = current_assessor()
    actor = signed_in_nurse().actor
    form, parsed, report = _parse(request.form, assessor.kb)
    with database().transaction() as session:
        found = store.find_record(session, code, actor, audited_as="", entries=parsed is None or report is None)
        if found is None:
            page = _not_found(code)
        elif parsed is None or report is None:
            store.audit(session, actor, "view", found.reference)  # the page shows the record again
            page = _record_page(found, report=form, status=400)
        else:
            answer = assess_against_record(session, found, assessor, parsed, report)
            added = store.add_entry(session, found, answer, Channel.NURSE_CONSOLE, active_nurse(session), told(), now())
            target = url_for("records.record", code=found.reference, _anchor=f"entry-{added.seq}")
            return redirect(target, 303)
    return page


# Which field an override's error belongs to, by a word of its message (the first that matches).
OVERRIDE_FIELDS = (
    ("confirm", "confirm"),
    ("reason", "reason"),
    ("emergency", "emergency"),
    ("disposition", "disposition"),
)


@bp.post("/<code>/entries/<int:seq>/override")
def override(code: str, seq: int) -> ResponseReturnValue:
    """The nurse's disposition beside the engine's, with the reason; the engine's answer stays."""
    actor = signed_in_nurse().actor
    form = FormEntry(MultiDict(request.form))
    with database().transaction() as session:
        found = store.find_record(session, code, actor, audited_as="")
        if found is None:
            return _not_found(code)
        entry = next((e for e in found.entries if e.seq == seq), None)
        if entry is None:
            message = f"Record {found.reference} has no entry {seq}."
            return render_template("error.html", status=404, message=message), 404
        try:
            store.add_override(
                session,
                entry,
                active_nurse(session),
                form.get("disposition"),
                form.get("reason"),
                emergency=form.get("emergency") == "yes",
                confirmed=form.get("confirm") == "yes",
            )
        except store.RecordError as exc:
            message = str(exc)
            name = next((n for n, word in OVERRIDE_FIELDS if word in message), "disposition")
            target = f"override-{seq}-{name}" if name != "disposition" else f"override-{seq}-expected"
            form.add(name, target, message[:1].upper() + message[1:] + ".")
            store.audit(session, actor, "view", found.reference)
            return _record_page(found, override=form, override_seq=seq, status=400)
        target = url_for("records.record", code=found.reference, _anchor=f"entry-{seq}")
    return redirect(target, 303)


@bp.errorhandler(CSRFError)
def expired(exc: CSRFError) -> ResponseReturnValue:
    """An expired or missing form token: show the record again with what was typed kept.

    CSRF is checked before sign-in, so sign-in is checked here before any record is shown.
    """
    if (denied := require_login()) is not None:
        return denied
    seq = (request.view_args or {}).get("seq")
    code = str((request.view_args or {}).get("code", ""))
    if request.endpoint not in ("records.add_entry", "records.override") or not code:
        return render_template("error.html", status=400, message="The request could not be read."), 400
    form = FormEntry(MultiDict(request.form))
    with database().transaction() as session:
        found = store.find_record(session, code, signed_in_nurse().actor)
        if found is None:
            return _not_found(code)
        if request.endpoint == "records.add_entry":
            form.add("csrf", "symptoms", "The page had expired; nothing was added. Press the button again.")
            return _record_page(found, report=form, status=400)
        form.add(
            "csrf", f"override-{seq}-reason", "The page had expired; nothing was recorded. Press the button again."
        )
        return _record_page(found, override=form, override_seq=seq, status=400)


@bp.get("/<code>/fhir.json")
def fhir(code: str) -> ResponseReturnValue:
    """The record as a FHIR R4 Bundle (download)."""
    from triage.exports.fhir import ExportEntry, ExportPhoto, photo_media, record_bundle

    with database().transaction() as session:
        found = store.find_record(session, code, signed_in_nurse().actor, audited_as="export-fhir")
        if found is None:
            return _not_found(code)
        entries = []
        for e in found.entries:
            overrides = tuple(
                {
                    "disposition": o.disposition,
                    "emergency": o.emergency,
                    "reason": o.reason,
                    "nurse": o.nurse.username,
                    "at": o.created_at,
                }
                for o in e.overrides
            )
            author = e.nurse.username if e.nurse is not None else None
            entries.append(ExportEntry(e.seq, e.created_at, e.channel, e.answer, overrides, author))
        bundle = record_bundle(found.reference, entries, current_knowledge(), now(), current_organization())
        photos = [
            ExportPhoto(p.seq, p.id, _photo_url(found.reference, p.id), p.at, p.width, p.height)
            for shown in photos_for_record(session, found.id).values()
            for p in shown
        ]
        bundle["entry"].extend(photo_media(found.reference, photos))
        bundle["entry"] += call_back_tasks(session, found)
        reference = found.reference
    response = Response(
        json.dumps(bundle, ensure_ascii=False, indent=1), content_type="application/fhir+json; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f"attachment; filename=record-{reference}-fhir.json"
    return response


def _photo_url(reference: str, photo_id: int) -> str:
    """Where a nurse's session fetches a photo (web/photos.py): absolute, for another system."""
    return url_for("nurse_photos.full_size", code=reference, photo_id=photo_id, _external=True)


# --- the overrides review -----------------------------------------------------------------


@review.get("/overrides")
def overrides() -> tuple[str, int]:
    with database().transaction() as session:
        rows = store.override_rows(session, limit=OVERRIDES_SHOWN + 1)
        store.audit(session, signed_in_nurse().actor, "view-overrides")
    kb = current_knowledge()
    tz = zone(None)
    return (
        render_template(
            "overrides.html",
            rows=rows[:OVERRIDES_SHOWN],
            more=len(rows) > OVERRIDES_SHOWN,
            shown=OVERRIDES_SHOWN,
            labels=labels(kb),
            when=lambda moment: local_time(moment, tz),
            timezone=zone_name(tz),
        ),
        200,
    )


@review.get("/cds-feedback.csv")
def cds_feedback_csv() -> Response:
    """What EHR users did with the CDS Hooks cards (web.cds_service), for clinical review."""
    from web.storage.feedback import feedback_csv, feedback_rows

    with database().transaction() as session:
        text = feedback_csv(feedback_rows(session))
        store.audit(session, signed_in_nurse().actor, "export-cds-feedback-csv")
    response = Response(text, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename=cds-feedback-{now():%Y-%m-%d}.csv"
    return response


@review.get("/overrides.csv")
def overrides_csv() -> Response:
    with database().transaction() as session:
        text = store.overrides_csv(store.override_rows(session))
        store.audit(session, signed_in_nurse().actor, "export-overrides-csv")
    response = Response(text, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename=overrides-{now():%Y-%m-%d}.csv"
    return response
