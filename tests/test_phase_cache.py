"""The phase cache (triage.phase_cache) gives exactly the engine's conclusions for a report's
phase: cached and uncached answers are compared in full on many seeded random reports, and
reports whose hours differ inside one phase really share an entry (else nothing is tested)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from triage import Assessor, KnowledgeBase
from triage.engine import RuleEngine
from triage.phase_cache import PhaseCache
from triage.report import parse_report
from verification.reports import differential_reports, random_reports


def test_cached_answers_are_the_engines_answers_on_seeded_random_reports(kb: KnowledgeBase) -> None:
    uncached = Assessor(kb, cache_size=0)
    cached = Assessor(kb, cache_size=64)  # small: entries are evicted and decided again
    rng = random.Random(5)
    bounds = kb.answer_change_hours()
    reports = []
    # Each report; half of them again just after, at other hours in the same phase (shared entries)
    # and at the start of the phases either side.
    for n, report in enumerate(parse_report(kb, *raw) for raw in differential_reports(kb, 3000, seed=77)):
        reports.append(report)
        if n % 2:
            assert report.hours is not None
            i = max(0, [b <= report.hours for b in bounds].count(True) - 1)
            high = bounds[i + 1] if i + 1 < len(bounds) else report.hours + 50
            reports.append(dataclasses.replace(report, hours=round(rng.uniform(bounds[i], high), 2)))
            # and in the phases either side: a key that merged phases would give their answers
            for j in (i - 1, i + 1):
                if 0 <= j < len(bounds):
                    reports.append(dataclasses.replace(report, hours=bounds[j]))
    for report in reports:
        assert cached.assess_report(report).to_dict() == uncached.assess_report(report).to_dict(), report
    assert cached.phase_cache is not None
    assert cached.phase_cache.cache.info().hits > 500  # the phase entries were used


def test_a_report_in_the_same_phase_shares_the_conclusions_but_not_the_recheck(kb: KnowledgeBase) -> None:
    assessor = Assessor(kb)
    first = assessor.assess(["redness:mild"], 10.25)
    second = assessor.assess(["redness:mild"], 11.5)
    assert assessor.phase_cache is not None and assessor.phase_cache.cache.info().hits == 1
    assert first.disposition == second.disposition
    assert first.recheck_in_hours is not None and second.recheck_in_hours is not None
    assert first.recheck_in_hours - second.recheck_in_hours == pytest.approx(1.25)
    assert first.to_dict() == Assessor(kb, cache_size=0).assess(["redness:mild"], 10.25).to_dict()
    assert second.to_dict() == Assessor(kb, cache_size=0).assess(["redness:mild"], 11.5).to_dict()


def test_equal_keys_have_the_engines_own_conclusions_at_every_phase(kb: KnowledgeBase) -> None:
    """The proof that the keys are exact. The engine's conclusions can change only at the
    knowledge base's answer-change hours, so running it from each of them (and at a random
    hour inside each interval) sees every answer a report can have. Wherever two of those
    hours get the same key, the conclusions must be the same."""
    cache, engine = PhaseCache(kb, 16), RuleEngine(kb)
    rng = random.Random(14)
    bounds = kb.answer_change_hours()
    order = kb.symptom_order
    merged = 0
    for raw in differential_reports(kb, 1200, seed=1414):
        report = parse_report(kb, *raw)
        if rng.random() < 0.25:  # a triage record's symptoms that are more severe than last time
            picked = rng.sample([sid for sid, _ in report.symptoms], 1)
            report = dataclasses.replace(report, worse=tuple(sorted(picked, key=order.__getitem__)))
        hours = list(bounds) + [
            round(rng.uniform(low, high), 2) for low, high in zip(bounds, (*bounds[1:], bounds[-1] + 100), strict=True)
        ]
        by_key: dict[object, tuple[float, object]] = {}
        for h in hours:
            at = dataclasses.replace(report, hours=h)
            key = cache.key(at)
            assert key is not None
            result = engine.run(at)
            if key in by_key:
                first_hours, first = by_key[key]
                assert result == first, (report, first_hours, h)
                merged += 1
            else:
                by_key[key] = (h, result)
    assert merged > 10_000  # the keys really merge phases of the knowledge base (else nothing is proved)


def test_each_of_the_reports_own_bounds_starts_a_new_phase(kb: KnowledgeBase) -> None:
    cache = PhaseCache(kb, 16)
    report = parse_report(kb, ["redness:severe"], 0)
    own = cache.bounds(report)
    assert 24.0 in own  # severe-first-day / severe-after-24h apply to a severe symptom
    assert set(own) <= set(kb.answer_change_hours())
    keys = [cache.key(dataclasses.replace(report, hours=h)) for h in own]
    assert len(set(keys)) == len(keys)
    just_before = [cache.key(dataclasses.replace(report, hours=h - 0.001)) for h in own[1:]]
    assert just_before == keys[:-1]  # just before a bound: still the phase that began at the one before
    # A bound that cannot touch this report (another symptom's window, a mild-only rule) does not split it.
    mild = parse_report(kb, ["redness:mild"], 0)
    assert 24.0 not in cache.bounds(mild)
    assert cache.key(dataclasses.replace(mild, hours=23.0)) == cache.key(dataclasses.replace(mild, hours=25.0))


def test_reports_it_cannot_key_are_decided_by_the_engine(kb: KnowledgeBase) -> None:
    cache = PhaseCache(kb, 16)
    report = parse_report(kb, ["redness"], 5)
    for hours in (None, float("nan"), -1.0, 1e9, True):
        assert cache.key(dataclasses.replace(report, hours=hours)) is None


def test_the_issue_14_stream_agrees_cached_and_uncached(kb: KnowledgeBase) -> None:
    uncached = Assessor(kb, cache_size=0)
    cached = Assessor(kb)
    for raw in random_reports(kb, 1000):
        assert cached.assess(*raw).to_dict() == uncached.assess(*raw).to_dict(), raw
