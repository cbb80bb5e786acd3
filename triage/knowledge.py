"""Load and validate the knowledge base (knowledge/*.toml).

Everything clinical lives in the data files; this module only checks that they are
well formed and consistent, so that a broken file fails loudly at start-up (naming the
file, the entry and the problem) instead of giving a wrong answer later.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triage.digest import DIGEST_PATTERN, content_digest, production_requested, release_problem
from triage.vocabulary import MAX_HOURS, SEVERITIES, Disposition, Severity
from triage.words import ENGLISH, Words

LIKELIHOODS = ("very common", "common", "uncommon", "rare", "very rare")
ONSETS = ("immediate", "delayed")
PHASES = ("within-expected", "past-expected", "past-monitor")
FILES = ("kb.toml", "symptoms.toml", "factors.toml", "rules.toml")
KNOWLEDGE_DIR_ENV = "TRIAGE_KNOWLEDGE_DIR"

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=40)]
Text = Annotated[str, Field(min_length=1, max_length=600)]
Hours = Annotated[float, Field(gt=0, le=MAX_HOURS)]
Sources = Annotated[list[Id], Field(min_length=1)]


class KnowledgeError(Exception):
    """A knowledge file is malformed; the message names the file, entry and problem."""

    def __init__(self, file: str, entry: str, problem: str, line: int | None = None) -> None:
        self.file, self.entry, self.problem, self.line = file, entry, problem, line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {entry}: {problem}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Window(_Model):
    expected_until: Hours | None = None
    monitor_until: Hours
    # A `monitor` finding from this window re-checks within this many hours at the latest
    # (default: kb.toml `monitor_recheck_within`), so no answer sits unchecked for weeks.
    recheck_within: Hours | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.expected_until is not None and self.expected_until > self.monitor_until:
            raise ValueError(
                f"expected_until ({self.expected_until:g}) must not be after monitor_until ({self.monitor_until:g})"
            )
        return self


class Reasons(_Model):
    expected: Text | None = None
    monitor: Text | None = None
    contact: Text | None = None
    always: Text | None = None


class Snomed(_Model):
    """A SNOMED CT concept for a symptom, so exports (FHIR) carry a code a receiving system
    understands; only concepts whose id and fully specified name were checked are given."""

    code: Annotated[str, Field(pattern=r"^[0-9]{6,18}$")]  # an SCTID: 6 to 18 digits
    display: Text


Likelihood = Literal["very common", "common", "uncommon", "rare", "very rare"]
Onset = Literal["immediate", "delayed"]


class Symptom(_Model):
    id: Id
    name: Text
    description: Text
    group: Literal["common", "warning"]
    likelihood: Likelihood
    likelihood_note: Text | None = None
    # A band that replaces `likelihood` while a factor is present (darkening: common in darker skin).
    likelihood_with: dict[Id, Likelihood] = {}
    # When the effect normally starts: on the day (`immediate`) or on day 2 to 5 (`delayed`);
    # the getting-worse rules select symptoms by it. Left out for effects with no usual start.
    onset: Onset | None = None
    typical_duration: Text  # plain words; may use the window placeholders
    window: Window | None = None
    always: Literal["contact clinician"] | None = None
    emergency: bool = False
    reasons: Reasons  # the patient's words
    nurse_reasons: Reasons  # the same conclusions in clinical words, for the nurse
    care: Text
    urgent_if: Text
    source: Sources
    snomed: Snomed | None = None  # optional; without it exports give the symptom as text only

    @model_validator(mode="after")
    def _window_or_always(self) -> Symptom:
        if (self.window is None) == (self.always is None):
            raise ValueError("give exactly one of 'window' or 'always'")
        if self.emergency and self.always is None:
            raise ValueError("'emergency = true' needs 'always'")
        wanted = set(self.phases())
        for table, texts in (("reasons", self.reasons), ("nurse_reasons", self.nurse_reasons)):
            given = {k for k, v in texts.model_dump().items() if v is not None}
            if missing := wanted - given:
                raise ValueError(f"{table}: missing {sorted(missing)}")
            if extra := given - wanted:
                raise ValueError(f"{table}: {sorted(extra)} cannot happen for this symptom")
        if self.window is not None and self.window.recheck_within is not None and "monitor" not in wanted:
            raise ValueError("window.recheck_within needs a monitor phase (expected_until below monitor_until)")
        return self

    def phases(self) -> tuple[str, ...]:
        """The reason texts this symptom can need: its window phases, or 'always'."""
        if self.window is None:
            return ("always",)
        w = self.window
        if w.expected_until is None:
            return ("monitor", "contact")
        if w.expected_until == w.monitor_until:
            return ("expected", "contact")
        return ("expected", "monitor", "contact")


class WindowChange(_Model):
    symptom: Id
    note: Text | None = None  # why this window changes; default: the factor's window_note
    expected_until: Hours | None = None
    monitor_until: Hours | None = None
    scale: Annotated[float, Field(gt=0, le=10)] | None = None

    @model_validator(mode="after")
    def _does_something(self) -> WindowChange:
        if self.expected_until is None and self.monitor_until is None and self.scale is None:
            raise ValueError("give expected_until, monitor_until or scale")
        return self


class Factor(_Model):
    id: Id
    label: Text
    question: Text
    source: Sources
    window_note: Text | None = None
    windows: list[WindowChange] = []

    @model_validator(mode="after")
    def _note_with_windows(self) -> Factor:
        if any(c.note is None for c in self.windows) and self.window_note is None:
            raise ValueError("'windows' needs a 'window_note' (or a 'note' on each change) explaining the change")
        return self

    def note_for(self, symptom: str) -> str | None:
        """Why this factor changes the symptom's window, in the patient's words."""
        for change in self.windows:
            if change.symptom == symptom:
                return change.note or self.window_note
        return None


class Rule(_Model):
    id: Id
    kind: Literal["severity", "worsening", "combination", "emergency", "factor", "escalation"]
    for_each: Literal["symptom", "finding"] | None = None
    symptoms_all: list[str] = []
    symptoms_any: list[str] = []
    symptoms: list[Id] = []
    onset: list[Literal["immediate", "delayed", "none"]] = []
    phase: list[Literal["within-expected", "past-expected", "past-monitor"]] = []
    severity: list[Annotated[Severity, Field(strict=False)]] = []
    finding: Literal["monitor", "past-expected", "below-contact"] | None = None
    window_only: Literal[True] | None = None  # for_each = "symptom": only symptoms with a window
    with_emergency: Literal[True] | None = None  # for_each = "finding": only when an emergency finding exists
    factors: list[Id] = []
    after_hours: Hours | None = None
    before_hours: Hours | None = None
    worsening: Literal[True] | None = None
    disposition: Annotated[Disposition, Field(strict=False)]
    emergency: bool = False
    recheck_within: Hours | None = None
    answers_without_symptoms: bool = False
    reason: Text  # the patient's words
    nurse_reason: Text  # clinical words: what it may be, what to ask, what to arrange
    advice: Text | None = None
    source: Sources
    note: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        each, report_level = self.for_each, self.symptoms_all or self.symptoms_any
        if each is not None and report_level:
            raise ValueError("symptoms_all/symptoms_any are for report rules; use 'symptoms'")
        if each is None and (self.symptoms or self.severity or self.onset):
            raise ValueError("'symptoms', 'onset' and 'severity' need for_each")
        if self.phase and each != "symptom":
            raise ValueError("'phase' goes with for_each = \"symptom\"")
        if self.answers_without_symptoms and (each is not None or report_level or self.worsening or not self.factors):
            raise ValueError(
                "'answers_without_symptoms' is for a report rule whose only conditions are factors and hours"
            )
        if (each == "finding") != (self.finding is not None):
            raise ValueError("'finding' goes with for_each = \"finding\" and is required there")
        if each == "finding" and self.severity:
            raise ValueError("'severity' goes with for_each = \"symptom\"")
        if self.window_only and each != "symptom":
            raise ValueError("'window_only' goes with for_each = \"symptom\"")
        if self.with_emergency and each != "finding":
            raise ValueError("'with_emergency' goes with for_each = \"finding\"")
        if self.symptoms_any and len(self.symptoms_any) < 2:
            raise ValueError("symptoms_any needs at least two symptoms (use symptoms_all)")
        if self.after_hours is not None and self.before_hours is not None and self.after_hours >= self.before_hours:
            raise ValueError("after_hours must be below before_hours")
        if self.emergency and self.disposition != "contact clinician":
            raise ValueError("an emergency rule must give 'contact clinician'")
        if each is None and not (report_level or self.factors):
            raise ValueError("a report rule needs symptoms_all, symptoms_any or factors")
        return self


class DispositionText(_Model):
    label: Text
    patient: Text
    nurse: Text


class EmergencyText(_Model):
    patient: Text
    nurse: Text


class Advice(_Model):
    id: Id | None = None  # names it in `same_advice`
    text: Text
    source: Sources


RECHECK_ADVICE = "recheck"  # the answer's own "Check again in ..." line, in `same_advice`


class SameAdvice(_Model):
    """Advice texts that say the same thing in other words: a person reads the meaning once."""

    meaning: Text
    advice: Annotated[
        list[Annotated[str, Field(pattern=r"^(recheck|(rule|care|general):[a-z0-9-]+)$")]], Field(min_length=2)
    ]


class Reference(_Model):
    short: Text
    full: Annotated[str, Field(min_length=1, max_length=1000)]


class RecordWorsening(_Model):
    """When a record's repeat report marks a symptom as getting worse without the tick box."""

    more_severe: bool  # more severe than in the previous report
    # a symptom not in the previous report, of these onsets ("none": no onset given),
    new_with_onset: list[Literal["immediate", "delayed", "none"]]
    new_from_hours: Hours  # in a report at this hour or later
    more_severe_why: Text  # the record's words for each case
    new_why: Text


class Header(_Model):
    version: Annotated[str, Field(min_length=1, max_length=40)]
    digest: Annotated[str, Field(pattern=DIGEST_PATTERN)] | None = None  # set by `triage release`
    title: Text
    disclaimer: Text
    severe_within_expected: Text
    severe_within_expected_nurse: Text
    monitor_recheck_within: Hours  # every monitor finding re-checks within this, unless it says sooner
    likelihood: dict[Likelihood, Text]  # each band in plain words
    record_worsening: RecordWorsening
    # SNOMED CT qualifier values for the severities, so exports code them (FHIR)
    severity_snomed: dict[Literal["mild", "moderate", "severe"], Snomed] = {}
    dispositions: dict[Literal["expected", "monitor", "contact-clinician"], DispositionText]
    emergency: EmergencyText
    general_advice: Annotated[list[Advice], Field(min_length=1)]
    same_advice: list[SameAdvice] = []
    reference: dict[Id, Reference]

    @model_validator(mode="after")
    def _all_dispositions(self) -> Header:
        if missing := {"expected", "monitor", "contact-clinician"} - set(self.dispositions):
            raise ValueError(f"dispositions: missing {sorted(missing)}")
        if missing := set(LIKELIHOODS) - set(self.likelihood):
            raise ValueError(f"likelihood: missing {sorted(missing)}")
        if self.severity_snomed and (missing := set(SEVERITIES) - set(self.severity_snomed)):
            raise ValueError(f"severity_snomed: missing {sorted(missing)}")
        return self


@dataclass(frozen=True)
class EffectiveWindow:
    """A symptom's window for one report, after risk-factor changes."""

    expected_until: float | None
    monitor_until: float
    factors: tuple[str, ...]  # the present factors that changed it


@dataclass(frozen=True)
class SymptomPhase:
    """One conclusion a symptom's own rule can reach, for one combination of the factors that
    change its window: which severities and hours it covers and what it concludes. Every rule
    backend (the experta engine, the benchmarks' CLIPS) compiles these same phases."""

    symptom: str
    rule: str  # "<id>-always", "<id>-expected", "<id>-expected-severe", "<id>-monitor", "<id>-contact"
    phase: str | None  # within-expected, past-expected, past-monitor; None for `always`
    disposition: str
    emergency: bool
    severe: bool | None  # True: severe only; False: mild or moderate only; None: any severity
    start: float | None  # applies when hours >= start (None: from 0, untested)
    end: float | None  # and hours < end (None: no end)
    until: float | None  # when this phase ends (for the re-check)
    present: tuple[str, ...]  # window-changing factors that must be present
    absent: tuple[str, ...]  # and those that must be absent
    expected_until: float | None
    monitor_until: float | None
    factors: tuple[str, ...]  # the present factors that changed the window
    cap: float | None = None  # a monitor phase re-checks within this many hours at the latest

    def finding(self) -> dict[str, Any]:
        """What a backend's rule concludes for this phase (the fields of engine.RawFinding)."""
        return {
            "symptom": self.symptom,
            "rule": self.rule,
            "disposition": self.disposition,
            "emergency": self.emergency,
            "phase": self.phase,
            "until": self.until,
            "cap": self.cap,
            "expected_until": self.expected_until,
            "monitor_until": self.monitor_until,
            "factors": self.factors,
        }


@dataclass(frozen=True)
class KnowledgeBase:
    """The validated knowledge base; immutable so one copy serves every thread."""

    header: Header
    symptoms: Mapping[str, Symptom]
    factors: Mapping[str, Factor]
    rules: Mapping[str, Rule]
    source_dir: str
    window_changes: Mapping[str, tuple[tuple[str, WindowChange], ...]] = field(default_factory=dict)
    digest: str = ""  # of the content as loaded (triage.digest), whatever kb.toml records
    unreleased: str | None = None  # why the content is not the released content, or None
    # The patient's words in another language (knowledge/i18n/<lang>.toml, triage.translation):
    # this knowledge base with its patient texts translated, everything else the same.
    language: str = "en"
    words: Words = ENGLISH
    band_names: Mapping[str, str] = field(default_factory=dict)  # likelihood band -> its name in `language`
    translations: Mapping[str, KnowledgeBase] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages a patient can read this knowledge base in, English first."""
        return ("en", *sorted(self.translations))

    def in_language(self, language: str) -> KnowledgeBase:
        """This knowledge base in `language` (KeyError for one it has no translation for)."""
        if language == self.language:
            return self
        return self.translations[language]

    @property
    def version(self) -> str:
        return self.header.version

    @functools.cached_property
    def symptom_order(self) -> Mapping[str, int]:
        """Each symptom id's place in the knowledge base, the order a report lists them in
        (looked up for every report; worked out once per knowledge base)."""
        return {sid: i for i, sid in enumerate(self.symptoms)}

    def symptom_name(self, symptom: str) -> str:
        """The symptom's name; an id this knowledge base does not know (a stored record older
        than an edit) is shown as the id rather than failing."""
        s = self.symptoms.get(symptom)
        return s.name if s is not None else symptom

    def factor_label(self, factor: str) -> str:
        """The factor's label, or the id when this knowledge base does not know it."""
        f = self.factors.get(factor)
        return f.label if f is not None else factor

    def recheck_cap(self, rule: Rule) -> float | None:
        """A rule finding's re-check cap: its own `recheck_within`, else the monitor default."""
        if rule.recheck_within is not None:
            return rule.recheck_within
        return self.header.monitor_recheck_within if rule.disposition == "monitor" else None

    def answered_without_symptoms(self, factors: Iterable[str]) -> bool:
        """Whether a report with these factors and no symptoms has a rule that answers it."""
        present = set(factors)
        return any(r.answers_without_symptoms and set(r.factors) <= present for r in self.rules.values())

    def likelihood(self, symptom: str, factors: Iterable[str] = ()) -> str:
        """How often the effect happens, as the band and its plain words (and the note)."""
        s = self.symptoms[symptom]
        present = set(factors)
        band = next((b for f, b in s.likelihood_with.items() if f in present), s.likelihood)
        text = f"{self.band_names.get(band, band)}: {self.header.likelihood[band]}"
        return f"{text} ({s.likelihood_note})" if s.likelihood_note and band == s.likelihood else text

    def citation(self, keys: Iterable[str]) -> str:
        """Short citations of reference keys, joined for display."""
        return "; ".join(self.header.reference[k].short for k in keys)

    def rule_symptoms(self, rule: Rule) -> tuple[str, ...]:
        """The symptom ids a `for_each` rule is limited to: its `symptoms`, narrowed with
        `window_only` to the symptoms with a window and with `onset` to those onsets ("none":
        symptoms with no onset given); empty when it applies to every symptom."""
        if not (rule.window_only or rule.onset):
            return tuple(rule.symptoms)
        ids = list(rule.symptoms or self.symptoms)
        if rule.window_only:
            ids = [s for s in ids if self.symptoms[s].window is not None]
        if rule.onset:
            ids = [s for s in ids if (self.symptoms[s].onset or "none") in rule.onset]
        return tuple(ids)

    def answer_change_hours(self) -> tuple[float, ...]:
        """0 and every hour at which some answer can change: each window bound (under every
        combination of the factors that change it) and each rule's after_hours / before_hours.
        Every condition on the hours is `hours >= bound` or `hours < bound`, so an answer is
        the same from one of these hours until the next."""
        points = {0.0}
        for sid in self.symptoms:
            points.update(self.window_bounds(sid))
        for rule in self.rules.values():
            points |= {b for b in (rule.after_hours, rule.before_hours) if b is not None}
        return tuple(sorted(p for p in points if p <= MAX_HOURS))

    def window_bounds(self, symptom: str) -> frozenset[float]:
        """The symptom's window bounds under every combination of the factors that change them
        (none for a symptom without a window)."""
        if self.symptoms[symptom].window is None:
            return frozenset()
        adjusting = self.adjusting_factors(symptom)
        points: set[float] = set()
        for n in range(len(adjusting) + 1):
            for combo in itertools.combinations(adjusting, n):
                w = self.window(symptom, combo)
                points |= {b for b in (w.expected_until, w.monitor_until) if b is not None}
        return frozenset(points)

    def adjusting_factors(self, symptom: str) -> tuple[str, ...]:
        return tuple(f for f, _ in self.window_changes.get(symptom, ()))

    def window(self, symptom: str, factors: Iterable[str]) -> EffectiveWindow:
        """The symptom's window when `factors` are present (sets first, smallest wins; then scales)."""
        base = self.symptoms[symptom].window
        assert base is not None, f"{symptom} has no window"
        present = set(factors)
        expected, monitor = base.expected_until, base.monitor_until
        changes = [(f, c) for f, c in self.window_changes.get(symptom, ()) if f in present]
        set_e = [c.expected_until for _, c in changes if c.expected_until is not None]
        set_m = [c.monitor_until for _, c in changes if c.monitor_until is not None]
        if set_e:
            expected = min(set_e)
        if set_m:
            monitor = min(set_m)
        for _, c in changes:
            if c.scale is not None:
                expected = None if expected is None else expected * c.scale
                monitor = monitor * c.scale
        return EffectiveWindow(expected, monitor, tuple(f for f, _ in changes))

    def symptom_phases(self, symptom: str) -> list[SymptomPhase]:
        """Every phase of the symptom's own rule, for every combination of window-changing factors.

        `always`: contact clinician at any hour. A window: below expected_until `expected` when
        mild or moderate and `monitor` when severe; then `monitor` until monitor_until (none when
        the bounds are equal); then `contact clinician`.
        """
        s = self.symptoms[symptom]
        if s.window is None:
            return [
                SymptomPhase(
                    symptom,
                    f"{symptom}-always",
                    None,
                    "contact clinician",
                    s.emergency,
                    None,
                    None,
                    None,
                    None,
                    (),
                    (),
                    None,
                    None,
                    (),
                )
            ]
        adjusting = self.adjusting_factors(symptom)
        phases = []
        for n in range(len(adjusting) + 1):
            for present in itertools.combinations(adjusting, n):
                absent = tuple(f for f in adjusting if f not in present)
                w = self.window(symptom, present)
                cap = s.window.recheck_within or self.header.monitor_recheck_within
                low = w.expected_until or 0.0
                plan: list[tuple[str, str, str, bool | None, float | None, float | None, float | None]] = []
                if w.expected_until:
                    plan.append(("expected", "within-expected", "expected", False, None, low, low))
                    plan.append(("expected-severe", "within-expected", "monitor", True, None, low, low))
                if w.monitor_until > low:
                    plan.append(("monitor", "past-expected", "monitor", None, low, w.monitor_until, w.monitor_until))
                plan.append(("contact", "past-monitor", "contact clinician", None, w.monitor_until, None, None))
                phases += [
                    SymptomPhase(
                        symptom,
                        f"{symptom}-{name}",
                        phase,
                        disposition,
                        False,
                        severe,
                        start,
                        end,
                        until,
                        present,
                        absent,
                        w.expected_until,
                        w.monitor_until,
                        w.factors,
                        cap if disposition == "monitor" else None,
                    )
                    for name, phase, disposition, severe, start, end, until in plan
                ]
        return phases


def default_dir() -> Path:
    """The knowledge directory: $TRIAGE_KNOWLEDGE_DIR, else the one shipped with the package."""
    if env := os.environ.get(KNOWLEDGE_DIR_ENV):
        return Path(env)
    return Path(str(resources.files("knowledge")))


def _read(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise KnowledgeError(str(path), "file", "not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(str(path), "file", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise KnowledgeError(str(path), "file", f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except RecursionError:
        raise KnowledgeError(str(path), "file", "nested too deeply to read") from None
    except OSError as exc:
        raise KnowledgeError(str(path), "file", f"cannot be read: {exc.strerror or exc}") from None


def _problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _first_key(exc: ValidationError) -> tuple[str, ...]:
    """The key path of the first problem (e.g. ("window", "expected_until")), for its line."""
    errors = exc.errors()
    return tuple(str(p) for p in errors[0]["loc"] if not isinstance(p, int)) if errors else ()


def line_of(path: Path, table: str | None, index: int | None, keys: Iterable[str] = ()) -> int | None:
    """The line (1-based) of a key in a knowledge file, so an error points at the bad value.

    `table`/`index`: the index-th (1-based) `[[table]]` entry, or the top level when None.
    `keys`: the key path; the deepest key written on its own line wins (`reasons.expected = `,
    then `reasons`; `[dispositions.monitor]` then `patient =`). Falls back to the entry's
    header line; None when the file cannot be read.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    begin, stop = 0, len(lines)
    if table is not None and index is not None:
        headers = [n for n, text in enumerate(lines) if text.strip().startswith(f"[[{table}]]")]
        if index > len(headers):
            return None
        begin = headers[index - 1]
        later = [n for n, text in enumerate(lines) if n > begin and text.lstrip().startswith("[")]
        stop = later[0] if later else len(lines)
    keys = tuple(keys)
    for depth in range(len(keys), 0, -1):
        dotted = ".".join(keys[:depth])
        for n in range(begin, stop):
            text = lines[n].strip()
            if text.startswith((f"{dotted} =", f"{dotted}=", f"{dotted}.", f"[{dotted}]", f"[{dotted}.")):
                if text.startswith("[") and depth < len(keys):
                    found = _line_in_table(lines, n + 1, keys[depth])
                    return found if found is not None else n + 1
                return n + 1
    return begin + 1 if table is not None else None


def _line_in_table(lines: list[str], begin: int, key: str) -> int | None:
    """The line of `key =` in the table that starts at `begin` (before the next header)."""
    for n in range(begin, len(lines)):
        text = lines[n].strip()
        if text.startswith("["):
            return None
        if text.startswith((f"{key} =", f"{key}=")):
            return n + 1
    return None


def _entries(path: Path, data: dict[str, Any], table: str, model: type[_Model]) -> list[Any]:
    """Validate each [[table]] entry, naming the entry (its id, else its position) and line on error."""
    if unknown := set(data) - {table}:
        raise KnowledgeError(str(path), "file", f"unknown top-level keys {sorted(unknown)}")
    raw = data.get(table)
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(str(path), "file", f"needs at least one [[{table}]] entry")
    out = []
    for i, entry in enumerate(raw, 1):
        name = f"{table} {entry.get('id')!r} (entry {i})" if isinstance(entry, dict) else f"{table} entry {i}"
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            raise KnowledgeError(str(path), name, _problem(exc), line_of(path, table, i, _first_key(exc))) from None
    return out


_PLACEHOLDERS = {
    "symptoms.toml": {"name", "hours", "expected_until", "monitor_until"},
    "rules.toml": {"name", "hours"},
}


def _check_placeholders(path: Path, entry: str, texts: Iterable[str | None], allowed: set[str]) -> None:
    for text in texts:
        if text is None:
            continue
        try:
            fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise KnowledgeError(str(path), entry, f"bad placeholder in {text!r}: {exc}") from None
        if any(spec or conv for _, spec, conv in fields):
            raise KnowledgeError(
                str(path), entry, f"placeholders take no format spec or conversion (write just {{name}}) in {text!r}"
            )
        names = {f for f, _, _ in fields}
        if bad := names - allowed:
            raise KnowledgeError(
                str(path), entry, f"unknown placeholder {sorted(bad)} in {text!r}; allowed: {sorted(allowed)}"
            )


def advice_ref_problem(
    ref: str, header: Header, symptoms: Mapping[str, Symptom], rules: Mapping[str, Rule]
) -> str | None:
    """Why a `same_advice` reference names no advice text, or None when it does."""
    kind, _, ident = ref.partition(":")
    if ref == RECHECK_ADVICE:
        return None
    if kind == "rule":
        rule = rules.get(ident)
        return f"unknown rule {ident!r}" if rule is None else (None if rule.advice else f"rule {ident!r} has no advice")
    if kind == "care":
        return None if ident in symptoms else f"unknown symptom {ident!r}"
    known = [a.id for a in header.general_advice if a.id]
    return None if ident in known else f"unknown general_advice id {ident!r}; known: {known}"


def _check_same_advice(path: Path, header: Header, symptoms: Mapping[str, Symptom], rules: Mapping[str, Rule]) -> None:
    seen: dict[str, str] = {}
    for i, group in enumerate(header.same_advice, 1):
        entry = f"same_advice {group.meaning!r} (entry {i})"
        for ref in group.advice:
            if problem := advice_ref_problem(ref, header, symptoms, rules):
                raise KnowledgeError(str(path), entry, f"{ref!r}: {problem}")
            if ref in seen:
                raise KnowledgeError(str(path), entry, f"{ref!r} is already in same_advice {seen[ref]!r}")
            seen[ref] = group.meaning


def load_knowledge(
    directory: str | os.PathLike[str] | None = None, *, require_release: bool | None = None
) -> KnowledgeBase:
    """Read and validate every knowledge file; raise KnowledgeError on the first problem,
    naming the file, the entry, the line of the bad value (where it can) and the problem.

    `require_release` (default: only when $TRIAGE_ENV is production) also refuses content
    that does not match the digest its version was released with.
    """
    d = Path(directory) if directory is not None else default_dir()
    from triage.translation import translation_files

    p = {name: d / name for name in FILES}
    raw = {name: _read(d, name) for name in FILES}
    # The translations are clinical content a patient reads: part of the digested content.
    translated = {name: _read(d, name) for name in translation_files(d)}
    raw |= translated

    raw_header = raw["kb.toml"]
    try:
        header = Header.model_validate(raw_header)
    except ValidationError as exc:
        raise KnowledgeError(
            str(p["kb.toml"]), "header", _problem(exc), line_of(p["kb.toml"], None, None, _first_key(exc))
        ) from None
    refs = set(header.reference)

    symptoms = _entries(p["symptoms.toml"], raw["symptoms.toml"], "symptom", Symptom)
    factors = _entries(p["factors.toml"], raw["factors.toml"], "factor", Factor)
    rules = _entries(p["rules.toml"], raw["rules.toml"], "rule", Rule)
    tables = {"symptoms.toml": "symptom", "factors.toml": "factor", "rules.toml": "rule"}

    def fail(file: str, index: int, entry: str, problem: str, *key: str) -> NoReturn:
        raise KnowledgeError(
            str(p[file]), f"{entry} (entry {index})", problem, line_of(p[file], tables[file], index, key)
        )

    def check_sources(file: str, index: int, entry: str, keys: Iterable[str]) -> None:
        if bad := [k for k in keys if k not in refs]:
            fail(file, index, entry, f"unknown reference {bad}; known: {sorted(refs)}", "source")

    def check_texts(file: str, index: int, entry: str, texts: Mapping[str, str | None], allowed: set[str]) -> None:
        for key, text in texts.items():
            try:
                _check_placeholders(p[file], entry, (text,), allowed)
            except KnowledgeError as exc:
                fail(file, index, entry, exc.problem, *key.split("."))

    _check_placeholders(
        p["kb.toml"],
        "header",
        (header.severe_within_expected, header.severe_within_expected_nurse),
        _PLACEHOLDERS["symptoms.toml"],
    )
    for i, adv in enumerate(header.general_advice, 1):
        if bad := [k for k in adv.source if k not in refs]:
            raise KnowledgeError(
                str(p["kb.toml"]),
                f"general_advice entry {i}",
                f"unknown reference {bad}; known: {sorted(refs)}",
                line_of(p["kb.toml"], "general_advice", i, ("source",)),
            )

    def unique(file: str, kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids, 1):
            if ident in seen:
                fail(file, i, f"{kind} {ident!r}", "duplicate id", "id")
            seen.add(ident)

    unique("symptoms.toml", "symptom", [s.id for s in symptoms])
    unique("factors.toml", "factor", [f.id for f in factors])
    unique("rules.toml", "rule", [r.id for r in rules])
    symptom_ids = {s.id: s for s in symptoms}
    factor_ids = {f.id for f in factors}

    for i, s in enumerate(symptoms, 1):
        entry = f"symptom {s.id!r}"
        check_sources("symptoms.toml", i, entry, s.source)
        texts = {f"reasons.{k}": v for k, v in s.reasons.model_dump().items()}
        texts |= {f"nurse_reasons.{k}": v for k, v in s.nurse_reasons.model_dump().items()}
        texts["typical_duration"] = s.typical_duration
        check_texts("symptoms.toml", i, entry, texts, _PLACEHOLDERS["symptoms.toml"])
        if bad := sorted(set(s.likelihood_with) - factor_ids):
            fail("symptoms.toml", i, entry, f"likelihood_with: unknown factor {bad}", "likelihood_with")

    changes: dict[str, list[tuple[str, WindowChange]]] = {}
    for i, f in enumerate(factors, 1):
        entry = f"factor {f.id!r}"
        check_sources("factors.toml", i, entry, f.source)
        for c in f.windows:
            target = symptom_ids.get(c.symptom)
            if target is None:
                fail("factors.toml", i, entry, f"windows: unknown symptom {c.symptom!r}", "windows")
            if target.window is None:
                fail("factors.toml", i, entry, f"windows: symptom {c.symptom!r} has no window to change", "windows")
            changes.setdefault(c.symptom, []).append((f.id, c))

    generated = {f"{s.id}-{phase}" for s in symptoms for phase in s.phases()}
    generated |= {f"{s.id}-expected-severe" for s in symptoms if "expected" in s.phases()}
    for i, r in enumerate(rules, 1):
        entry = f"rule {r.id!r}"
        if r.id in generated:
            fail("rules.toml", i, entry, "id clashes with a symptom's own rule id", "id")
        check_sources("rules.toml", i, entry, r.source)
        check_texts(
            "rules.toml", i, entry, {"reason": r.reason, "nurse_reason": r.nurse_reason}, _PLACEHOLDERS["rules.toml"]
        )
        for key, refs_ in (("symptoms_all", r.symptoms_all), ("symptoms_any", r.symptoms_any)):
            for ref in refs_:
                sid, _, sev = ref.partition(":")
                if sid not in symptom_ids:
                    fail("rules.toml", i, entry, f"unknown symptom {sid!r}", key)
                if sev and sev not in SEVERITIES:
                    fail("rules.toml", i, entry, f"unknown severity {sev!r} in {ref!r}; valid: {SEVERITIES}", key)
        if bad := [s for s in r.symptoms if s not in symptom_ids]:
            fail("rules.toml", i, entry, f"unknown symptom {bad}", "symptoms")
        if bad := [f for f in r.factors if f not in factor_ids]:
            fail("rules.toml", i, entry, f"unknown factor {bad}", "factors")
        if r.phase and r.symptoms and (windowless := [s for s in r.symptoms if symptom_ids[s].window is None]):
            fail("rules.toml", i, entry, f"'phase' needs symptoms with a window; {windowless} have none", "phase")

    _check_same_advice(p["kb.toml"], header, symptom_ids, {r.id: r for r in rules})

    kb = KnowledgeBase(
        header=header,
        symptoms={s.id: s for s in symptoms},
        factors={f.id: f for f in factors},
        rules={r.id: r for r in rules},
        source_dir=str(d),
        window_changes={k: tuple(v) for k, v in changes.items()},
        digest=(digest := content_digest(raw)),
        unreleased=release_problem(d, header.version, header.digest, digest),
    )
    for i, r in enumerate(rules, 1):
        if (r.onset or r.window_only) and not kb.rule_symptoms(r):
            fail(
                "rules.toml",
                i,
                f"rule {r.id!r}",
                "no symptom matches its 'symptoms', 'onset' and 'window_only'",
                "onset",
            )
    _check_without_symptoms(kb, p["rules.toml"], rules)
    # Every combination of window-changing factors must keep the bounds in order.
    factor_index = {f.id: i for i, f in enumerate(factors, 1)}
    for sid, sym_changes in kb.window_changes.items():
        ids = [f for f, _ in sym_changes]
        for n in range(1, len(ids) + 1):
            for combo in itertools.combinations(ids, n):
                w = kb.window(sid, combo)
                last = combo[-1]
                if w.expected_until is not None and w.expected_until > w.monitor_until:
                    fail(
                        "factors.toml",
                        factor_index[last],
                        f"factor {last!r}",
                        f"with {list(combo)} the window of {sid!r} becomes expected_until "
                        f"{w.expected_until:g} > monitor_until {w.monitor_until:g}",
                        "windows",
                    )
                if w.monitor_until > MAX_HOURS:
                    fail(
                        "factors.toml",
                        factor_index[last],
                        f"factor {last!r}",
                        f"window of {sid!r} exceeds {MAX_HOURS:g} h",
                        "windows",
                    )
    if translated:
        from triage.translation import translate

        languages = {Path(name).stem: translate(kb, d / name, data) for name, data in translated.items()}
        kb = dataclasses.replace(kb, translations=languages)
    if production_requested() if require_release is None else require_release:
        refuse_unreleased(kb)
    return kb


def _check_without_symptoms(kb: KnowledgeBase, path: Path, rules: list[Rule]) -> None:
    """Rules that answer a report with no symptoms must, for each set of factors they name,
    cover every hour from 0 (a report they let through must always get an answer)."""
    groups: dict[frozenset[str], list[Rule]] = {}
    for r in rules:
        if r.answers_without_symptoms:
            groups.setdefault(frozenset(r.factors), []).append(r)
    for factor_set, group in groups.items():
        reach = 0.0
        for r in sorted(group, key=lambda r: r.after_hours or 0.0):
            if (r.after_hours or 0.0) > reach:
                break
            reach = max(reach, math.inf if r.before_hours is None else r.before_hours)
        if reach != math.inf:
            index = rules.index(group[0]) + 1
            raise KnowledgeError(
                str(path),
                f"rule {group[0].id!r} (entry {index})",
                f"rules answering reports without symptoms for factors {sorted(factor_set)} "
                f"leave hours from {reach:g} unanswered",
                line_of(path, "rule", index, ("answers_without_symptoms",)),
            )


def refuse_unreleased(kb: KnowledgeBase) -> None:
    """Raise KnowledgeError when the content is not what its version was released as (production)."""
    if kb.unreleased:
        raise KnowledgeError(str(Path(kb.source_dir) / "kb.toml"), "digest", kb.unreleased)
