"""The validated knowledge base as one immutable object, and what it says about windows and phases."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from triage.knowledge.schema import Factor, Header, Rule, Symptom, WindowChange
from triage.knowledge.words import ENGLISH, Words
from triage.vocabulary import MAX_HOURS


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
