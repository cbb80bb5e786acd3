"""The real server: gunicorn with 2 worker processes on a free loopback port (sync workers,
threaded workers with 4 threads each, and gevent workers, as gunicorn.conf.py ships).

Many client threads post different reports at once; every answer must equal the in-process,
sequential answer for the same report (no mix-up between requests, workers or threads).
Also: bodies without Content-Length, a lying Content-Length, the production log stream,
and no start at all on a broken knowledge base. A gunicorn that does not start is a failure.
(The production configuration, gunicorn.conf.py, is tried in tests/test_reliability_serving.py.)
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gunicorn_server import Server, start_gunicorn, worker_pids
from triage import Assessor, KnowledgeBase
from triage.knowledge.files import KNOWLEDGE_DIR_ENV

CLIENTS = 16
PER_CLIENT = 40


@pytest.fixture(
    scope="module", params=["sync", "gthread", "gevent"], ids=["sync workers", "threaded workers", "gevent workers"]
)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """2 sync workers (one request at a time each), 2 workers with 4 threads each (gthread), or
    2 gevent workers (a greenlet per connection)."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    kind = {"gthread": ("-k", "gthread", "--threads", "4"), "sync": ("-k", "sync"), "gevent": ("-k", "gevent")}[
        request.param
    ]
    srv = start_gunicorn(log, args=("-w", "2", "--timeout", "60", *kind))
    if srv.proc.poll() is not None:
        pytest.fail(f"gunicorn exited with {srv.proc.returncode}: {log.read_text()[-500:]}")
    yield srv
    srv.stop()


def post(base: str, body: Any) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/assess", data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def random_bodies(kb: KnowledgeBase, count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    symptoms, factors = list(kb.symptoms), list(kb.factors)
    return [
        {
            "symptoms": [
                {"id": s, "severity": rng.choice(["mild", "moderate", "severe"])}
                for s in rng.sample(symptoms, rng.randint(1, 5))
            ],
            "hours": rng.choice([0, 6, 24, 47.5, 48, 72, 120, 336]) if rng.random() < 0.5 else rng.uniform(0, 400),
            "factors": rng.sample(factors, rng.randint(0, 2)),
            "worsening": rng.random() < 0.3,
        }
        for _ in range(count)
    ]


def test_gunicorn_workers_under_concurrent_clients_give_the_sequential_answers(
    server: Server, kb: KnowledgeBase
) -> None:
    bodies = random_bodies(kb, CLIENTS * PER_CLIENT, seed=4242)
    sequential = Assessor(kb, cache_size=0)
    expected = [
        sequential.assess(
            [f"{s['id']}:{s['severity']}" for s in b["symptoms"]], b["hours"], b["factors"], b["worsening"]
        ).to_dict()
        for b in bodies
    ]
    workers = worker_pids(server.proc.pid)
    assert workers is None or len(workers) == 2
    results: list[tuple[int, Any] | None] = [None] * len(bodies)
    errors: list[BaseException] = []
    barrier = threading.Barrier(CLIENTS)

    def client(c: int) -> None:
        try:
            barrier.wait()
            for i in range(c, len(bodies), CLIENTS):
                results[i] = post(server.base, bodies[i])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert all(r is not None and r[0] == 200 for r in results), [r for r in results if r and r[0] != 200][:3]
    mismatches = [i for i, (r, e) in enumerate(zip(results, expected, strict=True)) if r is None or r[1] != e]
    assert not mismatches, f"{len(mismatches)} answers differ from the sequential ones, first {mismatches[:5]}"
    assert server.proc.poll() is None, "gunicorn died under load"


def raw_request(port: int, payload: bytes) -> bytes:
    """Send raw bytes and read the whole response (the server may answer before reading it all)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # closed early, e.g. after a 413: read what it said
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    assert match, response[:200]
    return int(match.group(1))


def chunked(body: bytes, size: int = 1000) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


GOOD = json.dumps({"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}).encode()
HEAD = b"POST /api/v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"


def test_chunked_report_is_answered(server: Server, assessor: Assessor) -> None:
    """No Content-Length (chunked, several chunks): the report is read whole and answered."""
    body = GOOD[:-1] + b" " * 3000 + b"}"
    response = raw_request(server.port, CHUNKED + chunked(body))
    assert status_of(response) == 200
    assert json.loads(response.split(b"\r\n\r\n", 1)[1]) == assessor.assess(["redness:mild"], 30).to_dict()


@pytest.mark.parametrize(
    "body",
    [GOOD + b" " * 17_000, GOOD[:-1] + b" " * 17_000 + b"}", GOOD[:-1] + b" " * 1_000_000 + b"}"],
    ids=["valid report then spaces", "spaces inside the report", "1 MB"],
)
def test_chunked_body_over_the_limit_is_413(server: Server, body: bytes) -> None:
    """Without Content-Length the limit still holds: 413, not a body cut at the limit (fixed in e1752a2)."""
    assert status_of(raw_request(server.port, CHUNKED + chunked(body, 8192))) == 413


def test_a_lying_content_length_is_not_trusted(server: Server) -> None:
    """Content-Length says 50 but 100 KB follow: only 50 bytes are read (a 400), nothing is smuggled."""
    body = json.dumps({"symptoms": [{"id": "redness"}], "hours": 3, "factors": ["prp"]}).encode() + b" " * 100_000
    response = raw_request(server.port, HEAD + b"Content-Length: 50\r\n\r\n" + body)
    assert status_of(response) == 400
    # A declared length over the limit is refused without reading the body.
    assert status_of(raw_request(server.port, HEAD + b"Content-Length: 999999999\r\n\r\n{}")) == 413
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200


def test_gunicorn_log_stream_has_no_health_data(server: Server, kb: KnowledgeBase) -> None:
    """Everything gunicorn and the app wrote: gunicorn's own lines, and JSON request lines only."""
    post(server.base, {"symptoms": [{"id": "lip-tongue-swelling"}], "hours": 1, "factors": ["isotretinoin"]})
    post(server.base, {"symptoms": [{"id": "secret-glitter"}], "hours": 31.4159})
    time.sleep(0.5)  # let the workers flush
    text = server.log.read_text()
    request_lines = [line for line in text.splitlines() if line.startswith("{")]
    assert request_lines
    for line in request_lines:
        entry = json.loads(line)
        assert set(entry) == {"time", "level", "logger", "method", "route", "status", "duration_ms"}
    for word in [*kb.symptoms, *kb.factors, "secret-glitter", "31.4159", "contact clinician"]:
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), word


def test_gunicorn_refuses_to_start_on_a_broken_knowledge_base(edit_kb: Any, tmp_path: Path) -> None:
    directory = edit_kb("symptoms.toml", 'id = "swelling"', 'id = "redness"')
    log = tmp_path / "gunicorn-broken.log"
    srv = start_gunicorn(log, {KNOWLEDGE_DIR_ENV: str(directory)}, wait=60)
    try:
        srv.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn kept running on a broken knowledge base")
    finally:
        srv.stop()
    assert srv.proc.returncode != 0
    text = log.read_text()
    assert "KnowledgeError" in text
    assert str(directory / "symptoms.toml") in text and "duplicate id" in text
