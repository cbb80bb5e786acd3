"""App configuration: SECRET_KEY policy, security headers, cookies, logs, limits, errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.support import DATA_KEY
from tests.web_helpers import csrf_token, patient_form, signed_in_client
from web import create_app
from web.config import ConfigError, load_config
from web.logs import ACCESS_LOGGER, ERROR_LOGGER, JsonFormatter

GOOD = {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}


# --- configuration ----------------------------------------------------------------------------


def test_production_refuses_to_start_without_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(env={})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(env={"TRIAGE_ENV": "production", "SECRET_KEY": ""})


def test_production_refuses_a_short_secret_key():
    """`SECRET_KEY=a` started production before: a key anyone can guess signs every session."""
    for short in ("a", "k" * 31, "é" * 15):
        with pytest.raises(ConfigError, match="at least 32 random bytes"):
            load_config(env={"TRIAGE_ENV": "production", "SECRET_KEY": short})
    production = {"TRIAGE_ENV": "production", "SECRET_KEY": "k" * 32, "DATA_KEY": DATA_KEY}
    assert load_config(env=production)["SECRET_KEY"] == "k" * 32
    assert load_config(env={"TRIAGE_ENV": "development", "SECRET_KEY": "a"})["SECRET_KEY"] == "a"  # local use


def test_development_and_testing_do_not_need_a_secret_key():
    dev = load_config(env={"FLASK_RUN_FROM_CLI": "true"})  # what `flask --app web run` sets
    assert dev["TRIAGE_ENV"] == "development" and len(dev["SECRET_KEY"]) >= 32
    assert load_config(env={"TRIAGE_ENV": "development"})["SESSION_COOKIE_SECURE"] is False
    assert load_config({"TESTING": True}, env={})["TRIAGE_ENV"] == "testing"


def test_production_defaults():
    cfg = load_config(env={"SECRET_KEY": "k" * 40, "DATA_KEY": DATA_KEY})
    assert cfg["TRIAGE_ENV"] == "production"
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["SESSION_COOKIE_HTTPONLY"] is True
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Strict" and cfg["SESSION_COOKIE_NAME"] == "__Host-session"
    assert cfg["LOG_FORMAT"] == "json" and cfg["RATELIMIT_ENABLED"] is True
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"


def test_environment_variables_are_read_and_checked():
    cfg = load_config(
        env={
            "TRIAGE_ENV": "development",
            "RATELIMIT_ENABLED": "false",
            "RATELIMIT_STORAGE_URI": "redis://cache:6379",
            "MAX_CONTENT_LENGTH": "2048",
        }
    )
    assert cfg["RATELIMIT_ENABLED"] is False and cfg["RATELIMIT_STORAGE_URI"] == "redis://cache:6379"
    assert cfg["MAX_CONTENT_LENGTH"] == 2048
    with pytest.raises(ConfigError, match="RATELIMIT_ENABLED"):
        load_config(env={"TRIAGE_ENV": "development", "RATELIMIT_ENABLED": "maybe"})
    with pytest.raises(ConfigError, match="TRIAGE_ENV"):
        load_config(env={"TRIAGE_ENV": "staging"})
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        load_config(env={"TRIAGE_ENV": "development", "MAX_CONTENT_LENGTH": "lots"})


def test_create_app_without_config_in_production_env_fails(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("TRIAGE_ENV", raising=False)
    with pytest.raises(ConfigError):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATA_KEY", DATA_KEY)
    assert create_app().config["TRIAGE_ENV"] == "production"


def test_flask_cli_finds_the_app_without_secret_key(runner):
    """`flask --app web ...` (the README's start command) works with no SECRET_KEY set."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "TRIAGE_ENV")}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "web", "routes"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for rule in ("/nurse", "/api/v1/assess", "/api/v1/knowledge", "/api/openapi.json", "/api/docs", "/healthz"):
        assert rule in result.stdout
    assert runner.invoke(args=["--help"]).exit_code == 0


def test_engine_is_built_once_not_per_request(client, monkeypatch):
    from triage import Assessor

    built = []
    original = Assessor.__init__

    def counting(self, kb):  # type: ignore[no-untyped-def]
        built.append(kb)
        original(self, kb)

    monkeypatch.setattr(Assessor, "__init__", counting)
    for _ in range(3):
        assert client.post("/api/v1/assess", json=GOOD).status_code == 200
    assert built == []


# --- security headers and cookies ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/nurse", "/api/v1/knowledge", "/healthz", "/api/docs", "/missing"])
def test_security_headers_everywhere(client, path):
    r = client.get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: no HSTS


def test_security_headers_on_api_errors(client):
    r = client.post("/api/v1/assess", data="{", content_type="application/json")
    assert r.status_code == 400 and "Content-Security-Policy" in r.headers


def test_hsts_when_behind_https(client):
    r = client.get("/", base_url="https://triage.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_hsts_via_trusted_proxy(make_app):
    app = make_app(PROXY_COUNT=1)
    r = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in r.headers


def test_answers_are_not_cached(client):
    r = client.post("/api/v1/assess", json=GOOD)
    assert r.headers["Cache-Control"] == "no-store"


def test_production_session_cookie_flags():
    app = create_app({"TRIAGE_ENV": "production", "SECRET_KEY": "p" * 40, "DATA_KEY": DATA_KEY, "LOG_REQUESTS": False})
    r = app.test_client().get("/", base_url="https://triage.example")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


# --- logs: method, route, status, duration; never symptoms or answers -------------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_log():
    handler = Collect()
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_one_log_line_per_request_with_only_method_route_status_duration(app, client, access_log, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/api/v1/assess?symptom=lip-tongue-swelling", json={**GOOD, "symptoms": [{"id": "hives"}]})
    client.post("/api/v1/assess", json={"symptoms": [{"id": "secret-glitter"}], "hours": 31.4159})
    client.post("/api/v1/assess", json={"symptoms": [{"id": "hives", "severity": "nope-xyz"}], "hours": 1})
    data = patient_form({"fever": "severe"}, hours="77.777")
    data["csrf_token"] = csrf_token(client)
    client.post("/", data=data)
    nurse = signed_in_client(app)
    token = csrf_token(nurse, "/nurse")
    nurse.post("/nurse", data={"symptoms": "unknown-thing-qq", "hours": "5", "csrf_token": token})
    nurse.post("/nurse", data={"symptoms": "hives:severe", "hours": "31.4159", "csrf_token": token})

    fields = [r.fields for r in access_log.records]  # type: ignore[attr-defined]
    assert all(set(f) == {"method", "route", "status", "duration_ms"} for f in fields)
    assert [f["route"] for f in fields][:3] == ["/api/v1/assess"] * 3
    assert [f["status"] for f in fields][:3] == [200, 422, 422]

    formatter = JsonFormatter()
    everything = " ".join(formatter.format(r) + " " + r.getMessage() for r in access_log.records)
    everything += " ".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in ("lip-tongue", "hives", "secret-glitter", "31.4159", "nope-xyz", "fever", "77.777", "unknown-thing"):
        assert secret not in everything, secret
    for marker in ("expected", "monitor", "contact clinician"):
        assert marker not in everything


def test_json_log_format():
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"method": "GET", "route": "/", "status": 200, "duration_ms": 1.5}  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(record))
    assert line["method"] == "GET" and line["status"] == 200 and line["duration_ms"] == 1.5
    assert {"time", "level", "logger"} <= set(line)


# --- rate limit -------------------------------------------------------------------------------------


@pytest.fixture
def limited_client(make_app):
    """A client of an app that allows 3 API requests and 2 form posts a minute."""
    return make_app(RATELIMIT_ENABLED=True, RATELIMIT_API="3 per minute", RATELIMIT_FORM="2 per minute").test_client()


def test_api_rate_limit_gives_429_json(limited_client):
    statuses = [limited_client.post("/api/v1/assess", json=GOOD).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = limited_client.post("/api/v1/assess", json=GOOD)
    assert r.status_code == 429 and r.mimetype == "application/json"
    assert r.get_json()["status"] == 429
    assert "Retry-After" in r.headers


def test_rate_limit_is_per_client(limited_client):
    for _ in range(3):
        limited_client.post("/api/v1/assess", json=GOOD, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert limited_client.post("/api/v1/assess", json=GOOD, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429
    assert limited_client.post("/api/v1/assess", json=GOOD, environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_form_post_rate_limit_but_not_get(limited_client):
    token = csrf_token(limited_client)
    data = {**patient_form({"redness": "mild"}), "csrf_token": token}
    assert [limited_client.post("/", data=data).status_code for _ in range(3)] == [200, 200, 429]
    r = limited_client.post("/", data=data)
    assert r.status_code == 429 and "text/html" in r.content_type and "Too many requests" in r.get_data(as_text=True)
    assert all(limited_client.get("/").status_code == 200 for _ in range(5))
    assert limited_client.get("/healthz").status_code == 200


def test_rate_limit_can_be_turned_off(make_app):
    client = make_app(RATELIMIT_ENABLED=False, RATELIMIT_API="1 per minute").test_client()
    assert all(client.post("/api/v1/assess", json=GOOD).status_code == 200 for _ in range(5))


# --- errors --------------------------------------------------------------------------------------------


def test_unexpected_error_is_500_json_on_the_api_and_html_elsewhere(app, monkeypatch):
    secret = "-".join(["boom", "redness", "in", "the", "message"])

    class Boom:
        """An assessor that fails on any use, with a message that quotes a symptom."""

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(secret)

    monkeypatch.setitem(app.extensions, "triage_assessor", Boom())
    errors = Collect()
    logging.getLogger(ERROR_LOGGER).addHandler(errors)
    client = app.test_client()
    r = client.post("/api/v1/assess", json=GOOD)
    assert r.status_code == 500 and r.get_json()["status"] == 500
    r = client.get("/")
    assert r.status_code == 500 and "text/html" in r.content_type
    logging.getLogger(ERROR_LOGGER).removeHandler(errors)
    logged = [JsonFormatter().format(r) for r in errors.records]
    assert len(logged) == 2 and all("\n" not in line for line in logged)  # one JSON line each
    assert all(json.loads(line)["error"] == "RuntimeError" for line in logged)
    assert secret not in " ".join(logged)


def test_html_404(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "text/html" in r.content_type
    assert "There is no page at this address" in r.get_data(as_text=True)


def test_every_route_answers_without_a_server_error(app):
    """Each rule in the URL map, with each method it accepts and an empty request: never a 500."""
    rules = [r for r in app.url_map.iter_rules() if "<" not in r.rule or r.endpoint == "static"]
    seen = set()
    for client in (app.test_client(), signed_in_client(app)):  # anonymous, then as a nurse
        for rule in rules:
            path = rule.rule if rule.endpoint != "static" else "/static/style.css"
            for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
                r = client.open(path, method=method)
                assert r.status_code < 500, (method, path, r.status_code)
                seen.add(path)
    assert {"/", "/nurse", "/api/v1/assess", "/api/v1/knowledge", "/api/openapi.json", "/api/docs", "/healthz"} <= seen


def test_static_files_are_served(client):
    for name in ("style.css", "enhance.js", "favicon.svg"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert r.headers["X-Content-Type-Options"] == "nosniff"
