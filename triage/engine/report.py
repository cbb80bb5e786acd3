"""Turn raw input into a canonical Report, or say exactly what is wrong with it.

Nothing is `expected` by default: anything the knowledge base does not know is an error
that names the bad value and the valid ones, never a silent reassurance.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import answered_without_symptoms, factors_answered_alone
from triage.knowledge.words import ENGLISH_WORDS, Words
from triage.vocabulary import DEFAULT_SEVERITY, MAX_HOURS, SEVERITIES

__all__ = [
    "MAX_HOURS",
    "InvalidReport",
    "Problem",
    "Report",
    "hours_for_engine",
    "hours_from_text",
    "hours_text_forms",
    "parse_hours",
    "parse_report",
]


@dataclass(frozen=True)
class Report:
    """A validated, canonical report: what the engine is asked about."""

    symptoms: tuple[tuple[str, str], ...]  # (id, severity) in vocabulary order, no duplicates
    # None: not given. Only answered when the answer is the same at every hour (Assessor).
    hours: float | None
    factors: tuple[str, ...]  # sorted, no duplicates
    worsening: bool  # the person says the symptoms are getting worse (applies to every symptom)
    # Symptoms a record shows are more severe than at the previous report (triage records).
    worse: tuple[str, ...] = ()

    def is_worse(self, symptom: str) -> bool:
        """Whether the getting-worse rules apply to this symptom."""
        return self.worsening or symptom in self.worse

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The inverse of to_dict (a stored report; not validated: it was valid when stored)."""
        return cls(
            symptoms=tuple((s["id"], s["severity"]) for s in data.get("symptoms", ())),
            hours=data.get("hours"),
            factors=tuple(data.get("factors", ())),
            worsening=bool(data.get("worsening", False)),
            worse=tuple(data.get("worse_symptoms", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symptoms": [{"id": s, "severity": sev} for s, sev in self.symptoms],
            "hours": self.hours,
            "factors": list(self.factors),
            "worsening": self.worsening,
            "worse_symptoms": list(self.worse),
        }


@functools.lru_cache(maxsize=8)  # one per language
def _duration(words: Words) -> re.Pattern[str]:
    """A number (with one of the language's decimal marks), then optionally one of its units."""
    marks = re.escape(words.decimal_marks)
    units = "|".join(re.escape(u) for u in sorted({*words.hour_units, *words.day_units}, key=lambda u: (-len(u), u)))
    return re.compile(rf"^([-+]?[0-9]*[{marks}]?[0-9]+(?:e[-+]?[0-9]+)?)\s*({units})?$")


def hours_from_text(text: str, words: Words = ENGLISH_WORDS) -> float | None:
    """Hours as people type them, in the units and decimal marks of `words`'s language: in
    English "30", "30h", "36 hours", "2d", "1.5 days", "1,5 days"; in Spanish "2 días", "1,5 días".
    None when it is not a number with one of those units, or when its decimal mark may group
    thousands in the language ("1.500" in Spanish) (the caller says what is wrong)."""
    match = _duration(words).match(unicodedata.normalize("NFC", text).strip().lower())
    if match is None:
        return None
    number, unit = match.groups()
    if words.grouping_marks and re.search(rf"[{re.escape(words.grouping_marks)}][0-9]{{3}}(?:e|$)", number):
        return None
    for mark in words.decimal_marks:
        number = number.replace(mark, ".")
    try:
        value = float(number)
    except ValueError:
        return None
    return value * (24.0 if unit in words.day_units else 1.0)


def hours_for_engine(text: str, words: Words = ENGLISH_WORDS) -> float | str:
    """Hours given as text (the CLI's --hours, the API's "hours": "2 days") as the engine takes
    them: the number hours_from_text reads; else the number Python reads ("nan", "inf": the engine
    says why they are refused), unless the text holds a mark that may group thousands in the
    language; else the text itself, which the engine refuses, naming it (add hours_text_forms)."""
    value = hours_from_text(text, words)
    if value is not None:
        return value
    if not any(mark in text for mark in words.grouping_marks):
        try:
            return float(text)
        except ValueError:
            pass
    return text


def hours_text_forms(words: Words = ENGLISH_WORDS) -> str:
    """The forms hours_from_text reads in `words`'s language, for a message about text it could not read."""
    hour, day = max(words.hour_units, key=len), max(words.day_units, key=len)
    forms = (
        f"as text, write a number, then if you like a unit of hours ({', '.join(words.hour_units)}) "
        f"or days ({', '.join(words.day_units)}), e.g. 30, 36 {hour}, {words.number(1.5)} {day}"
    )
    if words.grouping_marks:
        marks = " or ".join(repr(m) for m in words.grouping_marks)
        forms += f"; a {marks} before exactly three digits is unclear (write 1500, or {words.number(1.5)})"
    return forms


MAX_SYMPTOMS = 40  # more entries than the vocabulary holds is not a real report


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a report: which field, what is wrong, what is allowed."""

    field: str
    message: str


class InvalidReport(ValueError):
    """The report cannot be assessed; `problems` lists every reason, each naming its field."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


def _listing(values: Iterable[str]) -> str:
    return ", ".join(values)


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """ " (did you mean 'fever'?)" for a near miss of a known id, else ""."""
    close = difflib.get_close_matches(value.strip().lower(), list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


_NUMBERS = (int, float)  # isinstance() tuples made once, not per report
_COLLECTIONS = (list, tuple, set, frozenset)


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def parse_hours(value: Any) -> float:
    """Validate hours since the session: a finite number from 0 to MAX_HOURS (one year)."""
    if isinstance(value, bool) or not isinstance(value, _NUMBERS):
        raise InvalidReport([Problem("hours", f"hours must be a number from 0 to {MAX_HOURS:g}, got {_shown(value)}")])
    try:
        hours = float(value)
    except OverflowError:  # an int beyond the float range
        hours = math.inf
    if math.isnan(hours) or math.isinf(hours):
        raise InvalidReport(
            [Problem("hours", f"hours must be a finite number from 0 to {MAX_HOURS:g}, got {_shown(value)}")]
        )
    if hours < 0:
        raise InvalidReport(
            [
                Problem(
                    "hours", f"hours cannot be negative (got {_shown(value)}); give the hours since the session ended"
                )
            ]
        )
    if hours > MAX_HOURS:
        raise InvalidReport([Problem("hours", f"hours must be at most {MAX_HOURS:g} (one year), got {_shown(value)}")])
    return hours


def parse_report(
    kb: KnowledgeBase,
    symptoms: Iterable[str] | str,
    hours: Any,
    factors: Iterable[str] = (),
    worsening: Any = False,
    worse: Iterable[str] = (),
) -> Report:
    """Validate every part of a report and collect all problems before raising.

    `worse` names reported symptoms known (from a record's earlier report) to be more severe
    now; the getting-worse rules then apply to them even when `worsening` is false.
    """
    problems: list[Problem] = []

    if isinstance(symptoms, str):
        symptoms = [symptoms]
    try:
        entries = list(symptoms)
    except TypeError:
        entries = []
        problems.append(Problem("symptoms", f"symptoms must be a list of strings, got {symptoms!r}"))
    no_symptoms = not entries and not problems
    if len(entries) > MAX_SYMPTOMS:
        problems.append(Problem("symptoms", f"at most {MAX_SYMPTOMS} symptoms per report, got {len(entries)}"))
        entries = []

    # A symptom given twice keeps its most severe report: the more urgent reading.
    chosen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where = f"symptoms[{i}]"
        if not isinstance(entry, str):
            problems.append(
                Problem(where, f"each symptom must be a string like 'redness' or 'redness:mild', got {entry!r}")
            )
            continue
        sid, sep, severity = entry.strip().lower().partition(":")
        sid, severity = sid.strip(), severity.strip()
        if sid not in kb.symptoms:
            named = entry.partition(":")[0].strip()  # the id as given, without its severity
            problems.append(
                Problem(
                    where,
                    f"unknown symptom {named!r}{did_you_mean(named, kb.symptoms)}; "
                    f"valid symptoms: {_listing(kb.symptoms)}",
                )
            )
            continue
        if not sep:
            severity = DEFAULT_SEVERITY
        elif severity not in SEVERITIES:
            problems.append(
                Problem(where, f"unknown severity {severity!r} in {entry!r}; valid severities: {_listing(SEVERITIES)}")
            )
            continue
        if sid not in chosen or SEVERITIES.index(severity) > SEVERITIES.index(chosen[sid]):
            chosen[sid] = severity

    parsed_hours: float | None = None  # not given: the Assessor answers only if no hour changes the answer
    if hours is not None:
        try:
            parsed_hours = parse_hours(hours)
        except InvalidReport as exc:
            problems.extend(exc.problems)

    if isinstance(factors, str):
        factors = [factors]
    if not isinstance(factors, _COLLECTIONS):
        problems.append(Problem("factors", f"factors must be a list of factor ids, got {factors!r}"))
        factors = []
    present: set[str] = set()
    for i, factor in enumerate(factors):
        fid = factor.strip().lower() if isinstance(factor, str) else None
        if fid is None or fid not in kb.factors:
            problems.append(
                Problem(
                    f"factors[{i}]",
                    f"unknown factor {factor!r}{did_you_mean(str(factor), kb.factors)}; "
                    f"valid factors: {_listing(kb.factors)}",
                )
            )
        else:
            present.add(fid)

    if no_symptoms and not answered_without_symptoms(kb, present):
        alone = factors_answered_alone(kb)
        problems.insert(
            0,
            Problem(
                "symptoms",
                "give at least one symptom"
                + (f" (or a risk factor answered without symptoms: {_listing(alone)})" if alone else "")
                + f"; valid symptoms: {_listing(kb.symptoms)}",
            ),
        )

    if not isinstance(worsening, bool):
        problems.append(Problem("worsening", f"worsening must be true or false, got {worsening!r}"))

    worse_ids: set[str] = set()
    for i, sid in enumerate([worse] if isinstance(worse, str) else worse):
        wid = sid.strip().lower() if isinstance(sid, str) else None
        if wid is None or wid not in chosen:
            problems.append(
                Problem(
                    f"worse[{i}]", f"{sid!r} cannot be getting worse: it is not a reported symptom ({_listing(chosen)})"
                )
            )
        else:
            worse_ids.add(wid)

    if problems:
        raise InvalidReport(problems)
    order = kb.symptom_order
    return Report(
        symptoms=tuple(sorted(chosen.items(), key=lambda item: order[item[0]])),
        hours=parsed_hours,
        factors=tuple(sorted(present)),
        worsening=bool(worsening),
        worse=tuple(sorted(worse_ids, key=order.__getitem__)),
    )
