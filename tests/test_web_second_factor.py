"""Issue 34, item 2: the nurses' optional second factor (TOTP, NURSE_MFA), on a clock the tests move."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select

from tests.support import NURSE
from tests.web_helpers import csrf_token
from web.storage.models import AuditEvent, Nurse, RecoveryCode

START = datetime(2026, 12, 6, 7, 0, 10, tzinfo=UTC)


def _app(make_app, mode: str):  # type: ignore[no-untyped-def]
    app = make_app(NURSE_MFA=mode)
    result = app.test_cli_runner().invoke(args=["nurse", "create", NURSE[0], "--password-stdin"], input=NURSE[1] + "\n")
    assert result.exit_code == 0
    clock = {"now": START}
    app.config["NOW"] = lambda: clock["now"]
    return app, clock


def _password(client):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/nurse/login")
    return client.post("/nurse/login", data={"csrf_token": token, "username": NURSE[0], "password": NURSE[1]})


def _post(client, path: str, code: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client, path), "code": code})


def _enrol(client, path: str):  # type: ignore[no-untyped-def]
    """The set-up page's secret, as an authenticator app reads it from the QR code."""
    page = html.unescape(client.get(path).get_data(as_text=True))
    assert '<img src="data:image/svg+xml' in page  # an image the CSP allows (img-src data:)
    secret = re.search(r'class="setup-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")  # type: ignore[union-attr]
    return pyotp.TOTP(secret)


def _codes(page: str) -> list[str]:
    return re.findall(r"<li><code>([A-Z0-9-]{19})</code></li>", page)


def _nurse(app) -> Nurse:  # type: ignore[no-untyped-def]
    with app.extensions["triage_db"].transaction() as s:
        nurse = s.scalars(select(Nurse)).one()
        s.expunge(nurse)
        return nurse


def test_required_second_factor_is_set_up_at_first_sign_in_with_recovery_codes(make_app, caplog) -> None:  # type: ignore[no-untyped-def]
    app, clock = _app(make_app, "required")
    client = app.test_client()
    first = _password(client)
    assert first.status_code == 302 and first.headers["Location"] == "/nurse/login/enrol"
    assert client.get("/nurse").status_code == 302  # not signed in before the code
    totp = _enrol(client, "/nurse/login/enrol")
    wrong = _post(client, "/nurse/login/enrol", "000000")
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    done = _post(client, "/nurse/login/enrol", totp.at(clock["now"]))
    codes = _codes(done.get_data(as_text=True))
    assert done.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/nurse").status_code == 200
    stored = _nurse(app)
    assert stored.totp_enabled and stored.totp_secret and totp.secret not in stored.totp_secret  # sealed
    with app.extensions["triage_db"].transaction() as s:
        hashes = " ".join(c.code_hash for c in s.scalars(select(RecoveryCode)))
        trail = " ".join(f"{a.action} {a.detail}" for a in s.scalars(select(AuditEvent)))
    assert not any(c.replace("-", "") in hashes or c in hashes for c in codes)
    assert totp.secret not in caplog.text and totp.secret not in trail and codes[0] not in caplog.text
    assert "enrol-second-factor" in trail and "login-code-failed" in trail


def test_code_is_asked_for_and_a_code_is_never_accepted_twice(make_app) -> None:  # type: ignore[no-untyped-def]
    app, clock = _app(make_app, "required")
    client = app.test_client()
    _password(client)
    totp = _enrol(client, "/nurse/login/enrol")
    codes = _codes(_post(client, "/nurse/login/enrol", totp.at(clock["now"])).get_data(as_text=True))
    client.post("/nurse/logout", data={"csrf_token": csrf_token(client, "/nurse")})

    other = app.test_client()
    assert _password(other).headers["Location"] == "/nurse/login/code"
    replay = _post(other, "/nurse/login/code", totp.at(clock["now"]))  # the enrolment's code, same 30 s
    assert replay.status_code == 401 and "used already" in replay.get_data(as_text=True)
    clock["now"] += timedelta(seconds=30)
    assert _post(other, "/nurse/login/code", totp.at(clock["now"])).status_code == 302
    assert other.get("/nurse").status_code == 200

    third = app.test_client()
    _password(third)
    assert _post(third, "/nurse/login/code", totp.at(clock["now"])).status_code == 401  # replayed in its window
    assert _post(third, "/nurse/login/code", totp.at(clock["now"] - timedelta(seconds=60))).status_code == 401
    clock["now"] += timedelta(minutes=5)
    late = app.test_client()
    _password(late)
    drifted = totp.at(clock["now"] + timedelta(seconds=30))  # a phone 30 s fast is still accepted
    assert _post(late, "/nurse/login/code", drifted).status_code == 302

    lost_phone = app.test_client()
    _password(lost_phone)
    assert _post(lost_phone, "/nurse/login/code", codes[0].lower()).status_code == 302  # a recovery code
    again = app.test_client()
    _password(again)
    assert _post(again, "/nurse/login/code", codes[0]).status_code == 401  # single use
    assert _post(again, "/nurse/login/code", codes[1].replace("-", " ")).status_code == 302


def test_the_code_must_follow_the_password_within_five_minutes(make_app) -> None:  # type: ignore[no-untyped-def]
    app, clock = _app(make_app, "required")
    client = app.test_client()
    _password(client)
    clock["now"] += timedelta(minutes=5)
    assert client.get("/nurse/login/enrol").headers["Location"] == "/nurse/login"
    assert client.get("/nurse/login/code").headers["Location"] == "/nurse/login"  # no step skipped either


def test_optional_second_factor_is_set_up_from_the_console_and_then_asked_for(make_app, runner) -> None:  # type: ignore[no-untyped-def]
    app, clock = _app(make_app, "optional")
    client = app.test_client()
    assert _password(client).headers["Location"] == "/nurse"  # not set up: the password is enough
    totp = _enrol(client, "/nurse/second-factor")
    assert len(_codes(_post(client, "/nurse/second-factor", totp.at(clock["now"])).get_data(as_text=True))) == 10
    clock["now"] += timedelta(seconds=30)
    assert _password(app.test_client()).headers["Location"] == "/nurse/login/code"
    # Off: the password alone again, and no set-up page.
    app.config["NURSE_MFA"] = "off"
    off = app.test_client()
    assert _password(off).headers["Location"] == "/nurse"
    assert off.get("/nurse/second-factor").status_code == 404
    # A lost phone and lost codes: the operator removes it, and it is set up again.
    app.config["NURSE_MFA"] = "required"
    reset = app.test_cli_runner().invoke(args=["nurse", "mfa-reset", NURSE[0]])
    assert reset.exit_code == 0 and "removed" in reset.output
    assert off.get("/nurse").status_code == 302  # its sessions ended
    assert _password(app.test_client()).headers["Location"] == "/nurse/login/enrol"
    assert not _nurse(app).totp_enabled


def test_the_new_settings_are_checked_at_start_up() -> None:
    import pytest

    from web.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="NURSE_MFA must be one of off, optional, required, got 'sometimes'"):
        load_config({"TESTING": True}, env={"NURSE_MFA": "sometimes"})
    for setting in ("RATELIMIT_LOGIN_ACCOUNT", "RATELIMIT_API_KEY"):
        with pytest.raises(ConfigError, match=f"{setting} must be rates such as .*, got 'ten a minute'"):
            load_config({"TESTING": True}, env={setting: "ten a minute"})
