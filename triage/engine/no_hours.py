"""Which of a report's findings stay found at other hours, read from the knowledge base without
running the engine (for a report without hours: triage.answer.assess.Assessor.run_at_every_hour).

A report without hours is answered only by findings found at every hour. Most of a report's
findings say by themselves at which hours they are found:
- a symptom's window finding: its phase's severity, hours and factors (the window rule's own
  test, triage.engine.rules._window_action, here on the phase's data);
- a rule's finding when the rule reads no other finding: its after and before hours (its other
  conditions, on symptoms, severities, factors and getting worse, do not change with the hours).
The others (a rule reading findings: `for_each = "finding"`, `phase`, `with_emergency`) depend on
what else is found at that hour, so only the engine can tell; then it is run.
tests/test_no_hours.py compares the answers with the engine run at every change hour.
"""

from __future__ import annotations

from collections.abc import Iterable

from triage.engine.report import Report
from triage.engine.rules import RawFinding
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import Requirements, emergency_sources, rule_conditions, symptom_phases
from triage.vocabulary import Severity

# A phase as the window test reads it: severe, start, end, present, absent, and its finding.
_PhaseTest = tuple[bool | None, float | None, float | None, frozenset[str], frozenset[str], RawFinding]


class FindingsOverHours:
    """Whether a finding of a report is still found at other hours, where the knowledge base
    alone tells it."""

    def __init__(self, kb: KnowledgeBase) -> None:
        conditions = rule_conditions(kb)
        phases = {sid: tuple(symptom_phases(kb, sid)) for sid in kb.symptoms}
        self.window_rules = {ph.rule for held in phases.values() for ph in held}
        # each phase's conditions and finding, read once per knowledge base, not per hour tested
        self.phases: dict[str, tuple[_PhaseTest, ...]] = {
            sid: tuple(
                (ph.severe, ph.start, ph.end, frozenset(ph.present), frozenset(ph.absent), RawFinding(**ph.finding()))
                for ph in held
            )
            for sid, held in phases.items()
        }
        # rule id -> (after_hours, before_hours), for the rules that read no finding
        self.timed_alone = {
            c.id: (c.after_hours, c.before_hours)
            for c in conditions
            if not (c.per_finding or c.phases or c.with_emergency)
        }
        self.emergencies = Requirements(emergency_sources(kb, conditions))

    def known(self, finding: RawFinding) -> bool:
        """Whether the knowledge base alone tells at which hours this finding is found."""
        return finding.rule in self.timed_alone or (finding.rule in self.window_rules and finding.symptom is not None)

    def found_at_all(self, finding: RawFinding, report: Report, hours: Iterable[float]) -> bool:
        """Whether a finding the engine found for `report` at some hour (and `known`) is found at
        each of `hours` too."""
        if finding.rule in self.timed_alone:
            after, before = self.timed_alone[finding.rule]
            return all((after is None or h >= after) and (before is None or h < before) for h in hours)
        severity = dict(report.symptoms)[finding.symptom or ""]
        factors = frozenset(report.factors)
        return all(finding in self.window_findings(finding.symptom or "", severity, h, factors) for h in hours)

    def window_findings(self, sid: str, severity: str, hours: float, factors: frozenset[str]) -> list[RawFinding]:
        """The symptom's window findings at these hours: the phases whose conditions hold, as the
        window rule's action tests them."""
        severe = severity == Severity.SEVERE.value
        return [
            finding
            for phase_severe, start, end, present, absent, finding in self.phases[sid]
            if (phase_severe is None or phase_severe == severe)
            and (start is None or hours >= start)
            and (end is None or hours < end)
            and present <= factors
            and absent.isdisjoint(factors)
        ]

    def emergency_possible(self, report: Report) -> bool:
        """Whether any finding of this report could be an emergency, at any hour."""
        return self.emergencies.any_met(frozenset(sid for sid, _ in report.symptoms), frozenset(report.factors))
