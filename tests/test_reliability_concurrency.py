"""Concurrency: many threads assessing different reports get exactly the sequential answers.

One Assessor is shared by every thread (as the web app shares it between request threads);
each thread gets its own experta engine, and all share the Assessor's answer cache (tested
off, tiny and constantly evicting, and at its default size). A mix-up of two people's answers would show as a
threaded answer that differs from the answer computed alone for the same report.
"""

from __future__ import annotations

import random
import sys
import threading
from typing import Any

import pytest

from triage import Assessor, KnowledgeBase, default_assessor

THREADS = 8
PER_THREAD = 200


def random_reports(kb: KnowledgeBase, count: int, seed: int) -> list[dict[str, Any]]:
    """Deterministic, varied, valid reports: 1-5 symptoms, 0-2 factors, any hour, worsening or not."""
    rng = random.Random(seed)
    symptoms, factors = list(kb.symptoms), list(kb.factors)
    hour_choices = [0, 1, 6, 12, 23.99, 24, 36, 47.5, 48, 72, 96, 120, 168, 336, 720, 8760]
    reports = []
    for _ in range(count):
        chosen = rng.sample(symptoms, rng.randint(1, 5))
        reports.append(
            {
                "symptoms": [f"{s}:{rng.choice(['mild', 'moderate', 'severe'])}" for s in chosen],
                "hours": rng.choice(hour_choices) if rng.random() < 0.5 else round(rng.uniform(0, 400), 2),
                "factors": rng.sample(factors, rng.randint(0, 2)),
                "worsening": rng.random() < 0.3,
            }
        )
    return reports


def run_threads(target: Any, count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,), name=f"assess-{i}") for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


@pytest.fixture(scope="module")
def workload(kb: KnowledgeBase) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """THREADS x PER_THREAD reports drawn from 400 distinct ones (so the answer cache sees repeats),
    and their answers from a sequential, uncached run in this one thread."""
    pool = random_reports(kb, 400, seed=20261125)
    rng = random.Random(11)
    reports = [pool[rng.randrange(len(pool))] for _ in range(THREADS * PER_THREAD)]
    sequential = Assessor(kb, cache_size=0)
    answers = {id(r): sequential.assess(**r).to_dict() for r in pool}
    expected = [answers[id(r)] for r in reports]
    assert len({str(e) for e in answers.values()}) > 100, "reports too alike to detect a mix-up"
    return reports, expected


@pytest.mark.parametrize("cache_size", [0, 16, 1024], ids=["no cache", "tiny cache (evicting)", "default cache"])
def test_threads_get_exactly_the_sequential_answers(
    kb: KnowledgeBase, workload: tuple[list[dict[str, Any]], list[dict[str, Any]]], cache_size: int
) -> None:
    reports, expected = workload
    shared = Assessor(kb, cache_size=cache_size)  # fresh: engines are created inside the threads
    results: list[dict[str, Any] | None] = [None] * len(reports)
    barrier = threading.Barrier(THREADS)

    def work(t: int) -> None:
        barrier.wait()
        # Interleave: thread t takes reports t, t+8, t+16, ... so neighbours differ.
        for i in range(t, len(reports), THREADS):
            results[i] = shared.assess(**reports[i]).to_dict()

    assert run_threads(work, THREADS) == []
    mismatches = [i for i, (got, want) in enumerate(zip(results, expected, strict=True)) if got != want]
    assert not mismatches, f"{len(mismatches)} answers differ from the sequential run, first at report {mismatches[0]}"


def test_threads_mixing_valid_and_invalid_reports(kb: KnowledgeBase, assessor: Assessor) -> None:
    """An invalid report in one thread never disturbs another thread's answer."""
    from triage import InvalidReport

    good = random_reports(kb, 40, seed=7)
    expected = [assessor.assess(**r).to_dict() for r in good]
    bad = [
        {"symptoms": ["redness", "nonsense"], "hours": 1},
        {"symptoms": ["redness"], "hours": float("nan")},
        {"symptoms": [], "hours": 1},
        {"symptoms": ["redness"], "hours": 1, "factors": ["nope"]},
    ]
    barrier = threading.Barrier(THREADS)
    wrong: list[int] = []

    def work(t: int) -> None:
        barrier.wait()
        for _ in range(3):
            for i, r in enumerate(good):
                if (i + t) % 2:
                    try:
                        assessor.assess(**bad[(i + t) % len(bad)])
                    except InvalidReport:
                        pass
                    else:
                        wrong.append(-1)
                if assessor.assess(**r).to_dict() != expected[i]:
                    wrong.append(i)

    assert run_threads(work, THREADS) == []
    assert wrong == []


def test_default_assessor_is_built_once_under_contention(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads racing to the first request all get the same, single default Assessor."""
    monkeypatch.setattr(sys.modules["triage.answer.assess"], "_default", None)
    barrier = threading.Barrier(THREADS)
    got: list[Assessor] = []

    def work(_: int) -> None:
        barrier.wait()
        got.append(default_assessor())

    assert run_threads(work, THREADS) == []
    assert len(got) == THREADS
    assert len({id(a) for a in got}) == 1
