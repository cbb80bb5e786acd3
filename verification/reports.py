"""The benchmark's fixed, seeded mix of reports, drawn from the knowledge base's vocabulary."""

from __future__ import annotations

import random
from collections.abc import Iterator

from triage.engine.report import Report, parse_report
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import answer_change_hours
from triage.vocabulary import SEVERITIES

SEED = 20261125
# Hours a patient would give: whole hours around the usual check-in times, some fractions.
HOURS = (1, 2, 4, 6, 10, 12, 18, 20, 24, 30, 36, 40, 48, 50, 60, 72, 80, 96, 120, 150, 168, 200, 240, 336, 500)


RawReport = tuple[list[str], float, list[str], bool]


def report_mix(kb: KnowledgeBase, n: int = 2000, seed: int = SEED) -> list[RawReport]:
    """`n` raw reports (symptoms, hours, factors, worsening) as a caller would pass them to assess().

    The mix: 40% a single common symptom; 45% three to five common symptoms, usually with
    one or two risk factors; 15% reports that include a red flag (some of them emergencies).
    """
    return list(iter_mix(kb, n, seed))


def iter_mix(kb: KnowledgeBase, n: int, seed: int = SEED) -> Iterator[RawReport]:
    """The same mix, generated lazily (the memory benchmark must not hold 100,000 reports)."""
    rng = random.Random(seed)
    common = [s.id for s in kb.symptoms.values() if s.window is not None]
    red = [s.id for s in kb.symptoms.values() if s.window is None]
    factors = list(kb.factors)
    for _ in range(n):
        kind = rng.random()
        if kind < 0.40:
            ids = [rng.choice(common)]
            fs: list[str] = rng.sample(factors, 1) if rng.random() < 0.2 else []
        elif kind < 0.85:
            ids = rng.sample(common, rng.randint(3, 5))
            fs = rng.sample(factors, rng.choice((0, 1, 1, 2)))
        else:
            ids = rng.sample(red, rng.randint(1, 2)) + rng.sample(common, rng.randint(0, 3))
            fs = rng.sample(factors, rng.choice((0, 1)))
        symptoms = [f"{sid}:{rng.choice(SEVERITIES)}" if rng.random() < 0.7 else sid for sid in ids]
        hours = float(rng.choice(HOURS)) if rng.random() < 0.8 else round(rng.uniform(0, 400), 1)
        yield symptoms, hours, fs, rng.random() < 0.25


def parsed_mix(kb: KnowledgeBase, n: int = 2000, seed: int = SEED) -> list[Report]:
    return [parse_report(kb, *raw) for raw in report_mix(kb, n, seed)]


RANDOM_SEED = 20261130


def random_reports(kb: KnowledgeBase, n: int = 3000, seed: int = RANDOM_SEED) -> list[RawReport]:
    """`n` distinct random reports, as issue 14 measures decision speed without the answer cache:
    1-5 symptoms of the whole vocabulary, each with a random severity, hours uniform 0-400 with
    two decimals (as a clock difference gives them, so hours rarely repeat), 0-2 risk factors."""
    seen: set[tuple[tuple[str, ...], float, tuple[str, ...], bool]] = set()
    out: list[RawReport] = []
    for report in iter_random(kb, seed):
        key = (tuple(report[0]), report[1], tuple(report[2]), report[3])
        if key not in seen:
            seen.add(key)
            out.append(report)
            if len(out) == n:
                break
    return out


def iter_random(kb: KnowledgeBase, seed: int = RANDOM_SEED) -> Iterator[RawReport]:
    """An endless stream of random reports (see random_reports), generated lazily."""
    rng = random.Random(seed)
    symptoms, factors = list(kb.symptoms), list(kb.factors)
    while True:
        ids = [f"{sid}:{rng.choice(SEVERITIES)}" for sid in rng.sample(symptoms, rng.randint(1, 5))]
        yield ids, round(rng.uniform(0, 400), 2), rng.sample(factors, rng.randint(0, 2)), rng.random() < 0.25


DIFFERENTIAL_SEED = 20261201


def differential_reports(kb: KnowledgeBase, n: int = 6000, seed: int = DIFFERENTIAL_SEED) -> list[RawReport]:
    """`n` seeded random reports for the differential tests (engine vs oracle, CLIPS, caches):
    1-5 symptoms of the whole vocabulary (a severity or none), 0-3 risk factors, getting worse
    a quarter of the time; hours uniform 0-400 with two decimals half of the time, else an hour
    at which some answer changes, exactly or just either side of it (where mistakes hide)."""
    rng = random.Random(seed)
    symptoms, factors = list(kb.symptoms), list(kb.factors)
    bounds = answer_change_hours(kb)
    out: list[RawReport] = []
    for _ in range(n):
        ids = [
            f"{s}:{rng.choice(SEVERITIES)}" if rng.random() < 0.8 else s
            for s in rng.sample(symptoms, rng.randint(1, 5))
        ]
        if rng.random() < 0.5:
            hours = round(rng.uniform(0, 400), 2)
        else:
            hours = max(0.0, rng.choice(bounds) + rng.choice((0.0, 0.0, -0.01, 0.01, -0.5, 0.5)))
        out.append((ids, hours, rng.sample(factors, rng.randint(0, 3)), rng.random() < 0.25))
    return out
