"""The production server as the README starts it: `gunicorn 'web:create_app()'` in the repository
root, so gunicorn.conf.py decides the worker class, workers, threads and timeouts.

- 20 slow clients (10 stalled in the body, 10 in the headers) do not stop /healthz, and a
  stalled body is answered 408 after REQUEST_BODY_TIMEOUT;
- with the default limit storage (memory://) the configuration runs one worker process, so one
  client's rate limit holds exactly, and it refuses to run several;
- with Redis, two workers of one server and a second server share one budget per client.

A gunicorn that does not start is a failure here, not a skip.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gunicorn_server import Server, start_gunicorn, worker_pids
from tests.redis_server import fresh_prefix, redis_url  # noqa: F401  (a fixture)

BODY_TIMEOUT = 6
LIMIT = 6
ASSESS = json.dumps({"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}).encode()


def started(log: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> Server:
    server = start_gunicorn(log, {"RATELIMIT_ENABLED": "true", **env}, args=args)
    if server.proc.poll() is not None:
        pytest.fail(f"gunicorn exited with {server.proc.returncode}: {log.read_text()[-800:]}")
    return server


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn.conf.py as it is, default (per-process) limit storage, small limits to count."""
    log = tmp_path_factory.mktemp("serving") / "gunicorn.log"
    server = started(log, {"RATELIMIT_API": f"{LIMIT} per minute", "REQUEST_BODY_TIMEOUT": str(BODY_TIMEOUT)}, args=())
    yield server
    server.stop()


def call(base: str, method: str, path: str, body: bytes | None = None, timeout: float = 10) -> int:
    """One request on a new connection; its status."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(f"{base}{path}", data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


def test_the_configuration_runs_gevent_workers_and_one_process_with_memory_limits(production: Server) -> None:
    workers = worker_pids(production.proc.pid)
    assert workers is None or len(workers) == 1
    assert "Using worker: gevent" in production.log.read_text()


def test_healthz_keeps_answering_while_20_slow_clients_are_open(production: Server) -> None:
    port = production.port
    stalled_bodies, stalled_headers = [], []
    opened = time.monotonic()
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        # The report from the security test: a Content-Length, then one byte, then nothing.
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n")
        s.sendall(b"Content-Length: 100\r\n\r\nh")
        stalled_bodies.append(s)
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # headers never finished
        stalled_headers.append(s)
    try:
        time.sleep(0.5)  # each is now held by a server thread, reading
        waits = []
        for _ in range(5):
            began = time.monotonic()
            assert call(production.base, "GET", "/healthz", timeout=5) == 200
            waits.append(time.monotonic() - began)
        assert time.monotonic() - opened < BODY_TIMEOUT, "the slow clients were not all open during the checks"
        assert max(waits) < 2, waits
        # A stalled body is cut off with a 408 once REQUEST_BODY_TIMEOUT has passed.
        answer = stalled_bodies[0].recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - opened >= BODY_TIMEOUT - 1
        assert b"Content-Security-Policy" in answer
    finally:
        for s in stalled_bodies + stalled_headers:
            s.close()
    assert production.proc.poll() is None
    assert "WORKER TIMEOUT" not in production.log.read_text()  # no worker was killed


def test_one_clients_api_limit_holds_across_endpoints(production: Server) -> None:
    """Default storage, the shipped configuration: exactly LIMIT answers, then 429, spread over
    three endpoints, each call on a new connection (which any thread may serve)."""
    calls = [("GET", "/api/v1/knowledge", None), ("POST", "/api/v1/assess", ASSESS), ("GET", "/cds-services", None)]
    codes = [call(production.base, m, path, body) for m, path, body in calls * 4]
    assert codes[:LIMIT] == [200] * LIMIT and codes[LIMIT:] == [429] * (len(codes) - LIMIT), codes


def test_the_configuration_refuses_several_processes_with_per_process_limits(tmp_path: Path) -> None:
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(log, {"RATELIMIT_ENABLED": "true", "WEB_CONCURRENCY": "2"}, args=())
    try:
        server.proc.wait(timeout=60)
    except Exception:
        server.stop()
        pytest.fail("gunicorn started 2 workers that would each count the rate limits")
    assert server.proc.returncode != 0
    assert "RATELIMIT_STORAGE_URI" in log.read_text()


# --- Redis: one budget across workers and servers ------------------------------------------


def test_two_workers_and_a_second_server_share_one_budget_in_redis(
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    limit = 10
    shared = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": fresh_prefix()}
    shared["RATELIMIT_API"] = f"{limit} per minute"
    # The access log here holds the worker's process id and the status only (no path).
    logs = {name: tmp_path / f"access-{name}.log" for name in ("a", "b")}
    servers = []
    try:
        for name, workers in (("a", "2"), ("b", "1")):
            access = ("--access-logfile", str(logs[name]), "--access-logformat", "%(p)s %(s)s")
            servers.append(started(tmp_path / f"gunicorn-{name}.log", shared | {"WEB_CONCURRENCY": workers}, access))
        first, second = servers
        assert len(worker_pids(first.proc.pid) or [0, 0]) == 2
        codes: list[int] = []
        for burst in range(12):
            # Bursts of concurrent calls to both servers, until both of the first server's
            # workers have answered some.
            threads = [
                threading.Thread(target=lambda b=s.base: codes.append(call(b, "GET", "/api/v1/knowledge")))
                for s in (first, second) * 4
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            time.sleep(0.2)
            if len(served(logs["a"])) == 2 and burst >= 1:
                break
        by_worker = served(logs["a"]) | served(logs["b"])
        assert len(served(logs["a"])) == 2, "the first server's two workers did not both answer"
        assert Counter(codes) == {200: limit, 429: len(codes) - limit}, Counter(codes)
        # Every worker that refused someone had itself answered fewer than the limit: it counted
        # what the others had answered.
        for pid, statuses in by_worker.items():
            if 429 in statuses:
                assert statuses.count(200) < limit, (pid, statuses)
    finally:
        for s in servers:
            s.stop()


def served(access_log: Path) -> dict[str, list[int]]:
    """Worker process id -> the statuses it answered, from an access log of "<pid> status" lines."""
    out: dict[str, list[int]] = {}
    for line in access_log.read_text().splitlines() if access_log.exists() else []:
        match = re.fullmatch(r"<?(\d+)>? (\d{3})", line.strip())
        assert match, line
        out.setdefault(match.group(1), []).append(int(match.group(2)))
    return out


def test_a_worker_freezes_what_start_up_built() -> None:
    """gunicorn.conf.py's post_worker_init (run in each worker after the app is loaded) moves
    every object that exists then out of the collector's generations (gc.freeze)."""
    import gc
    import runpy

    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        conf["post_worker_init"](object())
        assert gc.get_freeze_count() > 10_000  # the interpreter, Flask and this test session
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
