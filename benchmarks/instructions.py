"""Instructions per request, counted by callgrind: the WSGI app in-process (issue 14).

`python -m benchmarks.instructions [REQUESTS] [WARMUP]` runs this module again under
`valgrind --tool=callgrind`, with counting off while it starts the app, serves WARMUP new
random reports (a server in use has met the phases its reports come back to) and sends each
of the 200 fixed reports three times (so the answer cache and the written answers hold them,
as in a server in use). Then it counts the instructions of REQUESTS requests of each kind:
GET /healthz, the fixed reports cycled, and a new random report each (issue 14's stream).
Prints one JSON line.

Unlike a rate, the count does not move with what else the machine is doing, so it tells two
versions of the code apart on a shared VM. It leaves out gunicorn's own work per request (the
same for every endpoint, about 240 µs of worker CPU here, which brings the ratios up) and what
cold caches add in a server (which brings them down). Needs valgrind (Debian: apt-get install
valgrind); without it the runner skips this part, saying so. About three minutes.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from benchmarks.http import bodies, common_symptoms, server_env, varied_body
from triage.knowledge.loader import load_knowledge

REPO = Path(__file__).resolve().parent.parent
UNDER_CALLGRIND = "TRIAGE_BENCH_UNDER_CALLGRIND"  # set in the process valgrind runs
KINDS = ("healthz", "fixed", "varied")


def why_skip() -> str | None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return "valgrind is not installed (Debian: apt-get install valgrind); instruction counts skipped"
    return None


def run(requests: int = 1000, warmup: int = 15_000) -> dict[str, Any]:
    """Instructions per request of each kind, and /healthz's count over each endpoint's."""
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(**{UNDER_CALLGRIND: "1"})
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        with open(Path(tmp) / "log", "w+") as log:
            done = subprocess.run(
                [
                    *("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/cg.%p"),
                    *(sys.executable, "-m", "benchmarks.instructions", str(requests), str(warmup)),
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            if done.returncode:
                log.seek(0)
                raise RuntimeError(f"the run under callgrind failed: {log.read()[-2000:]}")
        counts = _dumps(Path(tmp))
    per_request = {kind: counts[kind] / requests for kind in KINDS}
    return {
        "requests": requests,
        "warmup": warmup,
        "per_request": per_request,
        "fixed_ratio": per_request["healthz"] / per_request["fixed"],
        "varied_ratio": per_request["healthz"] / per_request["varied"],
    }


def _dumps(folder: Path) -> dict[str, int]:
    """Each dump's instruction count, by the label it was dumped with."""
    counts = {}
    for path in folder.glob("cg.*.*"):  # cg.<pid>.<n>: the dumps; cg.<pid> is the rest of the run
        text = path.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: (?:[Dd]ump )?(\w+)$", text, re.M)
        total = re.search(r"^summary: (\d+)$", text, re.M)
        if label and total:
            counts[label.group(1)] = int(total.group(1))
    missing = [k for k in KINDS if k not in counts]
    if missing:
        raise RuntimeError(f"callgrind wrote no count for {', '.join(missing)} in {folder}")
    return counts


def _measure(requests: int, warmup: int) -> None:
    """In the process valgrind runs: warm up, then count each kind between callgrind_control calls."""
    from web import create_app

    app = create_app()  # as gunicorn runs it (the access log goes to a file the runner drops)
    kb = load_knowledge()
    rng, common = random.Random(14), common_symptoms(kb)
    fixed = [b.encode() for b in bodies(kb)]

    def request(body: bytes | None = None) -> dict[str, Any]:
        """A WSGI environ: GET /healthz, or POST /api/v1/assess with this JSON body."""
        if body is None:
            return EnvironBuilder(path="/healthz").get_environ()
        post = EnvironBuilder(path="/api/v1/assess", method="POST", data=body, content_type="application/json")
        return post.get_environ()

    def send(environ: dict[str, Any]) -> None:
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(line)

        out = app(environ, start_response)
        b"".join(out)
        getattr(out, "close", lambda: None)()
        if not status[0].startswith("200"):
            raise RuntimeError(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} answered {status[0]}")

    for _ in range(warmup):
        send(request(varied_body(kb, rng, common).encode()))
    for _ in range(3):
        for body in fixed:
            send(request(body))
    # every request built before counting starts: only the app's own work is counted
    batches = {
        "healthz": [request() for _ in range(requests)],
        "fixed": [request(fixed[i % len(fixed)]) for i in range(requests)],
        "varied": [request(varied_body(kb, rng, common).encode()) for _ in range(requests)],
    }
    pid = str(os.getpid())
    control = ["callgrind_control"]
    subprocess.run([*control, "--instr=on", pid], check=True, capture_output=True)
    for kind in KINDS:
        subprocess.run([*control, "--zero", pid], check=True, capture_output=True)
        for environ in batches[kind]:
            send(environ)
        subprocess.run([*control, f"--dump={kind}", pid], check=True, capture_output=True)


if __name__ == "__main__":
    n, w = (int(a) for a in [*sys.argv[1:], "1000", "15000"][:2])
    if os.environ.get(UNDER_CALLGRIND):
        _measure(n, w)
    else:
        print(json.dumps(run(n, w)))
