"""Nurse sign-in: wrong passwords, safe redirects, sign-out, disabled accounts, fresh sessions."""

from __future__ import annotations

import html

from sqlalchemy import select

from tests.web_helpers import csrf_token
from web.storage.models import AuditEvent


def _login(client, username, password, next_=""):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/nurse/login")
    data = {"csrf_token": token, "username": username, "password": password, "next": next_}
    return client.post("/nurse/login", data=data)


def test_wrong_password_is_refused_with_the_username_kept(app, client, nurse_account) -> None:  # type: ignore[no-untyped-def]
    response = _login(client, nurse_account[0], "not the password")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 401
    assert "The username or password is not right" in page
    assert f'value="{nurse_account[0]}"' in page
    assert "not the password" not in page
    assert client.get("/nurse").status_code == 302  # still signed out


def test_sign_in_goes_to_the_page_asked_for_and_only_on_this_site(app, client, nurse_account) -> None:  # type: ignore[no-untyped-def]
    assert _login(client, *nurse_account, next_="/nurse/overrides").headers["Location"] == "/nurse/overrides"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = app.test_client()
        location = _login(other, *nurse_account, next_=evil).headers["Location"]
        assert "evil" not in location and location == "/nurse", evil


def test_sign_in_issues_a_fresh_session_and_sign_out_ends_it(app, client, nurse_account) -> None:  # type: ignore[no-untyped-def]
    csrf_token(client, "/nurse/login")
    before = client.get_cookie("session").value
    _login(client, *nurse_account)
    assert client.get_cookie("session").value != before
    assert client.get("/nurse").status_code == 200
    out = client.post("/nurse/logout", data={"csrf_token": csrf_token(client, "/nurse")})
    assert out.status_code == 302 and out.headers["Location"] == "/nurse/login"
    assert client.get("/nurse").status_code == 302


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(app, client, runner, nurse_account) -> None:  # type: ignore[no-untyped-def]
    _login(client, *nurse_account)
    assert client.get("/nurse").status_code == 200
    result = runner.invoke(args=["nurse", "disable", nurse_account[0]])
    assert result.exit_code == 0 and "disabled" in result.output
    assert client.get("/nurse").status_code == 302  # the open session ends
    assert _login(app.test_client(), *nurse_account).status_code == 401
    assert runner.invoke(args=["nurse", "enable", nurse_account[0]]).exit_code == 0
    assert _login(app.test_client(), *nurse_account).status_code == 302
    assert runner.invoke(args=["nurse", "disable", "nobody"]).exit_code == 2
    with app.extensions["triage_db"].transaction() as s:
        actions = [a.action for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["create-nurse", "login", "disable-nurse", "login-failed", "enable-nurse", "login"]


def test_password_is_never_in_the_database_or_the_log(app, client, nurse_account, caplog) -> None:  # type: ignore[no-untyped-def]
    _login(client, nurse_account[0], "a wrong secret value")
    with app.extensions["triage_db"].transaction() as s:
        details = " ".join(str(a.detail) for a in s.scalars(select(AuditEvent)))
    assert "a wrong secret value" not in details and nurse_account[1] not in details
    assert "a wrong secret value" not in caplog.text
