"""Production server settings; gunicorn reads this file from the directory it is started in:

    cd /path/to/repository && gunicorn 'web:create_app()'

Threaded workers (gthread): a client that opens a connection and then sends nothing, or
stalls in the middle of its body, holds at most one thread, not a whole worker, so /healthz
and everyone else keep being answered (tests/test_reliability_gunicorn.py opens 20 such
connections). A stalled body is cut off after REQUEST_BODY_TIMEOUT seconds with a 408 (web.body).

Rate limits count per client in RATELIMIT_STORAGE_URI. With the default, memory://, each process
counts on its own, so this file runs one worker process (its threads share the counts) and
refuses to start more; with a shared store (redis://...) it runs one worker per CPU core.
Command-line options (-w, -k, --threads, -b) override what is set here.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from typing import Any

from web.config import per_process_limits

bind = ["127.0.0.1:8000"]  # loopback: the HTTPS reverse proxy is in front
worker_class = "gthread"
# WEB_CONCURRENCY (worker processes) as on most hosts; by default one process while the limits
# are counted in memory, else one per core.
workers = int(os.environ.get("WEB_CONCURRENCY") or (1 if per_process_limits() else multiprocessing.cpu_count()))
threads = 32  # each slow or stalled client holds one; each thread that assesses builds its engine once (~0.3 MB)
worker_connections = 1000  # open connections per worker, idle keep-alive ones included
timeout = 30  # a worker whose main loop stops answering the master this long is restarted
graceful_timeout = 30  # requests in progress get this long to finish at a restart or stop
keepalive = 5  # seconds an idle keep-alive connection stays open
# gunicorn answers these itself, before the app (HTML, without the app's security headers).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# No gunicorn access log: the app logs each request with its route pattern, not the path
# (a record's path holds its reference code). Errors go to stderr.
accesslog = None
errorlog = "-"


def on_starting(server: Any) -> None:
    """Refuse several worker processes that would each give a client the whole rate limit."""
    if server.cfg.workers > 1 and per_process_limits():
        message = (
            f"{server.cfg.workers} worker processes with RATELIMIT_STORAGE_URI=memory:// would each count the "
            "rate limits on their own, giving every client several times its limit. Set RATELIMIT_STORAGE_URI "
            "to a shared store (redis://host:6379), or run one worker (WEB_CONCURRENCY=1, or -w 1)."
        )
        server.log.error(message)
        raise SystemExit(message)


def post_worker_init(worker: Any) -> None:
    """Freeze what start-up built (the app, its knowledge base and rule engine) out of the
    garbage collector's sight: no collection will ever free it, and each full collection
    otherwise walks all of it again while requests wait (issue 14)."""
    gc.freeze()
