"""A knowledge base's wording of findings, worked out once per Assessor.

Most of what a Finding says depends only on the knowledge base: a rule's citation, kind and
advice, a symptom's likelihood texts, which reason texts have no placeholders at all. Reading
those again for every finding was most of what putting an answer into words cost. A
Phrasebook reads them once; per report it only fills the placeholders that a text has. A
finding in words is then remembered (bounded, by everything it says: FindingKey), so
answers share their findings rather than word the same conclusion again.

This is the one place a finding is put into words. It gives exactly the Finding that reading
the knowledge base straight gives: tests/test_phrasebook.py compares the two on many random
reports, the straight reading kept there as the reference (tests/reference_wording.py).
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from triage.answer.model import Finding, shows_how_common
from triage.engine.cache import BoundedMemo
from triage.engine.report import Report
from triage.engine.rules import RawFinding
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import own_rule_id, own_rule_kind
from triage.knowledge.schema import Symptom
from triage.knowledge.words import Words
from triage.vocabulary import Disposition, FindingKind, OwnRule

# Enough for every window bound of a large knowledge base under every factor combination.
MEMO_SIZE = 1024
# Worded findings kept: each distinct conclusion, severity and relevant risk factors once;
# more than the shipped knowledge base words on varied reports, with a fixed memory ceiling
# (benchmarks/RESULTS.md).
FINDING_MEMO_SIZE = 2048
# The placeholders a finding's texts can use that do not depend on the report's hours.
HOURS_FREE_FIELDS = frozenset({"name", "expected_until", "monitor_until", "reported"})
_MISSING = "<not reported>"  # the severity key of a symptom the report does not name


def field_names(text: str) -> frozenset[str] | None:
    """The placeholder names a text uses ("hours" for "{hours}", "{hours.real}" or a
    "{name:{hours}}" format spec), None when it is malformed."""
    names: set[str] = set()
    try:
        for _, field, spec, _ in string.Formatter().parse(text):
            if field is not None:
                names.add(re.split(r"[.\[]", field, maxsplit=1)[0])
            nested = field_names(spec) if spec else frozenset()
            if nested is None:
                return None
            names |= nested
    except ValueError:
        return None
    return frozenset(names)


@dataclass(frozen=True)
class Template:
    """A knowledge-base text read once: `fixed` is its formatted form when it has no
    placeholders (so it is not formatted again per report), else None; `needs_hours` when
    the report's hours (or anything but the hours-free fields, or a malformed text, which
    fails when formatted) can change what it says."""

    text: str
    fixed: str | None
    needs_hours: bool = True

    @classmethod
    def read(cls, text: str) -> Template:
        try:
            has_fields = any(name is not None for _, name, _, _ in string.Formatter().parse(text))
        except ValueError:  # malformed: formatted per report, so it fails where it always did
            has_fields = True
        names = field_names(text)
        return cls(text, None if has_fields else text.format(), names is None or not names <= HOURS_FREE_FIELDS)

    def format(self, values: Callable[[], Mapping[str, str]]) -> str:
        """The text with its placeholders filled from `values()` (only called when it has any)."""
        return self.fixed if self.fixed is not None else self.text.format(**values())


@dataclass(frozen=True)
class PhaseParts:
    """What a symptom's own rule says in one phase (`<id>-expected`, ...) whatever the report;
    a knowledge-base rule's finding says this too (RuleParts)."""

    reason: Template
    nurse_reason: Template
    source: str
    kind: FindingKind

    @property
    def needs_hours(self) -> bool:
        """A reason text says the report's hours."""
        return self.reason.needs_hours or self.nurse_reason.needs_hours


@dataclass(frozen=True)
class RuleParts(PhaseParts):
    """What a knowledge-base rule's finding says whatever the report."""

    factors: tuple[str, ...]
    advice: str | None
    symptoms_all: tuple[str, ...]  # symptom ids, severities left off
    symptoms_any: tuple[str, ...]


@dataclass(frozen=True)
class SymptomParts:
    """What every finding about a symptom says about it, and how its texts vary per report."""

    name: str
    urgent_if: str
    typical_duration: Template
    likelihood: str  # with no factor that changes its band
    likelihood_with: tuple[tuple[str, str], ...]  # (factor, text) in the knowledge base's order
    adjusting: tuple[str, ...]  # the factors that change its window, each once
    notes: Mapping[str, str | None]  # each factor's note on its window (Factor.note_for)
    relevant: frozenset[str]  # the factors that change what a finding says about it

    def factors_in(self, factors: tuple[str, ...]) -> tuple[str, ...]:
        """The report's factors that change what a finding says of this symptom."""
        return tuple(f for f in factors if f in self.relevant) if factors else ()


# What a finding in words depends on (Phrasebook.key): the engine's conclusion; the type of
# its window end (48 and 48.0 are equal keys that print differently); its symptom's severity
# (_MISSING when not reported; None for a finding about the whole report); the report's
# factors that change what is said of that symptom; the reported symptoms a combination rule
# may name; the report's hours in words when a text says them, else None.
FindingKey = tuple[RawFinding, type, str | None, tuple[str, ...], tuple[str, ...], str | None]


def _ids(refs: list[str]) -> tuple[str, ...]:
    return tuple(ref.partition(":")[0] for ref in refs)


class Phrasebook:
    """Findings in words for one knowledge base; built once, shared between threads."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.words: Words = kb.words
        self.rules = {rid: self._rule_parts(rid) for rid in kb.rules}
        self.symptoms = {sid: self._symptom_parts(sid) for sid in kb.symptoms}
        self.phases = {
            (sid, own_rule_id(sid, phase)): self._phase_parts(sid, phase) for sid, phase in self._phase_names()
        }
        # kb bounds recur in every answer; a report's own hours rarely do and are not kept
        self.bound = BoundedMemo[tuple[type, float], str](lambda key: self.words.duration(key[1]), MEMO_SIZE)
        self.window_values = BoundedMemo[tuple[str, tuple[str, ...]], dict[str, str]](self._window_values, MEMO_SIZE)
        # findings in words, by everything they say (FindingKey): answers share them
        self._texts: dict[str, str] = {}  # one copy of each text the remembered findings hold
        self.worded = BoundedMemo[FindingKey, Finding](self._word_once, FINDING_MEMO_SIZE)

    # --- built once -----------------------------------------------------------------

    def _rule_parts(self, rid: str) -> RuleParts:
        rule = self.kb.rules[rid]
        return RuleParts(
            reason=Template.read(rule.reason),
            nurse_reason=Template.read(rule.nurse_reason),
            source=self.kb.citation(rule.source),
            kind=rule.kind,
            factors=tuple(rule.factors),
            advice=rule.advice,
            symptoms_all=_ids(rule.symptoms_all),
            symptoms_any=_ids(rule.symptoms_any),
        )

    def _symptom_parts(self, sid: str) -> SymptomParts:
        kb, symptom = self.kb, self.kb.symptoms[sid]
        likelihood_with = tuple((f, kb.likelihood(sid, (f,))) for f in symptom.likelihood_with)
        adjusting = tuple(dict.fromkeys(kb.adjusting_factors(sid)))
        return SymptomParts(
            name=symptom.name,
            urgent_if=symptom.urgent_if,
            typical_duration=Template.read(symptom.typical_duration),
            likelihood=kb.likelihood(sid, ()),
            likelihood_with=likelihood_with,
            adjusting=adjusting,
            notes={fid: factor.note_for(sid) for fid, factor in kb.factors.items()},
            relevant=frozenset([f for f, _ in likelihood_with] + list(adjusting)),
        )

    def _phase_names(self) -> list[tuple[str, OwnRule]]:
        """Every (symptom, conclusion of its own rule) the engine can reach and the knowledge
        base has words for: those whose reason texts exist, and for a symptom with a window,
        severe within the expected time (the header's words)."""
        names = []
        for sid, symptom in self.kb.symptoms.items():
            names += [(sid, p) for p in symptom.phases() if _texts(symptom, p) is not None]
            if symptom.window is not None:
                names.append((sid, OwnRule.EXPECTED_SEVERE))
        return names

    def _phase_parts(self, sid: str, phase: OwnRule) -> PhaseParts:
        kb, symptom = self.kb, self.kb.symptoms[sid]
        if phase is OwnRule.EXPECTED_SEVERE:
            patient, nurse = kb.header.severe_within_expected, kb.header.severe_within_expected_nurse
        else:
            patient, nurse = _texts(symptom, phase) or ("", "")
        return PhaseParts(
            reason=Template.read(patient),
            nurse_reason=Template.read(nurse),
            source=kb.citation(symptom.source),
            kind=own_rule_kind(phase),
        )

    # --- per report -----------------------------------------------------------------

    def hours(self, hours: float | None) -> str:
        """The report's hours in words ({hours} in a text): worked out once per answer."""
        return self.words.duration(hours) if hours is not None else self.words.unknown_hours

    def duration(self, hours: float) -> str:
        """A knowledge-base bound in words, remembered. Zero is never remembered: -0.0 and 0.0
        are equal keys that print differently (kb bounds are above zero anyway)."""
        return self.bound((type(hours), hours)) if hours else self.words.duration(hours)

    def _window_values(self, key: tuple[str, tuple[str, ...]]) -> dict[str, str]:
        """A symptom's window placeholders when these of its adjusting factors are present."""
        sid, present = key
        if self.kb.symptoms[sid].window is None:
            return {"expected_until": "", "monitor_until": ""}
        w = self.kb.window(sid, present)
        return {
            "expected_until": self.duration(w.expected_until) if w.expected_until else "",
            "monitor_until": self.duration(w.monitor_until),
        }

    def _about(
        self, sid: str | None, factors: tuple[str, ...], hours: str
    ) -> tuple[str | None, str | None, str | None]:
        """What a finding about a symptom says of the symptom itself: how common it is, how
        long it usually lasts (its window in force for the report), when it is urgent; None for a
        finding about the whole report. `factors`: the report's, or those of them that are
        relevant to the symptom (SymptomParts.factors_in), with the same result."""
        if not sid:
            return None, None, None
        parts = self.symptoms[sid]

        def window_values() -> dict[str, str]:
            present = tuple(f for f in parts.adjusting if f in factors)
            return {"name": parts.name, "hours": hours} | self.window_values((sid, present))

        likelihood = next((text for f, text in parts.likelihood_with if f in factors), parts.likelihood)
        return likelihood, parts.typical_duration.format(window_values), parts.urgent_if

    def finding(self, report: Report, raw: RawFinding, severity: dict[str, str], hours: str | None = None) -> Finding:
        """`raw` in words. `hours`: self.hours(report.hours), worked out here when not given and
        a text says them. Remembered by its FindingKey, except when a text says the report's
        hours (they rarely recur, as for `duration`) or with a window end of zero (-0.0 and 0.0
        are equal keys that print differently; kb bounds are above zero anyway). LookupError
        for a conclusion this knowledge base has no words for (not one of its engine's)."""
        key = self.key(report, raw, severity, hours)
        if key is None:
            raise LookupError(
                f"no words for rule {raw.rule!r} (symptom {raw.symptom!r}) in knowledge base {self.kb.version}"
            )
        until, says_hours = raw.until, key[-1] is not None
        return self._word(key) if says_hours or (until is not None and not until) else self.worded(key)

    def key(
        self, report: Report, raw: RawFinding, severity: dict[str, str], hours: str | None = None
    ) -> FindingKey | None:
        """Everything `raw` in words depends on (FindingKey); None when this book has no parts for it."""
        sid = raw.symptom
        rule = self.rules.get(raw.rule)
        if sid:
            parts = self.symptoms.get(sid)
            if parts is None:
                return None
            if rule is not None:
                needs_hours = rule.needs_hours
            else:
                phase = self.phases.get((sid, raw.rule))
                if phase is None:
                    return None
                needs_hours = phase.needs_hours
            return (
                raw,
                type(raw.until),
                severity.get(sid, _MISSING),
                parts.factors_in(report.factors),
                (),
                self._hours(report, hours) if needs_hours or parts.typical_duration.needs_hours else None,
            )
        if rule is None:
            return None
        present = tuple(s for s in rule.symptoms_any if s in severity) if rule.symptoms_any else ()
        return (raw, type(raw.until), None, (), present, self._hours(report, hours) if rule.needs_hours else None)

    def _hours(self, report: Report, hours: str | None) -> str:
        return hours if hours is not None else self.hours(report.hours)

    def _word_once(self, key: FindingKey) -> Finding:
        """_word for the memo: a remembered finding shares its texts with the others that say
        the same (findings for several severities or factors often say the same words)."""
        finding = self._word(key)
        texts = self._texts

        def one(text: str | None) -> str | None:
            return None if text is None else texts.setdefault(text, text)

        return dataclasses.replace(
            finding,
            reason=texts.setdefault(finding.reason, finding.reason),
            nurse_reason=texts.setdefault(finding.nurse_reason, finding.nurse_reason),
            source=texts.setdefault(finding.source, finding.source),
            advice=one(finding.advice),
            urgent_if=one(finding.urgent_if),
            likelihood=one(finding.likelihood),
            typical_duration=one(finding.typical_duration),
        )

    def _word(self, key: FindingKey) -> Finding:
        """The finding a FindingKey names, in words (the report's hours "" when no text says them)."""
        raw, _, severity, factors, present, hours_or_none = key
        sid, hours = raw.symptom, hours_or_none or ""

        def values() -> dict[str, str]:
            return {
                "name": self.symptoms[sid].name if sid else "",
                "hours": hours,
                "expected_until": self.duration(raw.expected_until) if raw.expected_until else "",
                "monitor_until": self.duration(raw.monitor_until) if raw.monitor_until else "",
                # a rule's alternatives (symptoms_any): only the ones reported, by name
                "reported": self.words.listed([_in_sentence(self.symptoms[s].name) for s in present]),
            }

        rule = self.rules.get(raw.rule)
        if rule is not None:
            return self._rule_finding(raw, severity, factors, present, hours, rule, values)
        phase = self.phases.get((sid or "", raw.rule))
        if phase is None or not sid:  # key() gives no key for these
            raise LookupError(raw.rule)
        if severity is _MISSING:
            raise KeyError(sid)  # a symptom's own rule about a symptom not reported
        notes = [n for n in map(self.symptoms[sid].notes.__getitem__, raw.factors) if n]
        likelihood, typical_duration, urgent_if = self._about(sid, factors, hours)
        if not shows_how_common(raw.disposition):
            likelihood = typical_duration = None
        return Finding(
            symptom=sid,
            severity=severity,
            disposition=_disposition(raw.disposition),
            rule=raw.rule,
            reason=" ".join([phase.reason.format(values), *notes]),
            nurse_reason=" ".join([phase.nurse_reason.format(values), *notes]),
            source=phase.source,
            emergency=raw.emergency,
            kind=phase.kind,
            symptoms=(sid,),
            factors=raw.factors,
            until_hours=raw.until,
            advice=None,
            urgent_if=urgent_if,
            likelihood=likelihood,
            typical_duration=typical_duration,
        )

    def _rule_finding(
        self,
        raw: RawFinding,
        severity: str | None,
        factors: tuple[str, ...],
        present: tuple[str, ...],
        hours: str,
        rule: RuleParts,
        values: Callable[[], dict[str, str]],
    ) -> Finding:
        sid = raw.symptom
        if sid:
            involved: tuple[str, ...] = (sid,)
        else:
            involved = rule.symptoms_all + present
        likelihood, typical_duration, urgent_if = self._about(sid, factors, hours)
        if not shows_how_common(raw.disposition):
            likelihood = typical_duration = None
        return Finding(
            symptom=sid,
            severity=severity if sid and severity is not _MISSING else None,
            disposition=_disposition(raw.disposition),
            rule=raw.rule,
            reason=rule.reason.format(values),
            nurse_reason=rule.nurse_reason.format(values),
            source=rule.source,
            emergency=raw.emergency,
            kind=rule.kind,
            symptoms=involved,
            factors=rule.factors,
            until_hours=raw.until,
            advice=rule.advice,
            urgent_if=urgent_if,
            likelihood=likelihood,
            typical_duration=typical_duration,
        )


def _in_sentence(name: str) -> str:
    """A symptom's name inside a sentence: "Spreading redness" as "spreading redness"."""
    return name[:1].lower() + name[1:]


def _texts(symptom: Symptom, phase: str) -> tuple[str, str] | None:
    """A symptom's patient and nurse reason for a phase, None when it has none."""
    patient, nurse = getattr(symptom.reasons, phase), getattr(symptom.nurse_reasons, phase)
    return None if patient is None or nurse is None else (patient, nurse)


_DISPOSITIONS = {d.value: d for d in Disposition}


def _disposition(value: str) -> Disposition:
    """Disposition(value) without the enum's lookup machinery for the three known values."""
    return _DISPOSITIONS.get(value) or Disposition(value)
