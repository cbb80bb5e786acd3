"""What the record pages show, shaped for their templates: each entry of a record with its
answer and overrides, the disposition labels, and the course as a table and a small chart.

No routes here: web.records reads the record, in its transaction, and renders these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from babel import Locale
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from triage import Assessment, Disposition, KnowledgeBase
from triage.vocabulary import Channel
from web.assessor import LANGUAGES, patient_assessor
from web.present import ICONS, ResultView, view
from web.storage import store
from web.storage.models import Entry as RecordEntry

CHANNEL_LABELS: dict[str, str] = {
    Channel.PATIENT_FORM: "patient form",
    Channel.NURSE_CONSOLE: "nurse console",
    Channel.API: "API",
}


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
    lowered_emergency: bool  # the engine said emergency; the nurse lowered it (confirmed)


@dataclass(frozen=True)
class EntryView:
    seq: int
    at: str  # "2026-11-25 10:30", in the clinic's zone (the page says which)
    channel: str
    who: str
    hours: str
    symptoms: tuple[tuple[str, str, str], ...]  # (name, id, severity)
    factors: tuple[str, ...]
    worsening: bool
    worse: tuple[WorseView, ...]
    answer: ResultView  # the stored answer, worded as the console words a fresh one (in the clinic's zone)
    told: str  # what the patient read: "Call 112 now.", in their language, with the numbers of the time
    told_language: str  # the language of `told` ("en" when their own words are not at hand)
    language: str  # the language they read it in ("en", "es")
    language_name: str  # "Spanish", for the nurse
    overrides: tuple[OverrideView, ...]


def label(kb: KnowledgeBase, disposition: str) -> Label:
    key = Disposition(disposition).key
    return Label(key, kb.header.dispositions[key].label, ICONS[key])


def local_time(moment: datetime, tz: tzinfo) -> str:
    """The moment as the record pages show it in `tz` (the clinic's zone), like "2026-11-25 10:30";
    the page says once which zone ("Times are Europe/Madrid")."""
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}"


def patient_told(kb: KnowledgeBase, entry: RecordEntry, answer: Assessment) -> tuple[str, str]:
    """What the patient read as the answer, and the language of those words: in the language
    they read, with the clinic's numbers stored with the entry. An emergency is the result page's
    call button ("Call 112 now", "Llame ahora al 112"); otherwise the answer's summary, worded in
    their language while the knowledge base is still the one that answered (else the stored
    English words, said to be English)."""
    language = entry.language or "en"
    if language != "en" and language not in current_app.extensions.get(LANGUAGES, {}):
        return answer.summary, "en"
    if entry.emergency and entry.emergency_number is not None:  # the call button the patient saw
        with force_locale(language):
            return str(_("Call %(number)s now", number=entry.emergency_number)), language
    if language != "en" and entry.kb_version == kb.version:
        return patient_assessor(language).assess_report(answer.report, answer).summary, language
    return answer.summary, "en"


def entry_view(kb: KnowledgeBase, entry: RecordEntry, previous: RecordEntry | None, tz: tzinfo = UTC) -> EntryView:
    report = entry.report
    before = {s["id"]: s["severity"] for s in previous.report.get("symptoms", [])} if previous else {}
    current = {s["id"]: s["severity"] for s in report.get("symptoms", [])}
    worse = tuple(
        WorseView(kb.symptom_name(sid), sid, before.get(sid), current.get(sid, "?"), store.why_worse(kb, before, sid))
        for sid in report.get("worse_symptoms", [])
    )
    answer = Assessment.from_dict(entry.answer)
    told, told_language = patient_told(kb, entry, answer)
    return EntryView(
        seq=entry.seq,
        at=local_time(entry.created_at, tz),
        channel=CHANNEL_LABELS.get(entry.channel, entry.channel),
        who=f"nurse {entry.nurse.username}" if entry.nurse is not None else "patient",
        hours=f"{entry.hours:g} h",
        symptoms=tuple((kb.symptom_name(sid), sid, sev) for sid, sev in current.items()),
        factors=tuple(kb.factor_label(f) for f in report.get("factors", [])),
        worsening=bool(report.get("worsening")),
        worse=worse,
        answer=view(kb, answer, entry.created_at, tz),
        told=told,
        told_language=told_language,
        language=entry.language or "en",
        language_name=Locale.parse(entry.language or "en").get_display_name("en") or (entry.language or "en"),
        overrides=tuple(
            OverrideView(
                label(kb, o.disposition),
                o.emergency,
                o.nurse.username,
                local_time(o.created_at, tz),
                o.reason,
                entry.emergency and not o.emergency,
            )
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


def labels(kb: KnowledgeBase) -> dict[str, Label]:
    return {d.value: label(kb, d.value) for d in Disposition}
