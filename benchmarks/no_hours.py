"""What a report without hours costs against the same report with hours (issue 34, finding 5):
`python -m benchmarks.no_hours` (figures in RESULTS.md).

CPU time per report (process time, so the machine's other load moves it little) through
Assessor.assess_report with the caches off (every report decided afresh, as an attacker's
random reports are), for:
- the worst report: every symptom and every factor (answered without hours: it has emergencies);
- a symptom that is an emergency at every hour, with 0-3 other symptoms and 0-2 factors, random;
- random reports of 1-3 symptoms with a window (the HTTP benchmark's varied stream; most are
  refused without hours: their answer depends on the hours);
each without hours and with hours (uniform 0-200), and, for comparison, what the path before
issue 34 cost without hours (the engine run at each of the knowledge base's change hours).
Target: without hours at most 5x with hours. A benchmark, not a test; tests/test_no_hours.py
checks the answers are unchanged and counts the engine runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import random
import time
from collections.abc import Callable

from triage import Assessor, InvalidReport
from triage.engine.report import Report, parse_report
from triage.knowledge.conditions import answer_change_hours, symptom_phases
from triage.knowledge.loader import load_knowledge
from triage.vocabulary import SEVERITIES


def cpu_us(reports: list[Report], assess: Callable[[Report], object], repeat: int) -> float:
    """Mean CPU microseconds per report over `repeat` passes (after one pass to warm up)."""
    for report in reports:
        with contextlib.suppress(InvalidReport):
            assess(report)
    began = time.process_time()
    for _ in range(repeat):
        for report in reports:
            with contextlib.suppress(InvalidReport):
                assess(report)
    return (time.process_time() - began) * 1e6 / (repeat * len(reports))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    o = ap.parse_args()
    kb = load_knowledge()
    assessor = Assessor(kb, cache_size=0)
    symptoms, factors = list(kb.symptoms), list(kb.factors)
    urgent = [sid for sid in symptoms if any(ph.emergency for ph in symptom_phases(kb, sid))]
    windowed = [s.id for s in kb.symptoms.values() if s.window is not None]
    rng = random.Random(34)

    def report(chosen: list[str], given: list[str]) -> Report:
        return parse_report(kb, [f"{sid}:{rng.choice(SEVERITIES)}" for sid in chosen], None, given, False, ())

    sets = {
        "every symptom and factor": [parse_report(kb, symptoms, None, factors, False, ())],
        "an emergency symptom, 0-3 others, 0-2 factors": [
            report(
                list(dict.fromkeys([rng.choice(urgent), *rng.sample(symptoms, rng.randint(0, 3))])),
                rng.sample(factors, rng.randint(0, 2)),
            )
            for _ in range(o.reports)
        ],
        "1-3 symptoms with a window": [
            report(rng.sample(windowed, rng.randint(1, 3)), rng.sample(factors, rng.randint(0, 1)))
            for _ in range(o.reports)
        ],
    }
    change_hours = answer_change_hours(kb)

    def before(r: Report) -> object:  # the engine at every change hour (what the old path ran)
        return [assessor.engine.run(dataclasses.replace(r, hours=h)) for h in change_hours]

    print("| reports | with hours µs | without hours µs | ratio | before: without hours µs | ratio before |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, reports in sets.items():
        timed = [dataclasses.replace(r, hours=round(rng.uniform(0, 200), 2)) for r in reports]
        repeat = o.repeat * (50 if len(reports) == 1 else 1)
        with_hours = cpu_us(timed, assessor.assess_report, repeat)
        without = cpu_us(reports, assessor.assess_report, repeat)
        old = cpu_us(reports, before, repeat)
        print(
            f"| {name} | {with_hours:.0f} | {without:.0f} | **{without / with_hours:.1f}** | "
            f"≥ {old:.0f} | ≥ {old / with_hours:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
