"""Compressed responses (brotli or gzip, as the browser asks), for text only, and never where it
would open a BREACH-style leak.

BREACH: when a compressed response carries a secret (a CSRF token, a session's health data, a
reference code) and also text the attacker chose, the attacker can guess the secret from the
compressed length. Flask-WTF's token is the same session secret in every page (signed with a
timestamp, not masked per response), so the rule is about where attacker text can appear:

- compressed: GET and HEAD answers of the public pages (the patient form, which reflects none of
  the request but the language choice from a fixed list), the static files, /healthz, the API's
  description;
- never compressed: any answer to a POST (the form shown again keeps what was typed, next to a
  fresh CSRF token; a result page carries the reference code), and every nurse, sign-in and
  record page (a signed-in session's health data and token, with search input reflected).

See docs/SECURITY.md ("Compression and BREACH").
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

# Text only: images other than SVG, and anything already compressed, are left as they are.
TEXT_TYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/problem+json",
    "image/svg+xml",
]
# Blueprints whose pages carry a signed-in session's secrets and reflect its input.
PRIVATE_BLUEPRINTS = frozenset({"nurse", "records", "review", "auth"})


def compressible(response: Response) -> bool:
    """The BREACH rule: only answers to GET or HEAD, and never a private page."""
    if request.method not in ("GET", "HEAD") or response.status_code == 206:
        return False
    return request.blueprint not in PRIVATE_BLUEPRINTS


def install_compression(app: Flask) -> None:
    """Compress eligible responses after every other after-request hook has run (so the
    security headers are already set, and Vary: Accept-Encoding is added)."""
    app.config.setdefault("COMPRESS_MIMETYPES", TEXT_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config["COMPRESS_REGISTER"] = False
    compress = Compress(app)

    @app.after_request
    def _compress(response: Response) -> Response:
        if not compressible(response):
            return response
        if response.direct_passthrough and response.mimetype in TEXT_TYPES:
            # A static file is sent as a file stream; read it (they are small) so it is
            # compressed whole, with a Content-Length, by either algorithm.
            response.direct_passthrough = False
            response.set_data(response.get_data())
        return compress.after_request(response)
