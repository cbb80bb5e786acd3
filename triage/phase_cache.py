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
about a factor they do not have) share an entry: on issue 14's varied stream, a hit for
about one report in three with the default size, where the knowledge base's bounds gave one
in eleven. Entries are small (a short text key; conclusions and findings shared), so the
cache holds PHASE_CACHE_PER_ANSWER times the answer cache's entries within the memory target.
tests/test_phase_cache.py proves the keys exact: reports whose keys are equal get the
engine's own conclusions, for every phase of many random reports.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

from triage.engine import RawFinding, RawResult
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
    factors: frozenset[str]
    worsening: bool
    each_symptom: frozenset[str] | None  # for_each = "symptom": one of these (None: any) ...
    severities: frozenset[str]  # ... at one of these severities (empty: any)
    all_of: frozenset[str]  # report rules: every one of these symptoms
    any_of: frozenset[str]  # report rules: one of these symptoms (empty: no such test)

    @classmethod
    def of(cls, kb: KnowledgeBase, rule: KbRule) -> _TimedRule:
        only = kb.rule_symptoms(rule)
        return cls(
            tuple(b for b in (rule.after_hours, rule.before_hours) if b is not None),
            frozenset(rule.factors),
            bool(rule.worsening),
            (frozenset(only) or None) if rule.for_each == "symptom" else None,
            frozenset(map(str, rule.severity)) if rule.for_each == "symptom" else frozenset(),
            frozenset(ref.partition(":")[0] for ref in rule.symptoms_all),
            frozenset(ref.partition(":")[0] for ref in rule.symptoms_any),
        )

    def may_apply(self, report: Report, symptoms: dict[str, str], factors: frozenset[str]) -> bool:
        if not self.factors <= factors:
            return False
        if self.worsening and not (report.worsening or report.worse):
            return False
        if self.each_symptom is not None or self.severities:
            return any(
                (self.each_symptom is None or sid in self.each_symptom)
                and (not self.severities or severity in self.severities)
                for sid, severity in symptoms.items()
            )
        if not self.all_of <= symptoms.keys():
            return False
        return not self.any_of or not self.any_of.isdisjoint(symptoms)


class PhaseCache:
    """A bounded LRU of the engine's conclusions, keyed by (report without hours, its phase)."""

    def __init__(self, kb: KnowledgeBase, maxsize: int) -> None:
        self.cache: LruCache[RawResult] = LruCache(maxsize)
        self._findings: dict[RawFinding, RawFinding] = {}  # one shared copy of each finding
        # Each symptom's window bounds, under every combination of the factors that change them.
        self._window_bounds = {sid: kb.window_bounds(sid) for sid in kb.symptoms}
        self._timed_rules = tuple(
            _TimedRule.of(kb, r) for r in kb.rules.values() if r.after_hours is not None or r.before_hours is not None
        )
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
        symptoms = dict(report.symptoms)
        factors = frozenset(report.factors)
        found = {0.0}
        for sid in symptoms:
            found.update(self._window_bounds.get(sid, ()))
        for rule in self._timed_rules:
            if rule.may_apply(report, symptoms, factors):
                found.update(rule.bounds)
        return sorted(b for b in found if b <= MAX_HOURS)

    def key(self, report: Report) -> str | None:
        """The report's phase key, or None when it has no phase to key by (then not cached)."""
        hours = report.hours
        if hours is None or isinstance(hours, bool) or not isinstance(hours, (int, float)):
            return None
        if not (math.isfinite(hours) and 0 <= hours <= MAX_HOURS):
            return None
        try:
            bounds = self.bounds(report)
            text = "".join(
                [
                    *(self._symptom_code[entry] for entry in report.symptoms),
                    "|",
                    *(self._factor_code[f] for f in report.factors),
                    "|+" if report.worsening else "|-",
                    *(self._worse_code[s] for s in report.worse),
                    "|",
                    # the last bound at or below the hours, by its place among all bounds
                    self._bound_code[bounds[bisect.bisect_right(bounds, hours) - 1]],
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
