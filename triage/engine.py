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


class BoundaryFact(Fact):
    """at: an hour at which a time-bound rule would start to apply; rule: which."""


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


def _finding_action(**values: Any) -> Callable[..., None]:
    symptom_fixed = "symptom" in values

    def action(engine: KnowledgeEngine, sid: str | None = None) -> None:
        fields = dict(values)
        if not symptom_fixed:
            fields["symptom"] = sid
        engine.declare(FindingFact(**fields))

    return action


def _boundary_action(at: float, rule: str) -> Callable[..., None]:
    def action(engine: KnowledgeEngine, **_: Any) -> None:
        engine.declare(BoundaryFact(at=at, rule=rule))

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
_FINDING_SELECTORS: dict[str, dict[str, Any]] = {
    "monitor": {"disposition": "monitor"},
    "past-expected": {"phase": "past-expected"},
    "below-contact": {"disposition": P(lambda d: d != "contact clinician")},
}
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


def _window_action(kb: KnowledgeBase) -> Callable[..., None]:
    phases = {sid: tuple((ph, ph.finding()) for ph in kb.symptom_phases(sid)) for sid in kb.symptoms}

    def action(engine: KnowledgeEngine, symptom: Fact) -> None:
        severity, hours, factors = symptom["severity"], symptom["hours"], engine.report_factors
        for phase, finding in phases[symptom["id"]]:
            if _phase_applies(phase, severity, hours, factors):
                engine.declare(FindingFact(**finding))

    return action


def _window_rules(kb: KnowledgeBase) -> dict[str, Rule]:
    """Every symptom's own rule (issue 14): one experta rule, matched by every symptom fact,
    whose action reads the reported symptom's phases (its window bounds under each combination
    of the factors that change them, and severity) from the knowledge base and declares the
    finding of every phase that applies. One coarse rule instead of one per symptom, phase
    and factor combination: experta's alpha network copies each fact's token into every
    child node it is tested at, so a symptom fact now meets one pattern here, not the id,
    hour, severity and factor tests and joins of some 100 rules."""
    return {"symptom-window": Rule(AS.symptom << SymptomFact())(_window_action(kb))}


def _symptom_pattern(kb: KnowledgeBase, ref: str) -> SymptomFact:
    sid, _, severity = ref.partition(":")
    group = kb.symptoms[sid].group
    return SymptomFact(group=group, id=sid, severity=severity) if severity else SymptomFact(group=group, id=sid)


def _kb_rule(kb: KnowledgeBase, rule: KbRule) -> dict[str, Rule]:
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
        patterns.append(FindingFact(**{**_FINDING_SELECTORS[rule.finding or ""], "symptom": sid_constraint}))
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
        f"{rule.id}~boundary": Rule(*lhs(wait))(_boundary_action(after, rule.id)),
    }


class _Matcher(ReteMatcher):
    """experta's Rete matcher with a flat reset and a cheaper poll of the conflict sets.

    experta resets the network by recursing from the root into every child, so a node
    shared by several rules is reset once per path to it (about 1.4 visits per node here).
    Node memories are independent, so wiping each distinct node once is the same reset.
    After every fired rule experta asks every conflict-set node for its changes; asking
    only those that have any gives the same activations in the same order.
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

    def reset(self) -> None:
        for node in self._nodes:
            node._reset()

    def changes(
        self, adding: Iterable[Any] | None = None, deleting: Iterable[Any] | None = None
    ) -> tuple[list[Any], list[Any]]:
        """As ReteMatcher.changes, but only drains the conflict sets that changed (same result)."""
        root = self.root_node
        for fact in deleting or ():
            root.remove(fact)
        for fact in adding or ():
            root.add(fact)
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
        self._deffacts = [
            functools.partial(d._wrapped, self) for d in sorted(self._get_by_type(DefFacts), key=lambda d: d.order)
        ]

    def get_deffacts(self) -> list[functools.partial[Any]]:
        return self._deffacts


def build_engine_class(kb: KnowledgeBase) -> type[KnowledgeEngine]:
    """Generate the engine class from the knowledge base. Call once per knowledge base."""
    rules = _window_rules(kb)
    for rule in kb.rules.values():
        rules.update(_kb_rule(kb, rule))
    attrs: dict[str, Any] = {
        name.replace("-", "_").replace("+", "__").replace("~", "___"): r for name, r in rules.items()
    }
    attrs["__doc__"] = f"Triage rules generated from knowledge base {kb.version}."
    return type("TriageEngine", (_Engine,), attrs)


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
            findings: list[RawFinding] = []
            boundaries: list[float] = []
            for fact in engine.facts.values():
                if isinstance(fact, FindingFact):
                    findings.append(RawFinding(**{k: fact[k] for k in RawFinding.__dataclass_fields__}))
                elif isinstance(fact, BoundaryFact):
                    boundaries.append(fact["at"])
        finally:
            engine.reset()
        return RawResult(tuple(findings), tuple(boundaries))
