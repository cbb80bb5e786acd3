"""RSS growth over many decisions in one process (run in a fresh subprocess by the runner).

`python -m benchmarks.memory DECISIONS CACHE_SIZE` prints one JSON line. The baseline is
taken after the knowledge base is loaded, the engine built and one decision made; RSS is
sampled every tenth of the run so a leak (steady climb) can be told from a bounded cache
filling up (climb, then flat). Reports are generated lazily, random as issue 14 measures them (hours with two
decimals, so almost every report is new: at most the cache's bound is kept).
"""

from __future__ import annotations

import gc
import itertools
import json
import sys

from triage.answer.assess import Assessor
from triage.knowledge.loader import load_knowledge
from verification.reports import iter_random


def rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(decisions: int, cache_size: int) -> dict[str, object]:
    kb = load_knowledge()
    assessor = Assessor(kb, cache_size=cache_size)
    assessor.assess(["redness:mild"], 6)
    gc.collect()
    start = rss_kb()
    samples = []
    step = max(1, decisions // 10)
    for i, raw in enumerate(itertools.islice(iter_random(kb, seed=7), decisions), 1):
        assessor.assess(*raw)
        if i % step == 0:
            samples.append(rss_kb() - start)
    gc.collect()
    end = rss_kb()
    info = assessor.cache.info() if assessor.cache else None
    return {
        "decisions": decisions,
        "cache_size": cache_size,
        "rss_start_kb": start,
        "rss_end_kb": end,
        "growth_kb": end - start,
        "growth_curve_kb": samples,
        "cache_hits": info.hits if info else 0,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
