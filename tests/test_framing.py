"""Bad framing is a 400, never a 500 (issue 34, finding 4).

A body sent with `Transfer-Encoding: chunked` is unframed by the server as the app reads it
(web.body), so a malformed one surfaces in the app: it must be 400, as JSON on the API and as
a page elsewhere (the sign-in form). Each case against gunicorn with gunicorn.conf.py as
shipped (raw sockets), and each kind of error a server's reader raises against the WSGI app.
Framing errors in the request head (a Content-Length that is not a number, both Content-Length
and chunked) never reach the app: gunicorn answers them 400 itself, checked here too.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidHeader,
    LimitRequestHeaders,
    NoMoreData,
)

from tests.gunicorn_server import Server, start_gunicorn
from tests.support import MakeApp

REPORT = json.dumps({"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}).encode()
SIZE = b"%x" % len(REPORT)

# The body after the head, each malformed in one way.
MALFORMED = {
    "chunk size not hex (zz)": b"zz\r\n" + REPORT + b"\r\n0\r\n\r\n",
    "negative chunk size": b"-5\r\nhello\r\n0\r\n\r\n",
    "chunk size with spaces inside": b"1 0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n",
    "chunk size line without end": b"1" * 9000,
    "chunk cut short": SIZE + b"\r\n" + REPORT[:10],
    "chunk data without its CRLF": SIZE + b"\r\n" + REPORT + b"XX0\r\n\r\n",
    "last chunk without the final CRLF": SIZE + b"\r\n" + REPORT + b"\r\n0\r\n",
    "bad chunk extension": SIZE + b";=\r\n" + REPORT + b"\r\n0\r\n\r\n",
    "bad trailer": SIZE + b"\r\n" + REPORT + b"\r\n0\r\nno colon here\r\n\r\n",
    "trailer with bare LF": SIZE + b"\r\n" + REPORT + b"\r\n0\r\nX-A: 1\nX-B: 2\r\n\r\n",
    "nothing after the head": b"",
}

API_HEAD = b"POST /api/v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
FORM_HEAD = (
    b"POST /nurse/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
)
CHUNKED = b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("framing") / "gunicorn.log"
    server = start_gunicorn(log, args=())
    if server.proc.poll() is not None:
        pytest.fail(f"gunicorn exited with {server.proc.returncode}: {log.read_text()[-800:]}")
    yield server
    server.stop()


def exchange(port: int, payload: bytes) -> tuple[int, bytes, bytes]:
    """Send the bytes, end the sending side, read the whole answer: status, head, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), answer[:200]
    return int(head[9:12]), head, body


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_chunked_report_is_400_json(shipped: Server, body: bytes) -> None:
    status, head, answer = exchange(shipped.port, API_HEAD + CHUNKED + body)
    assert status == 400, answer[:300]
    assert b"application/json" in head
    error = json.loads(answer)
    assert error["status"] == 400 and "framing" in error["message"]


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_chunked_sign_in_form_is_a_400_page(shipped: Server, body: bytes) -> None:
    status, head, answer = exchange(shipped.port, FORM_HEAD + CHUNKED + body)
    assert status == 400, answer[:300]
    assert b"text/html" in head and b"Content-Security-Policy" in head  # the app's page
    assert b"The request could not be read." in answer


def test_well_formed_chunked_report_is_still_answered(shipped: Server) -> None:
    status, _, answer = exchange(shipped.port, API_HEAD + CHUNKED + SIZE + b"\r\n" + REPORT + b"\r\n0\r\n\r\n")
    assert status == 200 and json.loads(answer)["disposition"]


HEAD_ERRORS = {
    "Content-Length not a number": b"Content-Length: 1x\r\n\r\n{}",
    "two different Content-Lengths": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ",
    "Content-Length and chunked": b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "unknown transfer coding": b"Transfer-Encoding: gzip\r\n\r\n{}",
    "chunked not last": b"Transfer-Encoding: chunked, gzip\r\n\r\n{}",
}


@pytest.mark.parametrize("rest", HEAD_ERRORS.values(), ids=HEAD_ERRORS.keys())
def test_framing_errors_in_the_head_are_400_from_gunicorn(shipped: Server, rest: bytes) -> None:
    status, _, answer = exchange(shipped.port, API_HEAD + rest)
    assert status in (400, 501), answer[:300]  # 501: a transfer coding gunicorn does not implement


# --- the WSGI app: each error a server's chunked reader raises -------------------------------

READER_ERRORS = {
    "gunicorn InvalidChunkSize": InvalidChunkSize(b"zz"),
    "gunicorn ChunkMissingTerminator": ChunkMissingTerminator(b"XX"),
    "gunicorn InvalidChunkExtension": InvalidChunkExtension("empty name"),
    "gunicorn InvalidHeader (trailer)": InvalidHeader("no colon"),
    "gunicorn LimitRequestHeaders (trailer)": LimitRequestHeaders("trailer too large"),
    "gunicorn NoMoreData (cut short)": NoMoreData(b""),
    "werkzeug's invalid chunk header": OSError("Invalid chunk header"),
    "werkzeug's missing chunk newline": OSError("Missing chunk terminating newline"),
    "connection reset": ConnectionResetError(),
}


class BrokenChunks(io.RawIOBase):
    """A chunked body whose reader fails after the first bytes, as a server's would."""

    def __init__(self, error: BaseException) -> None:
        self.error, self.sent = error, False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self.sent:
            self.sent = True
            return b'{"symptoms"'
        raise self.error


@pytest.mark.parametrize("error", READER_ERRORS.values(), ids=READER_ERRORS.keys())
@pytest.mark.parametrize("path", ["/api/v1/assess", "/nurse/login"])
def test_reader_errors_are_400_in_the_app(make_app: MakeApp, path: str, error: BaseException) -> None:
    client: FlaskClient = make_app().test_client()
    response = client.post(
        path,
        content_type="application/json",
        environ_overrides={"wsgi.input": BrokenChunks(error), "wsgi.input_terminated": True},
        headers={"Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.get_json()["status"] == 400
    else:
        assert b"The request could not be read." in response.data
