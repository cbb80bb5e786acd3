"""Fuzzing the JSON API: from its OpenAPI description (schemathesis), with the real vocabulary
(hypothesis), and with hostile raw bodies. Never a 5xx; every response matches the schema;
every 200 is exactly the engine's answer for the same report.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import build_app, shipped_kb
from triage import InvalidReport, default_assessor
from triage.engine.report import hours_for_engine

URL = "/api/v1/assess"
# Made while the module is collected: schemathesis reads the app's OpenAPI description then, to
# make one test per operation. (On the session's shared records database.)
APP = build_app(LOG_REQUESTS=False)

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)
# Schema-valid requests (positive) and schema-breaking ones (negative: wrong types, missing
# fields, out-of-range numbers, extra fields...).
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# A schema-breaking body may also be too large (413, documented for these endpoints): rejected too.
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]

# positive_data_acceptance is left out here: a schema-valid report the engine cannot answer (no
# hours where they matter) is rightly a 422; tests/test_api_document.py runs every check, with
# that 422 expected, over the whole document.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def assert_is_engine_answer(body: Any, response_json: Any) -> None:
    """A 200 from /assess is exactly assess() on the same report (hours sent as text read as the API reads them)."""
    hours = body.get("hours")  # left out (or null) only where no hour changes the answer
    expected = default_assessor().assess(
        [f"{s['id']}:{s.get('severity', 'moderate')}" for s in body["symptoms"]],
        hours_for_engine(hours) if isinstance(hours, str) else hours,
        body.get("factors", []),
        body.get("worsening", False),
    )
    if body.get("record"):  # without an API key nothing is stored, and the answer says so
        assert "reference" not in response_json and "API key" in response_json["record_error"]
        response_json = {k: v for k, v in response_json.items() if k not in ("reference", "record_error")}
    assert response_json == expected.to_dict()


@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_description(case: Any) -> None:
    # Bodies uncompressed: the WSGI client does not decode brotli or gzip as an HTTP client does
    # (compression is tested in tests/test_web_fast.py).
    response = case.call_and_validate(checks=CHECKS, headers={"Accept-Encoding": "identity"})
    if case.method.upper() == "POST" and case.path == URL and response.status_code == 200:
        assert_is_engine_answer(case.body, response.json())


# --- the real vocabulary: mostly valid reports ----------------------------------------------

SYMPTOM = st.fixed_dictionaries(
    {"id": st.sampled_from(list(shipped_kb().symptoms)) | st.text(max_size=8)},
    optional={"severity": st.sampled_from(["mild", "moderate", "severe"])},
)
BODY = st.fixed_dictionaries(
    {
        "symptoms": st.lists(SYMPTOM, min_size=1, max_size=8),
        "hours": st.floats(min_value=0, max_value=8760) | st.integers(0, 8760),
    },
    optional={
        "factors": st.lists(st.sampled_from(list(shipped_kb().factors)), max_size=4),
        "worsening": st.booleans(),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODY)
def test_api_answer_is_the_engine_answer(body: dict[str, Any]) -> None:
    client = APP.test_client()
    response = client.post(URL, data=json.dumps(body), content_type="application/json")
    try:
        assert_is_engine_answer(body, response.get_json())
    except InvalidReport:
        assert response.status_code == 422
        assert response.get_json()["error"] == "invalid report"
    else:
        assert response.status_code == 200


# --- hostile raw bodies ----------------------------------------------------------------------

REPORT = '{"symptoms": [{"id": "redness"}], '
HOSTILE: dict[str, bytes | str] = {
    "NaN": REPORT + '"hours": NaN}',
    "Infinity": REPORT + '"hours": Infinity}',
    "-Infinity": REPORT + '"hours": -Infinity}',
    "1e400": REPORT + '"hours": 1e400}',
    "400-digit integer": REPORT + '"hours": 1' + "0" * 400 + "}",
    "5000-digit integer": REPORT + '"hours": 1' + "0" * 5000 + "}",
    "nested arrays under the size limit": "[" * 8000 + "]" * 8000,
    "nested objects under the size limit": '{"a":' * 2000 + "1" + "}" * 2000,
    "factors null": REPORT + '"hours": 1, "factors": null}',
    "factor is a list": REPORT + '"hours": 1, "factors": [["prp"]]}',
    "factor is an object": REPORT + '"hours": 1, "factors": [{"id": "prp"}]}',
    "not UTF-8": b'{"symptoms": [{"id": "r\xffdness"}], "hours": 1}',
    "lone surrogate": '{"symptoms": [{"id": "\\ud800"}], "hours": 1}',
    "NUL in id": '{"symptoms": [{"id": "red\\u0000ness"}], "hours": 1}',
    "empty": "",
    "null": "null",
    "array": "[]",
    "string": '"redness"',
    "truncated": REPORT,
    "severity null": '{"symptoms": [{"id": "redness", "severity": null}], "hours": 1}',
    "id is a number": '{"symptoms": [{"id": 5}], "hours": 1}',
    "hours is an object": REPORT + '"hours": {}}',
    "hours is a bool": REPORT + '"hours": true}',
    "41 symptoms": json.dumps({"symptoms": [{"id": "redness"}] * 41, "hours": 1}),
    "41 factors": json.dumps({"symptoms": [{"id": "redness"}], "hours": 1, "factors": ["prp"] * 41}),
}


@pytest.mark.parametrize("name", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_body_gets_a_json_4xx(name: str) -> None:
    response = APP.test_client().post(URL, data=HOSTILE[name], content_type="application/json")
    assert 400 <= response.status_code < 500, response.data[:300]
    body = response.get_json()
    assert isinstance(body, dict)
    if response.status_code == 422:
        assert body["error"] == "invalid report" and body["problems"]
        assert all(set(p) == {"field", "message"} for p in body["problems"])
    else:
        assert set(body) == {"error", "message", "status"} and body["status"] == response.status_code


@pytest.mark.parametrize(
    ("raw", "same_as"),
    [
        # Duplicate JSON keys: the last one wins, as in every JSON parser Python ships.
        ('{"symptoms": [{"id": "redness"}], "hours": 1, "hours": 60}', (["redness"], 60)),
        # A byte order mark is tolerated.
        ("\ufeff" + REPORT + '"hours": 5}', (["redness"], 5)),
        # Case and surrounding whitespace of ids do not matter (the documented policy).
        ('{"symptoms": [{"id": " REDNESS "}], "hours": 5}', (["redness"], 5)),
        # The same symptom twice keeps its most severe report (the documented policy).
        (
            '{"symptoms": [{"id": "redness", "severity": "mild"}, {"id": "redness", "severity": "severe"}],'
            ' "hours": 5}',
            (["redness:severe"], 5),
        ),
    ],
    ids=["duplicate keys", "BOM", "case and spaces", "duplicate symptom"],
)
def test_odd_but_valid_bodies_are_answered_deliberately(raw: str, same_as: tuple[list[str], float]) -> None:
    response = APP.test_client().post(URL, data=raw.encode(), content_type="application/json")
    assert response.status_code == 200
    assert response.get_json() == default_assessor().assess(*same_as).to_dict()
