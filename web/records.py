"""Triage records for nurses: open a record by its code, read it, add a call-back report,
override a disposition (the engine's answer always stays beside it), review every override
(/nurse/overrides, and as CSV) and export a record as FHIR.

Every page needs a signed-in nurse; every view and change is audited by web.storage.store in the
same transaction as the work itself. Symptoms are never logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from triage import Assessment, Disposition, InvalidReport, KnowledgeBase, Report
from triage.engine.report import parse_report
from triage.vocabulary import Channel
from web.assessor import current_assessor, current_knowledge
from web.auth import require_login, signed_in_nurse
from web.clinic import current_organization
from web.clock import now
from web.db import database
from web.forms import Entry as FormEntry
from web.forms import Parsed, engine_problems, read_nurse
from web.present import ICONS, ResultView, view
from web.storage import store
from web.storage.codes import normalize_code
from web.storage.models import Entry as RecordEntry
from web.storage.models import Nurse, Record

bp = Blueprint("records", __name__, url_prefix="/nurse/records")
bp.before_request(require_login)
# The overrides review lives beside the records, at /nurse/overrides: its own small blueprint.
review = Blueprint("review", __name__, url_prefix="/nurse")
review.before_request(require_login)

CHANNEL_LABELS: dict[str, str] = {
    Channel.PATIENT_FORM: "patient form",
    Channel.NURSE_CONSOLE: "nurse console",
    Channel.API: "API",
}
OVERRIDES_SHOWN = 500  # the page shows the newest ones; the CSV has every override


# --- what the pages show -----------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    key: str  # css key: expected, monitor, contact-clinician
    text: str  # "Monitor"
    icon: str  # shape: check, eye, phone


@dataclass(frozen=True)
class WorseView:
    name: str
    symptom: str
    before: str | None  # severity at the previous report (None: not in it)
    now: str
    why: str  # why the record counts it as getting worse (more severe, or new and late)


@dataclass(frozen=True)
class OverrideView:
    label: Label
    emergency: bool
    nurse: str
    at: str
    reason: str


@dataclass(frozen=True)
class EntryView:
    seq: int
    at: str  # "2026-11-25 09:30 UTC"
    channel: str
    who: str
    hours: str
    symptoms: tuple[tuple[str, str, str], ...]  # (name, id, severity)
    factors: tuple[str, ...]
    worsening: bool
    worse: tuple[WorseView, ...]
    answer: ResultView  # the stored answer, worded as the console words a fresh one (times in UTC)
    overrides: tuple[OverrideView, ...]


def label(kb: KnowledgeBase, disposition: str) -> Label:
    key = Disposition(disposition).key
    return Label(key, kb.header.dispositions[key].label, ICONS[key])


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def entry_view(kb: KnowledgeBase, entry: RecordEntry, previous: RecordEntry | None) -> EntryView:
    report = entry.report
    before = {s["id"]: s["severity"] for s in previous.report.get("symptoms", [])} if previous else {}
    current = {s["id"]: s["severity"] for s in report.get("symptoms", [])}
    worse = tuple(
        WorseView(kb.symptom_name(sid), sid, before.get(sid), current.get(sid, "?"), store.why_worse(kb, before, sid))
        for sid in report.get("worse_symptoms", [])
    )
    return EntryView(
        seq=entry.seq,
        at=_when(entry.created_at),
        channel=CHANNEL_LABELS.get(entry.channel, entry.channel),
        who=f"nurse {entry.nurse.username}" if entry.nurse is not None else "patient",
        hours=f"{entry.hours:g} h",
        symptoms=tuple((kb.symptom_name(sid), sid, sev) for sid, sev in current.items()),
        factors=tuple(kb.factor_label(f) for f in report.get("factors", [])),
        worsening=bool(report.get("worsening")),
        worse=worse,
        answer=view(kb, Assessment.from_dict(entry.answer), entry.created_at, UTC),
        overrides=tuple(
            OverrideView(label(kb, o.disposition), o.emergency, o.nurse.username, _when(o.created_at), o.reason)
            for o in entry.overrides
        ),
    )


# --- the timeline: a table, and the same data as a small chart ----------------------------


@dataclass(frozen=True)
class TimelineRow:
    symptom: str
    name: str
    cells: tuple[store.TimelineCell | None, ...]  # one per entry; None: not reported then


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class ChartSeries:
    index: int  # css class series-N and marker shape
    shape: str
    name: str
    line: str  # polyline points "x,y x,y"
    points: tuple[ChartPoint, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    series: tuple[ChartSeries, ...]


SHAPES = ("circle", "square", "triangle", "diamond")
LEVELS = (Disposition.EXPECTED, Disposition.MONITOR, Disposition.CONTACT_CLINICIAN)


def _step(span: float) -> float:
    for step in (1, 2, 6, 12, 24, 48, 72, 168, 336, 720, 1440, 2160):
        if span / step <= 8:
            return step
    return 4380


def chart(kb: KnowledgeBase, t: store.Timeline) -> Chart:
    """Hours since treatment across, disposition level up, one series per symptom."""
    width, height, left, right, top, bottom = 720, 210, 140, 700, 16, 170
    span = max([p.hours for p in t.points] + [1.0])
    span = _step(span) * (int(span // _step(span)) + 1)  # end on a tick past the last point

    def x(hours: float) -> float:
        return round(left + (right - left) * hours / span, 1)

    def y(disposition: str, offset: float) -> float:
        level = Disposition(disposition).rank
        return round(bottom - (bottom - top) * level / (len(LEVELS) - 1) + offset, 1)

    step = _step(span)
    x_ticks = tuple((x(h), f"{h:g} h") for h in [i * step for i in range(int(span // step) + 1)])
    y_ticks = tuple((y(d.value, 0), label(kb, d.value).text) for d in LEVELS)
    series = []
    n = len(t.symptoms)
    for i, sid in enumerate(t.symptoms):
        offset = (i - (n - 1) / 2) * 4  # lines that share a level stay apart
        name = kb.symptom_name(sid)
        points = tuple(
            ChartPoint(
                x(p.hours),
                y(cell.disposition, offset),
                f"{name}, {cell.severity}: {cell.disposition} at {p.hours:g} h (entry {p.seq})"
                + ("; worse than before" if cell.worse else ""),
            )
            for p in t.points
            if (cell := p.cells.get(sid)) is not None
        )
        line = " ".join(f"{p.x},{p.y}" for p in points)
        series.append(ChartSeries(i % 8, SHAPES[i % len(SHAPES)], name, line, points))
    return Chart(width, height, left, right, top, bottom, x_ticks, y_ticks, tuple(series))


def timeline_rows(kb: KnowledgeBase, t: store.Timeline) -> tuple[TimelineRow, ...]:
    return tuple(
        TimelineRow(sid, kb.symptom_name(sid), tuple(p.cells.get(sid) for p in t.points)) for sid in t.symptoms
    )


# --- pages --------------------------------------------------------------------------------


def _labels(kb: KnowledgeBase) -> dict[str, Label]:
    return {d.value: label(kb, d.value) for d in Disposition}


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


def _record_page(
    record: Record,
    report: FormEntry | None = None,
    override: FormEntry | None = None,
    override_seq: int | None = None,
    status: int = 200,
) -> tuple[str, int]:
    kb = current_knowledge()
    entries = list(record.entries)
    views = [entry_view(kb, e, entries[i - 1] if i else None) for i, e in enumerate(entries)]
    t = store.timeline(record)
    return (
        render_template(
            "record.html",
            record=record,
            created=_when(record.created_at),
            updated=_when(record.updated_at),
            entries=views,
            timeline=t,
            rows=timeline_rows(kb, t),
            chart=chart(kb, t),
            labels=_labels(kb),
            report=report or FormEntry(),
            override=override or FormEntry(),
            override_seq=override_seq,
            factors=list(kb.factors.values()),
            dispositions=[(d.value, label(kb, d.value)) for d in Disposition],
            worse_rule=kb.header.record_worsening,
        ),
        status,
    )


def _nurse(session: Session) -> Nurse:
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
            # The lock first, then the latest report: two nurses adding at once are serialised,
            # and each compares with the entry the other stored.
            store.lock_record(session, found)
            before = store.latest_symptoms(session, found)
            worse = store.worse_than_before(assessor.kb, before, report.symptoms, report.hours)
            answer = assessor.assess(parsed.symptoms, parsed.hours, parsed.factors, parsed.worsening, worse=worse)
            added = store.add_entry(session, found, answer, Channel.NURSE_CONSOLE, _nurse(session))
            target = url_for("records.record", code=found.reference, _anchor=f"entry-{added.seq}")
            return redirect(target, 303)
    return page


OVERRIDE_FIELDS = (("reason", "reason"), ("emergency", "emergency"), ("disposition", "disposition"))


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
                _nurse(session),
                form.get("disposition"),
                form.get("reason"),
                emergency=form.get("emergency") == "yes",
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
    from triage.exports.fhir import ExportEntry, record_bundle

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
        reference = found.reference
    response = Response(
        json.dumps(bundle, ensure_ascii=False, indent=1), content_type="application/fhir+json; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f"attachment; filename=record-{reference}-fhir.json"
    return response


# --- the overrides review -----------------------------------------------------------------


@review.get("/overrides")
def overrides() -> tuple[str, int]:
    with database().transaction() as session:
        rows = store.override_rows(session, limit=OVERRIDES_SHOWN + 1)
        store.audit(session, signed_in_nurse().actor, "view-overrides")
    kb = current_knowledge()
    return (
        render_template(
            "overrides.html",
            rows=rows[:OVERRIDES_SHOWN],
            more=len(rows) > OVERRIDES_SHOWN,
            shown=OVERRIDES_SHOWN,
            labels=_labels(kb),
            when=_when,
        ),
        200,
    )


@review.get("/overrides.csv")
def overrides_csv() -> Response:
    with database().transaction() as session:
        text = store.overrides_csv(store.override_rows(session))
        store.audit(session, signed_in_nurse().actor, "export-overrides-csv")
    response = Response(text, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename=overrides-{now():%Y-%m-%d}.csv"
    return response
