"""In-process decision latency: experta (cold and cached) against CLIPS and plain Python.

All three evaluate the same knowledge base on the same seeded reports in the same run,
interleaved in rounds so that a noisy neighbour slows them alike. "Decision" is what
`triage.answer.assess` does for a caller: parse the raw report, decide, explain. CLIPS decides
through the benchmark's generated rule base and is explained by the same
`Assessor.explain`; plain Python is the test oracle (`verification/oracle.py`), which decides
but does not explain, so it is a floor. "Engine only" times the decision alone
(a parsed Report in, conclusions out).
"""

from __future__ import annotations

import functools
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from triage.answer.assess import Assessor
from triage.answer.model import Assessment
from triage.engine.report import Report, parse_report
from triage.engine.rules import RuleEngine
from triage.knowledge.base import KnowledgeBase
from verification.reports import random_reports, report_mix


@dataclass(frozen=True)
class Timing:
    name: str
    p50_us: float
    p99_us: float
    mean_us: float
    n: int


def _time(fn: Callable[[Any], Any], items: Sequence[Any], samples: list[float]) -> None:
    clock = time.perf_counter_ns
    for item in items:
        start = clock()
        fn(item)
        samples.append((clock() - start) / 1000)


def _summary(name: str, samples: list[float]) -> Timing:
    ordered = sorted(samples)
    return Timing(
        name,
        ordered[len(ordered) // 2],
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        statistics.fmean(ordered),
        len(ordered),
    )


class ClipsAssessor(Assessor):
    """The product's Assessor (same parsing, cache and explanation) deciding with CLIPS."""

    def __init__(self, kb: KnowledgeBase, cache_size: int) -> None:
        from verification.clips_backend import ClipsEngine

        super().__init__(kb, cache_size)
        self.clips = ClipsEngine(kb)

    def assess_uncached(self, report: Report) -> Assessment:
        return self.explain(report, self.clips.run(report))


def _oracle() -> Callable[[KnowledgeBase, Report], Any] | None:
    try:
        from verification.oracle import evaluate
    except ImportError:
        return None
    return evaluate  # type: ignore[no-any-return]


@dataclass
class LatencyResult:
    timings: dict[str, Timing]
    reports: int
    clips_disagreements: int
    oracle_disagreements: int | None
    clips_available: bool
    oracle_available: bool


def run_latency(kb: KnowledgeBase, n_reports: int = 2000, rounds: int = 3) -> LatencyResult:
    raw = report_mix(kb, n_reports)
    parsed = [parse_report(kb, *r) for r in raw]
    cold = Assessor(kb, cache_size=0)
    cached = Assessor(kb, cache_size=len(raw) * 2)  # holds the whole mix: measures the hit path
    try:
        clips_cold: ClipsAssessor | None = ClipsAssessor(kb, cache_size=0)
        clips_cached: ClipsAssessor | None = ClipsAssessor(kb, cache_size=len(raw) * 2)
    except ImportError:
        clips_cold = clips_cached = None
    evaluate = _oracle()

    # Correctness first: every benchmark report, every reference, same answer.
    clips_bad = oracle_bad = 0
    for report in parsed:
        answer = cold.assess_report(report)
        if clips_cold is not None:
            other = clips_cold.assess_report(report)
            clips_bad += other.to_dict() != answer.to_dict()
        if evaluate is not None:
            o = evaluate(kb, report)
            recheck = None if o.recheck_in_hours is None else round(o.recheck_in_hours, 2)  # as the answer rounds
            oracle_bad += (o.disposition, o.emergency, recheck) != (
                answer.disposition.value,
                answer.emergency,
                answer.recheck_in_hours,
            )
    for r in raw:  # warm the caches (every later call is a hit)
        cached.assess(*r)
        if clips_cached is not None:
            clips_cached.assess(*r)

    def unpack(a: Assessor) -> Callable[[Any], Any]:
        return lambda r: a.assess(*r)

    # experta's floor: the same engine front (same facts declared, run, reset) with no rules.
    empty = RuleEngine(kb)
    empty.engine_class = type("NoRules", (empty.engine_class.__bases__[0],), {})

    cases: list[tuple[str, Callable[[Any], Any], Sequence[Any]]] = [
        ("experta decision, cold", unpack(cold), raw),
        ("experta decision, cached", unpack(cached), raw),
        ("experta engine only", cold.engine.run, parsed),
        ("experta engine with no rules (floor)", empty.run, parsed),
    ]
    if clips_cold is not None and clips_cached is not None:
        cases += [
            ("CLIPS decision, cold", unpack(clips_cold), raw),
            ("CLIPS decision, cached", unpack(clips_cached), raw),
            ("CLIPS engine only", clips_cold.clips.run, parsed),
        ]
    if evaluate is not None:
        cases += [
            ("plain Python decision", lambda r: evaluate(kb, parse_report(kb, *r)), raw),
            ("plain Python engine only", lambda rep: evaluate(kb, rep), parsed),
        ]
    samples: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(rounds):
        for name, fn, items in cases:
            gc.collect()
            _time(fn, items, samples[name])
    return LatencyResult(
        {name: _summary(name, s) for name, s in samples.items()},
        len(raw),
        clips_bad,
        oracle_bad if evaluate is not None else None,
        clips_cold is not None,
        evaluate is not None,
    )


def _assess_raw(assessor: Assessor, raw: Any) -> Assessment:
    return assessor.assess(*raw)


@dataclass
class RandomLatency:
    """Issue 14: decision speed on distinct random reports, experta and CLIPS both without cache."""

    timings: dict[str, Timing]
    reports: int
    clips_disagreements: int
    clips_available: bool


def run_random_latency(kb: KnowledgeBase, n_reports: int = 3000, rounds: int = 1) -> RandomLatency:
    """`triage.answer.assess` on `n_reports` distinct random reports (verification.reports.random_reports):
    experta with the answer cache off, CLIPS through the same Assessor with its cache off, and,
    for context, experta as shipped (its cache sees each report once: only the phase-key part
    of a cache can help)."""
    raw = random_reports(kb, n_reports)
    cold = Assessor(kb, cache_size=0)
    try:
        clips: ClipsAssessor | None = ClipsAssessor(kb, cache_size=0)
    except ImportError:
        clips = None
    bad = 0
    if clips is not None:
        for r in raw:
            report = parse_report(kb, *r)
            bad += clips.assess_report(report).to_dict() != cold.assess_report(report).to_dict()
    cases: list[tuple[str, Callable[[Any], Any]]] = [("experta, cache off", lambda r: cold.assess(*r))]
    if clips is not None:
        cases.append(("CLIPS, cache off", lambda r: clips.assess(*r)))
    samples: dict[str, list[float]] = {name: [] for name, _ in cases}
    shipped_samples: list[float] = []
    for _ in range(rounds):
        for name, fn in cases:
            gc.collect()
            _time(fn, raw, samples[name])
        shipped = Assessor(kb)  # a fresh cache every round: every report is new to it
        gc.collect()
        _time(functools.partial(_assess_raw, shipped), raw, shipped_samples)
    samples["experta, cache as shipped (each report new)"] = shipped_samples
    return RandomLatency({k: _summary(k, v) for k, v in samples.items()}, len(raw), bad, clips is not None)
