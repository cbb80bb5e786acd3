"""Start-up: knowledge load + engine build, timed in a fresh process (run by the runner).

`python -m benchmarks.startup` prints one JSON line: the imports, `load_knowledge()`,
`Assessor(kb)` (rule generation), the first engine instance (experta compiles the Rete
network), and the first decision. "load + build" is the knowledge load plus everything
up to an engine ready to decide, without the one-off imports.
"""

from __future__ import annotations

import json
import time

t0 = time.perf_counter()
from triage.answer.assess import Assessor  # noqa: E402
from triage.knowledge.loader import load_knowledge  # noqa: E402

t1 = time.perf_counter()
kb = load_knowledge()
t2 = time.perf_counter()
assessor = Assessor(kb)
t3 = time.perf_counter()
assessor.engine.warm_up()
t4 = time.perf_counter()
assessor.assess(["redness:mild"], 6)
t5 = time.perf_counter()

ms = 1000
print(
    json.dumps(
        {
            "import_ms": (t1 - t0) * ms,
            "load_ms": (t2 - t1) * ms,
            "rules_ms": (t3 - t2) * ms,
            "network_ms": (t4 - t3) * ms,
            "first_decision_ms": (t5 - t4) * ms,
            "load_build_ms": (t4 - t1) * ms,
            "total_ms": (t5 - t0) * ms,
        }
    )
)
