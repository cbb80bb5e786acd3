"""Error responses: JSON for the API (never an HTML page), a plain page for people."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from web.logs import ERROR_LOGGER, route

log = logging.getLogger(ERROR_LOGGER)

# The plain sentence for each status: a page shows it in the page's language (the catalogue
# translates each; nurse pages are English), the API's JSON in English.
MESSAGES = {
    400: lazy_gettext("The request could not be read."),
    403: lazy_gettext("This page can only be opened from this site."),
    404: lazy_gettext("There is no page at this address."),
    405: lazy_gettext("This address does not accept that kind of request."),
    408: lazy_gettext("The request took too long to arrive. Please try again."),
    413: lazy_gettext("The request is too large."),
    415: lazy_gettext("The request has the wrong content type."),
    429: lazy_gettext("Too many requests in a short time. Please wait a minute and try again."),
    500: lazy_gettext("Something went wrong on our side."),
}
OTHER_REQUEST_ERROR = lazy_gettext("This request could not be handled.")


def page_message(status: int) -> str:
    """The sentence an error page shows, in the page's language (never werkzeug's English)."""
    return str(MESSAGES.get(status) or (MESSAGES[500] if status >= 500 else OTHER_REQUEST_ERROR))


def english_message(status: int) -> str:
    """The same sentence in English, for the API."""
    with force_locale("en"):
        return page_message(status)


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/cds-services")) or request.path == "/healthz"


def json_error(status: int, name: str, message: str) -> Response:
    """The API's error body: what went wrong, in words, with the status."""
    response = jsonify({"error": name, "message": message, "status": status})
    response.status_code = status
    return response


def bad_input(message: str, status: int = 400) -> Response | tuple[str, int]:
    """An error that names what was wrong, as JSON for the API and as a page for people."""
    if wants_json():
        return json_error(status, "bad request" if status == 400 else "error", message)
    return render_template("error.html", status=status, message=message), status


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        name = (exc.name or "error").lower()
        if isinstance(exc, CSRFError):
            return _csrf(exc)
        if status == 429 and exc.response is not None:
            return exc.response  # an answer made for that limit (web.sign_in_limits: the wait, in words)
        message = exc.description or english_message(status)
        if status == 413:
            message = f"the request body is larger than the limit of {current_app.config['MAX_CONTENT_LENGTH']} bytes"
        if wants_json():
            response = json_error(status, name, message)
            if status == 405 and exc.get_response().headers.get("Allow"):
                response.headers["Allow"] = exc.get_response().headers["Allow"]
            return response
        return render_template("error.html", status=status, message=page_message(status)), status

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response | tuple[str, int]:
        # The type and frames only: exception messages can echo what the person entered.
        log.error(
            "unhandled error",
            extra={
                "fields": {
                    "event": "unhandled error",
                    "error": type(exc).__name__,
                    "method": request.method,
                    "route": route(),
                    "traceback": "".join(traceback.format_tb(exc.__traceback__)),
                }
            },
        )
        if wants_json():
            return json_error(500, "internal server error", english_message(500))
        return render_template("error.html", status=500, message=page_message(500)), 500

    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        """A missing or stale form token. The patient form, the nurse console and the record
        pages never get here: their blueprints' own CSRFError handlers show the form again,
        with what was typed kept."""
        if wants_json():
            return json_error(400, "bad request", exc.description or "CSRF check failed")
        return render_template("error.html", status=400, message=page_message(400)), 400
