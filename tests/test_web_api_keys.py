"""Issue 34, finding 8: the API stores records only for a client with a key (`flask api-key`)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select, text

from triage.exports.cds_hooks import REPORT_EXTENSION, SERVICE_ID
from web.storage.models import ApiKey, AuditEvent, Record

REPORT = {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}
URL = "/api/v1/assess"

CONTEXT = {"userId": "Practitioner/1", "patientId": "patient-1"}


def _records(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.extensions["triage_db"].transaction() as s:
        return list(s.scalars(select(Record.reference)))


def _create(runner, name: str) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["api-key", "create", name])
    assert result.exit_code == 0, result.output
    return str(result.output.splitlines()[-1])


def test_anonymous_callers_are_answered_but_store_nothing_and_are_told_why(app, client) -> None:  # type: ignore[no-untyped-def]
    """Finding 8: anonymous callers could store records ("record": true)."""
    plain = client.post(URL, json=REPORT).get_json()
    response = client.post(URL, json={**REPORT, "record": True})
    data = response.get_json()
    assert response.status_code == 200 and "reference" not in data
    assert "only a client with an API key can store records" in data["record_error"]
    assert {k: v for k, v in data.items() if k != "record_error"} == plain  # the same answer

    def cards(record: bool) -> object:
        call = {
            "hook": "patient-view",
            "hookInstance": "x",
            "context": CONTEXT,
            "extension": {REPORT_EXTENSION: {**REPORT, "record": record}},
        }
        response = client.post(f"/cds-services/{SERVICE_ID}", json=call)
        assert response.status_code == 200
        return [{k: v for k, v in card.items() if k != "uuid"} for card in response.get_json()["cards"]]

    assert cards(record=True) == cards(record=False)  # no record named on the card
    assert _records(app) == []


def test_a_key_is_shown_once_stored_hashed_listed_and_revoked(app, client, runner, caplog) -> None:  # type: ignore[no-untyped-def]
    key = _create(runner, "Clinic-EHR")
    assert len(key) >= 43  # 32 random bytes
    with app.extensions["triage_db"].engine.connect() as c:
        rows = c.execute(text("SELECT * FROM api_keys")).all()
    assert key not in repr(rows) and rows[0].key_hash == hashlib.sha256(key.encode()).hexdigest()
    again = runner.invoke(args=["api-key", "create", "clinic-ehr"])
    assert again.exit_code == 2 and "already exists" in again.output
    assert runner.invoke(args=["api-key", "create", "no spaces"]).exit_code == 2
    listed = runner.invoke(args=["api-key", "list"]).output
    assert "clinic-ehr" in listed and "active" in listed and key not in listed

    stored = client.post(URL, json={**REPORT, "record": True}, headers={"Authorization": f"Bearer {key}"}).get_json()
    assert stored["reference"] in _records(app) and "record_error" not in stored
    with app.extensions["triage_db"].transaction() as s:
        assert ("api:clinic-ehr", "create") in [(a.actor, a.action) for a in s.scalars(select(AuditEvent))]

    revoked = runner.invoke(args=["api-key", "revoke", "clinic-ehr"])
    assert revoked.exit_code == 0 and "revoked" in runner.invoke(args=["api-key", "list"]).output
    assert runner.invoke(args=["api-key", "revoke", "nobody"]).exit_code == 2
    for header in (f"Bearer {key}", "Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer "):
        refused = client.post(URL, json={**REPORT, "record": True}, headers={"Authorization": header})
        assert refused.status_code == 401 and refused.is_json, header
        assert refused.get_json()["status"] == 401 and "API key" in refused.get_json()["message"]
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert len(_records(app)) == 1
    with app.extensions["triage_db"].transaction() as s:
        assert s.scalars(select(ApiKey)).one().revoked_at is not None  # kept: the trail's name keeps its meaning
        assert key not in " ".join(f"{a.actor} {a.detail}" for a in s.scalars(select(AuditEvent)))
    assert key not in caplog.text


def test_cds_hooks_card_names_the_record_for_a_client_with_a_key(app, client, api_key) -> None:  # type: ignore[no-untyped-def]
    call = {
        "hook": "patient-view",
        "hookInstance": "x",
        "context": CONTEXT,
        "extension": {REPORT_EXTENSION: {**REPORT, "record": True}},
    }
    cards = client.post(f"/cds-services/{SERVICE_ID}", json=call, headers=api_key).get_data(as_text=True)
    (code,) = _records(app)
    assert code in cards


def test_each_key_has_its_own_budget(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_API="1000 per minute", RATELIMIT_API_KEY="3 per minute")
    runner = app.test_cli_runner()
    first, second = _create(runner, "first"), _create(runner, "second")
    client = app.test_client()

    def post(key: str | None, address: str) -> int:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = client.post(URL, json=REPORT, headers=headers, environ_base={"REMOTE_ADDR": address})
        return response.status_code

    assert [post(first, f"192.0.2.{i}") for i in range(5)] == [200, 200, 200, 429, 429]  # across addresses
    assert post(second, "192.0.2.1") == 200 and post(None, "192.0.2.1") == 200
