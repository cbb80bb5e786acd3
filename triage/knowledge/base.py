"""The validated knowledge base as one immutable object, and its data read plainly (names,
likelihoods, citations, a symptom's window with some factors present).

What the rules mean as conditions on a report (phases, bounds, which symptoms and factors a
rule reads) is worked out in triage.knowledge.conditions."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from triage.knowledge.schema import Factor, Header, Rule, Symptom, WindowChange
from triage.knowledge.words import ENGLISH_WORDS, Words
from triage.vocabulary import Disposition


@dataclass(frozen=True)
class EffectiveWindow:
    """A symptom's window for one report, after risk-factor changes."""

    expected_until: float | None
    monitor_until: float
    factors: tuple[str, ...]  # the present factors that changed it


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
    words: Words = ENGLISH_WORDS
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
        return self.header.monitor_recheck_within if rule.disposition == Disposition.MONITOR else None

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

    def adjusting_factors(self, symptom: str) -> tuple[str, ...]:
        """The factors that change the symptom's window, in the knowledge base's order."""
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
