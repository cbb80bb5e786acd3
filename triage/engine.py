"""The experta rule engine, generated from the knowledge base.

Rules are built once per knowledge base (one engine class); each thread gets its own
engine instance, reset for every decision, so concurrent callers never share facts.
Every generated rule bakes its knowledge-base constants into selective patterns
(symptom id, factor presence, an hour bound), so there are no per-symptom Python
branches here and no generic rules that test everything.

Speed (issue 5, measured with `python -m benchmarks`; profile first, then change): the
cost of a decision is experta's alpha network (every declared fact is copied into every
child node it is tested at) and its resets. So: symptom facts carry the report's hours
(a symptom's own rules need no join) and the symptom's group (the alpha network branches
on it before the id, halving the tests per symptom); equal hour bounds share one
predicate (one alpha node); the engine is reset once per decision, with a flat reset
and cached deffacts, and only changed conflict sets are drained (see _Matcher, _Engine).
None of this changes an answer. Figures: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from triage import _compat  # noqa: F401  (must precede experta)

# isort: split
from experta import AS, MATCH, OR, DefFacts, Fact, KnowledgeEngine, P, Rule
from experta.matchers import ReteMatcher
from experta.matchers.rete.check import TypeCheck
from experta.matchers.rete.token import Token

from triage.knowledge import KnowledgeBase, SymptomPhase
from triage.knowledge import Rule as KbRule
from triage.model import Report


class ReportFact(Fact):
    """hours since the session, worsening: for report-level and finding-level rules."""


class SymptomFact(Fact):
    """group, id, severity, and the report's hours and worsening.

    Carrying the report's hours on each symptom lets a symptom's own rules (its window
    phases, severity and worsening rules) be single-pattern rules, with no join against
    the report fact. `group` (the knowledge base's "common"/"warning") is tested first by
    every pattern that names a symptom, so experta's alpha network, which tests a fact
    against each child of a node in turn, splits the vocabulary in two before the id.
    """


class FactorFact(Fact):
    """id."""


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


@dataclass(frozen=True)
class RawResult:
    findings: tuple[RawFinding, ...]
    boundaries: tuple[float, ...]


FindingTests = list[dict[str, Callable[[Any], bool]]]


def _is_matched(finding: dict[str, Any], tests: FindingTests) -> bool:
    """Whether some rule's finding pattern could match this finding (its symptom aside).

    A finding no pattern can match is collected directly instead of declared: a fact no rule
    tests only costs a trip through experta's network (issue 14). The symptom test is left out,
    so a finding is declared whenever any pattern could match it: never collected wrongly."""
    return any(all(test(finding[k]) for k, test in pattern.items()) for pattern in tests)


def _finding_action(tests: FindingTests, **values: Any) -> Callable[..., None]:
    symptom_fixed = "symptom" in values
    declare = _is_matched({"symptom": None, **values}, tests)

    def action(engine: _Engine, sid: str | None = None) -> None:
        fields = dict(values)
        if not symptom_fixed:
            fields["symptom"] = sid
        engine.conclude(fields, declare)

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


_NOT_SEVERE = P(lambda v: v != "severe")
# Which findings a `for_each = "finding"` rule acts on, by its `finding` value.
_FINDING_SELECTORS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "monitor": {"disposition": lambda d: d == "monitor"},
    "past-expected": {"phase": lambda p: p == "past-expected"},
    "below-contact": {"disposition": lambda d: d != "contact clinician"},
}
_SELECTOR_PATTERNS = {name: {k: P(test) for k, test in tests.items()} for name, tests in _FINDING_SELECTORS.items()}


def _is_true(value: Any) -> bool:
    return value is True


def finding_tests(kb: KnowledgeBase) -> FindingTests:
    """What the generated rules' finding patterns test, as plain predicates (see _is_matched)."""
    tests: FindingTests = []
    for rule in kb.rules.values():
        if rule.for_each == "symptom" and rule.phase:
            tests.append({"phase": _one_of_set(frozenset(rule.phase)).match})
        elif rule.for_each == "finding":
            tests.append(_FINDING_SELECTORS[rule.finding or ""])
            if rule.with_emergency:
                tests.append({"emergency": _is_true})
    return tests
_SEVERE = P(lambda v: v == "severe")


def _hours_test(start: float | None, end: float | None) -> P | None:
    if start is None:
        return None if end is None else _hours_below(end)
    return _hours_at_least(start) if end is None else _hours_between(start, end)


def _phase_applies(phase: SymptomPhase, severity: str, hours: float, factors: frozenset[str]) -> bool:
    """The conditions a phase's own experta rule tested as patterns, read from the phase's data."""
    if phase.severe is not None and phase.severe != (severity == "severe"):
        return False
    if phase.start is not None and not hours >= phase.start:
        return False
    if phase.end is not None and not hours < phase.end:
        return False
    return all(f in factors for f in phase.present) and not any(f in factors for f in phase.absent)


def _window_action(kb: KnowledgeBase, tests: FindingTests) -> Callable[..., None]:
    phases = {
        sid: tuple((ph, ph.finding(), _is_matched(ph.finding(), tests)) for ph in kb.symptom_phases(sid))
        for sid in kb.symptoms
    }

    def action(engine: _Engine, symptom: Fact) -> None:
        severity, hours, factors = symptom["severity"], symptom["hours"], engine.report_factors
        for phase, finding, declare in phases[symptom["id"]]:
            if _phase_applies(phase, severity, hours, factors):
                engine.conclude(finding, declare)

    return action


def _window_rules(kb: KnowledgeBase, tests: FindingTests) -> dict[str, Rule]:
    """Every symptom's own rule (issue 14): one experta rule, matched by every symptom fact,
    whose action reads the reported symptom's phases (its window bounds under each combination
    of the factors that change them, and severity) from the knowledge base and declares the
    finding of every phase that applies. One coarse rule instead of one per symptom, phase
    and factor combination: experta's alpha network copies each fact's token into every
    child node it is tested at, so a symptom fact now meets one pattern here, not the id,
    hour, severity and factor tests and joins of some 100 rules."""
    return {"symptom-window": Rule(AS.symptom << SymptomFact())(_window_action(kb, tests))}


def _symptom_pattern(kb: KnowledgeBase, ref: str) -> SymptomFact:
    sid, _, severity = ref.partition(":")
    group = kb.symptoms[sid].group
    return SymptomFact(group=group, id=sid, severity=severity) if severity else SymptomFact(group=group, id=sid)


def _kb_rule(kb: KnowledgeBase, rule: KbRule, tests: FindingTests) -> dict[str, Rule]:
    """One knowledge-base rule: its firing rule, plus a boundary twin when it waits for an hour.

    Time and worsening conditions go on the symptom pattern for `for_each = "symptom"`
    rules (one pattern fewer), and on a report pattern otherwise.
    """
    symptom: dict[str, Any] | None = None
    patterns: list[Any] = []
    only = kb.rule_symptoms(rule)
    sid_constraint = MATCH.sid & _one_of(only) if only else MATCH.sid
    if rule.for_each == "symptom":
        symptom = {"id": sid_constraint}
        if rule.severity:
            symptom["severity"] = _one_of(rule.severity)
        if rule.phase:  # the symptom's own window finding is in one of these phases
            patterns.append(FindingFact(symptom=MATCH.sid, phase=_one_of(rule.phase)))
    elif rule.for_each == "finding":
        patterns.append(FindingFact(**{**_SELECTOR_PATTERNS[rule.finding or ""], "symptom": sid_constraint}))
        if rule.with_emergency:
            patterns.append(FindingFact(emergency=True))
    patterns += [_symptom_pattern(kb, ref) for ref in rule.symptoms_all]
    if rule.symptoms_any:
        patterns.append(OR(*(_symptom_pattern(kb, ref) for ref in rule.symptoms_any)))
    patterns += [FactorFact(id=f) for f in rule.factors]

    def lhs(time: dict[str, Any]) -> list[Any]:
        if symptom is not None:
            return [SymptomFact(**symptom, **time), *patterns]
        return [*patterns, ReportFact(**time)] if time else patterns

    time: dict[str, Any] = {}
    if rule.worsening:
        time["worsening"] = True
    if rule.before_hours is not None:
        time["hours"] = _hours_below(rule.before_hours)

    finding = _finding_action(
        tests,
        **({} if rule.for_each else {"symptom": None}),
        rule=rule.id,
        disposition=rule.disposition,
        emergency=rule.emergency,
        phase=None,
        until=rule.before_hours,
        cap=kb.recheck_cap(rule),
        expected_until=None,
        monitor_until=None,
        factors=tuple(rule.factors),
    )
    if rule.after_hours is None:
        return {rule.id: Rule(*lhs(time))(finding)}
    after, before = rule.after_hours, rule.before_hours
    fire = dict(time, hours=_hours_between(after, before) if before is not None else _hours_at_least(after))
    wait = dict(time, hours=_hours_below(after))
    return {
        rule.id: Rule(*lhs(fire))(finding),
        f"{rule.id}~boundary": Rule(*lhs(wait))(_boundary_action(after)),
    }


def _matcher_of(node: Any) -> Any:
    return getattr(node, "matcher", None)


class _Matcher(ReteMatcher):
    """experta's Rete matcher with a flat reset and a cheaper poll of the conflict sets.

    experta resets the network by recursing from the root into every child, so a node
    shared by several rules is reset once per path to it (about 1.4 visits per node here).
    Node memories are independent, so wiping each distinct node once is the same reset.
    After every fired rule experta asks every conflict-set node for its changes; asking
    only those that have any gives the same activations in the same order. experta's root
    sends every fact to each of its children, each of which tests the fact's type first; the
    root's children are grouped by that type here, so a fact goes only to those of its type
    (the others would reject it), in the same order.
    """

    def __init__(self, engine: KnowledgeEngine) -> None:
        super().__init__(engine)
        nodes: dict[int, Any] = {}
        stack = [self.root_node]
        while stack:
            node = stack.pop()
            if id(node) not in nodes:
                nodes[id(node)] = node
                stack.extend(child.node for child in node.children)
        self._nodes = tuple(nodes.values())
        self._conflict_sets = self._get_conflict_set_nodes()
        # The root's children each test one fact type first: send a fact only to those of its type.
        untyped = [c.callback for c in self.root_node.children if not isinstance(_matcher_of(c.node), TypeCheck)]
        self._by_type: dict[type, list[Callable[[Token], None]]] = {}
        for child in self.root_node.children:
            check = _matcher_of(child.node)
            if isinstance(check, TypeCheck):
                self._by_type.setdefault(check.fact_type, list(untyped)).append(child.callback)
        self._untyped = untyped

    def reset(self) -> None:
        for node in self._nodes:
            node._reset()

    def changes(
        self, adding: Iterable[Any] | None = None, deleting: Iterable[Any] | None = None
    ) -> tuple[list[Any], list[Any]]:
        """As ReteMatcher.changes, but only drains the conflict sets that changed (same result)."""
        by_type, untyped = self._by_type, self._untyped
        for fact in deleting or ():
            token = Token.invalid(fact)
            for callback in by_type.get(type(fact), untyped):
                callback(token)
        for fact in adding or ():
            token = Token.valid(fact)
            for callback in by_type.get(type(fact), untyped):
                callback(token)
        added: list[Any] = []
        removed: list[Any] = []
        for csn in self._conflict_sets:
            if csn.added or csn.removed:
                c_added, c_removed = csn.get_activations()
                added.extend(c_added)
                removed.extend(c_removed)
        return added, removed


class _Engine(KnowledgeEngine):
    """KnowledgeEngine with a per-instance list of deffacts.

    experta's reset() calls get_deffacts(), which walks inspect.getmembers(self) over every
    rule attribute on every reset; the answer never changes for an instance, so it is
    computed once here. The DefFacts objects are shared class attributes whose bound
    instance (`_wrapped_self`) is overwritten by whichever engine touched them last, so
    the cached entries are this instance's own bound generators instead.
    """

    __matcher__ = _Matcher
    report_factors: frozenset[str] = frozenset()  # the current report's factors, for the window actions

    def __init__(self) -> None:
        super().__init__()
        self.boundaries: list[float] = []  # hours at which a waiting rule would start to apply
        self.collected: dict[RawFinding, None] = {}  # findings no rule tests (see _is_matched)
        self._deffacts = [
            functools.partial(d._wrapped, self) for d in sorted(self._get_by_type(DefFacts), key=lambda d: d.order)
        ]

    def get_deffacts(self) -> list[functools.partial[Any]]:
        return self._deffacts

    def conclude(self, finding: dict[str, Any], declare: bool) -> None:
        """A rule's finding: declared when a rule could match it, else collected (once, as
        experta keeps one copy of equal facts)."""
        if declare:
            self.declare(FindingFact(**finding))
        else:
            self.collected[RawFinding(**finding)] = None


def build_engine_class(kb: KnowledgeBase) -> type[KnowledgeEngine]:
    """Generate the engine class from the knowledge base. Call once per knowledge base."""
    tests = finding_tests(kb)
    rules = _window_rules(kb, tests)
    for rule in kb.rules.values():
        rules.update(_kb_rule(kb, rule, tests))
    attrs: dict[str, Any] = {
        name.replace("-", "_").replace("+", "__").replace("~", "___"): r for name, r in rules.items()
    }
    attrs["__doc__"] = f"Triage rules generated from knowledge base {kb.version}."
    return type("TriageEngine", (_Engine,), attrs)


_FINDING_FIELDS = tuple(RawFinding.__dataclass_fields__)


class RuleEngine:
    """Thread-safe front to the generated engine: one experta instance per thread."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.engine_class = build_engine_class(kb)
        self._groups = {sid: symptom.group for sid, symptom in kb.symptoms.items()}
        self._local = threading.local()

    def _engine(self) -> _Engine:
        engine: _Engine | None = getattr(self._local, "engine", None)
        if engine is None:
            engine = self.engine_class()
            engine.reset()
            self._local.engine = engine
        return engine

    def run(self, report: Report) -> RawResult:
        """One decision. The engine is reset once, after the decision (also on error), so
        it is always clean when the next decision starts and no report's facts linger."""
        engine = self._engine()
        groups = self._groups
        engine.report_factors = frozenset(report.factors)
        engine.boundaries, engine.collected = [], {}
        try:
            engine.declare(
                ReportFact(hours=report.hours, worsening=report.worsening or bool(report.worse)),
                *(
                    SymptomFact(
                        group=groups[sid], id=sid, severity=severity, hours=report.hours, worsening=report.is_worse(sid)
                    )
                    for sid, severity in report.symptoms
                ),
                *(FactorFact(id=f) for f in report.factors),
            )
            engine.run()
            findings = [
                RawFinding(**{k: fact[k] for k in _FINDING_FIELDS})
                for fact in engine.facts.values()
                if isinstance(fact, FindingFact)
            ]
            findings += engine.collected
            boundaries = tuple(engine.boundaries)
        finally:
            engine.reset()
        return RawResult(tuple(findings), boundaries)
