"""The phase cache (triage.phase_cache) gives exactly the engine's conclusions for a report's
phase: cached and uncached answers are compared in full on many seeded random reports, and
reports whose hours differ inside one phase really share an entry (else nothing is tested)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from triage import Assessor, KnowledgeBase
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


def test_every_answer_change_hour_starts_a_new_phase(kb: KnowledgeBase) -> None:
    cache = PhaseCache(kb, 16)
    report = parse_report(kb, ["redness"], 0)
    keys = [cache.key(dataclasses.replace(report, hours=h)) for h in kb.answer_change_hours()]
    assert len(set(keys)) == len(keys)
    just_before = [cache.key(dataclasses.replace(report, hours=h - 0.001)) for h in kb.answer_change_hours()[1:]]
    assert just_before == keys[:-1]  # just before a bound: still the phase that began at the one before


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
