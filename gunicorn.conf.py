"""Production server settings; gunicorn reads this file from the directory it is started in:

    cd /path/to/repository && gunicorn 'web:create_app()'

gevent workers (issue 34): each connection is a greenlet, not a thread, so clients that send
their headers or body slowly (one byte every few seconds) hold a little memory each, not one of
a fixed number of threads, and /healthz and real reports keep being answered beside hundreds of
them (tests/test_slow_clients.py: 200; benchmarks/slow_clients.py finds the most). Common cloud
load balancers pass bodies through unbuffered, so the app server has to hold on its own.
Why gevent: gunicorn's own worker (same configuration, hooks and tests), psycopg 3 and redis-py
wait cooperatively on its patched sockets, and an engine decision never yields, so a worker runs
decisions one at a time from a small pool of engine instances (triage.engine.rules.RuleEngine).
Timeouts: a request's head (request line and headers) must arrive within `keepalive` seconds
(the gevent worker reads it under that deadline, then closes the connection without an answer),
its body within REQUEST_BODY_TIMEOUT seconds (web.body: 408).
Turns: after each request a connection waits for one pass of the worker's event loop
(`post_request`), so keep-alive clients take turns; without it, under a saturating load some
waited 0.5 s and more while others were served again and again (tests/test_gevent_fairness.py;
benchmarks/RESULTS.md: p99 1 s → 18 ms for about 4% of the peak rate).

Rate limits count per client in RATELIMIT_STORAGE_URI. With the default, memory://, each process
counts on its own, so this file runs one worker process (its greenlets share the counts) and
refuses to start more; with a shared store (redis://...) it runs one worker per CPU core.
Command-line options (-w, -k, -b) override what is set here.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from typing import Any

from web.config import per_process_limits

bind = ["127.0.0.1:8000"]  # loopback: the HTTPS reverse proxy is in front
worker_class = "gevent"
# WEB_CONCURRENCY (worker processes) as on most hosts; by default one process while the limits
# are counted in memory, else one per core.
workers = int(os.environ.get("WEB_CONCURRENCY") or (1 if per_process_limits() else multiprocessing.cpu_count()))
worker_connections = 1000  # open connections (greenlets) per worker, slow and idle keep-alive ones included
timeout = 30  # a worker whose main loop stops answering the master this long is restarted
graceful_timeout = 30  # requests in progress get this long to finish at a restart or stop
keepalive = 5  # seconds an idle keep-alive connection stays open, and a request's head may take to arrive
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


TAKE_TURNS = 1e-6  # seconds: a timer, so the worker polls its sockets before this connection goes on


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """Under the gevent workers, the worker's other connections go before this one's next
    request (the module docstring's "Turns"; the threaded workers switch on their own)."""
    if type(worker).__module__ == "gunicorn.workers.ggevent":
        import gevent  # the gevent worker has imported it

        gevent.sleep(TAKE_TURNS)
