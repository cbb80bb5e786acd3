"""What each rule means: the conditions on a report that the knowledge base's rules set, read once.

A rule is data (knowledge/rules.toml, `triage.knowledge.schema.Rule`), and so is each
symptom's own rule (its window, or `always`). This module is the one place that reads what
those data ask of a report: which symptoms it needs (and at which severities), which risk
factors, which window phases and which findings it reads, the hours at which it starts or
stops applying, whether it reads "getting worse", and where an emergency can come from.
Every reader takes its view from here:

- the loader (triage.knowledge.loader) checks that a rule's selection names some symptom;
- the engine generator (triage.engine.rules) makes its experta patterns from `Conditions`,
  and declares only the facts some rule's conditions can use (`Requirement`);
- the phase cache (triage.engine.phase_cache) keys a report by what these conditions can tell
  apart: the hours between `answer_change_hours`, the severities of `distinguished_severities`
  and the factors `FactorReaders` says can matter;
- the change report's probes (triage.review.probes) visit every symptom and hour the
  conditions of either knowledge base name;
- the answer (triage.answer.assess) runs a report without hours at every answer-change hour.

A new kind of condition is a field of the Rule model plus its reading here (a field of
`Conditions`, and its hours, symptoms or factors where it has any); each reader above then
sees it, and the engine adds only its test. Nothing here runs a rule: this is analysis of
the data, shared by the experta engine, its caches and the review tools.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from triage.knowledge.base import KnowledgeBase
from triage.knowledge.schema import Rule
from triage.vocabulary import MAX_HOURS, Disposition, FindingKind, FindingSelector, Onset, OwnRule, Phase, Severity

# The engine's facts and findings hold plain text: these are the enums' values, as compared
# and hashed on the decision path.
_EXPECTED, _MONITOR, _CONTACT = (
    Disposition.EXPECTED.value,
    Disposition.MONITOR.value,
    Disposition.CONTACT_CLINICIAN.value,
)
_SEVERE = Severity.SEVERE.value
# A window's phases as its own rule concludes them: (rule id suffix, phase, disposition, severe).
_WITHIN_EXPECTED = (OwnRule.EXPECTED.value, Phase.WITHIN_EXPECTED.value, _EXPECTED, False)
_WITHIN_EXPECTED_SEVERE = (OwnRule.EXPECTED_SEVERE.value, Phase.WITHIN_EXPECTED.value, _MONITOR, True)
_PAST_EXPECTED_PHASE = (OwnRule.MONITOR.value, Phase.PAST_EXPECTED.value, _MONITOR, None)
_PAST_MONITOR = (OwnRule.CONTACT.value, Phase.PAST_MONITOR.value, _CONTACT, None)

# --- a symptom's own rule ------------------------------------------------------------------


@dataclass(frozen=True)
class SymptomPhase:
    """One conclusion a symptom's own rule can reach, for one combination of the factors that
    change its window: which severities and hours it covers and what it concludes. Every rule
    backend (the experta engine, the benchmarks' CLIPS) compiles these same phases."""

    symptom: str
    rule: str  # "<id>-<OwnRule>": "<id>-always", "<id>-expected", "<id>-expected-severe", ...
    phase: str | None  # a Phase's value; None for `always`
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


def own_rule_id(symptom: str, conclusion: OwnRule) -> str:
    """The rule id of a symptom's own rule's conclusion ("redness-expected")."""
    return f"{symptom}-{conclusion.value}"


def own_rule_kind(conclusion: OwnRule) -> FindingKind:
    """The kind of finding a symptom's own rule's conclusion is: a red flag, or a window's."""
    return FindingKind.RED_FLAG if conclusion is OwnRule.ALWAYS else FindingKind.WINDOW


def factor_combinations(factors: Iterable[str]) -> Iterator[tuple[str, ...]]:
    """Every combination of these factors, none first, then by size (itertools' order)."""
    pool = tuple(factors)
    for n in range(len(pool) + 1):
        yield from itertools.combinations(pool, n)


def symptom_phases(kb: KnowledgeBase, symptom: str) -> list[SymptomPhase]:
    """Every phase of the symptom's own rule, for every combination of window-changing factors.

    `always`: contact clinician at any hour. A window: below expected_until `expected` when
    mild or moderate and `monitor` when severe; then `monitor` until monitor_until (none when
    the bounds are equal); then `contact clinician`.
    """
    s = kb.symptoms[symptom]
    if s.window is None:
        return [
            SymptomPhase(
                symptom,
                own_rule_id(symptom, OwnRule.ALWAYS),
                None,
                _CONTACT,
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
    adjusting = kb.adjusting_factors(symptom)
    phases = []
    for present in factor_combinations(adjusting):
        absent = tuple(f for f in adjusting if f not in present)
        w = kb.window(symptom, present)
        cap = s.window.recheck_within or kb.header.monitor_recheck_within
        low = w.expected_until or 0.0
        # each phase, and the hours it covers: from start (None: 0), below end, ending at until
        plan: list[tuple[tuple[str, str, str, bool | None], float | None, float | None, float | None]] = []
        if w.expected_until:
            plan.append((_WITHIN_EXPECTED, None, low, low))
            plan.append((_WITHIN_EXPECTED_SEVERE, None, low, low))
        if w.monitor_until > low:
            plan.append((_PAST_EXPECTED_PHASE, low, w.monitor_until, w.monitor_until))
        plan.append((_PAST_MONITOR, w.monitor_until, None, None))
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
                cap if disposition == _MONITOR else None,
            )
            for (name, phase, disposition, severe), start, end, until in plan
        ]
    return phases


def window_bounds(
    kb: KnowledgeBase, symptom: str, factor_sets: Iterable[Iterable[str]] | None = None
) -> frozenset[float]:
    """The symptom's window bounds with each of `factor_sets` present (default: every
    combination of the factors that change its window); none for a symptom without a window
    or one this knowledge base does not have."""
    s = kb.symptoms.get(symptom)
    if s is None or s.window is None:
        return frozenset()
    points: set[float] = set()
    for present in factor_combinations(kb.adjusting_factors(symptom)) if factor_sets is None else factor_sets:
        w = kb.window(symptom, present)
        points |= {b for b in (w.expected_until, w.monitor_until) if b is not None}
    return frozenset(points)


# --- the rules of rules.toml ------------------------------------------------------------------


def rule_symptoms(kb: KnowledgeBase, rule: Rule) -> tuple[str, ...]:
    """The symptom ids a `for_each` rule is limited to: its `symptoms`, narrowed with
    `window_only` to the symptoms with a window and with `onset` to those onsets ("none":
    symptoms with no onset given); empty when it applies to every symptom."""
    if not (rule.window_only or rule.onset):
        return tuple(rule.symptoms)
    ids = list(rule.symptoms or kb.symptoms)
    if rule.window_only:
        ids = [s for s in ids if kb.symptoms[s].window is not None]
    if rule.onset:
        ids = [s for s in ids if (kb.symptoms[s].onset or Onset.NONE) in rule.onset]
    return tuple(ids)


def _ids(refs: Iterable[str]) -> frozenset[str]:
    """The symptom ids of "id" or "id:severity" references."""
    return frozenset(ref.partition(":")[0] for ref in refs)


@dataclass(frozen=True)
class Requirement:
    """What a report needs for something to happen (an emergency finding, a rule to match):
    all of `all_of` reported, one of `any_of` (when given) and every factor in `factors`.
    A necessary condition, not a sufficient one."""

    all_of: frozenset[str]
    any_of: frozenset[str] | None
    factors: frozenset[str]

    def met(self, symptoms: frozenset[str], factors: frozenset[str]) -> bool:
        return (
            self.all_of <= symptoms
            and (self.any_of is None or not self.any_of.isdisjoint(symptoms))
            and self.factors <= factors
        )


class Requirements:
    """Whether a report meets any of some requirements (None: any report does), testing only
    those that one of its symptoms or factors could meet: each requirement is filed under a
    symptom or factor it cannot be met without."""

    def __init__(self, requirements: Iterable[Requirement] | None) -> None:
        self.always = requirements is None
        self.by_symptom: dict[str, list[Requirement]] = {}
        self.by_factor: dict[str, list[Requirement]] = {}
        for r in requirements or ():
            if r.all_of:
                self.by_symptom.setdefault(min(r.all_of), []).append(r)
            elif r.any_of:
                for sid in r.any_of:
                    self.by_symptom.setdefault(sid, []).append(r)
            elif r.factors:
                self.by_factor.setdefault(min(r.factors), []).append(r)
            else:
                self.always = True

    def any_met(self, symptoms: frozenset[str], factors: frozenset[str]) -> bool:
        if self.always:
            return True
        for filed, keys in ((self.by_symptom, symptoms), (self.by_factor, factors)):
            for key in keys:
                for requirement in filed.get(key, ()):
                    if requirement.met(symptoms, factors):
                        return True
        return False


def _is_true(value: Any) -> bool:
    return value is True


_PAST_EXPECTED = Phase.PAST_EXPECTED.value
# Which findings a `for_each = "finding"` rule reads, by its `finding` value: tests on a
# finding's fields.
SELECTOR_TESTS: dict[str, dict[str, Callable[[Any], bool]]] = {
    FindingSelector.MONITOR: {"disposition": lambda d: d == _MONITOR},
    FindingSelector.PAST_EXPECTED: {"phase": lambda p: p == _PAST_EXPECTED},
    FindingSelector.BELOW_CONTACT: {"disposition": lambda d: d != _CONTACT},
}


@dataclass(frozen=True, eq=False)  # never compared: eq=False is less to generate at import
class FindingRead:
    """A finding a rule reads (a finding pattern): tests on the finding's fields, the factors
    its rule needs besides, and whether the rule also needs an emergency finding."""

    tests: dict[str, Callable[[Any], bool]]
    factors: frozenset[str]
    needs_emergency: bool


@dataclass(frozen=True, eq=False)  # never compared: eq=False is less to generate at import
class Conditions:
    """One rule of rules.toml as conditions on a report. Severities and phases are plain text,
    as a report's facts and the engine's findings hold them."""

    id: str
    per_symptom: bool  # for_each = "symptom": the rule applies to each reported symptom it covers
    per_finding: bool  # for_each = "finding": to each finding it reads (`finding`)
    symptoms_all: tuple[str, ...]  # "id" or "id:severity", as written: all of them reported
    symptoms_any: tuple[str, ...]  # and at least one of these
    each: tuple[str, ...]  # a for_each rule: only these symptoms (rule_symptoms; empty: any)
    named: frozenset[str]  # every symptom id any of its symptom conditions names (before `onset`, `window_only`)
    severities: frozenset[str]  # a for_each = "symptom" rule: at one of these severities (empty: any)
    phases: frozenset[str]  # a for_each = "symptom" rule: its window finding in one of these phases
    finding: str | None  # a for_each = "finding" rule: which findings (SELECTOR_TESTS)
    with_emergency: bool  # a for_each = "finding" rule: only with an emergency finding in the report
    factors: tuple[str, ...]  # every one of these risk factors present
    after_hours: float | None  # hours >= after_hours
    before_hours: float | None  # hours < before_hours
    worsening: bool  # getting worse (the report, or per symptom the symptom)
    emergency: bool  # its finding is an emergency
    needs: Requirement  # the symptoms its report-wide conditions name, and its factors

    @classmethod
    def of(cls, kb: KnowledgeBase, rule: Rule) -> Conditions:
        all_of, any_of = _ids(rule.symptoms_all), _ids(rule.symptoms_any)
        return cls(
            id=rule.id,
            per_symptom=rule.for_each == "symptom",
            per_finding=rule.for_each == "finding",
            symptoms_all=tuple(rule.symptoms_all),
            symptoms_any=tuple(rule.symptoms_any),
            each=rule_symptoms(kb, rule),
            named=all_of | any_of | frozenset(rule.symptoms),
            severities=frozenset(map(str, rule.severity)),
            phases=frozenset(map(str, rule.phase)),
            finding=rule.finding,
            with_emergency=bool(rule.with_emergency),
            factors=tuple(rule.factors),
            after_hours=rule.after_hours,
            before_hours=rule.before_hours,
            worsening=bool(rule.worsening),
            emergency=rule.emergency,
            needs=Requirement(all_of, any_of or None, frozenset(rule.factors)),
        )

    @property
    def hours(self) -> tuple[float, ...]:
        """The hours at which the rule starts or stops applying."""
        return tuple(b for b in (self.after_hours, self.before_hours) if b is not None)

    @property
    def timed(self) -> bool:
        """Whether the rule reads the hours or getting worse."""
        return self.worsening or self.after_hours is not None or self.before_hours is not None

    def findings_read(self) -> tuple[FindingRead, ...]:
        """The findings the rule reads: a for_each = "symptom" rule with `phase`, its symptom's
        window finding in those phases; a for_each = "finding" rule, the findings its
        `finding` selects (and, `with_emergency`, any emergency finding)."""
        only = {"symptom": frozenset(self.each).__contains__} if self.each else {}
        factors = frozenset(self.factors)
        if self.per_symptom and self.phases:
            return (FindingRead({"phase": self.phases.__contains__, **only}, factors, False),)
        if self.per_finding:
            selected = FindingRead({**SELECTOR_TESTS[self.finding or ""], **only}, factors, self.with_emergency)
            if self.with_emergency:
                return selected, FindingRead({"emergency": _is_true}, factors, False)
            return (selected,)
        return ()


def rule_conditions(kb: KnowledgeBase) -> tuple[Conditions, ...]:
    """Every rule's conditions, in the knowledge base's order. (The functions below take them
    too, so that a reader building several views at start-up reads them once.)"""
    return tuple(Conditions.of(kb, rule) for rule in kb.rules.values())


def answer_change_hours(kb: KnowledgeBase, conditions: Sequence[Conditions] | None = None) -> tuple[float, ...]:
    """0 and every hour at which some answer can change: each window bound (under every
    combination of the factors that change it) and each rule's after_hours / before_hours.
    Every condition on the hours is `hours >= bound` or `hours < bound`, so an answer is
    the same from one of these hours until the next."""
    points = {0.0}
    for sid in kb.symptoms:
        points.update(window_bounds(kb, sid))
    for c in rule_conditions(kb) if conditions is None else conditions:
        points.update(c.hours)
    return tuple(sorted(p for p in points if p <= MAX_HOURS))


def answered_without_symptoms(kb: KnowledgeBase, factors: Iterable[str]) -> bool:
    """Whether a report with these factors and no symptoms has a rule that answers it."""
    present = set(factors)
    return any(r.answers_without_symptoms and set(r.factors) <= present for r in kb.rules.values())


def factors_answered_alone(kb: KnowledgeBase) -> list[str]:
    """The factors some rule answers a report without symptoms for, sorted."""
    return sorted({f for r in kb.rules.values() if r.answers_without_symptoms for f in r.factors})


def emergency_sources(
    kb: KnowledgeBase, conditions: Sequence[Conditions] | None = None
) -> tuple[Requirement, ...] | None:
    """Where an emergency finding can come from; None when it may come from any report."""
    sources = [
        Requirement(frozenset({sid}), None, frozenset())
        for sid in kb.symptoms
        if any(ph.emergency for ph in symptom_phases(kb, sid))
    ]
    for c in rule_conditions(kb) if conditions is None else conditions:
        if not c.emergency:
            continue
        needs = c.needs
        if c.per_symptom and c.each:
            sources += [Requirement(needs.all_of | {sid}, needs.any_of, needs.factors) for sid in c.each]
        elif not (c.per_symptom or c.per_finding) and (needs.all_of or needs.any_of):
            sources.append(needs)
        else:  # on any symptom, on another finding, or on factors alone: any report may have one
            return None
    return tuple(sources)


def distinguished_severities(
    kb: KnowledgeBase, sid: str, conditions: Sequence[Conditions] | None = None
) -> frozenset[str]:
    """The severities of a symptom that something in the engine tests for: a window phase
    for severe or not severe, a `for_each = "symptom"` rule's `severity`, a combination's
    "id:severity". Every other severity of the symptom is read alike."""
    found = {_SEVERE} if any(p.severe is not None for p in symptom_phases(kb, sid)) else set()
    for c in rule_conditions(kb) if conditions is None else conditions:
        if c.per_symptom and c.severities and sid in (c.each or kb.symptoms):
            found.update(c.severities)
        for ref in (*c.symptoms_all, *c.symptoms_any):
            ref_sid, _, severity = ref.partition(":")
            if ref_sid == sid and severity:
                found.add(severity)
    return frozenset(found)


class FactorReaders:
    """What reads each factor, to tell whether a factor can matter to a report.

    A factor is read in two places: a window phase of a symptom that the factor changes (the
    phase's present/absent factors), and the conditions of the rules that need it. A factor
    matters to a report when the report has such a symptom, or such a rule could match it: a
    `for_each = "finding"` rule always could (any finding may be of its kind); another rule
    when the report meets its Requirement and, for a `for_each = "symptom"` rule limited to
    some symptoms, has one of them. A factor that matters to no report of its kind changes
    nothing: no rule's pattern can be completed with it."""

    def __init__(self, kb: KnowledgeBase, conditions: Sequence[Conditions] | None = None) -> None:
        self.always: set[str] = set()
        self.by_rule: dict[str, list[tuple[Requirement, frozenset[str] | None]]] = {}
        readers: dict[str, set[str]] = {}
        for sid in kb.symptoms:
            for phase in symptom_phases(kb, sid):
                for fid in (*phase.present, *phase.absent):
                    readers.setdefault(fid, set()).add(sid)
            for fid in kb.adjusting_factors(sid):
                readers.setdefault(fid, set()).add(sid)
        # factor -> the symptoms whose window phases read it
        self.by_window: dict[str, frozenset[str]] = {fid: frozenset(sids) for fid, sids in readers.items()}
        for c in rule_conditions(kb) if conditions is None else conditions:
            limited = frozenset(c.each) if c.per_symptom else frozenset()
            for fid in c.needs.factors:
                if c.per_finding:
                    self.always.add(fid)
                else:
                    self.by_rule.setdefault(fid, []).append((c.needs, limited or None))

    def matters(self, fid: str, symptoms: frozenset[str], factors: frozenset[str]) -> bool:
        if fid in self.always:
            return True
        window = self.by_window.get(fid)
        if window is not None and not window.isdisjoint(symptoms):
            return True
        return any(
            needs.met(symptoms, factors) and (limited is None or not limited.isdisjoint(symptoms))
            for needs, limited in self.by_rule.get(fid, ())
        )
