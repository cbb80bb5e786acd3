"""The experta rule engine, generated from the knowledge base.

Rules are built once per knowledge base (one engine class); each thread gets its own
engine instance, reset for every decision, so concurrent callers never share facts.
Every generated rule bakes its knowledge-base constants into selective patterns
(symptom id, factor presence, an hour bound), so there are no per-symptom Python
branches here and no generic rules that test everything.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from triage import _compat  # noqa: F401  (must precede experta)

# isort: split
from experta import MATCH, NOT, OR, Fact, KnowledgeEngine, P, Rule

from triage.knowledge import KnowledgeBase
from triage.knowledge import Rule as KbRule
from triage.model import Report


class ReportFact(Fact):
    """hours since the session, worsening."""


class SymptomFact(Fact):
    """id, severity."""


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


def _hours_at_least(bound: float) -> P:
    return P(lambda h: h >= bound)


def _hours_below(bound: float) -> P:
    return P(lambda h: h < bound)


def _hours_between(low: float, high: float) -> P:
    return P(lambda h: low <= h < high)


def _one_of(values: Iterable[str]) -> P:
    allowed = frozenset(values)
    return P(lambda v: v in allowed)


_NOT_SEVERE = P(lambda v: v != "severe")


def _window_rules(kb: KnowledgeBase) -> dict[str, Rule]:
    """Each windowed symptom: one rule per phase and per combination of window-changing factors."""
    rules: dict[str, Rule] = {}
    for sid, symptom in kb.symptoms.items():
        if symptom.window is None:
            rules[f"{sid}-always"] = Rule(SymptomFact(id=sid))(
                _finding_action(
                    symptom=sid,
                    rule=f"{sid}-always",
                    disposition="contact clinician",
                    emergency=symptom.emergency,
                    phase=None,
                    until=None,
                    cap=None,
                    expected_until=None,
                    monitor_until=None,
                    factors=(),
                )
            )
            continue
        adjusting = kb.adjusting_factors(sid)
        for n in range(len(adjusting) + 1):
            for present in itertools.combinations(adjusting, n):
                factor_patterns = [FactorFact(id=f) for f in present] + [
                    NOT(FactorFact(id=f)) for f in adjusting if f not in present
                ]
                w = kb.window(sid, present)
                low = w.expected_until or 0.0
                phases: list[tuple[str, str, Any, Any, float | None]] = []
                if w.expected_until:
                    phases.append(("expected", "within-expected", _hours_below(low), _NOT_SEVERE, low))
                if w.monitor_until > low:
                    phases.append(
                        ("monitor", "past-expected", _hours_between(low, w.monitor_until), None, w.monitor_until)
                    )
                phases.append(("contact", "past-monitor", _hours_at_least(w.monitor_until), None, None))
                for phase, phase_name, hours_test, severity_test, until in phases:
                    symptom_pattern = (
                        SymptomFact(id=sid, severity=severity_test)
                        if severity_test is not None
                        else SymptomFact(id=sid)
                    )
                    disposition = {"expected": "expected", "monitor": "monitor", "contact": "contact clinician"}[phase]
                    key = "+".join((f"{sid}-{phase}", *present))
                    rules[key] = Rule(symptom_pattern, ReportFact(hours=hours_test), *factor_patterns)(
                        _finding_action(
                            symptom=sid,
                            rule=f"{sid}-{phase}",
                            disposition=disposition,
                            emergency=False,
                            phase=phase_name,
                            until=until,
                            cap=None,
                            expected_until=w.expected_until,
                            monitor_until=w.monitor_until,
                            factors=w.factors,
                        )
                    )
    return rules


def _symptom_pattern(ref: str) -> SymptomFact:
    sid, _, severity = ref.partition(":")
    return SymptomFact(id=sid, severity=severity) if severity else SymptomFact(id=sid)


def _kb_rule(rule: KbRule) -> dict[str, Rule]:
    """One knowledge-base rule: its firing rule, plus a boundary twin when it waits for an hour."""
    patterns: list[Any] = []
    if rule.for_each == "symptom":
        constraints: dict[str, Any] = {"id": MATCH.sid & _one_of(rule.symptoms) if rule.symptoms else MATCH.sid}
        if rule.severity:
            constraints["severity"] = _one_of(rule.severity)
        patterns.append(SymptomFact(**constraints))
    elif rule.for_each == "finding":
        field = {"monitor": ("disposition", "monitor"), "past-expected": ("phase", "past-expected")}[rule.finding or ""]
        sid_constraint = MATCH.sid & _one_of(rule.symptoms) if rule.symptoms else MATCH.sid
        patterns.append(FindingFact(**{field[0]: field[1], "symptom": sid_constraint}))
    patterns += [_symptom_pattern(ref) for ref in rule.symptoms_all]
    if rule.symptoms_any:
        patterns.append(OR(*(_symptom_pattern(ref) for ref in rule.symptoms_any)))
    patterns += [FactorFact(id=f) for f in rule.factors]

    report: dict[str, Any] = {}
    if rule.worsening:
        report["worsening"] = True
    if rule.before_hours is not None:
        report["hours"] = _hours_below(rule.before_hours)

    finding = _finding_action(
        **({} if rule.for_each else {"symptom": None}),
        rule=rule.id,
        disposition=rule.disposition,
        emergency=rule.emergency,
        phase=None,
        until=rule.before_hours,
        cap=rule.recheck_within,
        expected_until=None,
        monitor_until=None,
        factors=tuple(rule.factors),
    )
    if rule.after_hours is None:
        return {rule.id: Rule(*patterns, *([ReportFact(**report)] if report else []))(finding)}
    after, before = rule.after_hours, rule.before_hours
    fire = dict(report, hours=_hours_between(after, before) if before is not None else _hours_at_least(after))
    wait = dict(report, hours=_hours_below(after))
    return {
        rule.id: Rule(*patterns, ReportFact(**fire))(finding),
        f"{rule.id}~boundary": Rule(*patterns, ReportFact(**wait))(_boundary_action(after, rule.id)),
    }


def build_engine_class(kb: KnowledgeBase) -> type[KnowledgeEngine]:
    """Generate the engine class from the knowledge base. Call once per knowledge base."""
    rules = _window_rules(kb)
    for rule in kb.rules.values():
        rules.update(_kb_rule(rule))
    attrs: dict[str, Any] = {
        name.replace("-", "_").replace("+", "__").replace("~", "___"): r for name, r in rules.items()
    }
    attrs["__doc__"] = f"Triage rules generated from knowledge base {kb.version}."
    return type("TriageEngine", (KnowledgeEngine,), attrs)


class RuleEngine:
    """Thread-safe front to the generated engine: one experta instance per thread."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.engine_class = build_engine_class(kb)
        self._local = threading.local()

    def _engine(self) -> KnowledgeEngine:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self.engine_class()
        return engine

    def run(self, report: Report) -> RawResult:
        engine = self._engine()
        engine.reset()
        engine.declare(
            ReportFact(hours=report.hours, worsening=report.worsening),
            *(SymptomFact(id=sid, severity=severity) for sid, severity in report.symptoms),
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
        engine.reset()  # drop this report's facts now rather than at the next decision
        return RawResult(tuple(findings), tuple(boundaries))
