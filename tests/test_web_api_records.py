"""The API stores a record when asked, and answers as CDS Hooks cards for EHRs."""

from __future__ import annotations

from sqlalchemy import select

from triage import assess
from triage.exports.cds_hooks import REPORT_EXTENSION, SERVICE_ID
from web.storage.codes import normalize_code
from web.storage.models import AuditEvent, Entry, Record

REPORT = {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}


def test_no_record_unless_asked(app, client):  # type: ignore[no-untyped-def]
    data = client.post("/api/v1/assess", json=REPORT).get_json()
    assert "reference" not in data
    with app.extensions["triage_db"].transaction() as s:
        assert s.scalars(select(Record)).all() == []


def test_record_true_stores_report_and_answer_under_a_code(app, client, api_key):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/assess", json={**REPORT, "record": True}, headers=api_key)
    assert response.status_code == 200
    data = response.get_json()
    code = data["reference"]
    assert normalize_code(code) == code
    with app.extensions["triage_db"].transaction() as s:
        record = s.scalar(select(Record).where(Record.reference == code))
        assert record is not None
        (entry,) = s.scalars(select(Entry).where(Entry.record_id == record.id)).all()
        assert entry.channel == "api" and entry.nurse_id is None
        stored = dict(data)
        del stored["reference"]
        assert entry.answer == stored == assess(["redness:mild"], 30).to_dict()
        trail = [(a.actor, a.action) for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert trail == [("cli", "create-api-key"), ("api:clinic-ehr", "create")]  # the client, by its key's name


def test_record_not_stored_still_answers(app, client, api_key, monkeypatch):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr("web.storage.store.create_record", broken)
    data = client.post("/api/v1/assess", json={**REPORT, "record": True}, headers=api_key).get_json()
    assert data["disposition"] == "expected"
    assert data["reference"] is None
    assert "no reference code" in data["record_error"]


def test_record_must_be_a_boolean(client):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/assess", json={**REPORT, "record": "yes"})
    assert response.status_code == 422
    assert response.get_json()["problems"][0]["field"] == "record"


def test_cds_hooks_card_per_disposition(client):  # type: ignore[no-untyped-def]
    cases = {
        "info": {"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 10},
        "warning": {"symptoms": [{"id": "redness"}], "hours": 60},
        "critical": {"symptoms": [{"id": "breathing-difficulty"}], "hours": 1},
    }
    for indicator, body in cases.items():
        response = client.post("/api/v1/assess/cds-hooks", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        (card,) = response.get_json()["cards"]
        assert card["indicator"] == indicator
        assert len(card["summary"]) <= 140
        assert "Knowledge base" in card["source"]["label"] or "knowledge base" in card["source"]["label"]


def test_cds_hooks_bad_report_is_422(client):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/assess/cds-hooks", json={"symptoms": [{"id": "glitter"}], "hours": 3})
    assert response.status_code == 422
    assert "glitter" in response.get_json()["problems"][0]["message"]


def test_cds_services_discovery_and_call(client):  # type: ignore[no-untyped-def]
    services = client.get("/cds-services").get_json()["services"]
    assert [s["id"] for s in services] == [SERVICE_ID]
    call = {
        "hook": services[0]["hook"],
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "1"},
        "extension": {REPORT_EXTENSION: {"symptoms": [{"id": "fever"}, {"id": "cold-sores"}], "hours": 50}},
    }
    response = client.post(f"/cds-services/{SERVICE_ID}", json=call)
    assert response.status_code == 200
    assert response.get_json()["cards"][0]["indicator"] == "critical"


def test_cds_service_errors_are_json(client):  # type: ignore[no-untyped-def]
    context = {"userId": "Practitioner/1", "patientId": "1"}
    r = client.post(f"/cds-services/{SERVICE_ID}", json={"hook": "patient-view", "hookInstance": "x"})
    assert r.status_code == 422 and r.get_json()["problems"] == [
        {"field": "context", "message": "this field is required"}
    ]
    bad = {
        "hook": "patient-view",
        "hookInstance": "x",
        "context": context,
        "extension": {REPORT_EXTENSION: {"symptoms": [], "hours": -1}},
    }
    r = client.post(f"/cds-services/{SERVICE_ID}", json=bad)
    assert r.status_code == 422
    assert {p["field"] for p in r.get_json()["problems"]} == {"extension.hours"}
    # no symptoms is refused unless a factor is answered without symptoms (policy v2: shared equipment)
    bad["extension"][REPORT_EXTENSION]["hours"] = 5
    r = client.post(f"/cds-services/{SERVICE_ID}", json=bad)
    assert r.status_code == 422
    assert {p["field"] for p in r.get_json()["problems"]} == {"extension.symptoms"}
    r = client.post(f"/cds-services/{SERVICE_ID}", data="x", content_type="text/plain")
    assert r.status_code == 415 and r.is_json


def test_a_record_from_the_api_keeps_the_language_the_answer_was_read_in(app, client, api_key):  # type: ignore[no-untyped-def]
    headers = {"Accept-Language": "es", **api_key}
    data = client.post("/api/v1/assess", json={**REPORT, "record": True}, headers=headers).get_json()
    with app.extensions["triage_db"].transaction() as s:
        entry = s.scalar(select(Entry))
        assert entry is not None and entry.record.reference == data["reference"]
        assert (entry.language, entry.emergency_number, entry.clinic_phone) == ("es", None, None)
        assert entry.answer["summary"] == assess(["redness:mild"], 30).summary  # stored in English
