"""Time `Assessor.explain` alone (the engine's conclusions computed beforehand), per decision.

Usage: PYTHONPATH=TREE python scripts/explain_cost.py [REPS]
Prints the best and median microseconds per decision over REPS passes of the 3,000 random
reports of issue 14 (verification.reports.random_reports), answer cache off. To compare two
trees on a shared machine, run this alternately against each (see the issue 14 report).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time

from triage.answer.assess import Assessor
from triage.engine.report import parse_report
from triage.knowledge.loader import load_knowledge
from verification.reports import random_reports


def main(reps: int) -> None:
    kb = load_knowledge()
    assessor = Assessor(kb, cache_size=0)
    reports = [parse_report(kb, *raw) for raw in random_reports(kb, 3000)]
    pairs = [(r, assessor.engine.run(r)) for r in reports]
    explain = assessor.explain
    for report, raw in pairs:  # warm up
        explain(report, raw)
    per: list[float] = []
    gc.disable()
    for _ in range(reps):
        start = time.perf_counter_ns()
        for report, raw in pairs:
            explain(report, raw)
        per.append((time.perf_counter_ns() - start) / 1000 / len(pairs))
        gc.collect()
    gc.enable()
    print(f"{min(per):.2f} {statistics.median(per):.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
