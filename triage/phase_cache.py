"""The engine's conclusions cached by what they can depend on: the phase, not the hours (issue 14).

Every condition on the hours in the knowledge base is `hours >= bound` or `hours < bound`.
The bounds that can matter to one report are few: its symptoms' window bounds (under every
combination of the factors that change them) and the after/before hours of the rules that
could apply to it (their symptoms, severities, factors and worsening allow it; see
`_TimedRule`). Between two neighbouring bounds of that set every such condition, so every
window's phase and every rule's, is the same; the engine's conclusions (RawResult: findings,
each with its window's bounds and re-check cap, and the boundaries of rules still waiting)
are then the same too. The key is the report without its hours plus the last of its bounds
at or below the hours; the re-check time, which does depend on the hours, is computed afresh
from the cached conclusions by Assessor.explain.

Keying by the report's own bounds rather than every bound in the knowledge base lets reports
whose hours differ only across bounds that cannot touch them (another symptom's window, a rule
about a factor they do not have) share an entry. On issue 14's varied stream (100,000 reports)
2,048 entries are hit by 29% of reports; keyed by every bound they were hit by 21%, and the 512
entries before by 9%. An entry is about 0.35 KB (a short text key; findings shared).
tests/test_phase_cache.py proves the keys exact: reports whose keys are equal get the
engine's own conclusions, for every phase of many random reports.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

from triage.engine import RawFinding, RawResult, Requirement
from triage.knowledge import KnowledgeBase
from triage.knowledge import Rule as KbRule
from triage.lru import LruCache
from triage.model import Report
from triage.vocabulary import MAX_HOURS, SEVERITIES


@dataclass(frozen=True)
class _TimedRule:
    """A rule with an after or before hour, and what a report needs for the rule to apply at
    some hour. Each test only rules a rule out when it cannot match (so a bound is never
    missed): severities of a report rule's symptoms, phases and the findings a `for_each =
    "finding"` rule reads are not tested, and worsening is taken from the whole report."""

    bounds: tuple[float, ...]
    needs: Requirement  # the symptoms its report patterns name, and its factors
    worsening: bool
    per_symptom: bool  # for_each = "symptom" ...
    each_symptom: frozenset[str] | None  # ... about one of these symptoms (None: any)
    severities: frozenset[str]  # ... at one of these severities (empty: any)

    @classmethod
    def of(cls, kb: KnowledgeBase, rule: KbRule) -> _TimedRule:
        per_symptom = rule.for_each == "symptom"
        return cls(
            tuple(b for b in (rule.after_hours, rule.before_hours) if b is not None),
            Requirement.of_rule(rule),
            bool(rule.worsening),
            per_symptom,
            (frozenset(kb.rule_symptoms(rule)) or None) if per_symptom else None,
            frozenset(map(str, rule.severity)) if per_symptom else frozenset(),
        )

    def filed_under(self) -> str | None:
        """A factor or symptom the rule cannot apply without (None: no such one)."""
        if self.needs.factors:
            return min(self.needs.factors)
        if self.needs.all_of:
            return min(self.needs.all_of)
        if self.each_symptom is not None and len(self.each_symptom) == 1:
            return next(iter(self.each_symptom))
        return None

    def covers(self, sid: str, severity: str) -> bool:
        """A `for_each = "symptom"` rule: whether it is about this symptom at this severity."""
        return (self.each_symptom is None or sid in self.each_symptom) and (
            not self.severities or severity in self.severities
        )

    def may_apply_to(self, sid: str, severity: str, worse: bool) -> bool:
        """A `for_each = "symptom"` rule that needs no factor, for one symptom getting worse or not."""
        return (worse or not self.worsening) and self.covers(sid, severity)

    def may_apply(self, report: Report, symptoms: frozenset[str], factors: frozenset[str]) -> bool:
        if not self.needs.met(symptoms, factors):
            return False
        if self.worsening and not (report.worsening or report.worse):
            return False
        return not self.per_symptom or any(self.covers(sid, severity) for sid, severity in report.symptoms)


class PhaseCache:
    """A bounded LRU of the engine's conclusions, keyed by (report without hours, its phase)."""

    def __init__(self, kb: KnowledgeBase, maxsize: int) -> None:
        self.cache: LruCache[RawResult] = LruCache(maxsize)
        self._findings: dict[RawFinding, RawFinding] = {}  # one shared copy of each finding
        timed = [
            _TimedRule.of(kb, r) for r in kb.rules.values() if r.after_hours is not None or r.before_hours is not None
        ]
        # A rule about one symptom (no factor needed) applies or not by that symptom's severity
        # and whether it is getting worse, as the engine tests it: its bounds are worked out
        # here with the symptom's window bounds (under every combination of the factors that
        # change them), for each symptom, severity and getting worse or not.
        own = [r for r in timed if r.per_symptom and not r.needs.factors]
        self._symptom_bounds = {
            (sid, severity, worse): tuple(
                sorted(kb.window_bounds(sid).union(*(r.bounds for r in own if r.may_apply_to(sid, severity, worse))))
            )
            for sid in kb.symptoms
            for severity in SEVERITIES
            for worse in (False, True)
        }
        # The other rules are tested against each report, filed under a factor or symptom they
        # cannot apply without (so most reports test none of them).
        self._report_rules: dict[str | None, list[_TimedRule]] = {}
        for rule in timed:
            if rule not in own:
                self._report_rules.setdefault(rule.filed_under(), []).append(rule)
        # The key is one short text: a character per symptom and severity, per factor, per
        # symptom getting worse, and one for the phase's first bound.
        self._symptom_code = {
            (sid, severity): chr(0x100 + i * len(SEVERITIES) + j)
            for i, sid in enumerate(kb.symptoms)
            for j, severity in enumerate(SEVERITIES)
        }
        self._factor_code = {fid: chr(0x100 + i) for i, fid in enumerate(kb.factors)}
        self._worse_code = {sid: chr(0x100 + i) for i, sid in enumerate(kb.symptoms)}
        self._bound_code = {b: chr(0x100 + i) for i, b in enumerate(kb.answer_change_hours())}

    def bounds(self, report: Report) -> list[float]:
        """Every hour at or below MAX_HOURS at which this report's answer could change (and 0)."""
        found = {0.0}
        for sid, severity in report.symptoms:
            found.update(self._symptom_bounds[sid, severity, report.is_worse(sid)])
        for rule in self._applying_report_rules(report):
            found.update(rule.bounds)
        return sorted(b for b in found if b <= MAX_HOURS)

    def _applying_report_rules(self, report: Report) -> list[_TimedRule]:
        filed = self._report_rules
        candidates = list(filed.get(None, ()))
        for key in report.factors:
            if key in filed:
                candidates += filed[key]
        for key, _ in report.symptoms:
            if key in filed:
                candidates += filed[key]
        if not candidates:
            return candidates
        symptoms, factors = frozenset(sid for sid, _ in report.symptoms), frozenset(report.factors)
        return [r for r in candidates if r.may_apply(report, symptoms, factors)]

    def _phase_start(self, report: Report, hours: float) -> float:
        """The last of bounds(report) at or below `hours` (the same, without building the list)."""
        start = 0.0
        for sid, severity in report.symptoms:
            bounds = self._symptom_bounds[sid, severity, report.is_worse(sid)]
            i = bisect.bisect_right(bounds, hours)
            if i and bounds[i - 1] > start:
                start = bounds[i - 1]
        for rule in self._applying_report_rules(report):
            for bound in rule.bounds:
                if start < bound <= hours:
                    start = bound
        return start

    def key(self, report: Report) -> str | None:
        """The report's phase key, or None when it has no phase to key by (then not cached)."""
        hours = report.hours
        if hours is None or isinstance(hours, bool) or not isinstance(hours, (int, float)):
            return None
        if not (math.isfinite(hours) and 0 <= hours <= MAX_HOURS):
            return None
        try:
            worse = self._worse_code
            text = "".join(
                [
                    *map(self._symptom_code.__getitem__, report.symptoms),
                    "|",
                    *map(self._factor_code.__getitem__, report.factors),
                    "|+" if report.worsening else "|-",
                    *map(worse.__getitem__, report.worse),
                    "|",
                    # the phase: the last bound at or below the hours, by its place among all bounds
                    self._bound_code[self._phase_start(report, hours)],
                ]
            )
        except (KeyError, TypeError):  # a hand-built Report the knowledge base does not know
            return None
        return text  # everything the engine reads but the hours, and the phase they are in

    def conclusions(self, report: Report, run: Callable[[Report], RawResult]) -> RawResult:
        """The engine's conclusions for the report: cached for its phase key, else `run` (and kept)."""
        key = self.key(report)
        if key is None:
            return run(report)
        found = self.cache.get(key)
        if found is None:
            raw = run(report)
            found = RawResult(tuple(self._findings.setdefault(f, f) for f in raw.findings), raw.boundaries)
            self.cache.put(key, found)
        return found
