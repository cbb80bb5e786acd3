"""The experta rule engine, generated from the knowledge base.

Rules are built once per knowledge base (one engine class); a decision takes an engine
instance no other decision is using (RuleEngine's pool) and resets it after, so concurrent
callers never share facts.
Rules are generated from the knowledge base's data, as triage.knowledge.conditions reads
each rule's conditions: there are no per-symptom Python branches here.

Speed (measured with `python -m benchmarks`; profile first, then change): the cost of a
decision is experta's network and its resets. experta's own plumbing is made leaner in
triage.engine.rete (same matches, same firing order); here the engine is shaped to give it
less to evaluate:
- each symptom's own window is one rule whose action reads the symptom's phases from the
  knowledge base (not one rule per phase and factor combination);
- each symptom and each risk factor has its own fact class, and a fact is sent only to the
  patterns of its class (triage.engine.rete): no fact is tested against every symptom id;
- a finding is declared as a fact only when some rule's finding pattern could match it in
  this report (FindingPatterns); other findings, and the hours at which a waiting rule
  would apply, are collected directly, as are the declared findings (no scan of the facts);
  the report fact is declared only when a rule with a report pattern could match
  (_report_fact_users); facts are made without experta's per-field freezing
  (triage.engine.rete.new_fact: their values are already immutable).
None of this changes an answer (tests/test_clips_agreement.py, tests/test_properties.py,
tests/test_rete.py).
Figures: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from triage.engine import _compat  # noqa: F401  (must precede experta)

# isort: split
from experta import AS, MATCH, OR, Fact, KnowledgeEngine, P, Rule

from triage.engine.report import Report
from triage.engine.rete import LeanEngine, new_fact
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import (
    SELECTOR_TESTS,
    Conditions,
    FindingRead,
    Requirement,
    Requirements,
    SymptomPhase,
    emergency_sources,
    rule_conditions,
    symptom_phases,
)
from triage.knowledge.schema import Rule as KbRule
from triage.vocabulary import Severity


class ReportFact(Fact):
    """hours since the session, worsening: for report-level and finding-level rules."""


class SymptomFact(Fact):
    """id, severity, and the report's hours and worsening; declared as the symptom's own class.

    Carrying the report's hours on each symptom lets a symptom's own rules (its window,
    severity and worsening rules) be single-pattern rules, with no join against the report
    fact. Each symptom has its own subclass (symptom_fact_classes), and every pattern naming
    a symptom is of that class: experta tests a fact's type first and the matcher sends a
    fact only to the patterns of its type (_Matcher), so a symptom fact meets only the
    patterns about that symptom, never a test of its id against every other symptom.
    """


class FactorFact(Fact):
    """id; declared as the factor's own class (factor_fact_classes), as for symptoms."""


class FindingFact(Fact):
    """symptom, rule, disposition, emergency, phase, until, cap, expected_until, monitor_until, factors."""


@dataclass(frozen=True)
class RawFinding:
    """A finding as the engine concluded it, before it is put into words."""

    symptom: str | None
    rule: str
    disposition: str
    emergency: bool
    phase: str | None  # window findings: within-expected, past-expected, past-monitor
    until: float | None  # the hour at which this finding's current window ends
    cap: float | None  # re-check within this many hours at the latest
    expected_until: float | None
    monitor_until: float | None
    factors: tuple[str, ...]


@dataclass(frozen=True, slots=True)  # slots: the phase cache keeps thousands
class RawResult:
    findings: tuple[RawFinding, ...]
    boundaries: tuple[float, ...]


class FindingPatterns:
    """Which findings a decision must declare as facts.

    A finding is declared only when some rule's finding pattern (triage.knowledge.conditions:
    Conditions.findings_read) could match it in this report; any other finding is collected
    directly. A fact no rule can match only costs a trip through experta's network, so this
    changes no answer. "Could match" is checked generously (the pattern's tests on the
    finding, the rule's factors present in the report, an emergency possible for
    `with_emergency`), never narrower than experta's own test.
    """

    def __init__(self, kb: KnowledgeBase, conditions: tuple[Conditions, ...] | None = None) -> None:
        conditions = rule_conditions(kb) if conditions is None else conditions
        self.patterns: tuple[FindingRead, ...] = tuple(p for c in conditions for p in c.findings_read())
        self.emergency_sources = Requirements(emergency_sources(kb, conditions))
        self._active: dict[tuple[frozenset[str], bool], frozenset[int]] = {}

    def matching(self, finding: dict[str, Any]) -> frozenset[int]:
        """The patterns whose tests this finding passes."""
        return frozenset(i for i, p in enumerate(self.patterns) if all(test(finding[k]) for k, test in p.tests.items()))

    def active(self, factors: frozenset[str], symptoms: frozenset[str]) -> frozenset[int]:
        """The patterns whose rules can fire for a report with these factors and symptoms."""
        emergency = self.emergency_sources.any_met(symptoms, factors)
        key = (factors, emergency)
        found = self._active.get(key)
        if found is None:
            found = frozenset(
                i for i, p in enumerate(self.patterns) if p.factors <= factors and (emergency or not p.needs_emergency)
            )
            self._active[key] = found
        return found


def _report_fact_users(conditions: Iterable[Conditions]) -> tuple[Requirement, ...]:
    """What a report needs for some rule with a ReportFact pattern (a rule not per symptom that
    reads the hours or getting worse) to match: its symptom and factor conditions (a finding
    pattern is taken to match). A report that needs none of these declares no ReportFact: it
    would only walk the network to joins that never complete."""
    return tuple(c.needs for c in conditions if not c.per_symptom and c.timed)


def rule_finding(kb: KnowledgeBase, rule: KbRule, symptom: Any) -> dict[str, Any]:
    """What a knowledge-base rule concludes (a RawFinding's fields), about `symptom`; the CLIPS
    backend (verification/) states its rules' conclusions with the same values."""
    return {
        "symptom": symptom,
        "rule": rule.id,
        "disposition": rule.disposition,
        "emergency": rule.emergency,
        "phase": None,
        "until": rule.before_hours,
        "cap": kb.recheck_cap(rule),
        "expected_until": None,
        "monitor_until": None,
        "factors": tuple(rule.factors),
    }


def _finding_action(patterns: FindingPatterns, **values: Any) -> Callable[..., None]:
    matching = patterns.matching(values)

    def action(engine: _Engine, **_: Any) -> None:
        engine.conclude(values, matching)

    return action


def _boundary_action(at: float) -> Callable[..., None]:
    def action(engine: _Engine, **_: Any) -> None:
        engine.boundaries.append(at)

    return action


# The predicate constructors are memoised: experta identifies a predicate check by the
# identity of its function, so one predicate object per bound lets every rule that tests
# the same bound share one alpha node instead of testing each fact once per rule.


@functools.cache
def _hours_at_least(bound: float) -> P:
    return P(lambda h: h >= bound)


@functools.cache
def _hours_below(bound: float) -> P:
    return P(lambda h: h < bound)


@functools.cache
def _hours_between(low: float, high: float) -> P:
    return P(lambda h: low <= h < high)


def _one_of(values: Iterable[str]) -> P:
    return _one_of_set(frozenset(values))


@functools.cache
def _one_of_set(allowed: frozenset[str]) -> P:
    return P(lambda v: v in allowed)


# The experta tests of the findings a `for_each = "finding"` rule reads, by its `finding` value.
_SELECTOR_PATTERNS = {name: {k: P(test) for k, test in tests.items()} for name, tests in SELECTOR_TESTS.items()}


def _window_action(phases: tuple[SymptomPhase, ...], patterns: FindingPatterns) -> Callable[..., None]:
    """The symptom's window rule's action: the finding of every phase whose conditions hold,
    tested as that phase's own experta rule tested them as patterns, read from its data."""
    plan = tuple(
        (ph.severe, ph.start, ph.end, frozenset(ph.present), frozenset(ph.absent), ph.finding(), matching)
        for ph in phases
        for matching in [patterns.matching(ph.finding())]
    )
    severe_text = Severity.SEVERE.value  # as the fact holds it

    def action(engine: _Engine, symptom: Fact) -> None:
        severe, hours, factors = symptom["severity"] == severe_text, symptom["hours"], engine.report_factors
        for phase_severe, start, end, present, absent, finding, matching in plan:
            if phase_severe is not None and phase_severe != severe:
                continue
            if start is not None and not hours >= start:
                continue
            if end is not None and not hours < end:
                continue
            if present <= factors and absent.isdisjoint(factors):
                engine.conclude(finding, matching)

    return action


def symptom_fact_classes(kb: KnowledgeBase) -> dict[str, type[SymptomFact]]:
    """One fact class per symptom of the knowledge base (see SymptomFact)."""
    return {sid: type(f"SymptomFact[{sid}]", (SymptomFact,), {"__doc__": f"A reported {sid}."}) for sid in kb.symptoms}


def _window_rules(
    kb: KnowledgeBase, classes: dict[str, type[SymptomFact]], patterns: FindingPatterns
) -> dict[str, Rule]:
    """Each symptom's own rule: one experta rule per symptom, matched by its fact
    alone, whose action reads the symptom's phases (its window bounds under each combination
    of the factors that change them, and severity) from the knowledge base and concludes the
    finding of every phase that applies. One coarse rule instead of one per phase and factor
    combination, so a symptom fact no longer walks the hour, severity and factor tests and
    joins of some 100 rules."""
    return {
        f"{sid}-window": Rule(AS.symptom << classes[sid]())(_window_action(tuple(symptom_phases(kb, sid)), patterns))
        for sid in kb.symptoms
    }


def factor_fact_classes(kb: KnowledgeBase) -> dict[str, type[FactorFact]]:
    """One fact class per risk factor: a factor fact meets only the patterns about that factor."""
    return {fid: type(f"FactorFact[{fid}]", (FactorFact,), {"__doc__": f"Risk factor {fid}."}) for fid in kb.factors}


def _symptom_pattern(classes: dict[str, type[SymptomFact]], ref: str) -> SymptomFact:
    sid, _, severity = ref.partition(":")
    return classes[sid](severity=severity) if severity else classes[sid]()


def _kb_rule(
    kb: KnowledgeBase,
    rule: KbRule,
    c: Conditions,
    classes: dict[str, type[SymptomFact]],
    factor_classes: dict[str, type[FactorFact]],
    finding_patterns: FindingPatterns,
) -> dict[str, Rule]:
    """One knowledge-base rule, as experta patterns of its conditions: its firing rule, plus a
    boundary twin when it waits for an hour.

    A `for_each = "symptom"` rule becomes one rule per symptom it applies to, on that
    symptom's fact class, with its time and worsening conditions on the symptom pattern (one
    pattern fewer); other rules test time on a report pattern.
    """
    patterns: list[Any] = []
    if c.per_finding:
        sid_constraint = MATCH.sid & _one_of(c.each) if c.each else MATCH.sid
        patterns.append(FindingFact(**{**_SELECTOR_PATTERNS[c.finding or ""], "symptom": sid_constraint}))
        if c.with_emergency:
            patterns.append(FindingFact(emergency=True))
    patterns += [_symptom_pattern(classes, ref) for ref in c.symptoms_all]
    if c.symptoms_any:
        patterns.append(OR(*(_symptom_pattern(classes, ref) for ref in c.symptoms_any)))
    patterns += [factor_classes[f]() for f in c.factors]
    fire, wait = _time_patterns(c)

    def finding(symptom: str | None) -> Callable[..., None]:
        return _finding_action(finding_patterns, **rule_finding(kb, rule, symptom))

    rules: dict[str, Rule] = {}
    if c.per_symptom:
        severity = {"severity": _one_of(c.severities)} if c.severities else {}
        for sid in c.each or kb.symptoms:
            own: list[Any] = []
            if c.phases:  # the symptom's own window finding is in one of these phases
                own.append(FindingFact(symptom=sid, phase=_one_of(c.phases)))
            rules[f"{c.id}@{sid}"] = Rule(classes[sid](**severity, **fire), *own, *patterns)(finding(sid))
            if wait is not None:
                rules[f"{c.id}@{sid}~boundary"] = Rule(classes[sid](**severity, **wait), *own, *patterns)(
                    _boundary_action(c.after_hours or 0.0)
                )
        return rules
    action = _finding_action_bound(finding) if c.per_finding else finding(None)
    rules[c.id] = Rule(*patterns, ReportFact(**fire))(action) if fire else Rule(*patterns)(action)
    if wait is not None:
        rules[f"{c.id}~boundary"] = Rule(*patterns, ReportFact(**wait))(_boundary_action(c.after_hours or 0.0))
    return rules


def _time_patterns(c: Conditions) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A rule's time and worsening tests: those under which it fires, and those under which it
    waits for its `after_hours` (None when it has none)."""
    time: dict[str, Any] = {}
    if c.worsening:
        time["worsening"] = True
    if c.before_hours is not None:
        time["hours"] = _hours_below(c.before_hours)
    fire, wait = time, None
    if c.after_hours is not None:
        after, before = c.after_hours, c.before_hours
        fire = dict(time, hours=_hours_between(after, before) if before is not None else _hours_at_least(after))
        wait = dict(time, hours=_hours_below(after))
    return fire, wait


def _finding_action_bound(finding: Callable[[str | None], Callable[..., None]]) -> Callable[..., None]:
    """A `for_each = "finding"` rule's action: the finding names the matched finding's symptom."""
    by_symptom: dict[str | None, Callable[..., None]] = {}

    def action(engine: _Engine, sid: str | None = None) -> None:
        if sid not in by_symptom:
            by_symptom[sid] = finding(sid)
        by_symptom[sid](engine)

    return action


class _Engine(LeanEngine):
    """The generated engine's base: where rule actions put what they conclude."""

    report_factors: frozenset[str] = frozenset()  # the current report's factors, for the window actions
    active_patterns: frozenset[int] = frozenset()  # the finding patterns that can match in this report

    def __init__(self) -> None:
        super().__init__()
        self.boundaries: list[float] = []  # hours at which a waiting rule would start to apply
        self.declared: list[dict[str, Any]] = []  # the findings declared as facts, in order
        self.collected: dict[RawFinding, None] = {}  # findings no rule can match (FindingPatterns)

    def conclude(self, finding: dict[str, Any], matching: frozenset[int]) -> None:
        """A rule's finding: declared when a rule could match it in this report (FindingPatterns),
        else collected (once, as experta keeps one copy of equal facts). A declared finding is
        also noted, unless the fact list already had it, so the result needs no scan of the
        facts for the findings."""
        if not matching.isdisjoint(self.active_patterns):
            if self.declare(new_fact(FindingFact, finding)) is not None:
                self.declared.append(finding)
        else:
            self.collected[RawFinding(**finding)] = None


def build_engine_class(
    kb: KnowledgeBase,
    classes: dict[str, type[SymptomFact]] | None = None,
    factor_classes: dict[str, type[FactorFact]] | None = None,
    base: type[KnowledgeEngine] | None = None,
    patterns: FindingPatterns | None = None,
    conditions: tuple[Conditions, ...] | None = None,
) -> type[KnowledgeEngine]:
    """Generate the engine class from the knowledge base (and its symptom and factor fact
    classes, which the facts declared must be of, and the finding patterns whose numbers the
    decisions' `active_patterns` use). Call once per knowledge base. `base` is for tests that
    compare the lean engine with experta's own (it must derive from _Engine). `conditions`: the
    rules' (rule_conditions), when the caller has them already."""
    conditions = rule_conditions(kb) if conditions is None else conditions
    patterns = FindingPatterns(kb, conditions) if patterns is None else patterns
    classes = symptom_fact_classes(kb) if classes is None else classes
    factor_classes = factor_fact_classes(kb) if factor_classes is None else factor_classes
    rules = _window_rules(kb, classes, patterns)
    for rule, c in zip(kb.rules.values(), conditions, strict=True):
        rules.update(_kb_rule(kb, rule, c, classes, factor_classes, patterns))
    attrs: dict[str, Any] = {
        name.replace("-", "_").replace("+", "__").replace("~", "___").replace("@", "__at__"): r
        for name, r in rules.items()
    }
    attrs["__doc__"] = f"Triage rules generated from knowledge base {kb.version}."
    return type("TriageEngine", (base or _Engine,), attrs)


class RuleEngine:
    """Thread-safe front to the generated engine: a pool of experta instances, each used by one
    decision at a time.

    experta engines are not thread-safe. A decision takes an idle instance (building one only
    when every instance is busy), decides, resets it and gives it back. So there are as many
    instances as decisions that ever ran at the same moment: with the GIL and a decision far
    shorter than its switch interval, one or two per process, where one per thread would mean
    one for each of a threaded worker's threads, each built by the first request that thread
    served."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.symptom_classes = symptom_fact_classes(kb)
        conditions = rule_conditions(kb)
        self.finding_patterns = FindingPatterns(kb, conditions)
        self.report_fact_users = Requirements(_report_fact_users(conditions))
        self.factor_classes = factor_fact_classes(kb)
        self.engine_class = build_engine_class(
            kb, self.symptom_classes, self.factor_classes, patterns=self.finding_patterns, conditions=conditions
        )
        self._idle: list[_Engine] = []  # clean instances no decision is using
        self._lock = threading.Lock()
        self.built = 0  # instances built so far

    def _take(self) -> _Engine:
        """An idle instance, or a new one when all are busy."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.built += 1
        engine: _Engine = self.engine_class()
        engine.reset()
        return engine

    def _give_back(self, engine: _Engine) -> None:
        with self._lock:
            self._idle.append(engine)

    def warm_up(self) -> None:
        """Build one instance now (at start-up), so no request has to."""
        self._give_back(self._take())

    def run(self, report: Report) -> RawResult:
        """One decision. The instance is reset after the decision (also on error), so it is
        clean when the next decision takes it and no report's facts linger; one whose reset
        fails is not given back."""
        engine = self._take()
        try:
            return self._decide(engine, report)
        finally:
            engine.reset()
            self._give_back(engine)

    def _decide(self, engine: _Engine, report: Report) -> RawResult:
        classes = self.symptom_classes
        engine.report_factors = factors = frozenset(report.factors)
        symptoms = frozenset(sid for sid, _ in report.symptoms)
        engine.active_patterns = self.finding_patterns.active(factors, symptoms)
        engine.boundaries, engine.declared, engine.collected = [], [], {}
        report_facts = []
        if self.report_fact_users.any_met(symptoms, factors):
            report_facts.append(
                new_fact(ReportFact, {"hours": report.hours, "worsening": report.worsening or bool(report.worse)})
            )
        engine.declare(
            *report_facts,
            *(
                new_fact(
                    classes[sid],
                    {"id": sid, "severity": severity, "hours": report.hours, "worsening": report.is_worse(sid)},
                )
                for sid, severity in report.symptoms
            ),
            *(new_fact(self.factor_classes[f], {"id": f}) for f in report.factors),
        )
        engine.run()
        findings = [RawFinding(**finding) for finding in engine.declared]
        findings += engine.collected
        # the boundaries in order, once each: which rule waits first is not part of the conclusion
        return RawResult(tuple(findings), tuple(sorted(set(engine.boundaries))))
