"""The engine's conclusions cached by what they can depend on: the phase, not the hours.

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

The report is written in the key as the engine can tell it apart, no finer: severities of a
symptom that no rule and no window phase distinguishes share one code (mild and moderate,
mostly), and a factor is left out when nothing that reads it can apply to the report (see
`FactorReaders` in triage.knowledge.conditions).

Keying by the report's own bounds rather than every bound in the knowledge base lets reports
whose hours differ only across bounds that cannot touch them (another symptom's window, a rule
about a factor they do not have) share an entry. An entry is two ints (the key's bytes; the
conclusions as places in a table, _Conclusions), so many fit in little memory; a phase is kept
while there is room, then from its second report (triage.engine.cache, `admit="doorkeeper-bits"`),
so phases met once do not push out those that come back. How each of these choices moved the
hit rate is in benchmarks/RESULTS.md.
tests/test_phase_cache.py proves the keys exact: reports whose keys are equal get the
engine's own conclusions, for every phase of many random reports.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from triage.engine.cache import BoundedCache
from triage.engine.report import Report
from triage.engine.rules import RawFinding, RawResult
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import (
    Conditions,
    FactorReaders,
    Requirement,
    answer_change_hours,
    distinguished_severities,
    rule_conditions,
    window_bounds,
)
from triage.vocabulary import MAX_HOURS, SEVERITIES


@dataclass(frozen=True)
class _TimedRule:
    """A rule with an after or before hour, and what a report needs for the rule to apply at
    some hour (read from its Conditions). Each test only rules a rule out when it cannot match
    (so a bound is never missed): severities of a report rule's symptoms, phases and the
    findings a `for_each = "finding"` rule reads are not tested, and worsening is taken from
    the whole report."""

    bounds: tuple[float, ...]
    needs: Requirement  # the symptoms its report patterns name, and its factors
    worsening: bool
    per_symptom: bool  # for_each = "symptom" ...
    each_symptom: frozenset[str] | None  # ... about one of these symptoms (None: any)
    severities: frozenset[str]  # ... at one of these severities (empty: any)

    @classmethod
    def of(cls, c: Conditions) -> _TimedRule:
        return cls(
            c.hours,
            c.needs,
            c.worsening,
            c.per_symptom,
            (frozenset(c.each) or None) if c.per_symptom else None,
            c.severities if c.per_symptom else frozenset(),
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


_FIELD, _WORSENING = "\x01", "\x02"  # the key's separators: between fields; and that one, getting worse
_ITEM_BITS = 12  # a place in _Conclusions' table
_Item = RawFinding | tuple[float, ...]  # a finding, or the boundaries of rules still waiting


class _Conclusions:
    """The engine's conclusions written as one int each: the places of its boundaries and of
    each finding, in order, in a table of those seen (_ITEM_BITS each; place 0 ends them).

    A cache entry is then two ints, not a RawResult and its tuple: about half the memory, so
    twice the entries fit in the same memory. The table holds each distinct finding once (a
    knowledge base has a few hundred; past 4,095 nothing more is cached)."""

    def __init__(self) -> None:
        self._items: list[_Item] = []
        self._places: dict[_Item, int] = {}
        self._lock = threading.Lock()  # a place is handed out once, to one item

    def pack(self, raw: RawResult) -> int | None:
        """The int for these conclusions (None: the table is full, do not cache them)."""
        packed = 0
        with self._lock:
            items: tuple[_Item, ...] = (*reversed(raw.findings), raw.boundaries)
            for item in items:
                place = self._places.get(item)
                if place is None:
                    if len(self._items) >= (1 << _ITEM_BITS) - 1:
                        return None
                    self._items.append(item)
                    place = self._places[item] = len(self._items)
                packed = packed << _ITEM_BITS | place
        return packed

    def unpack(self, packed: int) -> RawResult:
        items: list[Any] = self._items  # the lowest bits: the boundaries; then each finding, in order
        mask = (1 << _ITEM_BITS) - 1
        boundaries = items[(packed & mask) - 1]
        packed >>= _ITEM_BITS
        findings = []
        while packed:
            findings.append(items[(packed & mask) - 1])
            packed >>= _ITEM_BITS
        return RawResult(tuple(findings), boundaries)


class PhaseCache:
    """A bounded LRU of the engine's conclusions, keyed by (report without hours, its phase)."""

    def __init__(self, kb: KnowledgeBase, maxsize: int) -> None:
        # key -> the conclusions packed (_Conclusions); a phase is kept while there is room, then
        # from its second report, so phases met once do not push out those that come back.
        self.cache: BoundedCache[int] = BoundedCache(maxsize, admit="doorkeeper-bits", while_room=True)
        conditions = rule_conditions(kb)
        change_hours = answer_change_hours(kb, conditions)
        timed = [_TimedRule.of(c) for c in conditions if c.hours]
        # A rule about one symptom (no factor needed) applies or not by that symptom's severity
        # and whether it is getting worse, as the engine tests it: its bounds are worked out
        # here with the symptom's window bounds (under every combination of the factors that
        # change them), for each symptom, severity and getting worse or not.
        own = [r for r in timed if r.per_symptom and not r.needs.factors]
        self._symptom_bounds = {
            (sid, severity, worse): tuple(
                sorted(window_bounds(kb, sid).union(*(r.bounds for r in own if r.may_apply_to(sid, severity, worse))))
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
        # The key is one short text, stored as the int its bytes make: a character per symptom
        # and severity (severities the engine reads alike share one), per factor that can
        # matter, per symptom getting worse, and one for the phase's first bound. Codes start
        # after the separators and no character is 0, so the int is exact; a byte each while
        # they fit (an int takes half the memory of the text, so the cache holds twice the entries).
        most = max(len(kb.symptoms) * len(SEVERITIES), len(kb.factors), len(change_hours))
        base = 1 + max(map(ord, (_FIELD, _WORSENING)))
        self._encoding = "latin-1" if base + most <= 0x100 else "utf-32-le"
        self._conclusions = _Conclusions()
        self._symptom_code = {}
        for i, sid in enumerate(kb.symptoms):
            tested = distinguished_severities(kb, sid, conditions)
            for j, severity in enumerate(SEVERITIES):
                alike = j if severity in tested else min(k for k, s in enumerate(SEVERITIES) if s not in tested)
                self._symptom_code[sid, severity] = chr(base + i * len(SEVERITIES) + alike)
        self._factor_readers = FactorReaders(kb, conditions)
        self._factor_code = {fid: chr(base + i) for i, fid in enumerate(kb.factors)}
        self._worse_code = {sid: chr(base + i) for i, sid in enumerate(kb.symptoms)}
        self._bound_code = {b: chr(base + i) for i, b in enumerate(change_hours)}

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

    def key(self, report: Report) -> int | None:
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
                    _FIELD,
                    *map(self._factor_code.__getitem__, self._factors_that_matter(report)),
                    _WORSENING if report.worsening else _FIELD,
                    *map(worse.__getitem__, report.worse),
                    _FIELD,
                    # the phase: the last bound at or below the hours, by its place among all bounds
                    self._bound_code[self._phase_start(report, hours)],
                ]
            )
        except (KeyError, TypeError):  # a hand-built Report the knowledge base does not know
            return None
        # everything the engine reads but the hours, and the phase they are in
        return int.from_bytes(text.encode(self._encoding), "little")

    def _factors_that_matter(self, report: Report) -> tuple[str, ...]:
        """The report's factors less those nothing that reads them can apply to (see
        FactorReaders); a factor the knowledge base does not know is kept (it has no code,
        so the report is not keyed)."""
        factors = report.factors
        readers = self._factor_readers
        if not factors or all(f in readers.always for f in factors):
            return factors
        symptoms, given = frozenset(sid for sid, _ in report.symptoms), frozenset(factors)
        known = self._factor_code
        return tuple(f for f in factors if f not in known or readers.matters(f, symptoms, given))

    def conclusions(self, report: Report, run: Callable[[Report], RawResult]) -> RawResult:
        """The engine's conclusions for the report: cached for its phase key, else `run` (and kept)."""
        key = self.key(report)
        if key is None:
            return run(report)
        packed = self.cache.get(key)
        if packed is not None:
            return self._conclusions.unpack(packed)
        raw = run(report)
        packed = self._conclusions.pack(raw)
        if packed is not None:
            self.cache.offer(key, packed)
        return raw
