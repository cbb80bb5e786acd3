"""The holes a security test of the production set-up found (issue 15), each tried again:
revoking a session from the server, the CSRF-error path for anonymous users, characters the
database refuses, audited views from other sites, and the client address in the audit trail.

The app runs on SQLite and, when DATABASE_URL names one, on PostgreSQL too (where a NUL used
to be a 500).
"""

from __future__ import annotations

import html
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support import NURSE, MakeApp
from tests.web_helpers import csrf_token, sign_in
from web.assessor import current_assessor
from web.db import database
from web.storage import store
from web.storage.models import AuditEvent

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


@pytest.fixture
def secure_app(records_db: Any, make_app: MakeApp) -> Flask:
    """The app on SQLite or on PostgreSQL (a schema of its own: records_db), with a nurse
    account and a record."""
    app = make_app(LOG_REQUESTS=False, DATABASE_URL=records_db.url)
    with app.app_context(), database().transaction() as session:
        store.create_nurse(session, *NURSE)
        answer = current_assessor().assess(["redness:mild"], 30)
        app.config["TEST_CODE"] = store.create_record(session, answer, "patient-form").reference
    return app


def database_of(app: Flask) -> Any:
    return app.extensions["triage_db"]


def signed_in(app: Flask, address: str | None = None) -> FlaskClient:
    client = app.test_client()
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    sign_in(client, *NURSE)
    return client


def events(app: Flask) -> list[AuditEvent]:
    with database_of(app).sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def actions(app: Flask) -> list[str]:
    return [e.action for e in events(app)]


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(app: Flask, cookie: str, user_agent: str = "pytest") -> FlaskClient:
    """A fresh client (another browser, if the User-Agent differs) holding a saved cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    other.environ_base["HTTP_USER_AGENT"] = user_agent
    return other


def exports_open(client: FlaskClient, code: str) -> list[int]:
    return [client.get(path).status_code for path in ("/nurse/overrides.csv", f"/nurse/records/{code}/fhir.json")]


# --- sessions end on the server ------------------------------------------------------------


def test_a_cookie_saved_before_sign_out_is_refused(secure_app: Flask) -> None:
    code = secure_app.config["TEST_CODE"]
    nurse = signed_in(secure_app)
    saved = session_cookie(nurse)
    assert exports_open(replay(secure_app, saved), code) == [200, 200]  # the control: the cookie works
    nurse.post("/nurse/logout", data={"csrf_token": csrf_token(nurse, "/nurse")})
    for user_agent in ("pytest", "another browser/1.0"):
        assert exports_open(replay(secure_app, saved, user_agent), code) == [302, 302]
    assert "logout" in actions(secure_app)
    assert exports_open(signed_in(secure_app), code) == [200, 200]  # signing in again works


def test_disabling_ends_open_sessions_and_enabling_does_not_revive_them(secure_app: Flask) -> None:
    code = secure_app.config["TEST_CODE"]
    saved = session_cookie(signed_in(secure_app))
    runner = secure_app.test_cli_runner()
    assert runner.invoke(args=["nurse", "disable", NURSE[0]]).exit_code == 0
    assert exports_open(replay(secure_app, saved), code) == [302, 302]
    assert runner.invoke(args=["nurse", "enable", NURSE[0]]).exit_code == 0
    assert exports_open(replay(secure_app, saved), code) == [302, 302]
    assert exports_open(signed_in(secure_app), code) == [200, 200]


def test_a_new_password_ends_open_sessions(secure_app: Flask) -> None:
    code = secure_app.config["TEST_CODE"]
    saved = session_cookie(signed_in(secure_app))
    runner = secure_app.test_cli_runner()
    new = "a different long passphrase"
    short = runner.invoke(args=["nurse", "password", NURSE[0], "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    assert exports_open(replay(secure_app, saved), code) == [200, 200]  # a refused change ends nothing
    done = runner.invoke(args=["nurse", "password", NURSE[0], "--password-stdin"], input=new + "\n")
    assert done.exit_code == 0, done.output
    assert exports_open(replay(secure_app, saved), code) == [302, 302]
    client = secure_app.test_client()
    token = csrf_token(client, "/nurse/login")
    old = client.post("/nurse/login", data={"csrf_token": token, "username": NURSE[0], "password": NURSE[1]})
    assert old.status_code == 401
    sign_in(client, NURSE[0], new)
    assert exports_open(client, code) == [200, 200]
    assert runner.invoke(args=["nurse", "password", "nobody", "--password-stdin"], input=new + "\n").exit_code == 2
    assert "change-password" in actions(secure_app)


def test_a_cookie_from_before_session_versions_is_refused(secure_app: Flask) -> None:
    """Cookies issued before this change hold only the account id: they sign nobody in."""
    client = signed_in(secure_app)
    with client.session_transaction() as session:
        assert session["_user_id"].endswith(".1")
        session["_user_id"] = session["_user_id"].split(".")[0]
    assert client.get("/nurse").status_code == 302


# --- the CSRF-error path checks sign-in first ----------------------------------------------


def test_anonymous_post_without_a_token_does_not_show_the_console(secure_app: Flask) -> None:
    anonymous = secure_app.test_client()
    response = anonymous.post("/nurse", data={"symptoms": "hives:severe", "hours": "5", "notes": "echo-me-123"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/nurse/login")
    page = response.get_data(as_text=True)
    assert "echo-me-123" not in page and "hives" not in page and "Assess" not in page
    # The control: a signed-in nurse without a token gets the console back with the input kept.
    nurse = signed_in(secure_app)
    kept = nurse.post("/nurse", data={"symptoms": "hives:severe", "hours": "5"})
    assert kept.status_code == 400 and "hives:severe" in html.unescape(kept.get_data(as_text=True))


# --- characters the database refuses -------------------------------------------------------


def test_a_nul_in_the_username_is_refused_and_audited(secure_app: Flask) -> None:
    client = secure_app.test_client()
    token = csrf_token(client, "/nurse/login")
    response = client.post(
        "/nurse/login", data={"csrf_token": token, "username": "alice\x00", "password": "whatever it is"}
    )
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "The username contains a character that is not allowed (U+0000)" in page
    assert 'value="alice\ufffd"' in page  # kept, with the character shown as a replacement mark
    failed = [e for e in events(secure_app) if e.action == "login-failed"]
    assert [(e.actor, e.detail) for e in failed] == [("anonymous", "alice\ufffd")]
    assert client.get("/nurse").status_code == 302  # not signed in
    # The password is never stored, only hashed: a NUL in it is just a wrong password.
    token = csrf_token(client, "/nurse/login")
    wrong = client.post("/nurse/login", data={"csrf_token": token, "username": NURSE[0], "password": "x\x00y"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/nurse/records/open?code=AB%00CD", None),
        ("GET", "/nurse/records/AB%00CD", None),
        ("GET", "/nurse/records/AB%00CD/fhir.json", None),
        ("POST", "/nurse/records/{code}/entries/1/override", {"disposition": "monitor", "reason": "bad\x00reason"}),
        ("POST", "/nurse/records/{code}/entries", {"symptoms": "redness", "hours": "5\x00"}),
    ],
    ids=["open by code", "record page", "FHIR export", "override reason", "call-back"],
)
def test_a_nul_anywhere_on_the_nurse_side_is_a_400_that_says_why(
    secure_app: Flask, method: str, path: str, data: dict[str, str] | None
) -> None:
    nurse = signed_in(secure_app)
    path = path.format(code=secure_app.config["TEST_CODE"])
    if data is not None:
        data = data | {"csrf_token": csrf_token(nurse, "/nurse/records")}
    before = len(events(secure_app))
    response = nurse.open(path, method=method, data=data)
    assert response.status_code == 400
    assert "contains a character that is not allowed (U+0000)" in html.unescape(response.get_data(as_text=True))
    assert all(response.headers.get(h) for h in SECURITY_HEADERS)
    assert len(events(secure_app)) == before  # refused before anything was looked up or written


def test_the_audit_trail_records_a_hostile_detail_instead_of_failing(secure_app: Flask) -> None:
    """Below the web layer too: a detail with NUL or a lone surrogate is stored, replaced."""
    with database_of(secure_app).transaction() as session:
        store.audit(session, "cli", "test", detail="a\x00b\ud800c")
    assert events(secure_app)[-1].detail == "a\ufffdb\ufffdc"


# --- audited nurse pages only from this site -----------------------------------------------


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site"])
def test_views_and_exports_from_another_site_are_refused_and_not_audited(secure_app: Flask, fetch_site: str) -> None:
    code = secure_app.config["TEST_CODE"]
    nurse = signed_in(secure_app)
    before = actions(secure_app)
    for path in (f"/nurse/records/{code}", f"/nurse/records/{code}/fhir.json", "/nurse/overrides.csv"):
        response = nurse.get(path, headers={"Sec-Fetch-Site": fetch_site})
        assert response.status_code == 403, path
        assert "opened from another site" in response.get_data(as_text=True)
        assert all(response.headers.get(h) for h in SECURITY_HEADERS)
    assert actions(secure_app) == before


@pytest.mark.parametrize("fetch_site", ["same-origin", "none", None])
def test_views_from_this_site_or_typed_in_are_served_and_audited(secure_app: Flask, fetch_site: str | None) -> None:
    code = secure_app.config["TEST_CODE"]
    nurse = signed_in(secure_app)
    headers = {"Sec-Fetch-Site": fetch_site} if fetch_site else {}
    assert nurse.get(f"/nurse/records/{code}", headers=headers).status_code == 200
    assert nurse.get("/nurse/overrides.csv", headers=headers).status_code == 200
    assert actions(secure_app)[-2:] == ["view", "export-overrides-csv"]


def test_the_session_cookie_is_samesite_strict(secure_app: Flask) -> None:
    client = secure_app.test_client()
    token = csrf_token(client, "/nurse/login")
    response = client.post("/nurse/login", data={"csrf_token": token, "username": NURSE[0], "password": NURSE[1]})
    assert "SameSite=Strict" in response.headers["Set-Cookie"]


# --- the client address in the audit trail -------------------------------------------------


def test_audit_rows_hold_the_client_address(secure_app: Flask) -> None:
    code = secure_app.config["TEST_CODE"]
    nurse = signed_in(secure_app, "192.0.2.10")
    forged = {"X-Forwarded-For": "198.51.100.99"}  # no trusted proxy: ignored
    nurse.get(f"/nurse/records/{code}", headers=forged)
    rows = events(secure_app)
    assert [(e.action, e.client) for e in rows[-2:]] == [("login", "192.0.2.10"), ("view", "192.0.2.10")]
    assert rows[0].action == "create-nurse" and rows[0].client is None  # made outside a request


def test_behind_a_proxy_the_audit_trail_holds_the_forwarded_address(make_app: MakeApp) -> None:
    app = make_app(PROXY_COUNT=1)
    with app.app_context(), database().transaction() as session:
        store.create_nurse(session, *NURSE)
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7")
    sign_in(client, *NURSE)
    assert [(e.action, e.client) for e in events(app)][-1] == ("login", "198.51.100.7")


# --- error answers the app gives: JSON on the API, with the security headers everywhere ----


class Stalled(io.BytesIO):
    """A request body that stops arriving (what the server's socket timeout raises)."""

    def read(self, *_: Any) -> bytes:
        raise TimeoutError("timed out")


def send(client: FlaskClient, method: str, path: str, kwargs: dict[str, Any]) -> Any:
    if not kwargs.get("stalled"):
        return client.open(path, method=method, **kwargs)
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, method=method, content_type=kwargs["stalled"]).get_environ()
    environ.update({"wsgi.input": Stalled(), "CONTENT_LENGTH": "100"})  # 100 bytes promised, none come
    return client.application.response_class.from_app(client.application, environ, buffered=True)


ERRORS = [
    ("GET", "/api/v1/nope", {}, 404),
    ("DELETE", "/api/v1/assess", {}, 405),
    ("POST", "/api/v1/assess", {"data": "{", "content_type": "application/json"}, 400),
    ("POST", "/api/v1/assess", {"data": "{}", "content_type": "text/plain"}, 415),
    ("POST", "/api/v1/assess", {"json": {"symptoms": []}}, 422),
    ("POST", "/api/v1/assess", {"data": "x" * 20_000, "content_type": "application/json"}, 413),
    ("POST", "/api/v1/assess", {"stalled": "application/json"}, 408),
    ("POST", "/cds-services/nope", {"json": {}}, 404),
    ("GET", "/healthz?x=" + "y" * 3000, {}, 200),  # a long address the app can still serve
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), ERRORS, ids=[f"{s} {p[:30]}" for _, p, _, s in ERRORS])
def test_api_errors_are_json_with_the_security_headers(
    client: FlaskClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = send(client, method, path, kwargs)
    assert response.status_code == status
    assert response.is_json, response.get_data(as_text=True)[:200]
    if status >= 400:
        assert "error" in response.get_json()
    assert all(response.headers.get(h) for h in SECURITY_HEADERS)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/nope", {}, 404),
        ("DELETE", "/", {}, 405),
        ("POST", "/", {"data": {"notes": "x" * 20_000}}, 413),
        ("POST", "/", {"stalled": "application/x-www-form-urlencoded"}, 408),
    ],
)
def test_page_errors_have_the_security_headers(
    client: FlaskClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = send(client, method, path, kwargs)
    assert response.status_code == status and "text/html" in response.content_type
    assert all(response.headers.get(h) for h in SECURITY_HEADERS)
