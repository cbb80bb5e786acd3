"""Slow clients against gunicorn.conf.py as shipped (issue 34, finding 1).

200 clients from one address send one byte every ~2 s: half trickle their request head, half
their body. Each one the server cuts off (the head's deadline, `keepalive`; the body's,
REQUEST_BODY_TIMEOUT) reconnects at once, as an attacker would, so 200 stay open. Meanwhile
/healthz must answer every time in under 1 s and a real report in under 2 s. With the
threaded workers this file shipped before (32 threads), /healthz timed out.
A gunicorn that does not start is a failure here, not a skip.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.slow_clients import BYTE_EVERY, REPORT, SLOW_BODY, SLOW_HEAD, SlowClients, timed
from tests.gunicorn_server import Server, start_gunicorn

SLOW_CLIENTS = 200
RUN_FOR = 24.0  # seconds of checks beside the slow clients
BODY_TIMEOUT = 8  # REQUEST_BODY_TIMEOUT for this server (seconds)
HEAD_TIMEOUT = 5  # gunicorn.conf.py's keepalive: the deadline for a request's head


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn.conf.py as it is (no command-line overrides), rate limits on (memory://)."""
    log = tmp_path_factory.mktemp("slow") / "gunicorn.log"
    server = start_gunicorn(log, {"RATELIMIT_ENABLED": "true", "REQUEST_BODY_TIMEOUT": str(BODY_TIMEOUT)}, args=())
    if server.proc.poll() is not None:
        pytest.fail(f"gunicorn exited with {server.proc.returncode}: {log.read_text()[-800:]}")
    yield server
    server.stop()


def test_healthz_and_reports_are_answered_beside_200_slow_clients(shipped: Server) -> None:
    clients = SlowClients(shipped.port, SLOW_CLIENTS)
    clients.thread.start()
    try:
        time.sleep(2 * BYTE_EVERY)  # all open, each has sent a byte or two
        health: list[float] = []
        reports: list[float] = []
        end = time.monotonic() + RUN_FOR
        while time.monotonic() < end:
            status, took = timed(shipped.port, "GET", "/healthz")
            assert status == 200
            health.append(took)
            status, took = timed(shipped.port, "POST", "/api/v1/assess", REPORT)
            assert status == 200
            reports.append(took)
            time.sleep(0.5)
    finally:
        clients.stop.set()
        clients.thread.join(timeout=30)
    assert clients.errors == []
    # the slow clients were there all along, and the server read them until their deadlines
    assert clients.fewest_open == SLOW_CLIENTS
    # every connection was held until its deadline (head: keepalive; body: REQUEST_BODY_TIMEOUT), no longer
    for kind, deadline in (("head", HEAD_TIMEOUT), ("body", BODY_TIMEOUT)):
        held = sorted(clients.lifetimes[kind])
        assert len(held) >= SLOW_CLIENTS // 2, (kind, len(held))
        assert deadline - 1 <= held[len(held) // 2] < deadline + 2.5, (kind, held[:: max(1, len(held) // 10)])
    assert len(health) >= 20
    assert max(health) < 1.0, sorted(health)[-5:]
    assert max(reports) < 2.0, sorted(reports)[-5:]
    assert shipped.proc.poll() is None
    assert "WORKER TIMEOUT" not in shipped.log.read_text()


def test_a_trickled_head_is_cut_off_at_its_deadline(shipped: Server) -> None:
    """One byte of header a second: the connection is closed within `keepalive` seconds."""
    with socket.create_connection(("127.0.0.1", shipped.port), timeout=HEAD_TIMEOUT + 5) as s:
        began = time.monotonic()
        s.sendall(SLOW_HEAD)
        s.settimeout(1.0)
        closed = None
        while time.monotonic() - began < HEAD_TIMEOUT + 4:
            try:
                s.sendall(b"a")
                if s.recv(65536) == b"":
                    closed = time.monotonic() - began
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = time.monotonic() - began
                break
    assert closed is not None, "the server kept reading a head trickled for longer than its deadline"
    assert closed < HEAD_TIMEOUT + 1.5, closed


def test_a_trickled_body_is_answered_408_at_its_deadline(shipped: Server) -> None:
    """One byte of body a second (each read short of the timeout): 408 once REQUEST_BODY_TIMEOUT
    has passed since the body began, not never (before, the timeout was per read)."""
    with socket.create_connection(("127.0.0.1", shipped.port), timeout=BODY_TIMEOUT + 5) as s:
        began = time.monotonic()
        s.sendall(SLOW_BODY)
        s.settimeout(1.0)
        answer = b""
        while time.monotonic() - began < BODY_TIMEOUT + 4 and not answer:
            try:
                s.sendall(b" ")
                answer = s.recv(65536)
            except TimeoutError:
                continue
        took = time.monotonic() - began
        with contextlib.suppress(OSError):
            while more := s.recv(65536):
                answer += more
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert BODY_TIMEOUT - 1 <= took < BODY_TIMEOUT + 2, took
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["status"] == 408


def test_the_shipped_configuration_uses_gevent_workers(shipped: Server) -> None:
    assert "Using worker: gevent" in Path(shipped.log).read_text()
