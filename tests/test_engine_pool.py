"""RuleEngine's pool: an experta instance serves one decision at a time, and stays clean."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from triage import KnowledgeBase
from triage.engine.report import Report, parse_report
from triage.engine.rules import RawResult, RuleEngine
from verification.reports import random_reports


@pytest.fixture(scope="module")
def reports(kb: KnowledgeBase) -> list[Report]:
    return [parse_report(kb, *raw) for raw in random_reports(kb, 300, seed=20261130)]


@pytest.fixture(scope="module")
def reference(kb: KnowledgeBase) -> RuleEngine:
    return RuleEngine(kb)


def same(a: RawResult, b: RawResult) -> bool:
    return sorted(a.findings, key=repr) == sorted(b.findings, key=repr) and sorted(a.boundaries) == sorted(b.boundaries)


def watched(pool: RuleEngine) -> list[int]:
    """Make the pool's instances note any decision that starts on an instance already in use."""
    overlaps: list[int] = []
    busy: set[int] = set()
    lock = threading.Lock()

    class Watched(pool.engine_class):  # type: ignore[name-defined,misc]
        def run(self, *args: Any, **kwargs: Any) -> None:
            with lock:
                if id(self) in busy:
                    overlaps.append(id(self))
                busy.add(id(self))
            try:
                time.sleep(0.0002)  # widen the window in which a second thread could come in
                super().run(*args, **kwargs)
            finally:
                with lock:
                    busy.discard(id(self))

    pool.engine_class = Watched
    return overlaps


def test_threads_never_share_an_instance_and_get_the_serial_answers(
    kb: KnowledgeBase, reports: list[Report], reference: RuleEngine
) -> None:
    expected = [reference.run(r) for r in reports]
    pool = RuleEngine(kb)
    overlaps = watched(pool)
    with ThreadPoolExecutor(max_workers=8) as threads:
        got = list(threads.map(pool.run, reports * 3))
    assert overlaps == []
    assert all(same(g, e) for g, e in zip(got, expected * 3, strict=True))
    assert 2 <= pool.built <= 8  # as many instances as decisions ran at once, never one per decision


def test_one_thread_reuses_one_instance(kb: KnowledgeBase, reports: list[Report]) -> None:
    pool = RuleEngine(kb)
    pool.warm_up()
    for report in reports[:50]:
        pool.run(report)
    assert pool.built == 1


def test_a_failed_decision_leaves_its_instance_clean_for_the_next(
    kb: KnowledgeBase, reports: list[Report], reference: RuleEngine
) -> None:
    pool = RuleEngine(kb)
    # Hours that cannot be compared fail inside the network, with some facts already matched.
    broken = dataclasses.replace(
        Report(symptoms=(("redness", "severe"), ("swelling", "mild")), hours=1.0, factors=(), worsening=False),
        hours="x",
    )
    with pytest.raises(TypeError):
        pool.run(broken)
    for report in reports[:50]:
        assert same(pool.run(report), reference.run(report))
    assert pool.built == 1  # the instance was reset and given back, not lost
