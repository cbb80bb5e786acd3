"""Refuse text the database cannot store before any handler passes it on: a 400 that says why.

PostgreSQL refuses a NUL character in text (an error, so a 500, after the request had done
half its work); a lone surrogate cannot be encoded at all. Only the nurse side hands typed text
to the database (usernames, reference codes, override reasons), so only its blueprints are
checked; a refused sign-in is still audited.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request
from flask.typing import ResponseReturnValue

from web.errors import bad_input
from web.storage import store

LABELS = {"code": "The reference code", "username": "The username", "reason": "The reason", "next": "The address"}
NEVER_STORED = frozenset({"password"})  # only its hash is, whatever characters it has


def _fields() -> Iterable[tuple[str, str]]:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    yield from request.args.items(multi=True)
    if request.method == "POST":
        yield from ((k, v) for k, v in request.form.items(multi=True) if k not in NEVER_STORED)


def unstorable_field() -> str | None:
    """A message naming the first field of this request with such a character, or None."""
    for name, value in _fields():
        for text in (name, value):
            if (char := store.unstorable(text)) is not None:
                label = LABELS.get(name, f"The field {store.storable(name)!r}")
                return f"{label} contains a character that is not allowed ({char}). Remove it and try again."
    return None


def install_text_check(app: Flask, blueprints: Iterable[str]) -> None:
    checked = frozenset(blueprints)

    @app.before_request
    def _refuse_unstorable_text() -> ResponseReturnValue | None:
        if request.blueprint not in checked or (message := unstorable_field()) is None:
            return None
        if request.endpoint == "auth.login_post":
            from web.auth import refuse_sign_in

            return refuse_sign_in(message)
        return bad_input(message)
