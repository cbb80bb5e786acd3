"""The follow-up loop on the web (issue 31): the private link, the calendar reminder, the
call-back request and the nurse's worklist, with the app's clock moved forward; with and without
a clinic profile, in English and Spanish."""

from __future__ import annotations

import html
import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import event, select, text

from tests.photo_samples import small_jpeg
from tests.support import DATA_KEY, NURSE, PROFILE, MakeApp
from tests.web_helpers import csrf_token, patient_form, sign_in, signed_in_client
from web.config import ConfigError, load_config
from web.storage import store
from web.storage.models import AuditEvent, Entry, FollowUp, Photo, Record

DAY1 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Clock:
    """The app's clock (config NOW), moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(params=["no-profile", "profile"])
def setup(request: pytest.FixtureRequest, make_app: MakeApp, tmp_path: Path) -> tuple[Any, Clock]:
    clock = Clock(DAY1)
    extra: dict[str, Any] = {}
    if request.param == "profile":
        (tmp_path / "clinic.toml").write_text(PROFILE, encoding="utf-8")
        extra["CLINIC_PROFILE"] = str(tmp_path / "clinic.toml")
    return make_app(NOW=clock, **extra), clock


def _db(app: Any) -> Any:
    return app.extensions["triage_db"]


def _first_check(client: Any, symptoms: dict[str, str], hours: str = "24", **headers: str) -> tuple[str, str]:
    """A self-check on the form; (its page, the private link's path)."""
    data = patient_form(symptoms, hours=hours) | {"csrf_token": csrf_token(client)}
    page = client.post("/", data=data, headers=headers).get_data(as_text=True)
    found = re.search(r'id="private-link"[^>]*value="http://localhost(/c/[^"]+)"', page)
    assert found, page[:3000]
    return page, found.group(1)


def _ics_path(page: str) -> str:
    found = re.search(r'id="add-reminder" href="([^"]+)"', page)
    assert found
    return found.group(1).replace("&amp;", "&")


# --- the private link -----------------------------------------------------------------------


def test_the_link_page_shows_the_course_and_a_form_filled_in_with_hours_from_the_session(setup: Any) -> None:
    app, clock = setup
    client = app.test_client()
    page, link = _first_check(client, {"redness": "mild"}, hours="24")
    assert "Check again later" in page and "Add a reminder to my calendar" in page
    assert "Ask the clinic to call me" not in page  # an `expected` answer needs no call
    clock.at = DAY1 + timedelta(hours=48)
    r = client.get(link)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Your checks so far" in html and "Redness (mild)" in html and "Answer: Expected." in html
    assert 'value="72"' in html  # 24 h at the first check, 48 h later
    assert "your session ended at about" in html
    assert re.search(r'id="symptom-redness"[^>]*checked', html)
    assert re.search(r'id="severity-redness-mild"[^>]*value="mild"\s*checked', html)


def test_a_check_through_the_link_is_added_to_the_same_record_and_worse_is_derived_as_a_call_back(
    setup: Any,
) -> None:
    app, clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"redness": "mild"}, hours="30")
    clock.at = DAY1 + timedelta(hours=30)
    data = patient_form({"redness": "severe"}, hours="60") | {"csrf_token": csrf_token(client, link)}
    page = client.post(link, data=data).get_data(as_text=True)
    with _db(app).transaction() as s:
        records = s.scalars(select(Record)).all()
        assert len(records) == 1
        entries = records[0].entries
        assert [e.seq for e in entries] == [1, 2]
        assert entries[1].report["worse_symptoms"] == ["redness"]  # mild -> severe, from the record
        assert entries[1].created_at == clock.at
        rules = [f["rule"] for f in entries[1].answer["findings"]]
    assert "worsening-after-48h" in rules
    # The same report as a nurse's call-back on another record: the same worse list, the same answer.
    nurse = signed_in_client(app)
    _p, _other = _first_check(app.test_client(), {"redness": "mild"}, hours="30")
    with _db(app).transaction() as s:
        code = s.scalars(select(Record.reference).order_by(Record.id.desc())).first()
    token = csrf_token(nurse, f"/nurse/records/{code}")
    nurse.post(
        f"/nurse/records/{code}/entries", data={"csrf_token": token, "symptoms": "redness:severe", "hours": "60"}
    )
    with _db(app).transaction() as s:
        added = s.scalars(select(Entry).where(Entry.channel == "nurse-console")).one()
        assert added.report["worse_symptoms"] == entries[1].report["worse_symptoms"]
        assert added.disposition == entries[1].disposition
    assert "Check again later" in page or "Contact clinician" in page


def test_a_cleared_hours_field_takes_the_hours_from_the_session_time(setup: Any) -> None:
    app, clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"redness": "mild"}, hours="24")
    clock.at = DAY1 + timedelta(hours=12)
    data = patient_form({"redness": "mild"}, hours="") | {"csrf_token": csrf_token(client, link)}
    assert client.post(link, data=data).status_code == 200
    with _db(app).transaction() as s:
        assert [e.hours for e in s.scalars(select(Entry).order_by(Entry.seq))] == [24.0, 36.0]


def test_the_link_page_never_shows_a_nurse_note_or_an_override_reason(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"fever": "moderate", "redness": "severe"}, hours="72")
    with _db(app).transaction() as s:
        nurse = store.create_nurse(s, "alice", "correct horse battery")
        entry = s.scalars(select(Entry)).one()
        store.add_override(s, entry, nurse, "monitor", "SECRET-REASON photo looks fine")
        item = s.scalars(select(FollowUp)).one()
        item.note = "SECRET-NOTE rang twice"
    html = client.get(link).get_data(as_text=True)
    assert "SECRET" not in html and "alice" not in html


def test_wrong_forgotten_and_expired_links_get_the_same_plain_page(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    _page, forgotten = _first_check(client, {"redness": "mild"})
    _page, expired = _first_check(client, {"redness": "mild"})
    client.post(forgotten + "/forget", data={"csrf_token": csrf_token(client, forgotten)})
    with _db(app).transaction() as s:  # the record of the second one is purged (retention)
        s.execute(text("UPDATE records SET updated_at = :old WHERE id = 2"), {"old": DAY1 - timedelta(days=800)})
        store.purge(s, DAY1 - timedelta(days=730))
    wrong = "/c/" + "A" * 43
    pages = [client.get(path) for path in (wrong, forgotten, expired)]
    assert {p.status_code for p in pages} == {404}
    bodies = {re.sub(r'name="csrf_token" value="[^"]+"', "", p.get_data(as_text=True)) for p in pages}
    assert len(bodies) == 1
    body = bodies.pop()
    assert "This link no longer works" in body and "Start a new check" in body
    if app.config.get("CLINIC_PROFILE"):
        assert "+34 910 123 456" in body
    for path in (forgotten + "/call-back", forgotten):
        assert client.post(path, data={"csrf_token": csrf_token(client)}).status_code == 404
    assert client.get(forgotten + "/reminder.ics").status_code == 404


def test_a_nurse_can_end_the_link(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"redness": "mild"})
    with _db(app).transaction() as s:
        code = s.scalar(select(Record.reference))
    nurse = signed_in_client(app)
    record_page = nurse.get(f"/nurse/records/{code}").get_data(as_text=True)
    assert "The patient's private link works." in record_page
    token = csrf_token(nurse, f"/nurse/records/{code}")
    assert nurse.post(f"/nurse/records/{code}/end-link", data={"csrf_token": token}).status_code == 303
    assert client.get(link).status_code == 404
    assert "The patient has no private link" in nurse.get(f"/nurse/records/{code}").get_data(as_text=True)
    with _db(app).transaction() as s:
        assert ("nurse:" + NURSE[0], "end-link") in s.execute(select(AuditEvent.actor, AuditEvent.action)).all()


def test_link_look_ups_are_rate_limited_like_record_look_ups(make_app: MakeApp) -> None:
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_RECORDS="3 per minute")
    client = app.test_client()
    codes = [client.get("/c/" + "B" * 43).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]


# --- the calendar reminder ------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_calendar_file_has_one_event_at_the_recheck_time_with_an_alarm_and_no_symptoms(
    setup: Any, language: str, kb: Any
) -> None:
    app, _clock = setup
    client = app.test_client()
    headers = {"Accept-Language": language}
    page, link = _first_check(client, {"redness": "mild"}, hours="24", **headers)
    r = client.get(_ics_path(page).replace("timezone=UTC", "timezone=America/New_York"), headers=headers)
    assert r.status_code == 200 and r.content_type.startswith("text/calendar")
    calendar = Calendar.from_ical(r.data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "America/New_York"
    with _db(app).transaction() as s:
        entry = s.scalars(select(Entry)).one()
        due = entry.created_at + timedelta(hours=entry.answer["recheck_in_hours"])
    assert timedelta(0) <= due - start < timedelta(minutes=15)  # as the page says it: the quarter hour before
    assert len(event.walk("VALARM")) == 1
    assert str(event["summary"]) == ("Check your skin again" if language == "en" else "Revise su piel otra vez")
    assert str(event["description"]) == "http://localhost" + link
    words = {s.name.lower() for s in kb.symptoms.values()} | {"redness", "enrojecimiento", "expected", "mild", "leve"}
    lowered = r.get_data(as_text=True).lower()
    assert not [w for w in words if w in lowered]


def test_without_a_session_time_the_reminder_is_in_n_hours_from_now(setup: Any) -> None:
    app, clock = setup
    client = app.test_client()
    r = client.get("/reminder.ics?hours=6&timezone=Europe/Madrid")
    event = Calendar.from_ical(r.data).walk("VEVENT")[0]
    assert timedelta(0) <= clock.at + timedelta(hours=6) - event.decoded("dtstart") < timedelta(minutes=15)
    assert "description" not in event
    assert client.get("/reminder.ics?hours=-1").status_code == 400


# --- the call-back request ------------------------------------------------------------------


def _call_back(client: Any, link: str, phone: str, consent: str = "yes", **headers: str) -> Any:
    data = {"csrf_token": csrf_token(client, link), "phone": phone, "window": "morning", "consent": consent}
    return client.post(link + "/call-back", data=data, headers=headers)


def test_a_call_back_is_stored_encrypted_and_shown_to_the_patient(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    page, link = _first_check(client, {"fever": "moderate", "redness": "severe"}, hours="72")
    assert "Ask the clinic to call me" in page and "Add a reminder" not in page  # contact clinician: no re-check
    r = _call_back(client, link, "+34 612 345 678")
    assert r.status_code == 303
    html = client.get(link).get_data(as_text=True)
    assert "The clinic has your request. It has not called you yet." in html
    with _db(app).engine.connect() as c:
        stored = c.execute(text("SELECT phone_cipher FROM follow_ups")).scalar_one()
        assert not re.search(r"612|345|678|34612", stored)
        dump = " ".join(
            str(row)
            for table in ("follow_ups", "audit_events", "entries", "records")
            for row in c.execute(text(f"SELECT * FROM {table}"))
        )
        assert "612345678" not in dump.replace(" ", "") and "612 345 678" not in dump


def test_a_bad_phone_number_is_refused_with_the_reason_keeping_what_was_typed(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"fever": "moderate", "redness": "severe"}, hours="72")
    r = _call_back(client, link, "12 34")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'value="12 34"' in html
    if app.config.get("CLINIC_PROFILE"):
        assert "is not a working phone number" in html or "is not a phone number" in html
        assert _call_back(client, link, "612 345 678").status_code == 303  # the profile's country: ES
    else:
        assert "Start the number with + and your country code" in html
        assert _call_back(client, link, "612 345 678").status_code == 400
        assert _call_back(client, link, "+34 612 345 678").status_code == 303
    r = _call_back(app.test_client(), link, "+34 612 345 678", consent="")
    assert r.status_code == 400 and "Tick the box" in r.get_data(as_text=True)


def test_an_emergency_answer_offers_no_link_no_reminder_and_no_call_back(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    data = patient_form({"breathing-difficulty": "severe"}, hours="2") | {"csrf_token": csrf_token(client)}
    page = client.post("/", data=data).get_data(as_text=True)
    assert "call" in page.lower()
    for words in ("Check again later", "Ask the clinic to call me", "Add a reminder", "private link"):
        assert words not in page
    # A link whose latest answer is an emergency refuses a call-back request.
    _p, link = _first_check(client, {"redness": "mild"})
    emergency = patient_form({"breathing-difficulty": "severe"}, hours="30") | {"csrf_token": csrf_token(client, link)}
    after = client.post(link, data=emergency).get_data(as_text=True)
    assert "Ask the clinic to call me" not in after and "Check again later" not in after
    assert _call_back(client, link, "+34 612 345 678").status_code == 409


def test_the_spanish_link_page(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    es = {"Accept-Language": "es"}
    page, link = _first_check(client, {"fever": "moderate", "redness": "severe"}, hours="72", **es)
    assert "Su enlace privado" in page and "Pedir que la clínica me llame" in page
    html = client.get(link, headers=es).get_data(as_text=True)
    assert "Sus revisiones hasta ahora" in html and "Olvidar este enlace" in html
    r = _call_back(client, link, "+34 612", **es)
    assert r.status_code == 400 and "no es un número de teléfono" in r.get_data(as_text=True)


# --- the worklist ---------------------------------------------------------------------------


def test_the_worklist_shows_claims_and_closes_with_the_count_on_every_nurse_page(setup: Any) -> None:
    app, clock = setup
    patient = app.test_client()
    _page, link = _first_check(patient, {"fever": "moderate", "redness": "severe"}, hours="72")
    _call_back(patient, link, "+34 612 345 678")
    nurse = signed_in_client(app)
    for path in ("/nurse", "/nurse/records", "/nurse/overrides", "/nurse/worklist"):
        assert re.search(
            r"Worklist \(<span data-worklist-count>1</span> open\)", nurse.get(path).get_data(as_text=True)
        )
    clock.at = DAY1 + timedelta(minutes=25)
    data = nurse.get("/nurse/worklist.json").get_json()
    assert data["count"] == 1
    item = data["items"][0]
    assert item["minutes_waiting"] == 25 and item["requested"] and item["window"] == "morning (8-12)"
    assert "612" not in json.dumps(data)  # no phone until claimed
    token = csrf_token(nurse, "/nurse/worklist")
    assert nurse.post(f"/nurse/worklist/{item['id']}/claim", data={"csrf_token": token}).status_code == 303
    html = nurse.get("/nurse/worklist").get_data(as_text=True)
    assert "+34 612 34 56 78" in html  # decrypted for the nurse who claimed it

    other = app.test_client()
    with _db(app).transaction() as s:
        store.create_nurse(s, "bob.smith", "correct horse battery")
    sign_in(other, "bob.smith", "correct horse battery")
    r = other.post(f"/nurse/worklist/{item['id']}/claim", data={"csrf_token": csrf_token(other, "/nurse/worklist")})
    assert r.status_code == 409 and f"{NURSE[0]} has already claimed it" in r.get_data(as_text=True)
    assert "612" not in r.get_data(as_text=True)

    nurse.post(f"/nurse/worklist/{item['id']}/outcome", data={"csrf_token": token, "outcome": "no answer", "note": ""})
    assert "It tried to call you once" in patient.get(link).get_data(as_text=True)
    nurse.post(f"/nurse/worklist/{item['id']}/outcome", data={"csrf_token": token, "outcome": "reached", "note": "ok"})
    assert "The clinic has called you back." in patient.get(link).get_data(as_text=True)
    assert nurse.get("/nurse/worklist.json").get_json()["count"] == 0
    r = nurse.post(f"/nurse/worklist/{item['id']}/outcome", data={"csrf_token": token, "outcome": "reached"})
    assert r.status_code == 409 and f"{NURSE[0]} already closed it" in r.get_data(as_text=True)
    with _db(app).transaction() as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).where(AuditEvent.actor == f"nurse:{NURSE[0]}"))]
    assert {"view-worklist", "claim", "view-phone", "call-outcome", "close"} <= set(actions)


def test_the_fhir_export_has_a_task_per_request_and_no_phone(setup: Any) -> None:
    from fhirclient.models.task import Task

    app, _clock = setup
    patient = app.test_client()
    _page, link = _first_check(patient, {"fever": "moderate", "redness": "severe"}, hours="72")
    _call_back(patient, link, "+34 612 345 678")
    with _db(app).transaction() as s:
        code = s.scalar(select(Record.reference))
    nurse = signed_in_client(app)
    body = nurse.get(f"/nurse/records/{code}/fhir.json").get_data(as_text=True)
    assert "612345678" not in body.replace(" ", "")
    tasks = [e["resource"] for e in json.loads(body)["entry"] if e["resource"]["resourceType"] == "Task"]
    assert len(tasks) == 1 and tasks[0]["status"] == "requested"
    Task(tasks[0], strict=True)  # valid R4
    assert "612" not in nurse.get("/nurse/overrides.csv").get_data(as_text=True)


def test_no_token_or_phone_number_in_the_logs(setup: Any, caplog: pytest.LogCaptureFixture) -> None:
    app, _clock = setup
    patient = app.test_client()
    with caplog.at_level(logging.DEBUG):
        _page, link = _first_check(patient, {"fever": "moderate", "redness": "severe"}, hours="72")
        _call_back(patient, link, "+34 612 345 678")
        patient.get(link)
    logged = "\n".join(r.getMessage() + json.dumps(getattr(r, "fields", {}), default=str) for r in caplog.records)
    assert "route=" in logged or "/c/<token>" in logged
    assert link.split("/")[-1] not in logged and "612" not in logged


# --- configuration --------------------------------------------------------------------------


def test_production_refuses_to_start_without_a_valid_data_key() -> None:
    env = {"TRIAGE_ENV": "production", "SECRET_KEY": "k" * 40}
    with pytest.raises(ConfigError, match="DATA_KEY is not set"):
        load_config(env=env)
    with pytest.raises(ConfigError, match="DATA_KEY is not a valid Fernet key"):
        load_config(env=env | {"DATA_KEY": "too-short"})
    assert load_config(env=env | {"DATA_KEY": DATA_KEY})["DATA_KEY"] == DATA_KEY
    dev = load_config(env={"TRIAGE_ENV": "development"})["DATA_KEY"]
    assert dev == load_config(env={"TRIAGE_ENV": "development"})["DATA_KEY"] != DATA_KEY  # one per process
    assert load_config(env={"TRIAGE_ENV": "development", "WORKLIST_HOURS": "24"})["WORKLIST_HOURS"] == 24
    with pytest.raises(ConfigError, match="WORKLIST_HOURS"):
        load_config(env={"TRIAGE_ENV": "development", "WORKLIST_HOURS": "soon"})


# --- photos through the private link (issue 32 on issue 31's link) ---------------------------------


def _link_fields(page: str) -> dict[str, str]:
    """The hidden fields that authorise a page's photo form (the link's token and time zone)."""
    form = page[page.index('<form class="photo-form"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="(link|timezone|grant)" value="([^"]+)">', form))


def _send_photos(client: Any, fields: dict[str, str], *names: str, **headers: str) -> Any:
    data: dict[str, Any] = {"csrf_token": csrf_token(client)} | fields
    data["photo"] = [(io.BytesIO(small_jpeg()), name) for name in names]
    return client.post("/photos", data=data, content_type="multipart/form-data", headers=headers)


def _remove_photo(client: Any, fields: dict[str, str], photo_id: int) -> Any:
    return client.post("/photos/remove", data={"csrf_token": csrf_token(client), "photo": photo_id} | fields)


def _photo_ids(app: Any) -> list[int]:
    with _db(app).transaction() as s:
        return list(s.scalars(select(Photo.id).order_by(Photo.id)))


def _plain(html_text: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html_text)))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Photos for the nurse", "Remove this photo", "A nurse has seen it.", "Back to your check")),
        ("es", ("Fotos para el personal de enfermería", "Quitar esta foto", "ya la vio", "Volver a su revisión")),
    ],
)
def test_the_link_page_takes_lists_and_removes_photos_of_its_latest_report(
    setup: Any, language: str, words: tuple[str, ...]
) -> None:
    app, clock = setup
    heading, remove, seen, back = words
    lang = {"Accept-Language": language}
    client = app.test_client()
    _page, link = _first_check(client, {"redness": "moderate"}, hours="60", **lang)
    clock.at = DAY1 + timedelta(hours=20)
    data = patient_form({"redness": "moderate"}, hours="80") | {"csrf_token": csrf_token(client, link)}
    assert client.post(link, data=data, headers=lang).status_code == 200  # report 2 through the link
    page = client.get(link + "?timezone=Europe/Madrid", headers=lang).get_data(as_text=True)
    assert heading in html.unescape(page) and 'accept="image/*"' in page
    fields = _link_fields(page)
    assert fields == {"link": link.removeprefix("/c/"), "timezone": "Europe/Madrid"}
    sent = _send_photos(client, fields, "arm.jpg", "cheek.jpg", **lang)
    assert sent.status_code == 200
    assert f'href="{link}?timezone=Europe/Madrid" id="back-to-check"' in sent.get_data(as_text=True)
    assert back in _plain(sent.get_data(as_text=True))
    with _db(app).transaction() as s:  # with the link's latest report, not the first
        assert s.execute(select(Entry.seq).join(Photo, Photo.entry_id == Entry.id)).scalars().all() == [2, 2]
    one, two = _photo_ids(app)
    listed = _plain(client.get(link, headers=lang).get_data(as_text=True))
    assert "arm.jpg" in listed and "cheek.jpg" in listed and listed.count(remove) == 2
    assert _remove_photo(client, fields, one).status_code == 200
    assert _photo_ids(app) == [two]
    with _db(app).transaction() as s:
        code = s.scalar(select(Record.reference))
    assert signed_in_client(app).get(f"/nurse/records/{code}/photos/{two}/thumbnail").status_code == 200
    after = _plain(client.get(link, headers=lang).get_data(as_text=True))
    assert "arm.jpg" not in after and "cheek.jpg" in after and seen in after and remove not in after
    assert _remove_photo(client, fields, two).status_code == 400 and _photo_ids(app) == [two]
    with _db(app).transaction() as s:
        trail = s.execute(select(AuditEvent.actor, AuditEvent.action).where(AuditEvent.action.like("%photo"))).all()
    assert [a for _, a in trail] == ["add-photo", "add-photo", "remove-photo", "view-photo"]


def test_an_emergency_on_the_link_offers_no_photos_and_takes_none(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"redness": "mild"})
    fields = _link_fields(client.get(link).get_data(as_text=True))
    emergency = patient_form({"breathing-difficulty": "severe"}, hours="30") | {"csrf_token": csrf_token(client, link)}
    result = client.post(link, data=emergency).get_data(as_text=True)
    assert "photo" not in result.lower()
    page = client.get(link).get_data(as_text=True)
    assert 'class="photo-form"' not in page and "Photos for the nurse" not in page and 'name="link"' not in page
    refused = _send_photos(client, fields, "skin.jpg")
    assert refused.status_code == 409 and "call your emergency number now" in refused.get_data(as_text=True)
    assert _photo_ids(app) == []


def test_a_check_through_the_link_offers_photos_for_its_new_report(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"redness": "mild"})
    data = patient_form({"redness": "moderate"}, hours="60") | {"csrf_token": csrf_token(client, link)}
    result = client.post(link, data=data).get_data(as_text=True)
    assert _send_photos(client, _link_fields(result), "new.jpg").status_code == 200
    with _db(app).transaction() as s:
        assert s.execute(select(Entry.seq).join(Photo, Photo.entry_id == Entry.id)).scalars().all() == [2]


def test_a_forgotten_link_authorises_no_photo_just_as_a_wrong_one(setup: Any) -> None:
    app, _clock = setup
    client = app.test_client()
    _page, link = _first_check(client, {"redness": "mild"})
    fields = _link_fields(client.get(link).get_data(as_text=True))
    assert _send_photos(client, fields, "kept.jpg").status_code == 200
    (kept,) = _photo_ids(app)
    client.post(link + "/forget", data={"csrf_token": csrf_token(client, link)})
    wrong = fields | {"link": "A" * 43}
    answers = [
        _send_photos(client, fields, "late.jpg"),
        _send_photos(client, wrong, "late.jpg"),
        _remove_photo(client, fields, kept),
        _remove_photo(client, wrong, kept),
    ]
    assert {r.status_code for r in answers} == {404}
    bodies = {re.sub(r'name="csrf_token" value="[^"]+"', "", r.get_data(as_text=True)) for r in answers}
    assert len(bodies) == 1 and "This link no longer works" in bodies.pop()
    assert _photo_ids(app) == [kept]


def test_another_patients_link_cannot_touch_this_records_photos(setup: Any) -> None:
    app, _clock = setup
    mine, theirs = app.test_client(), app.test_client()
    _page, my_link = _first_check(mine, {"redness": "mild"})
    _page, their_link = _first_check(theirs, {"redness": "mild"})
    _send_photos(mine, _link_fields(mine.get(my_link).get_data(as_text=True)), "mine.jpg")
    (photo,) = _photo_ids(app)
    their_fields = _link_fields(theirs.get(their_link).get_data(as_text=True))
    refused = _remove_photo(theirs, their_fields, photo)
    assert refused.status_code == 400 and "mine.jpg" not in refused.get_data(as_text=True)
    assert _photo_ids(app) == [photo]
    assert "mine.jpg" not in theirs.get(their_link).get_data(as_text=True)


# --- the worklist and photos -------------------------------------------------------------------


def _contact_with_photo(app: Any) -> tuple[Any, str, str, int]:
    """A `contact clinician` self-check with one photo: (the patient, the link, the code, the photo id)."""
    patient = app.test_client()
    _page, link = _first_check(patient, {"fever": "moderate", "redness": "severe"}, hours="72")
    _send_photos(patient, _link_fields(patient.get(link).get_data(as_text=True)), "arm.jpg")
    with _db(app).transaction() as s:
        code = s.scalar(select(Record.reference))
    (photo,) = _photo_ids(app)
    return patient, link, str(code), photo


def test_worklist_rows_show_the_records_thumbnails_and_the_json_loads_no_photo(setup: Any) -> None:
    app, _clock = setup
    _patient, _link, code, photo = _contact_with_photo(app)
    nurse = signed_in_client(app)
    page = nurse.get("/nurse/worklist").get_data(as_text=True)
    row = page[page.index('class="worklist-item') : page.index("</tr>", page.index('class="worklist-item'))]
    thumbnail = f"/nurse/records/{code}/photos/{photo}/thumbnail"
    assert f'src="{thumbnail}"' in row and f'href="/nurse/records/{code}/photos/{photo}"' in row
    assert re.search(r"Sent \d{4}-\d\d-\d\d \d\d:\d\d", row)
    statements: list[str] = []
    engine = _db(app).engine
    listen = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        data = nurse.get("/nurse/worklist.json").get_json()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert data["items"][0]["photos"] == 1
    assert "<img" not in data["rows_html"] and 'data-photo-count="1"' in data["rows_html"]
    photo_reads = [s for s in statements if "photos" in s]
    assert len(photo_reads) == 1 and "photos.jpeg" not in photo_reads[0] and "photos.thumbnail" not in photo_reads[0]
    assert nurse.get(thumbnail).status_code == 200
    with _db(app).transaction() as s:
        views = s.execute(
            select(AuditEvent.actor, AuditEvent.reference, AuditEvent.detail).where(AuditEvent.action == "view-photo")
        ).all()
    assert views == [(f"nurse:{NURSE[0]}", code, f"entry 1 photo {photo} (thumbnail)")]


@pytest.mark.parametrize(
    ("language", "asked"),
    [("en", "The nurse asked you for a new photo."), ("es", "El personal de enfermería le pidió una foto nueva.")],
)
def test_asking_for_a_new_photo_keeps_the_item_open_and_the_link_says_so(setup: Any, language: str, asked: str) -> None:
    app, _clock = setup
    patient, link, _code, _photo = _contact_with_photo(app)
    lang = {"Accept-Language": language}
    assert asked not in patient.get(link, headers=lang).get_data(as_text=True)
    nurse = signed_in_client(app)
    item = nurse.get("/nurse/worklist.json").get_json()["items"][0]["id"]
    token = csrf_token(nurse, "/nurse/worklist")
    nurse.post(f"/nurse/worklist/{item}/claim", data={"csrf_token": token})
    page = nurse.get("/nurse/worklist").get_data(as_text=True)
    assert '<option value="ask for a new photo">ask for a new photo</option>' in page
    done = nurse.post(
        f"/nurse/worklist/{item}/outcome",
        data={"csrf_token": token, "outcome": "ask for a new photo", "note": "NOTE-too-dark"},
    )
    assert done.status_code == 303
    listed = nurse.get("/nurse/worklist.json").get_json()
    assert listed["count"] == 1 and listed["items"][0]["attempts"] == 0
    assert "last: ask for a new photo" in listed["rows_html"]
    html_text = patient.get(link, headers=lang).get_data(as_text=True)
    assert asked in html.unescape(html_text) and 'href="#photos"' in html_text
    assert "NOTE-too-dark" not in html_text and "call-back-state" not in html_text  # no note, no call-back said
    assert 'class="photo-form"' in html_text  # room to add it
    nurse.post(f"/nurse/worklist/{item}/outcome", data={"csrf_token": token, "outcome": "reached"})
    assert asked not in html.unescape(patient.get(link, headers=lang).get_data(as_text=True))
