"""Request logs: one line per request with method, route, status and duration, nothing else.

Symptoms and answers are health data, so bodies and query strings are never logged. Nor is
the path: a record's path holds its reference code, so the line names the route's pattern
(`/nurse/records/<code>`), or null when no route matched (a 404 or 405).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, request

ACCESS_LOGGER = "web.access"
ERROR_LOGGER = "web.errors"


def route() -> str | None:
    """The matched route's pattern, never the path."""
    return request.url_rule.rule if request.url_rule is not None else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__  # the type only: messages can echo input
        return json.dumps(entry, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """Readable lines for development."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            return " ".join(f"{k}={v}" for k, v in fields.items() if k != "traceback") + (
                "\n" + str(fields["traceback"]) if fields.get("traceback") else ""
            )
        return super().format(record)


class DropRequestLines(logging.Filter):
    """Drop the development server's request lines ('addr - - [date] "GET /?q=..." 200'), keep the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        return " - - [" not in str(record.msg)


def configure_logging(app: Flask) -> None:
    """Send the access and error logs to stderr in the configured format; hook requests in."""
    formatter = JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter()
    for name in (ACCESS_LOGGER, ERROR_LOGGER):
        logger = logging.getLogger(name)
        if not any(getattr(h, "_triage", False) for h in logger.handlers):
            stream = logging.StreamHandler(sys.stderr)
            stream._triage = True  # type: ignore[attr-defined]
            logger.addHandler(stream)
        for handler in logger.handlers:
            if getattr(handler, "_triage", False):
                handler.setFormatter(formatter)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logger = logging.getLogger(ACCESS_LOGGER)
    # The development server's own access log prints query strings; ours replaces it.
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DropRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(DropRequestLines())

    if not app.config["LOG_REQUESTS"]:
        return

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        logger.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    "route": route(),
                    "status": response.status_code,
                    "duration_ms": round(duration, 2),
                }
            },
        )
        return response
