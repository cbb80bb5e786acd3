"""Sign-in limited per account, from every address together, without a lock-out.

The per-address budget (RATELIMIT_LOGIN) does not stop an attacker with many addresses (an IPv6
/64 holds billions), so every sign-in post also counts against its account: RATELIMIT_LOGIN_ACCOUNT
(10 a minute and 50 a day) per username, in the same storage as the other limits (Redis: across
workers and servers). Over it the answer is 429 with Retry-After and the wait in words; the
account itself is never locked, and the password is not even checked.

A budget per account alone would let an attacker who knows a username spend it and keep the
nurse out until the window ends. So a browser the nurse has signed in from before carries a
signed "known browser" cookie (NURSE_DEVICE_COOKIE, a year), and its attempts count against a
budget of that account and that browser only: an attacker cannot make the cookie (it is signed
with SECRET_KEY) and so cannot spend that budget. Only a browser new to the account waits.

Keys are an HMAC of the normalised username under SECRET_KEY, so the limiter's storage never
holds a username (and a copy of Redis cannot be checked against a list of names).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time

from flask import Blueprint, Response, current_app, make_response, render_template, request, session
from flask_limiter import RequestLimit
from itsdangerous import BadSignature, URLSafeTimedSerializer

from web.db import database
from web.ratelimits import Budget
from web.storage import store

NURSE_DEVICE_COOKIE = "nurse_browser"
DEVICE_SECONDS = 365 * 24 * 3600
MAX_ACCOUNTS_PER_BROWSER = 20
PENDING = "sign_in_pending"  # session key: the account whose second factor is awaited (web.auth)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="nurse-known-browser")


def account_digest(username: str) -> str:
    key = current_app.config["SECRET_KEY"]
    raw = key.encode() if isinstance(key, str) else key
    return hmac.new(raw, username.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def _known_browser() -> tuple[str, list[str]]:
    """This browser's id and the accounts signed in from it ("", [] for a browser not seen)."""
    raw = request.cookies.get(NURSE_DEVICE_COOKIE)
    if not raw:
        return "", []
    try:
        data = _serializer().loads(raw, max_age=DEVICE_SECONDS)
    except BadSignature:
        return "", []
    if not isinstance(data, dict) or not isinstance(data.get("b"), str) or not isinstance(data.get("a"), list):
        return "", []
    return data["b"], [a for a in data["a"] if isinstance(a, str)]


def remember_browser(response: Response, username: str) -> Response:
    """After a sign-in: this browser now has the account's own budget."""
    browser, accounts = _known_browser()
    digest = account_digest(username)
    accounts = [digest, *[a for a in accounts if a != digest]][:MAX_ACCOUNTS_PER_BROWSER]
    value = _serializer().dumps({"b": browser or secrets.token_urlsafe(12), "a": accounts})
    response.set_cookie(
        NURSE_DEVICE_COOKIE,
        value,
        max_age=DEVICE_SECONDS,
        path="/nurse",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Strict",
    )
    return response


def attempted_username() -> str:
    """The account a sign-in post is for: the form's username, or the one awaiting its code."""
    typed = request.form.get("username")
    if typed is not None:
        return store.storable(typed)
    pending = session.get(PENDING)
    return str(pending.get("username", "")) if isinstance(pending, dict) else ""


def _account_key() -> str:
    username = attempted_username()
    digest = account_digest(username)
    browser, accounts = _known_browser()
    return f"{digest}:{browser}" if browser and digest in accounts else digest


def _not_a_sign_in() -> bool:
    return request.endpoint not in SIGN_IN_ENDPOINTS or not attempted_username().strip()


def _wait_words(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"


def _too_many(limit: RequestLimit) -> Response:
    """The sign-in page again, saying how long to wait and that the account is not locked."""
    wait = max(1.0, limit.reset_at - time.time())
    username = attempted_username()
    with database().transaction() as db_session:
        store.login_failed(db_session, username, "login-limited")
    message = (
        f"Too many sign-in attempts for this account in a short time. Wait {_wait_words(wait)} and try again. "
        "The account is not locked; a browser you have signed in with before is not held up."
    )
    page = render_template(
        "login.html", username=username, error=message, next=store.storable(request.form.get("next", ""))
    )
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(math.ceil(wait))
    return response


SIGN_IN_ENDPOINTS = frozenset({"auth.login_post", "auth.code_post", "auth.enrol_post"})


def account_budget(blueprint: Blueprint) -> Budget:
    """The per-account budget on every sign-in post (password, code, enrolment)."""
    return Budget(
        "sign-in-account",
        "RATELIMIT_LOGIN_ACCOUNT",
        (blueprint,),
        methods=("POST",),
        key=_account_key,
        exempt_when=_not_a_sign_in,
        on_breach=_too_many,
    )
