"""Request bodies are read whole, first, within limits of size and time.

Size: werkzeug enforces MAX_CONTENT_LENGTH on a body without Content-Length (chunked) by
stopping at the limit, which would silently truncate a too-large body (a 200 for a report
with trailing junk, or a misleading 400). Reading limit + 1 bytes first tells "exactly at
the limit" from "over it".

Time: under gunicorn's gevent worker (gunicorn.conf.py) the whole body must arrive within
REQUEST_BODY_TIMEOUT seconds (a deadline, so a client that trickles a byte a second is cut off
too); then the answer is 408 and the connection is free. A waiting client holds a greenlet, not
a thread; the deadline bounds how long. Under other workers each wait for the socket is bounded
by the same number of seconds (gunicorn's reader asks the socket many times in one read, so
only a greenlet's timer can bound the whole).

Framing: a body whose chunked framing is broken (a chunk size that is not hex, a chunk cut
short, a missing CRLF) is found while reading it here, and answered 400, never 500.

One route may take a larger body: a view marked with `larger_body(setting, timeout_setting)` (the
photo upload) is read within those config settings instead, and only it; every other route (the
API: 16 KiB in REQUEST_BODY_TIMEOUT) keeps MAX_CONTENT_LENGTH.

The body read is then the request's stream: werkzeug's own would wrap it again to guard its
length, which the reading here has done (so the length is guarded once).
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import BadRequest, ClientDisconnected, RequestEntityTooLarge, RequestTimeout

BAD_FRAMING = "the request body's framing is malformed (Transfer-Encoding: chunked sizes, terminators or trailers)"


def _read(raw: io.RawIOBase, want: int) -> bytes:
    data = bytearray()
    while len(data) < want:
        chunk = raw.read(want - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


View = TypeVar("View", bound=Callable[..., object])
LARGER_BODY_FORM_MEMORY = 256 * 1024


def larger_body(setting: str, timeout_setting: str) -> Callable[[View], View]:
    """Mark a view whose request body may be as large as config[`setting`] (instead of
    MAX_CONTENT_LENGTH) and take config[`timeout_setting`] seconds to arrive (instead of
    REQUEST_BODY_TIMEOUT): a phone sending three photos over a slow connection needs minutes."""

    def mark(view: View) -> View:
        view.body_limit_setting = setting  # type: ignore[attr-defined]
        view.body_timeout_setting = timeout_setting  # type: ignore[attr-defined]
        return view

    return mark


def _route_setting(app: Flask, mark: str) -> str | None:
    """The config setting this request's view names in `mark` (larger_body), or None."""
    setting: str | None = getattr(app.view_functions.get(request.endpoint or ""), mark, None)
    return setting


def body_timeout(app: Flask) -> int:
    """Seconds this request's route gives its body to arrive."""
    return int(app.config[_route_setting(app, "body_timeout_setting") or "REQUEST_BODY_TIMEOUT"])


def body_limit(app: Flask) -> int | None:
    """The body limit of this request's route."""
    setting = _route_setting(app, "body_limit_setting")
    limit = app.config.get(setting or "MAX_CONTENT_LENGTH")
    if setting is not None:
        request.max_content_length = limit  # werkzeug's own check agrees
        # The multipart parser checks each chunk it reads (64 KiB) against this too; text
        # fields stay small, files go to temporary files.
        request.max_form_memory_size = LARGER_BODY_FORM_MEMORY
    return int(limit) if limit is not None else None


def whole_body_deadline(seconds: float) -> contextlib.AbstractContextManager[object]:
    """A timer that raises TimeoutError in this greenlet after `seconds`, when gevent has patched
    the sockets (gunicorn's gevent worker); else nothing (the socket's own timeout applies)."""
    monkey = sys.modules.get("gevent.monkey")
    if seconds and monkey is not None and monkey.is_module_patched("socket"):
        import gevent  # already imported: gevent patched the sockets

        timer: contextlib.AbstractContextManager[object] = gevent.Timeout(seconds, TimeoutError)
        return timer
    return contextlib.nullcontext()


def install_body_limit(app: Flask) -> None:
    """Register first, so no other hook (CSRF reads the form) touches the stream before."""

    @app.before_request
    def _read_whole_body() -> None:
        limit = body_limit(app)
        environ = request.environ
        if request.method in ("GET", "HEAD", "OPTIONS") or limit is None:
            return
        declared = request.content_length
        if declared is None and not environ.get("wsgi.input_terminated"):
            return  # no body
        if declared is not None and declared > limit:
            return  # werkzeug answers 413 without reading it
        client: socket.socket | None = environ.get("gunicorn.socket")
        seconds = body_timeout(app)
        if client is not None:
            client.settimeout(seconds or None)
        try:
            with whole_body_deadline(seconds):
                data = _read(environ["wsgi.input"], limit + 1 if declared is None else declared)
        except TimeoutError:
            raise RequestTimeout() from None
        except (ParseException, OSError):
            # gunicorn's reader: a chunk size, extension, terminator or trailer (ParseException),
            # a chunk cut short (NoMoreData); werkzeug's "Invalid chunk header" (OSError)
            raise BadRequest(BAD_FRAMING) from None
        finally:
            if client is not None:
                client.settimeout(None)  # as gunicorn left it, for writing the answer
        if declared is None and len(data) > limit:
            raise RequestEntityTooLarge()
        if declared is not None and len(data) < declared:
            raise ClientDisconnected()  # the body ended before its Content-Length
        environ["wsgi.input"] = request.stream = io.BytesIO(data)  # read whole: nothing to guard
        environ["CONTENT_LENGTH"] = str(len(data))
