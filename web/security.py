"""Security headers on every response (HSTS only when the request came over HTTPS), and nurse
pages only for requests that come from this site."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue

from web.errors import bad_input

# No inline script or style anywhere: scripts and styles are files under /static.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def install_security_headers(app: Flask) -> None:
    """Add the headers after every request, including error responses."""

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path != "/healthz" and not request.path.startswith("/static/"):
            # Answers are health data: keep them out of shared and browser caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# What browsers send in Sec-Fetch-Site when the request comes from this site's own pages
# ("same-origin") or from the person (typed address, bookmark: "none"). "same-site" is a
# sibling subdomain, which is not this site.
OWN_SITE = frozenset({"same-origin", "none"})
CROSS_SITE = (
    "This page was opened from another site. To protect the records, open it from the nurse console on this site."
)


def install_same_site_check(app: Flask, blueprints: Iterable[str]) -> None:
    """Nurse pages (whose views and exports are audited in the nurse's name) refuse requests that
    a browser says came from another site. The SameSite=Strict session cookie already keeps
    such requests signed out; this holds even where a browser or a setting lets the cookie go."""
    checked = frozenset(blueprints)

    @app.before_request
    def _refuse_cross_site() -> ResponseReturnValue | None:
        origin = request.headers.get("Sec-Fetch-Site")
        if request.blueprint in checked and origin is not None and origin not in OWN_SITE:
            return bad_input(CROSS_SITE, 403)
        return None
