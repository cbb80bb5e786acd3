"""JSON API: the engine's answer, every error path as JSON, and the OpenAPI document."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from triage import assess, default_assessor
from web.logs import ERROR_LOGGER

URL = "/api/v1/assess"


def post(client, body, content_type="application/json"):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type=content_type)


def test_assess_returns_the_engine_answer(client):  # type: ignore[no-untyped-def]
    body = {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30, "factors": [], "worsening": False}
    r = post(client, body)
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    assert r.get_json() == assess(["redness:mild"], 30).to_dict()


def test_defaults_severity_moderate_and_optional_fields(client):  # type: ignore[no-untyped-def]
    r = post(client, {"symptoms": [{"id": "swelling"}], "hours": 60, "factors": ["prp"]})
    assert r.status_code == 200
    assert r.get_json() == assess(["swelling:moderate"], 60, ["prp"]).to_dict()
    assert r.get_json()["disposition"] == "expected"


def test_emergency_answer(client):  # type: ignore[no-untyped-def]
    r = post(client, {"symptoms": [{"id": "breathing-difficulty"}], "hours": 2})
    body = r.get_json()
    assert r.status_code == 200
    assert body["disposition"] == "contact clinician" and body["emergency"] is True
    assert body["recheck_in_hours"] is None
    assert body["safety_net"] == []  # an emergency says one thing: call now


def test_the_answer_carries_its_safety_net(client):  # type: ignore[no-untyped-def]
    body = post(client, {"symptoms": [{"id": "hives"}, {"id": "swelling"}], "hours": 1}).get_json()
    assert body["disposition"] == "contact clinician" and body["emergency"] is False
    first, general = body["safety_net"]
    assert first["level"] == "emergency" and set(first["symptoms"]) == {"hives", "swelling"}
    assert "lips, tongue or throat swell, or you find it hard to breathe" in first["text"]
    assert general["level"] == "emergency" and general["symptoms"] == []
    doc = client.get("/api/openapi.json").get_json()
    line = doc["components"]["schemas"]["SafetyNetOut"]
    assert set(line["properties"]) == {"level", "text", "nurse_text", "symptoms"}
    assert line["properties"]["level"]["enum"] == ["emergency", "clinic"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"symptoms": [{"id": "bogus"}], "hours": 3}, ["symptoms[0].id"]),
        ({"symptoms": [{"id": "redness", "severity": "bad"}], "hours": 3}, ["symptoms[0].severity"]),
        ({"symptoms": [{"id": "redness:severe"}], "hours": 3}, ["symptoms[0].id"]),
        ({"symptoms": [], "hours": 3}, ["symptoms"]),
        ({"hours": 3}, ["symptoms"]),
        ({"symptoms": [{"id": "redness"}]}, ["hours"]),
        ({"symptoms": [{"id": "redness"}], "hours": -1}, ["hours"]),
        ({"symptoms": [{"id": "redness"}], "hours": 9000}, ["hours"]),
        ({"symptoms": [{"id": "redness"}], "hours": "soon"}, ["hours"]),  # text is read: "30", "2 days" are hours
        ({"symptoms": [{"id": "redness"}], "hours": ""}, ["hours"]),
        ({"symptoms": [{"id": "redness"}], "hours": True}, ["hours"]),
        ({"symptoms": [{"id": "redness"}], "hours": 3, "worsening": "yes"}, ["worsening"]),
        ({"symptoms": [{"id": "redness"}], "hours": 3, "factors": ["bogus"]}, ["factors[0]"]),
        ({"symptoms": [{"id": "redness"}], "hours": 3, "colour": "red"}, ["colour"]),
        ({"symptoms": [{"id": "redness"}] * 41, "hours": 3}, ["symptoms"]),
        ({"symptoms": "redness", "hours": 3}, ["symptoms"]),
        (
            {"symptoms": [{"id": "bogus", "severity": "awful"}], "hours": -2, "worsening": 1},
            ["symptoms[0].severity", "hours", "worsening"],
        ),
    ],
)
def test_invalid_report_is_422_naming_each_field(client, body, fields):  # type: ignore[no-untyped-def]
    r = post(client, body)
    assert r.status_code == 422, r.get_data(as_text=True)
    data = r.get_json()
    assert data["error"] == "invalid report"
    assert [p["field"] for p in data["problems"]] == fields
    assert all(p["message"] for p in data["problems"])


def test_unknown_ids_name_the_value_and_the_valid_ones(client):  # type: ignore[no-untyped-def]
    kb = default_assessor().kb
    problem = post(client, {"symptoms": [{"id": "bogus"}], "hours": 3}).get_json()["problems"][0]
    assert "'bogus'" in problem["message"] and all(s in problem["message"] for s in kb.symptoms)
    problem = post(client, {"symptoms": [{"id": "redness"}], "hours": 3, "factors": ["x"]}).get_json()["problems"][0]
    assert "'x'" in problem["message"] and all(f in problem["message"] for f in kb.factors)
    problem = post(client, {"symptoms": [{"id": "redness", "severity": "bad"}], "hours": 3}).get_json()["problems"][0]
    assert "mild, moderate, severe" in problem["message"]


def test_nan_and_infinity_hours_are_422(client):  # type: ignore[no-untyped-def]
    for raw in ("NaN", "Infinity", "-Infinity", "1e400"):
        r = post(client, '{"symptoms": [{"id": "redness"}], "hours": ' + raw + "}")
        assert r.status_code == 422, raw
        assert r.get_json()["problems"][0]["field"] == "hours"


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("", "application/json", 400),
        ("[" * 5000 + "]" * 5000, "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        ('{"symptoms": [{"id": "redness"}], "hours": 3}', "text/plain", 415),
        ("symptoms=redness&hours=3", "application/x-www-form-urlencoded", 415),
        ('{"symptoms": [{"id": "redness"}], "hours": 3}', "", 415),
    ],
)
def test_bad_bodies_get_json_errors_not_500_or_html(client, data, content_type, status):  # type: ignore[no-untyped-def]
    r = client.post(URL, data=data, content_type=content_type or None)
    assert r.status_code == status
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert body["status"] == status and body["message"]


def test_body_over_the_limit_is_413_json(client, app):  # type: ignore[no-untyped-def]
    limit = app.config["MAX_CONTENT_LENGTH"]
    r = post(client, json.dumps({"symptoms": [{"id": "redness"}], "hours": 3, "pad": "x" * limit}))
    assert r.status_code == 413
    assert r.mimetype == "application/json"
    assert str(limit) in r.get_json()["message"]


def test_valid_json_of_the_wrong_shape_is_422(client):  # type: ignore[no-untyped-def]
    for body in ("null", "[1, 2]", '"redness"', "3"):
        r = post(client, body)
        assert r.status_code == 422, body
        assert r.get_json()["error"] == "invalid report"


def test_api_404_and_405_are_json(client):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404 and r.mimetype == "application/json"
    r = client.get(URL)
    assert r.status_code == 405 and r.mimetype == "application/json"
    assert "POST" in r.headers["Allow"]


def test_knowledge_lists_the_vocabulary(client):  # type: ignore[no-untyped-def]
    kb = default_assessor().kb
    r = client.get("/api/v1/knowledge")
    assert r.status_code == 200
    data = r.get_json()
    assert data["kb_version"] == kb.version
    assert [s["id"] for s in data["symptoms"]] == list(kb.symptoms)
    assert [f["id"] for f in data["factors"]] == list(kb.factors)
    assert {s["group"] for s in data["symptoms"]} == {"common", "warning"}
    assert data["severities"] == ["mild", "moderate", "severe"]
    assert {d["value"] for d in data["dispositions"]} == {"expected", "monitor", "contact clinician"}


def test_healthz(client):  # type: ignore[no-untyped-def]
    r = client.get("/healthz")
    assert r.status_code == 200
    kb = default_assessor().kb
    assert r.get_json() == {"status": "ok", "kb_version": kb.version, "kb_digest": kb.digest}


def test_openapi_document_comes_from_the_validating_schema(client):  # type: ignore[no-untyped-def]
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.")
    op = doc["paths"]["/api/v1/assess"]["post"]
    assert set(op["responses"]) >= {"200", "400", "413", "415", "422", "429"}
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    schema = doc["components"]["schemas"][ref]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["symptoms"]["maxItems"] == 40
    hours = schema["properties"]["hours"]  # a number up to 8760, or left out / null (the engine decides)
    assert [b["maximum"] for b in hours["anyOf"] if b.get("type") == "number"] == [8760]
    assert {"type": "null"} in hours["anyOf"] and "hours" not in schema.get("required", [])
    assert "/api/v1/knowledge" in doc["paths"] and "/healthz" in doc["paths"]


def test_docs_page_renders_without_scripts(client):  # type: ignore[no-untyped-def]
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "POST /api/v1/assess" in html and "/api/openapi.json" in html
    assert "<script>" not in html and "unpkg" not in html and "cdn" not in html.lower()


def test_every_public_vignette_through_the_api(client):  # type: ignore[no-untyped-def]
    from verification.vignettes import load_vignettes

    for case in load_vignettes():
        symptoms = []
        for entry in case["symptoms"]:
            sid, _, sev = entry.partition(":")
            symptoms.append({"id": sid, "severity": sev or "moderate"})
        body = {
            "symptoms": symptoms,
            "hours": case["hours"],
            "factors": case.get("factors", []),
            "worsening": case.get("worsening", False),
        }
        data = post(client, body).get_json()
        assert data["disposition"] == case["expect"], case["id"]
        assert data["emergency"] is case.get("emergency", False), case["id"]


def test_concurrent_requests_agree(app):  # type: ignore[no-untyped-def]
    """Many threads at once get the same answers as one at a time (one engine per thread)."""
    from concurrent.futures import ThreadPoolExecutor

    bodies = [
        {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": h, "factors": f}
        for h in (1, 30, 60, 200)
        for f in ([], ["isotretinoin"], ["immunosuppressed"])
    ]
    expected = [assess(["redness:mild"], b["hours"], b["factors"]).to_dict() for b in bodies]

    def one(i: int) -> bool:
        client = app.test_client()
        return post(client, bodies[i % len(bodies)]).get_json() == expected[i % len(bodies)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(one, range(96)))


def test_every_symptom_and_factor_answer_matches_the_response_schema(client):  # type: ignore[no-untyped-def]
    """spectree validates each 200 against AssessmentOut; a mismatch would be a 500."""
    kb = default_assessor().kb
    for sid in kb.symptoms:
        for severity in ("mild", "moderate", "severe"):
            for hours in (0, 30, 400):
                r = post(client, {"symptoms": [{"id": sid, "severity": severity}], "hours": hours})
                assert r.status_code == 200, (sid, severity, hours)
    everything = {"symptoms": [{"id": s} for s in kb.symptoms], "hours": 50, "factors": list(kb.factors)}
    assert post(client, {**everything, "worsening": True}).status_code == 200


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 413), (17_000, 413)])
def test_chunked_body_is_bounded_not_truncated(client, app, extra, status):  # type: ignore[no-untyped-def]
    """No Content-Length (chunked): a body exactly at the limit is read whole; one byte more is 413."""
    import io

    good = json.dumps({"symptoms": [{"id": "redness"}], "hours": 3}).encode()
    body = good + b" " * (app.config["MAX_CONTENT_LENGTH"] - len(good) + extra)
    r = client.post(
        URL,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert r.status_code == status
    assert r.mimetype == "application/json"


# --- the response check (web.spectree_plugin): a broken answer is never sent ------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _broken(monkeypatch, change):  # type: ignore[no-untyped-def]
    """Make the API's answers go through `change` (a bug that breaks the documented schema)."""
    import web.api

    answer = web.api._answer
    monkeypatch.setattr(web.api, "_answer", lambda *a, **k: change(answer(*a, **k)))


BROKEN = {
    "summary is not a string": (lambda a: dataclasses.replace(a, summary=None), ["summary"], "string_type"),
    "a finding's window end is not a number": (
        lambda a: dataclasses.replace(a, findings=(dataclasses.replace(a.findings[0], until_hours="soon"),)),
        ["findings", 0, "until_hours"],
        "float_parsing",
    ),
    "the report's severity is not a severity": (
        lambda a: dataclasses.replace(a, report=dataclasses.replace(a.report, symptoms=(("redness", "awful"),))),
        ["report", "symptoms", 0, "severity"],
        "enum",
    ),
}


@pytest.mark.parametrize("bug", BROKEN, ids=list(BROKEN))
def test_an_answer_that_breaks_the_schema_is_not_sent(client, monkeypatch, bug):  # type: ignore[no-untyped-def]
    """The cheaper check still fails: spectree's 500 (its error list, not the answer), and the
    error log names the mismatch without the answer's content."""
    change, loc, kind = BROKEN[bug]
    _broken(monkeypatch, change)
    errors = _Collect()
    logging.getLogger(ERROR_LOGGER).addHandler(errors)
    try:
        r = post(client, {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30})
    finally:
        logging.getLogger(ERROR_LOGGER).removeHandler(errors)
    assert r.status_code == 500 and r.mimetype == "application/json"
    problems = r.get_json()
    assert isinstance(problems, list) and [(p["loc"], p["type"]) for p in problems] == [(loc, kind)]
    assert "disposition" not in r.get_data(as_text=True)  # the answer itself is not in it
    assert [e.getMessage() for e in errors.records] == ["response schema mismatch"]
    assert errors.records[0].fields == {  # type: ignore[attr-defined]
        "event": "response schema mismatch",
        "method": "POST",
        "path": "/api/v1/assess",
    }


def test_a_field_the_schema_does_not_name_is_not_sent(client, monkeypatch):  # type: ignore[no-untyped-def]
    """extra="forbid" holds too: a key the documented answer does not have is a 500."""
    import web.api

    class Clinic:
        def contact(self) -> dict[str, str]:
            return {
                "clinic": "C",
                "phone": "1",
                "out_of_hours": "2",
                "emergency_number": "112",
                "country": "GB",
                "x": "",
            }

    monkeypatch.setattr(web.api, "current_clinic", Clinic)
    r = post(client, {"symptoms": [{"id": "redness"}], "hours": 30})
    assert r.status_code == 500
    assert [(p["loc"], p["type"]) for p in r.get_json()] == [(["contact", "x"], "extra_forbidden")]


def test_a_valid_answer_is_sent_as_built(client):  # type: ignore[no-untyped-def]
    """What passes the check goes out byte for byte as Flask's JSON (sorted keys, ASCII, compact)."""
    expected = assess(["redness:mild", "swelling"], 30, ["prp"]).to_dict()
    r = post(
        client,
        {"symptoms": [{"id": "redness", "severity": "mild"}, {"id": "swelling"}], "hours": 30, "factors": ["prp"]},
    )
    assert r.status_code == 200
    assert r.data == (json.dumps(expected, sort_keys=True, separators=(",", ":")) + "\n").encode()
    assert r.headers["Content-Type"] == "application/json" and r.headers["Content-Length"] == str(len(r.data))
