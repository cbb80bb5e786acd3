"""Which API client sent a request: the name of its API key (`flask api-key create NAME`), sent
as `Authorization: Bearer KEY`. The API answers anyone, but stores records only for a client
with a key (a flood of fake patients would otherwise be a few scripts away), names that client
in the audit trail ("api:NAME") and limits each key (RATELIMIT_API_KEY) besides each address.
A key that is wrong or revoked is a 401, whatever the request asked."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from web.db import database
from web.ratelimits import Budget
from web.storage import api_keys

NOT_STORED_WITHOUT_KEY = (
    "not stored: only a client with an API key can store records (send it as 'Authorization: Bearer KEY'; "
    "the clinic makes one with 'flask api-key create NAME'), so no reference code was issued"
)


def _presented() -> tuple[bool, str | None]:
    """(a key was sent, the name of its active client or None), looked up once per request."""
    found: tuple[bool, str | None] | None = g.get("api_client")
    if found is None:
        # request.headers["Authorization"], read from the environ: the API asks on every request,
        # and a header view raises (and catches) an exception for each header it does not find
        header = request.environ.get("HTTP_AUTHORIZATION")
        name = None
        if header is not None:
            scheme, _, key = header.strip().partition(" ")
            if scheme.lower() == "bearer" and key.strip():
                with database().transaction() as session:
                    name = api_keys.client_named_by(session, key.strip())
        found = g.api_client = (header is not None, name)
    return found


def api_client() -> str | None:
    """The name of the client whose valid key came with this request, or None (no key)."""
    return _presented()[1]


def refuse_unknown_key() -> Response | None:
    """A blueprint's before_request: a key sent but not known (or revoked) is a 401 JSON."""
    sent, name = _presented()
    if not sent or name is not None:
        return None
    response = jsonify(
        {
            "error": "unauthorized",
            "message": "the API key is not known or was revoked; send 'Authorization: Bearer KEY' with a key "
            "from 'flask api-key create NAME', or no Authorization header to be answered without storing",
            "status": 401,
        }
    )
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def key_budget(blueprints: tuple[Blueprint, ...]) -> Budget:
    """One budget per API key over the API and CDS Hooks (the address budgets still apply)."""
    return Budget(
        "api-key",
        "RATELIMIT_API_KEY",
        blueprints,
        key=lambda: f"client:{api_client()}",
        exempt_when=lambda: api_client() is None,
    )
