"""Issue 34, accounts: sign-in limited per account across addresses (never a lock-out), password
rules with a shipped list of breached passwords, and a shift that ends however busy it is."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.redis_server import fresh_prefix, redis_server_binary, redis_url  # noqa: F401  (a fixture)
from tests.support import NURSE
from tests.web_helpers import csrf_token, sign_in
from web.sign_in_limits import NURSE_DEVICE_COOKIE
from web.storage.models import AuditEvent
from web.storage.passwords import common_passwords

LIMITED = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_LOGIN": "1000 per minute",
    "RATELIMIT_LOGIN_ACCOUNT": "10 per minute;50 per day",
}


def _post_login(client, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/nurse/login")
    return client.post("/nurse/login", data={"csrf_token": token, "username": username, "password": password})


def _from(app, address: str):  # type: ignore[no-untyped-def]
    """A browser of its own at this client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_out(client) -> None:  # type: ignore[no-untyped-def]
    client.post("/nurse/logout", data={"csrf_token": csrf_token(client, "/nurse")})


def _actions(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.extensions["triage_db"].transaction() as s:
        return [a.action for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_sixty_wrong_passwords_from_six_addresses_are_limited_per_account(make_app, runner) -> None:  # type: ignore[no-untyped-def]
    """Finding 2: 60 wrong passwords for one account from 6 addresses in a minute were all tried."""
    app = make_app(**LIMITED)
    assert (
        app.test_cli_runner()
        .invoke(args=["nurse", "create", NURSE[0], "--password-stdin"], input=NURSE[1] + "\n")
        .exit_code
        == 0
    )
    usual = _from(app, "10.0.0.99")
    sign_in(usual, *NURSE)  # the nurse's own browser, known to the account from now on (1 of the 10)
    _sign_out(usual)  # and the shift ends
    statuses = []
    for i in range(60):
        attacker = _from(app, f"2001:db8::{i % 6 + 1}")
        username = NURSE[0].upper() if i % 2 else f"  {NURSE[0]} "  # one account however it is typed
        response = _post_login(attacker, username, f"guess number {i}")
        statuses.append(response.status_code)
        if response.status_code == 429:
            page = html.unescape(response.get_data(as_text=True))
            assert 1 <= int(response.headers["Retry-After"]) <= 60
            assert "Too many sign-in attempts for this account" in page and "Wait 1 minute" in page
            assert "not locked" in page and f"guess number {i}" not in page
    assert statuses[:9] == [401] * 9 and statuses[9:] == [429] * 51
    # Not a lock-out: the browser the nurse signed in with before has a budget of its own.
    assert _post_login(usual, *NURSE).status_code == 302
    # A browser new to the account waits with the attackers (the trade-off, docs/SECURITY.md).
    assert _post_login(_from(app, "10.0.0.98"), *NURSE).status_code == 429
    # Another account is not held up at all.
    assert _post_login(_from(app, "2001:db8::1"), "someone.else", "a guess").status_code == 401
    actions = _actions(app)
    assert actions.count("login-failed") == 10 and actions.count("login-limited") == 52


def test_the_known_browser_cookie_cannot_be_made_or_moved_to_another_account(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(**LIMITED)
    app.test_cli_runner().invoke(args=["nurse", "create", NURSE[0], "--password-stdin"], input=NURSE[1] + "\n")
    app.test_cli_runner().invoke(
        args=["nurse", "create", "ann", "--password-stdin"], input="another long pass phrase\n"
    )
    ann = _from(app, "10.0.0.5")
    sign_in(ann, "ann", "another long pass phrase")
    _sign_out(ann)
    cookie = ann.get_cookie(NURSE_DEVICE_COOKIE, path="/nurse")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    for i in range(10):
        _post_login(_from(app, f"10.1.0.{i}"), NURSE[0], "wrong")
    # Ann's browser is known to her account only: for nurse.jones it waits like any other.
    assert _post_login(ann, NURSE[0], "wrong").status_code == 429
    forged = _from(app, "10.0.0.6")
    forged.set_cookie(NURSE_DEVICE_COOKIE, cookie.value[:-2] + "xx", path="/nurse")
    assert _post_login(forged, NURSE[0], "wrong").status_code == 429


def test_no_username_is_kept_in_the_limit_storage(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(**LIMITED)
    _post_login(_from(app, "10.0.0.1"), "secret.name", "wrong")
    storage = app.extensions["triage_limiter"].storage
    keys = " ".join(str(k) for k in getattr(storage, "storage", {}))
    assert "sign-in-account" in keys and "secret.name" not in keys


def test_two_workers_on_one_redis_count_one_account_budget_and_keep_no_username(make_app, redis_url: str) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    import redis

    shared = {
        **LIMITED,
        "SECRET_KEY": "k" * 40,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": fresh_prefix(),
    }
    workers = [make_app(**shared), make_app(**shared)]
    codes = [_post_login(_from(workers[i % 2], f"198.51.100.{i}"), "ann.other", "wrong").status_code for i in range(13)]
    assert codes == [401] * 10 + [429] * 3
    keys = " ".join(k.decode() for k in redis.Redis.from_url(redis_url).keys(f"*{shared['RATELIMIT_KEY_PREFIX']}*"))
    assert "sign-in-account" in keys and "ann.other" not in keys


def test_refused_sign_ins_are_counted_per_account(app, runner, nurse_account) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        _post_login(_from(app, f"10.0.0.{i}"), nurse_account[0].upper(), "wrong")
    _post_login(app.test_client(), "nobody", "wrong")
    out = runner.invoke(args=["nurse", "sign-ins", "--days", "1"]).output
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    assert lines[nurse_account[0]][:4] == ["3", "3", "0", "0"] and lines["nobody"][:1] == ["1"]
    assert "wrong" not in out


def test_common_and_breached_passwords_are_refused_saying_why(app, runner) -> None:  # type: ignore[no-untyped-def]
    """Finding 2: `password1234` was accepted as a nurse's password."""
    assert 20_000 <= len(common_passwords()) <= 100_000
    for weak in ("password1234", "Password1234!", "qwertyuiop12", "dragon123456"):
        result = runner.invoke(args=["nurse", "create", "ann", "--password-stdin"], input=weak + "\n")
        assert result.exit_code == 2 and "common passwords leaked in breaches" in result.output, weak
    prompted = runner.invoke(
        args=["nurse", "create", "ann"], input="password1234\nwinter pebble lantern\nwinter pebble lantern\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert prompted.output.index("common passwords") < prompted.output.index("Repeat for confirmation")
    changed = runner.invoke(args=["nurse", "password", "ann", "--password-stdin"], input="iloveyou1234\n")
    assert changed.exit_code == 2 and "common passwords" in changed.output
    own_name = runner.invoke(args=["nurse", "password", "ann", "--password-stdin"], input="ann-ann-ann-2026\n")
    assert own_name.exit_code == 2 and "must not contain the username" in own_name.output


def test_a_shift_ends_ten_hours_after_sign_in_however_often_it_is_used(make_app) -> None:  # type: ignore[no-untyped-def]
    """Finding 3: a cookie signed in 9.9 hours ago was renewed on use, so the session never ended."""
    app = make_app()
    app.test_cli_runner().invoke(args=["nurse", "create", NURSE[0], "--password-stdin"], input=NURSE[1] + "\n")
    start = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    clock = {"now": start}
    app.config["NOW"] = lambda: clock["now"]
    client = app.test_client()
    sign_in(client, *NURSE)
    assert client.get("/nurse").status_code == 200  # (the console's form token joins the session)
    for hours in (1, 2, 3, 4, 5, 6, 7, 8, 9, 9.9):
        clock["now"] = start + timedelta(hours=hours)
        response = client.get("/nurse")
        assert response.status_code == 200, hours
        assert "session" not in response.headers.get("Set-Cookie", "")  # the cookie is not renewed on use
    clock["now"] = start + timedelta(hours=10)
    ended = client.get("/nurse")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/nurse/login")
    assert "lasts one shift (10 hours)" in client.get("/nurse/login").get_data(as_text=True)
    assert client.get("/nurse/records/open").status_code == 302
    sign_in(client, *NURSE)  # a new shift
    assert client.get("/nurse").status_code == 200
