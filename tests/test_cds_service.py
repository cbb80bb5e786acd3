"""The CDS Hooks service over HTTP (web/cds_service.py): a standard patient-view call assessed
from the prefetched triage QuestionnaireResponse (no cards without one), the spec's errors for
unknown services and hooks, random card ids, feedback stored for review, CORS, and the EHR's JWT
(PyJWT, with an ES384 key made here) checked when CDS_HOOKS_ISSUERS is set."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from tests.redis_server import fresh_prefix, redis_url  # noqa: F401  (a fixture)
from tests.support import MakeApp
from triage import assess
from triage.exports.cds_hooks import PREFETCH_KEY, SERVICE_ID, discovery
from triage.exports.fhir import ExportEntry, record_bundle
from web import ConfigError
from web.storage.models import AuditEvent, CdsFeedback

URL = f"/cds-services/{SERVICE_ID}"
AUDIENCE = f"http://localhost{URL}"
ISSUER = "https://ehr.example.org"
CONTEXT = {"userId": "Practitioner/77", "patientId": "pat-1"}
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _call(prefetch: Any = None, hook: str = "patient-view", **more: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": CONTEXT, **more}
    if prefetch is not None:
        call["prefetch"] = {PREFETCH_KEY: prefetch}
    return call


def _searchset(kb: Any, *reports: tuple[list[str], float, datetime]) -> dict[str, Any]:
    """What the EHR's FHIR server answers the prefetch query with: the QuestionnaireResponses our
    export wrote (the newest is the one the service must read)."""
    entries = [ExportEntry(i, at, "patient-form", assess(s, h).to_dict()) for i, (s, h, at) in enumerate(reports, 1)]
    bundle = record_bundle("K7M-4QX", entries, kb, T0)
    responses = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    return {"resourceType": "Bundle", "type": "searchset", "entry": list(reversed(responses))}


# --- without a JWT check (development and tests) ------------------------------------------


def test_discovery_declares_the_prefetch_of_the_latest_triage_response(client: Any) -> None:
    (service,) = client.get("/cds-services").get_json()["services"]
    assert service == discovery()["services"][0]
    assert service["hook"] == "patient-view"
    query = service["prefetch"][PREFETCH_KEY]
    assert query.startswith("QuestionnaireResponse?patient={{context.patientId}}&")
    assert "questionnaire=urn:microneedling-triage:questionnaire" in query and "_sort=-authored" in query


def test_patient_view_assesses_the_newest_prefetched_report(client: Any, kb: Any) -> None:
    prefetch = _searchset(kb, (["redness:mild"], 6, T0), (["fever", "pus"], 60, T0.replace(day=26)))
    response = client.post(URL, json=_call(prefetch))
    assert response.status_code == 200, response.get_data(as_text=True)
    (card,) = response.get_json()["cards"]
    assert card["indicator"] == "critical"  # the newer report (fever, pus), not the older expected one
    assert "Fever or chills" in card["summary"] and "60 h" in card["summary"]
    uuid.UUID(card["uuid"], version=4)
    answer = assess(["fever", "pus"], 60).to_dict()
    for finding in answer["findings"]:
        assert finding["nurse_reason"].split(" (")[0].split(",")[0] in card["detail"]  # the nurse's words
        assert finding["reason"] not in card["detail"]  # not the patient's
    assert kb.header.disclaimer not in card["detail"]
    assert "**Triage report of 2026-11-26T09:00:00+00:00:** assessed as reported then" in card["detail"]


def test_patient_view_without_a_report_answers_no_cards(client: Any, kb: Any) -> None:
    for call in (
        _call(),  # no prefetch at all
        {**_call(), "prefetch": {PREFETCH_KEY: None}},  # the patient has no triage report
        _call({"resourceType": "Bundle", "type": "searchset", "total": 0}),
        _call({"resourceType": "QuestionnaireResponse", "questionnaire": "http://other/q", "status": "completed"}),
    ):
        response = client.post(URL, json=call)
        assert (response.status_code, response.get_json()) == (200, {"cards": []})


def test_every_card_gets_a_random_uuid(client: Any, kb: Any) -> None:
    prefetch = _searchset(kb, (["redness"], 60, T0))
    ids = {client.post(URL, json=_call(prefetch)).get_json()["cards"][0]["uuid"] for _ in range(3)}
    assert len(ids) == 3


def test_unknown_services_and_hooks_get_the_spec_errors(client: Any) -> None:
    response = client.post("/cds-services/other-service", json=_call())
    assert response.status_code == 404 and SERVICE_ID in response.get_json()["message"]
    response = client.post(URL, json=_call(hook="order-sign"))
    assert response.status_code == 400
    assert "'patient-view'" in response.get_json()["message"] and "'order-sign'" in response.get_json()["message"]
    response = client.post(URL, json={**_call(), "context": {"userId": "Practitioner/1"}})
    assert response.status_code == 422
    assert response.get_json()["problems"] == [{"field": "context.patientId", "message": "this field is required"}]


def test_a_prefetched_report_that_cannot_be_read_names_the_problem(client: Any, kb: Any) -> None:
    prefetch = _searchset(kb, (["redness"], 60, T0))
    qr = prefetch["entry"][0]["resource"]
    qr["item"][1]["answer"][0]["item"][0]["answer"] = [{"valueCoding": {"code": "999999"}}]
    response = client.post(URL, json=_call(prefetch))
    assert response.status_code == 422 and "999999" in response.get_json()["problems"][0]["message"]


def test_cors_as_the_spec_recommends(client: Any) -> None:
    preflight = client.options(
        URL,
        headers={
            "Origin": "https://ehr.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    for response in (preflight, client.get("/cds-services"), client.post(URL, json=_call())):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert {"Authorization", "Content-Type"} <= {
            h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")
        }
        assert "POST" in response.headers["Access-Control-Allow-Methods"]


FEEDBACK = {
    "feedback": [
        {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z"},
        {
            "card": str(uuid.uuid4()),
            "outcome": "overridden",
            "overrideReason": {
                "reason": {
                    "code": "not-relevant",
                    "system": "http://ehr.example.org/reasons",
                    "display": "Not relevant",
                },
                "userComment": "Seen in clinic this morning",
            },
            "outcomeTimestamp": "2026-11-25T10:05:00Z",
        },
    ]
}


def test_feedback_is_stored_for_clinical_review(app: Any, client: Any) -> None:
    from web.db import database

    response = client.post(f"{URL}/feedback", json=FEEDBACK)
    assert (response.status_code, response.get_json()) == (200, {"stored": 2})
    with app.app_context(), database().transaction() as session:
        rows = session.scalars(select(CdsFeedback).order_by(CdsFeedback.id)).all()
        got = [(r.card_uuid, r.outcome, r.override_code, r.user_comment, r.service_id) for r in rows]
        events = [(a.actor, a.action, a.detail) for a in session.scalars(select(AuditEvent))]
    first, second = FEEDBACK["feedback"]
    assert got == [
        (first["card"], "accepted", None, None, SERVICE_ID),
        (second["card"], "overridden", "not-relevant", "Seen in clinic this morning", SERVICE_ID),
    ]
    assert events == [("ehr", "cds-feedback", "2 card(s): accepted, overridden")]
    assert client.post("/cds-services/other/feedback", json=FEEDBACK).status_code == 404
    bad = client.post(f"{URL}/feedback", json={"feedback": [{"card": "x", "outcome": "ignored"}]})
    assert bad.status_code == 422
    assert {p["field"] for p in bad.get_json()["problems"]} == {"feedback[0].outcome", "feedback[0].outcomeTimestamp"}


def test_the_clinical_lead_reads_the_feedback_as_csv(app: Any, client: Any, nurse_client: Any) -> None:
    import csv
    import io

    assert client.post(f"{URL}/feedback", json=FEEDBACK).status_code == 200
    assert app.test_client().get("/nurse/cds-feedback.csv").status_code == 302  # signed in only
    exported = nurse_client.get("/nurse/cds-feedback.csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["card_uuid"], r["outcome"], r["user_comment"]) for r in rows] == [
        (FEEDBACK["feedback"][1]["card"], "overridden", "Seen in clinic this morning"),
        (FEEDBACK["feedback"][0]["card"], "accepted", ""),
    ]


# --- with CDS_HOOKS_ISSUERS: the EHR's JWT ------------------------------------------------------


@pytest.fixture(scope="module")
def ehr_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def jwks_file(tmp_path: Path, ehr_key: ec.EllipticCurvePrivateKey) -> Path:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ehr_key.public_key()))
    path = tmp_path / "ehr-jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": "ehr-1", "alg": "ES384", "use": "sig"}]}))
    return path


@pytest.fixture
def secured(make_app: MakeApp, jwks_file: Path) -> Any:
    return make_app(CDS_HOOKS_ISSUERS=json.dumps({ISSUER: str(jwks_file)})).test_client()


def _token(key: ec.EllipticCurvePrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), "sub": "ehr"}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="ES384", headers={"kid": "ehr-1"})


def test_a_valid_jwt_gets_cards(secured: Any, ehr_key: Any, kb: Any) -> None:
    prefetch = _searchset(kb, (["redness"], 60, T0))
    response = secured.post(URL, json=_call(prefetch), headers={"Authorization": f"Bearer {_token(ehr_key)}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["cards"][0]["indicator"] == "warning"
    # the same EHR's feedback names it in the audit trail
    feedback_token = _token(ehr_key, aud=f"{AUDIENCE}/feedback")
    response = secured.post(f"{URL}/feedback", json=FEEDBACK, headers={"Authorization": f"Bearer {feedback_token}"})
    assert response.status_code == 200
    assert secured.get("/cds-services").status_code == 200  # discovery stays public
    # patient-view without a prefetched report: no cards, with a valid token as without one
    none = secured.post(URL, json=_call(), headers={"Authorization": f"Bearer {_token(ehr_key)}"})
    assert (none.status_code, none.get_json()) == (200, {"cards": []})


def test_keys_from_the_issuers_jwks_url(
    make_app: MakeApp, jwks_file: Path, ehr_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An https JWKS URL is read by PyJWT's client (its fetch replaced here: no network in tests)."""
    fetched: list[str] = []

    def fetch(client: jwt.PyJWKClient) -> Any:
        fetched.append(client.uri)
        return json.loads(jwks_file.read_text())

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", fetch)
    client = make_app(CDS_HOOKS_ISSUERS={ISSUER: f"{ISSUER}/.well-known/jwks.json"}).test_client()
    response = client.post(URL, json=_call(), headers={"Authorization": f"Bearer {_token(ehr_key)}"})
    assert response.status_code == 200 and fetched == [f"{ISSUER}/.well-known/jwks.json"]
    other_kid = jwt.encode({"iss": ISSUER}, ehr_key, algorithm="ES384", headers={"kid": "rotated-away"})
    refused = client.post(URL, json=_call(), headers={"Authorization": f"Bearer {other_kid}"})
    assert refused.status_code == 401 and "keys could not be used" in refused.get_json()["message"]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 400}, "expired"),
        ({"iss": "https://other-ehr.example.org"}, "issuer"),
        ({"aud": "https://elsewhere.example.org/cds-services/microneedling-triage"}, "audience"),
        ({"jti": None}, "jti"),
        ({"exp": int(time.time()) + 3600}, "300 seconds"),
    ],
    ids=["expired", "wrong issuer", "wrong audience", "no jti", "lives an hour"],
)
def test_an_invalid_jwt_is_401(secured: Any, ehr_key: Any, claims: dict[str, Any], why: str) -> None:
    response = secured.post(URL, json=_call(), headers={"Authorization": f"Bearer {_token(ehr_key, **claims)}"})
    assert response.status_code == 401 and why in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_missing_forged_or_replayed_jwt_is_401(secured: Any, ehr_key: Any) -> None:
    assert secured.post(URL, json=_call()).status_code == 401
    assert secured.post(f"{URL}/feedback", json=FEEDBACK).status_code == 401
    forged = _token(ec.generate_private_key(ec.SECP384R1()))
    assert secured.post(URL, json=_call(), headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    token = _token(ehr_key)
    assert secured.post(URL, json=_call(), headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = secured.post(URL, json=_call(), headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401 and "used before" in again.get_json()["message"]
    assert secured.options(URL).status_code == 200  # a preflight carries no token


def test_a_token_replayed_to_another_worker_is_401_when_the_limits_share_redis(
    make_app: MakeApp,
    jwks_file: Path,
    ehr_key: Any,
    redis_url: str,  # noqa: F811
) -> None:
    """Two apps (two workers, or two servers) on one Redis: a token used on one is refused on the other."""
    shared = {
        "CDS_HOOKS_ISSUERS": json.dumps({ISSUER: str(jwks_file)}),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": fresh_prefix(),
    }
    first, second = make_app(**shared).test_client(), make_app(**shared).test_client()
    token = {"Authorization": f"Bearer {_token(ehr_key)}"}
    assert first.post(URL, json=_call(), headers=token).status_code == 200
    again = second.post(URL, json=_call(), headers=token)
    assert again.status_code == 401 and "used before" in again.get_json()["message"]
    fresh = {"Authorization": f"Bearer {_token(ehr_key)}"}
    assert second.post(URL, json=_call(), headers=fresh).status_code == 200  # a new token is served


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json", "JSON object"),
        ("[]", "JSON object"),
        ('{"https://ehr": "http://ehr/jwks.json"}', "https"),
        ('{"https://ehr": "/no/such/file.json"}', "cannot be read"),
    ],
)
def test_a_malformed_issuers_setting_stops_the_start_up(make_app: MakeApp, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="CDS_HOOKS_ISSUERS") as refused:
        make_app(CDS_HOOKS_ISSUERS=value)
    assert problem in str(refused.value)


def test_production_without_issuers_answers_503_saying_why(make_app: MakeApp) -> None:
    from tests.support import DATA_KEY, REPO

    app = make_app(
        TESTING=False,
        TRIAGE_ENV="production",
        SECRET_KEY="k" * 64,
        DATA_KEY=DATA_KEY,
        SESSION_COOKIE_SECURE=False,
        KNOWLEDGE_DIR=str(REPO / "knowledge" / "released"),
    )
    client = app.test_client()
    for response in (client.get("/cds-services"), client.post(URL, json=_call())):
        assert response.status_code == 503 and "CDS_HOOKS_ISSUERS" in response.get_json()["message"]
    assert client.get("/healthz").status_code == 200  # the rest of the app serves
