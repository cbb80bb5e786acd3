"""The engine's conclusions cached by what they can depend on: the phase, not the hours (issue 14).

Every condition on the hours in the knowledge base is `hours >= bound` or `hours < bound`, and
KnowledgeBase.answer_change_hours() lists every bound (each window bound under every
combination of the factors that change it, each rule's after/before hours). So the engine's
conclusions (RawResult: findings, each with its window's bounds and re-check cap, and the
boundaries of rules still waiting) are the same for every hour between two neighbouring
bounds: the interval the hours fall in fixes the phase of every window and every rule. The
key is the report without its hours plus that interval; the re-check time, which does depend
on the hours, is computed afresh from the cached conclusions by Assessor.explain.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Hashable

from triage.engine import RawFinding, RawResult
from triage.knowledge import KnowledgeBase
from triage.lru import LruCache
from triage.model import Report
from triage.vocabulary import MAX_HOURS


class PhaseCache:
    """A bounded LRU of the engine's conclusions, keyed by (report without hours, hour interval)."""

    def __init__(self, kb: KnowledgeBase, maxsize: int) -> None:
        self.version = kb.version
        self.bounds = kb.answer_change_hours()  # sorted, starting at 0, none above MAX_HOURS
        self.cache: LruCache[RawResult] = LruCache(maxsize)
        self._findings: dict[RawFinding, RawFinding] = {}  # one shared copy of each finding

    def key(self, report: Report) -> Hashable | None:
        """The report's phase key, or None when it has no phase to key by (then not cached)."""
        hours = report.hours
        if hours is None or isinstance(hours, bool) or not isinstance(hours, (int, float)):
            return None
        if not (math.isfinite(hours) and 0 <= hours <= MAX_HOURS):
            return None
        interval = bisect.bisect_right(self.bounds, hours) - 1  # bounds[i] <= hours < bounds[i + 1]
        # Everything the engine reads but the hours (equal values: the engine's tests treat them alike).
        return (self.version, report.symptoms, report.factors, report.worsening, report.worse, interval)

    def conclusions(self, report: Report, run: Callable[[Report], RawResult]) -> RawResult:
        """The engine's conclusions for the report: cached for its phase key, else `run` (and kept)."""
        key = self.key(report)
        if key is None:
            return run(report)
        try:
            found = self.cache.get(key)
        except TypeError:  # a hand-built Report holding a list: not hashable, not cached
            return run(report)
        if found is None:
            raw = run(report)
            found = RawResult(tuple(self._findings.setdefault(f, f) for f in raw.findings), raw.boundaries)
            self.cache.put(key, found)
        return found
