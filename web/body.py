"""Bodies without Content-Length (chunked): read at most the limit, and refuse more with 413.

Werkzeug enforces MAX_CONTENT_LENGTH on such streams by stopping at the limit, which would
silently truncate a too-large body (a 200 for a report with trailing junk, or a misleading
400). Reading limit + 1 bytes first tells "exactly at the limit" from "over it".
"""

from __future__ import annotations

import io

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge


def install_body_limit(app: Flask) -> None:
    """Register first, so no other hook (CSRF reads the form) touches the stream before."""

    @app.before_request
    def _bounded_stream() -> None:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        environ = request.environ
        if request.method in ("GET", "HEAD", "OPTIONS") or limit is None:
            return
        if request.content_length is not None or not environ.get("wsgi.input_terminated"):
            return
        raw = environ["wsgi.input"]
        data = bytearray()
        while len(data) <= limit:
            chunk = raw.read(limit + 1 - len(data))
            if not chunk:
                break
            data += chunk
        if len(data) > limit:
            raise RequestEntityTooLarge()
        environ["wsgi.input"] = io.BytesIO(bytes(data))
        environ["CONTENT_LENGTH"] = str(len(data))
