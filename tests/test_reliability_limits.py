"""Limits under attack: rate limit per client, request body size, symptoms and factors per report.

tests/test_web_app.py and tests/test_web_api.py check that each limit exists; these try to get
round them: forged forwarding headers, invalid requests to probe for free, the exact size
boundary, the environment switch, a storage the limiter cannot use.
"""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.redis_server import fresh_prefix, redis_server_binary, redis_url  # noqa: F401  (a fixture)
from tests.support import MakeApp
from tests.web_helpers import csrf_token, patient_form, signed_in_client
from triage import default_assessor
from triage.engine.report import MAX_SYMPTOMS
from web import create_app
from web.schemas import MAX_FACTORS

URL = "/api/v1/assess"
GOOD = {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}
LIMIT = 3


@pytest.fixture
def limited(make_app: MakeApp) -> MakeApp:
    """Makes an app that allows LIMIT API requests a minute, with `extra` config."""

    def make(**extra: Any) -> Flask:
        return make_app(
            **({"RATELIMIT_ENABLED": True, "RATELIMIT_API": f"{LIMIT} per minute", "LOG_REQUESTS": False} | extra)
        )

    return make


def statuses(client: FlaskClient, n: int, **kwargs: Any) -> list[int]:
    return [client.post(URL, json=GOOD, **kwargs).status_code for _ in range(n)]


# --- rate limit ----------------------------------------------------------------------------------


def test_forged_forwarding_headers_do_not_escape_the_limit(limited: MakeApp) -> None:
    """With no trusted proxy (the default), X-Forwarded-For and friends are ignored."""
    client = limited().test_client()
    assert statuses(client, LIMIT) == [200] * LIMIT
    for i in range(5):
        forged = {
            "X-Forwarded-For": f"198.51.100.{i}",
            "X-Real-IP": f"198.51.100.{i}",
            "Forwarded": f"for=198.51.100.{i}",
            "Client-IP": f"198.51.100.{i}",
        }
        assert client.post(URL, json=GOOD, headers=forged).status_code == 429


def test_behind_one_proxy_the_client_cannot_choose_its_address(limited: MakeApp) -> None:
    """PROXY_COUNT=1: only the address the proxy appended counts; what the client prepends does not."""
    client = limited(PROXY_COUNT=1).test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    codes = [
        client.post(
            URL, json=GOOD, environ_base=proxy, headers={"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.7"}
        ).status_code
        for i in range(LIMIT + 2)
    ]
    assert codes == [200] * LIMIT + [429, 429]
    other = client.post(URL, json=GOOD, environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("{", "application/json"), (json.dumps(GOOD), "text/plain"), ('{"symptoms": []}', "application/json")],
    ids=["bad JSON", "wrong content type", "invalid report"],
)
def test_invalid_requests_count_against_the_limit(data: str, content_type: str, limited: MakeApp) -> None:
    """Probing with broken requests is not free: they use up the same allowance."""
    client = limited().test_client()
    for _ in range(LIMIT):
        assert client.post(URL, data=data, content_type=content_type).status_code in (400, 415, 422)
    assert client.post(URL, json=GOOD).status_code == 429


def test_oversized_requests_count_against_the_limit(limited: MakeApp) -> None:
    client = limited().test_client()
    big = "x" * (client.application.config["MAX_CONTENT_LENGTH"] + 1)
    assert [client.post(URL, data=big, content_type="application/json").status_code for _ in range(LIMIT)] == [
        413
    ] * LIMIT
    assert client.post(URL, json=GOOD).status_code == 429


def test_every_api_endpoint_is_limited_and_health_is_not(limited: MakeApp) -> None:
    client = limited().test_client()
    assert [client.get("/api/v1/knowledge").status_code for _ in range(LIMIT + 1)][-1] == 429
    assert statuses(client, LIMIT + 1)[-1] == 429
    assert all(client.get("/healthz").status_code == 200 for _ in range(3 * LIMIT))


def test_the_429_says_nothing_about_the_report(limited: MakeApp) -> None:
    client = limited().test_client()
    statuses(client, LIMIT)
    body = {"symptoms": [{"id": "breathing-difficulty"}], "hours": 1, "factors": ["isotretinoin"]}
    r = client.post(URL, json=body)
    assert r.status_code == 429
    text = r.get_data(as_text=True)
    assert "breathing" not in text and "isotretinoin" not in text
    assert set(r.get_json()) == {"error", "message", "status"}
    assert int(r.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("value", "limited_after"), [("false", None), ("0", None), ("true", 2), (None, 2)])
def test_ratelimit_enabled_environment_variable(monkeypatch: pytest.MonkeyPatch, value: str | None, limited_after):  # type: ignore[no-untyped-def]
    """RATELIMIT_ENABLED=false (as the benchmarks and the soak test run) turns the limit off."""
    if value is None:
        monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    else:
        monkeypatch.setenv("RATELIMIT_ENABLED", value)
    monkeypatch.setenv("RATELIMIT_API", "2 per minute")
    # Not make_app: its testing config sets RATELIMIT_ENABLED, which would override the environment.
    client = create_app({"TESTING": True, "LOG_REQUESTS": False}).test_client()
    codes = statuses(client, 6)
    if limited_after is None:
        assert codes == [200] * 6
    else:
        assert codes == [200] * limited_after + [429] * (6 - limited_after)


def test_each_app_has_its_own_in_memory_counts(limited: MakeApp) -> None:
    """In-memory storage (the default) counts per process: another app (a gunicorn worker) starts at zero."""
    first, second = limited().test_client(), limited().test_client()
    assert statuses(first, LIMIT + 1)[-1] == 429
    assert statuses(second, 1) == [200]


def test_unusable_limiter_storage_stops_the_start(monkeypatch: pytest.MonkeyPatch, make_app: MakeApp) -> None:
    """A mistyped RATELIMIT_STORAGE_URI fails at start-up instead of running without a limit."""
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "bogus://cache:1")
    with pytest.raises(Exception, match="storage"):
        make_app(RATELIMIT_ENABLED=True)


@pytest.mark.parametrize("path", ["/", "/nurse"])
def test_form_posts_are_limited_per_client_even_with_forged_headers(path: str, limited: MakeApp) -> None:
    app = limited(RATELIMIT_FORM=f"{LIMIT} per minute", WTF_CSRF_ENABLED=False)
    # The console needs a nurse; signing in is a POST to its own (separately limited) page.
    client = signed_in_client(app) if path == "/nurse" else app.test_client()
    codes = [
        client.post(path, data={"hours": "5"}, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(LIMIT + 2)
    ]
    assert codes == [400] * LIMIT + [429, 429]  # an incomplete form is a 400 page, and still counts
    assert client.get(path).status_code == 200  # reading the form is not limited
    other = client.post(path, data={"hours": "5"}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert other.status_code == 400


# --- one budget per purpose, whichever routes serve it -------------------------------------------


API_CALLS = [
    ("GET", "/api/v1/knowledge", None),
    ("POST", URL, GOOD),
    ("POST", "/api/v1/assess/cds-hooks", {"hook": "x"}),
    ("GET", "/cds-services", None),
    ("POST", "/cds-services/microneedling-triage", {"hook": "patient-view"}),
]


def test_one_api_budget_spans_every_api_endpoint(limited: MakeApp) -> None:
    """Spreading calls over the API and CDS Hooks endpoints does not give more than one budget."""
    client = limited(RATELIMIT_API="4 per minute").test_client()
    codes = [client.open(path, method=m, json=body).status_code for m, path, body in API_CALLS * 2]
    assert all(c != 429 for c in codes[:4]) and codes[4:] == [429] * 6, codes


def test_one_records_budget_spans_every_record_route(limited: MakeApp) -> None:
    """The sweep from the security test: look-ups spread over the record routes (open by code,
    record page, FHIR, call-back, override, overrides review) share RATELIMIT_RECORDS."""
    app = limited(RATELIMIT_RECORDS="6 per minute")
    nurse = signed_in_client(app)
    token = csrf_token(nurse, "/nurse")  # the console is not a record route
    routes = [
        ("GET", "/nurse/records/open?code=YYY-YYA", None),
        ("GET", "/nurse/records/YYY-YYC", None),
        ("GET", "/nurse/records/YYY-YYD/fhir.json", None),
        ("POST", "/nurse/records/YYY-YYE/entries", {"symptoms": "redness", "hours": "5", "csrf_token": token}),
        ("POST", "/nurse/records/YYY-YYF/entries/1/override", {"reason": "x", "csrf_token": token}),
        ("GET", "/nurse/overrides.csv", None),
        ("GET", "/nurse/overrides", None),
        ("GET", "/nurse/records", None),
    ]
    codes = [nurse.open(path, method=m, data=data).status_code for m, path, data in routes]
    assert codes == [404, 404, 404, 404, 404, 200, 429, 429], codes
    assert nurse.get("/nurse").status_code == 200  # other purposes keep their own budgets
    assert nurse.post(URL, json=GOOD).status_code == 200


def test_one_form_budget_spans_the_patient_form_and_the_console(limited: MakeApp) -> None:
    app = limited(RATELIMIT_FORM="4 per minute")
    nurse = signed_in_client(app)
    token = csrf_token(nurse, "/")
    codes = []
    for _ in range(3):
        codes.append(nurse.post("/", data=patient_form({"redness": "mild"}) | {"csrf_token": token}).status_code)
        codes.append(nurse.post("/nurse", data={"symptoms": "redness", "hours": "5", "csrf_token": token}).status_code)
    assert codes == [200, 200, 200, 200, 429, 429], codes


def test_sign_in_budget_is_its_own(limited: MakeApp) -> None:
    """Failed sign-ins use up the sign-in budget only; the patient form still answers."""
    app = limited(RATELIMIT_LOGIN="2 per minute")
    client = app.test_client()
    token = csrf_token(client, "/nurse/login")
    form = {"username": "nobody", "password": "guess", "csrf_token": token}
    assert [client.post("/nurse/login", data=form).status_code for _ in range(3)] == [401, 401, 429]
    assert client.post("/", data=patient_form({"redness": "mild"}) | {"csrf_token": token}).status_code == 200


def test_two_apps_on_one_redis_share_one_budget(redis_url: str, limited: MakeApp) -> None:  # noqa: F811
    """What two gunicorn workers (or two servers) do with RATELIMIT_STORAGE_URI=redis://...:
    one client's budget is counted once, whichever process serves each request. The gunicorn
    version of this is in tests/test_reliability_gunicorn.py."""
    shared = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": fresh_prefix()}
    first, second = limited(**shared).test_client(), limited(**shared).test_client()
    codes = [(first if i % 2 else second).post(URL, json=GOOD).status_code for i in range(LIMIT + 3)]
    assert codes == [200] * LIMIT + [429] * 3
    # Another client address has its own budget; another deployment (prefix) its own counts.
    assert first.post(URL, json=GOOD, environ_base={"REMOTE_ADDR": "192.0.2.44"}).status_code == 200
    other = limited(RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=fresh_prefix()).test_client()
    assert other.post(URL, json=GOOD).status_code == 200


def test_without_redis_server_the_redis_tests_skip_saying_why_but_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_args, **_kw: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install redis-server.*CI=true"):
        redis_server_binary()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        redis_server_binary()


# --- body size -----------------------------------------------------------------------------------


@pytest.fixture
def open_client(make_app: MakeApp) -> FlaskClient:
    return make_app(LOG_REQUESTS=False).test_client()


def padded(size: int) -> str:
    body = json.dumps(GOOD)
    return body + " " * (size - len(body))


def test_body_exactly_at_the_limit_is_served_and_one_byte_more_is_413(open_client: FlaskClient) -> None:
    limit = open_client.application.config["MAX_CONTENT_LENGTH"]
    assert open_client.post(URL, data=padded(limit), content_type="application/json").status_code == 200
    r = open_client.post(URL, data=padded(limit + 1), content_type="application/json")
    assert r.status_code == 413 and r.get_json()["status"] == 413


def test_body_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch, make_app: MakeApp) -> None:
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "1000")
    client = make_app(LOG_REQUESTS=False).test_client()
    assert client.post(URL, data=padded(1000), content_type="application/json").status_code == 200
    assert client.post(URL, data=padded(1001), content_type="application/json").status_code == 413


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/", {"data": {"notes": "x" * 20_000}}),
        ("/nurse", {"data": {"notes": "x" * 20_000}}),
        ("/", {"data": {"upload": (io.BytesIO(b"x" * 20_000), "big.txt")}}),
    ],
    ids=["patient form", "nurse form", "multipart upload"],
)
def test_forms_refuse_oversized_bodies(open_client: FlaskClient, path: str, kwargs: dict[str, Any]) -> None:
    r = open_client.post(path, **kwargs)
    assert r.status_code == 413
    assert "text/html" in r.content_type


# --- symptoms and factors per report -------------------------------------------------------------


def test_symptom_count_boundary(open_client: FlaskClient) -> None:
    at_limit = {"symptoms": [{"id": "redness"}] * MAX_SYMPTOMS, "hours": 3}
    r = open_client.post(URL, json=at_limit)
    assert r.status_code == 200
    assert r.get_json() == default_assessor().assess(["redness"], 3).to_dict()  # duplicates collapse
    over = {"symptoms": [{"id": "redness"}] * (MAX_SYMPTOMS + 1), "hours": 3}
    r = open_client.post(URL, json=over)
    assert r.status_code == 422
    assert [p["field"] for p in r.get_json()["problems"]] == ["symptoms"]


def test_factor_count_boundary(open_client: FlaskClient) -> None:
    base = {"symptoms": [{"id": "swelling"}], "hours": 30}
    assert open_client.post(URL, json=base | {"factors": ["prp"] * MAX_FACTORS}).status_code == 200
    r = open_client.post(URL, json=base | {"factors": ["prp"] * (MAX_FACTORS + 1)})
    assert r.status_code == 422
    assert [p["field"] for p in r.get_json()["problems"]] == ["factors"]


def test_id_length_boundary(open_client: FlaskClient) -> None:
    r = open_client.post(URL, json={"symptoms": [{"id": "x" * 60}], "hours": 3})
    assert r.status_code == 422 and r.get_json()["problems"][0]["field"] == "symptoms[0].id"
    r = open_client.post(URL, json={"symptoms": [{"id": "x" * 10_000}], "hours": 3})
    assert r.status_code == 422
    assert "x" * 100 not in r.get_data(as_text=True)  # a long value is not echoed back in full


def test_sign_in_and_record_look_ups_are_limited(limited: MakeApp) -> None:
    app = limited(RATELIMIT_LOGIN=f"{LIMIT} per minute", RATELIMIT_RECORDS=f"{LIMIT} per minute")
    guesser = app.test_client()
    token = csrf_token(guesser, "/nurse/login")
    form = {"username": "nurse.jones", "password": "guess", "csrf_token": token}
    codes = [
        guesser.post("/nurse/login", data=form, headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
        for i in range(LIMIT + 2)
    ]
    assert codes == [401] * LIMIT + [429, 429]  # wrong password, then the limit, whatever the header says
    nurse = signed_in_client(limited(RATELIMIT_RECORDS=f"{LIMIT} per minute"))
    looked = [nurse.get(f"/nurse/records/open?code=YYY-YY{c}").status_code for c in "ACDEFGH"[: LIMIT + 2]]
    assert looked[:LIMIT] == [404] * LIMIT and looked[LIMIT:] == [429, 429]
