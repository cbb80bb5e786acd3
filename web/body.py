"""Request bodies are read whole, first, within limits of size and time.

Size: werkzeug enforces MAX_CONTENT_LENGTH on a body without Content-Length (chunked) by
stopping at the limit, which would silently truncate a too-large body (a 200 for a report
with trailing junk, or a misleading 400). Reading limit + 1 bytes first tells "exactly at
the limit" from "over it".

Time: a client that sends the headers and then stalls would hold a server thread for as long
as it likes. Under gunicorn each read waits at most REQUEST_BODY_TIMEOUT seconds; then the
answer is 408 and the thread is free. A client that trickles a byte at a time is
bounded by the server's thread count instead; a buffering reverse proxy takes both off us.

One route may take a larger body: a view marked with `larger_body(setting)` (the photo upload)
is read within that config setting instead, and only it; every other route (the API: 16 KiB)
keeps MAX_CONTENT_LENGTH.

The body read is then the request's stream: werkzeug's own would wrap it again to guard its
length, which the reading here has done (so the length is guarded once).
"""

from __future__ import annotations

import io
import socket
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge, RequestTimeout


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


def larger_body(setting: str) -> Callable[[View], View]:
    """Mark a view whose request body may be as large as config[`setting`] (instead of
    MAX_CONTENT_LENGTH)."""

    def mark(view: View) -> View:
        view.body_limit_setting = setting  # type: ignore[attr-defined]
        return view

    return mark


def body_limit(app: Flask) -> int | None:
    """The body limit of this request's route."""
    view = app.view_functions.get(request.endpoint or "")
    setting = getattr(view, "body_limit_setting", None)
    limit = app.config.get(setting or "MAX_CONTENT_LENGTH")
    if setting is not None:
        request.max_content_length = limit  # werkzeug's own check agrees
        # The multipart parser checks each chunk it reads (64 KiB) against this too; text
        # fields stay small, files go to temporary files.
        request.max_form_memory_size = LARGER_BODY_FORM_MEMORY
    return int(limit) if limit is not None else None


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
        if client is not None:
            client.settimeout(app.config["REQUEST_BODY_TIMEOUT"] or None)
        try:
            data = _read(environ["wsgi.input"], limit + 1 if declared is None else declared)
        except TimeoutError:
            raise RequestTimeout() from None
        finally:
            if client is not None:
                client.settimeout(None)  # as gunicorn left it, for writing the answer
        if declared is None and len(data) > limit:
            raise RequestEntityTooLarge()
        if declared is not None and len(data) < declared:
            raise ClientDisconnected()  # the body ended before its Content-Length
        environ["wsgi.input"] = request.stream = io.BytesIO(data)  # read whole: nothing to guard
        environ["CONTENT_LENGTH"] = str(len(data))
