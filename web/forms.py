"""Read the patient form and the nurse console into engine arguments, or field errors.

These checks only make sure each answer is present and readable (a number, a real date, a
yes or no); the engine then validates the report itself and its problems are mapped back to
the fields. CSRF is checked before this, by Flask-WTF's CSRFProtect.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

from triage import InvalidReport, KnowledgeBase, Problem
from triage.engine.report import hours_from_text, parse_report
from triage.knowledge.conditions import answered_without_symptoms
from triage.knowledge.words import Words
from triage.vocabulary import DEFAULT_SEVERITY, MAX_HOURS, SEVERITIES, Severity
from web.clock import FUTURE_TOLERANCE, hours_between, zone, zones

YES_NO = ("yes", "no")
SEVERITY_WORDS = {  # in the patient's language when shown (lazy: read at each request)
    Severity.MILD: lazy_gettext("Mild: I notice it, but it does not bother me much"),
    Severity.MODERATE: lazy_gettext("Moderate: it bothers me"),
    Severity.SEVERE: lazy_gettext("Severe: it is very bad or hard to bear"),
}


@dataclass(frozen=True)
class FieldError:
    """A message for one field; `target` is the id of the input the summary links to."""

    name: str
    target: str
    message: str


@dataclass
class Entry:
    """What was typed, kept as text so the page can show it again unchanged."""

    values: MultiDict[str, str] = field(default_factory=MultiDict)
    errors: list[FieldError] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def getlist(self, name: str) -> list[str]:
        return self.values.getlist(name)

    def error(self, name: str) -> str | None:
        """Every message for the field, in order, as one text (None when it has none)."""
        return " ".join(e.message for e in self.errors if e.name == name) or None

    def add(self, name: str, target: str, message: str) -> None:
        if not any(e.name == name and e.message == message for e in self.errors):
            self.errors.append(FieldError(name, target, message))


@dataclass(frozen=True)
class Parsed:
    """Engine arguments read from a form."""

    symptoms: list[str]
    hours: float | None  # None: the patient gave no time (the engine decides whether it needs one)
    factors: list[str]
    worsening: bool
    tz: tzinfo


def _number(text: str, words: Words) -> float | None:
    """Hours as typed in the page's language ("30", "30 hours", "2 days"; "2 días", "1,5 días"):
    the engine's reading of them."""
    value = hours_from_text(text, words)
    return value if value is not None and math.isfinite(value) else None


def _hours_field(entry: Entry, name: str, target: str, words: Words) -> float | None:
    text = entry.get(name).strip()
    value = _number(text, words)
    if value is None:
        entry.add(
            name,
            target,
            _('Enter the hours as a number, like 30 (or days, like 2 days). You entered "%(text)s".', text=text),
        )
    elif value < 0:
        entry.add(name, target, _("The hours cannot be negative. Enter how many hours ago the session ended."))
    elif value > MAX_HOURS:
        entry.add(
            name,
            target,
            _(
                "Enter a number of hours up to %(max)s (one year). You entered %(text)s.",
                max=f"{MAX_HOURS:g}",
                text=text,
            ),
        )
    else:
        return value
    return None


def _ended_at(entry: Entry, tz: tzinfo, now: datetime) -> float | None:
    """Hours since the date and time the person gave, read in their time zone."""
    date_text, time_text = entry.get("ended_date").strip(), entry.get("ended_time").strip()
    if not date_text:
        entry.add("ended_date", "ended_date", _("Enter the date the session ended, as well as the time."))
        return None
    if not time_text:
        entry.add("ended_time", "ended_time", _("Enter the time the session ended, for example 14:30."))
        return None
    try:
        day = datetime.strptime(date_text, "%Y-%m-%d").date()
    except ValueError:
        entry.add(
            "ended_date", "ended_date", _('Enter a real date, like 2026-11-24. You entered "%(text)s".', text=date_text)
        )
        return None
    try:
        clock_time = time.fromisoformat(time_text)
    except ValueError:
        entry.add(
            "ended_time", "ended_time", _('Enter a real time, like 14:30. You entered "%(text)s".', text=time_text)
        )
        return None
    ended = datetime.combine(day, clock_time.replace(tzinfo=None), tzinfo=tz)
    if ended > now + FUTURE_TOLERANCE:
        entry.add("ended_date", "ended_date", _("That date and time is in the future. Enter when the session ended."))
        return None
    hours = max(0.0, hours_between(ended, now))
    if hours > MAX_HOURS:
        entry.add("ended_date", "ended_date", _("That is more than a year ago. Contact your clinic about it directly."))
        return None
    return hours


def _time_since(entry: Entry, tz: tzinfo, now: datetime, words: Words) -> float | None:
    has_hours = bool(entry.get("hours").strip())
    has_date = bool(entry.get("ended_date").strip() or entry.get("ended_time").strip())
    if has_hours and has_date:
        entry.add(
            "hours", "hours", _("Give either the hours since the session or its date and time, not both: clear one.")
        )
        return None
    if has_hours:
        return _hours_field(entry, "hours", "hours", words)
    if has_date:
        return _ended_at(entry, tz, now)
    return None  # not given: the engine answers only if no hour would change the answer


def _timezone(entry: Entry) -> tzinfo:
    name = entry.get("timezone")
    if name and name not in zones():
        entry.add(
            "timezone", "timezone", _('Choose your time zone from the list. "%(name)s" is not one we know.', name=name)
        )
    return zone(name)


def read_patient(form: MultiDict[str, str], kb: KnowledgeBase, now: datetime) -> tuple[Entry, Parsed | None]:
    """Read the patient form. Only symptoms are required: an unticked risk factor is a no, an
    unanswered severity the usual "moderate", "getting worse" a no, and the time may be left
    out when the answer does not depend on it (an emergency sign: the engine decides)."""
    entry = Entry(MultiDict(form))
    chosen = list(dict.fromkeys(entry.getlist("symptom")))
    first = f"symptom-{next(iter(kb.symptoms))}"
    symptoms = []
    for sid in chosen:
        if sid not in kb.symptoms:
            entry.add("symptom", first, _('We do not know the symptom "%(id)s".', id=sid))
            continue
        severity = entry.get(f"severity-{sid}") or DEFAULT_SEVERITY
        if severity not in SEVERITIES:
            name = kb.symptoms[sid].name.lower()
            entry.add(
                f"severity-{sid}",
                f"severity-{sid}-{SEVERITIES[0]}",
                _("Choose how bad the %(name)s is: mild, moderate or severe.", name=name),
            )
            continue
        symptoms.append(f"{sid}:{severity}")

    tz = _timezone(entry)
    hours = _time_since(entry, tz, now, kb.words)

    factors = list(dict.fromkeys(entry.getlist("factor")))
    for fid in factors:
        if fid not in kb.factors:
            entry.add("factor", f"factor-{next(iter(kb.factors))}", _('We do not know the answer "%(id)s".', id=fid))
    # No symptom is an answer only for a factor the knowledge base answers on its own (shared equipment).
    if not chosen and not answered_without_symptoms(kb, factors):
        entry.add(
            "symptom",
            first,
            _("Choose at least one symptom. If none of them describes what you have, contact your clinic."),
        )

    worsening = entry.get("worsening") or "no"
    if worsening not in YES_NO:
        entry.add("worsening", "worsening-yes", _("Answer yes or no: are your symptoms getting worse?"))

    if entry.errors:
        return entry, None
    return entry, Parsed(symptoms, hours, factors, worsening == "yes", tz)


def read_nurse(form: MultiDict[str, str], kb: KnowledgeBase) -> tuple[Entry, Parsed | None]:
    """Read the nurse console: symptoms typed as ids (id or id:severity), like the CLI."""
    entry = Entry(MultiDict(form))
    symptoms = [s for s in re.split(r"[\s,;]+", entry.get("symptoms")) if s]
    if not symptoms and not answered_without_symptoms(kb, entry.getlist("factor")):
        entry.add("symptoms", "symptoms", "Type at least one symptom id, e.g. redness:mild swelling.")
    tz = _timezone(entry)
    hours = _hours_field(entry, "hours", "hours", kb.words) if entry.get("hours").strip() else None
    if not entry.get("hours").strip():
        entry.add("hours", "hours", "Enter the hours since the session ended.")
    factors = entry.getlist("factor")
    worsening = entry.get("worsening") == "yes"
    if entry.errors or hours is None:
        # Every problem in one round: the symptoms and factors are checked even when the hours are not right.
        try:
            if symptoms:
                parse_report(kb, symptoms, 0.0, factors, worsening)
        except InvalidReport as exc:
            engine_problems(entry, tuple(p for p in exc.problems if p.field != "hours"), "nurse", kb)
        return entry, None
    return entry, Parsed(symptoms, hours, factors, worsening, tz)


def engine_problems(entry: Entry, problems: tuple[Problem, ...], form: str, kb: KnowledgeBase) -> None:
    """Put the engine's problems next to the fields they concern."""
    factor_ids = entry.getlist("factor") if form == "patient" else []
    for p in problems:
        name = p.field.split("[", 1)[0]
        if name == "symptoms":
            if form == "patient":
                entry.add("symptom", f"symptom-{next(iter(kb.symptoms))}", p.message)
            else:
                entry.add("symptoms", "symptoms", p.message)
        elif name == "factors":
            if form == "patient":
                index = int(p.field[len("factors[") : -1]) if p.field.startswith("factors[") else 0
                fid = factor_ids[index] if index < len(factor_ids) else next(iter(kb.factors))
                entry.add("factor", f"factor-{fid}", p.message)
            else:
                entry.add("factor", "factors", p.message)
        elif name == "hours" and form == "patient" and not entry.get("hours").strip():
            # no time given, and the answer depends on it
            entry.add(
                "hours", "hours", _("Enter how many hours ago your session ended, or the date and time it ended.")
            )
        elif name == "hours":
            entry.add("hours", "hours", p.message)
        else:
            entry.add(name, name, p.message)
