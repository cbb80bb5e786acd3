"""Throughput of gunicorn's worker models (issue 34): `python -m benchmarks.worker_models`.

benchmarks.http.run_http (wrk, 2 worker processes, gunicorn.conf.py) twice: with the threaded
workers gunicorn.conf.py shipped before issue 34 (`-k gthread --threads 32`) and with its gevent
workers as shipped now. The figure that matters is the rate of POST /api/v1/assess with a new
random report each over the rate of /healthz in the same round (target: at least 0.60). With
`--redis URL` the rate limits are on and counted in that Redis (the production set-up with 2
workers; budgets raised so that wrk is never refused), else off, as in RESULTS.md's earlier
HTTP figures. A benchmark, not a test: the figures go in RESULTS.md with the machine and date.

Defaults: 30 s of the varied stream first and 5 rounds, as run_http's own default and RESULTS.md's
HTTP figures since issue 14 (a server in use has met the phases its reports come back to; a
just-started one has not, see run_http). `--warmup 10 --rounds 3` gives a just-started server.
"""

from __future__ import annotations

import argparse
import secrets

from benchmarks import http
from triage.knowledge.loader import load_knowledge

MODELS = {"gthread (32 threads, before)": ["-k", "gthread", "--threads", "32"], "gevent (as shipped)": []}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redis", metavar="URL", help="count the rate limits in this Redis (limits on)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5, help="seconds of wrk per endpoint per round")
    ap.add_argument("--warmup", type=int, default=30, help="seconds of the varied stream first")
    o = ap.parse_args()
    if reason := http.why_skip():
        raise SystemExit(reason)
    env = {}
    if o.redis:
        budget = "10000000 per minute"
        env = {"RATELIMIT_ENABLED": "true", "RATELIMIT_STORAGE_URI": o.redis, "RATELIMIT_API": budget}
        env["RATELIMIT_KEY_PREFIX"] = f"bench-{secrets.token_hex(4)}"
    kb = load_knowledge()
    print(
        "| worker model | limits | /healthz req/s | varied req/s | varied/healthz (rounds) | by worker CPU "
        "| CPU µs /healthz | CPU µs varied | p99 varied ms |"
    )
    print("|---|---|---:|---:|---|---:|---:|---:|---:|")
    for label, args in MODELS.items():
        run = http.run_http(
            kb, duration=o.seconds, worker_args=args, rounds=o.rounds, warmup_varied=o.warmup, env_extra=env
        )
        health, varied = run.results["GET /healthz"], run.results[http.VARIED]
        rounds = ", ".join(f"{r:.2f}" for r in run.round_ratios[http.VARIED])
        limits = "Redis" if o.redis else "off"
        print(
            f"| {label} | {limits} | {health.requests_per_s:.0f} | {varied.requests_per_s:.0f} | "
            f"**{run.ratio(http.VARIED):.2f}** ({rounds}) | {run.cpu_ratio(http.VARIED):.2f} | "
            f"{health.worker_cpu_us:.0f} | {varied.worker_cpu_us:.0f} | {varied.p99_ms:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
