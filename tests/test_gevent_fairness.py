"""Keep-alive connections take turns under gunicorn.conf.py's gevent workers (issue 34).

A greenlet never yields while its socket has data waiting, so a client whose next request is
already there (pipelined here; under load, a fast keep-alive client) was served again and again
while the worker's other connections waited: under a saturating wrk load the p99 of the varied
stream was 0.8 s and more against 0.06 s threaded (benchmarks/RESULTS.md). gunicorn.conf.py's
`post_request` lets the others in after each request. Here one client pipelines PIPELINED
requests in one write; a second client's one request must be answered long before the first
client's last. A gunicorn that does not start is a failure here, not a skip.
"""

from __future__ import annotations

import contextlib
import runpy
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gunicorn_server import Server, start_gunicorn
from verification.vignettes import REPO

PIPELINED = 100  # /healthz requests the first client sends at once (their answers fit the socket buffers)
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def one_gevent_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn.conf.py as shipped (gevent), one worker, so both clients share it."""
    log = tmp_path_factory.mktemp("fair") / "gunicorn.log"
    server = start_gunicorn(log, args=("-w", "1"))
    if server.proc.poll() is not None:
        pytest.fail(f"gunicorn exited with {server.proc.returncode}: {log.read_text()[-800:]}")
    yield server
    server.stop()


def _answers_in(data: bytes) -> int:
    return data.count(b"HTTP/1.1 200 ")


def _read_answer(sock: socket.socket) -> bytes:
    """One whole /healthz answer (its JSON body ends with a newline after the closing brace)."""
    data = b""
    while not data.endswith(b"}\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed after {data!r}")
        data += chunk
    return data


def test_a_pipelining_client_does_not_hold_the_worker(one_gevent_worker: Server) -> None:
    port = one_gevent_worker.port
    # the other client connects first (its greenlet waits for its request), so its one request
    # below is a single write while the busy client is being served
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as other,
        socket.create_connection(("127.0.0.1", port), timeout=30) as busy,
    ):
        busy.sendall(REQUEST * PIPELINED)
        first = busy.recv(65536)  # the busy client is being served
        assert _answers_in(first) >= 1
        other.sendall(REQUEST)
        assert _answers_in(_read_answer(other)) == 1
        # what the busy client had been sent by then, waiting in its socket
        busy.setblocking(False)
        before = first
        with contextlib.suppress(BlockingIOError):
            while chunk := busy.recv(65536):
                before += chunk
        answered_first = _answers_in(before)
        # the rest arrive in full afterwards: nothing is lost by taking turns
        busy.setblocking(True)
        rest = b""
        while answered_first + _answers_in(rest) < PIPELINED:
            chunk = busy.recv(65536)
            assert chunk, "the busy client's connection closed early"
            rest += chunk
    assert answered_first + _answers_in(rest) == PIPELINED
    # taking turns: a few (3 here); without, all of them. Half leaves room for a busy CI machine.
    assert answered_first < PIPELINED // 2, (
        f"the other client waited for {answered_first} of the {PIPELINED} pipelined requests"
    )


def test_only_the_gevent_workers_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """post_request yields under the gevent worker only (the threaded workers switch on their own)."""
    import gevent

    yielded: list[float] = []
    monkeypatch.setattr(gevent, "sleep", lambda seconds=0: yielded.append(seconds))
    post_request = runpy.run_path(str(Path(REPO) / "gunicorn.conf.py"))["post_request"]
    gevent_worker: Any = type("GeventWorker", (), {"__module__": "gunicorn.workers.ggevent"})()
    threaded_worker: Any = type("ThreadWorker", (), {"__module__": "gunicorn.workers.gthread"})()
    post_request(threaded_worker, None, {}, None)
    assert yielded == []
    post_request(gevent_worker, None, {}, None)
    assert yielded and yielded[0] > 0  # a timer (not sleep(0), which polls the sockets only every 5 ms)
