"""The nurse's shift on a record (issue 30): times in the clinic's zone, a call-back form filled in
from the last report and the clock, what the patient read quoted as they read it, and lowering an
engine emergency only with a second, explicit confirmation (marked in the overrides review)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import update

from tests.support import NURSE, MakeApp
from tests.test_web_records import add_report, count, entries, make_record, override
from tests.web_helpers import csrf_token, patient_form, sign_in
from triage import assess
from web.assessor import patient_assessor
from web.db import database
from web.storage.models import Entry, Override

PROFILE = (
    'name = "Clínica Sol"\nphone = "+34 910 000 000"\nout_of_hours = "+34 600 000 000"\n'
    'emergency_number = "112"\ncountry = "ES"\ntimezone = "Europe/Madrid"\nlanguages = ["en", "es"]\n'
)
CONFIRM = "I confirm this patient does not need emergency care"


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def clinic_app(make_app: MakeApp, tmp_path: Path) -> Flask:
    path = tmp_path / "clinic.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return make_app(CLINIC_PROFILE=str(path))


def _nurse(app: Flask) -> Any:
    result = app.test_cli_runner().invoke(args=["nurse", "create", NURSE[0], "--password-stdin"], input=NURSE[1] + "\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    sign_in(client, *NURSE)
    return client


def _patient_record(app: Flask, symptoms: dict[str, str], hours: str, language: str = "en") -> str:
    """A record made through the patient form, read in `language`; its reference code."""
    patient = app.test_client()
    patient.get(f"/?lang={language}")  # the switch, remembered in a cookie
    data = patient_form(symptoms, hours)
    data["csrf_token"] = csrf_token(patient, "/")
    page = text(patient.post("/", data=data))
    found = re.search(r'id="reference-code"[^>]*>([A-Z0-9]{3}-[A-Z0-9]{3})<', page)
    assert found, "no reference code on the result page"
    return found.group(1)


def _field(page: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]*value="([^"]*)"', page, re.S)
    assert found, f"no {name} field"
    return found.group(1)


def _told(page: str, seq: int = 1) -> str:
    entry = page[page.index(f'id="entry-{seq}"') :]
    found = re.search(r'class="patient-told"><strong>The patient was told:</strong> (<q[^>]*>)(.*?)</q>', entry, re.S)
    assert found, "no quote of what the patient was told"
    return found.group(1) + found.group(2)


# --- the call-back form, filled in -----------------------------------------------------------


def test_call_back_form_is_prefilled_from_the_last_report_and_the_clock(nurse_client: Any, app: Flask) -> None:
    code = make_record(app, ["redness:mild", "swelling:severe"], 30, ("diabetes",))
    created = entries(app, code)[0].created_at
    app.config["NOW"] = lambda: created + timedelta(hours=20, minutes=30)  # the clock moved on
    sign_in(nurse_client, *NURSE)  # past the sign-in's shift (NURSE_SESSION_HOURS): the next shift's nurse
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert _field(page, "symptoms") == "redness:mild swelling:severe"
    assert _field(page, "hours") == "50.5"  # 30 h at the first report, 20.5 h since
    assert re.search(r'id="factor-diabetes" name="factor" value="diabetes" checked', page)
    assert not re.search(r'id="factor-blood-thinners"[^>]* checked', page)
    assert not re.search(r'id="worsening"[^>]* checked', page)  # the patient says so, or not, now
    session = (created - timedelta(hours=30)).astimezone(UTC)  # no profile: the page is in UTC
    assert f"about {session:%Y-%m-%d %H:%M}" in page and "Filled in from entry 1" in page

    # A call-back: the form then follows the newest report, the hours still from the session.
    assert add_report(nurse_client, code, symptoms="redness:moderate", hours="50.5").status_code == 303
    app.config["NOW"] = lambda: created + timedelta(hours=42)
    sign_in(nurse_client, *NURSE)
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert _field(page, "symptoms") == "redness:moderate"
    assert _field(page, "hours") == "72"
    assert not re.search(r'name="factor" value="[^"]+" checked', page)
    assert "Filled in from entry 2" in page


def test_a_call_back_with_errors_shows_what_was_typed_not_the_prefill(nurse_client: Any, app: Flask) -> None:
    code = make_record(app, ["redness:mild"], 30)
    response = add_report(nurse_client, code, symptoms="redness:awful", hours="40")
    assert response.status_code == 400
    page = text(response)
    assert _field(page, "symptoms") == "redness:awful" and _field(page, "hours") == "40"
    assert "Filled in from entry" not in page


# --- the clinic's time zone ---------------------------------------------------------------------


def test_times_are_utc_without_a_profile(nurse_client: Any, app: Flask) -> None:
    code = make_record(app, ["redness:mild"], 30)
    created = entries(app, code)[0].created_at
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert "Times are UTC." in page
    assert f"{created.astimezone(UTC):%Y-%m-%d %H:%M} · patient form" in page
    assert override(nurse_client, code, 1, disposition="monitor", reason="sore").status_code == 303
    review = text(nurse_client.get("/nurse/overrides"))
    assert "Times are UTC." in review and "When (UTC)" in review


def test_times_follow_the_default_timezone_setting(make_app: MakeApp) -> None:
    app = make_app(DEFAULT_TIMEZONE="America/New_York")
    client = _nurse(app)
    code = make_record(app, ["redness:mild"], 30)
    created = entries(app, code)[0].created_at
    page = text(client.get(f"/nurse/records/{code}"))
    assert "Times are America/New_York." in page
    assert f"{created.astimezone(ZoneInfo('America/New_York')):%Y-%m-%d %H:%M} · patient form" in page


def test_times_are_the_clinics_with_a_profile(clinic_app: Flask) -> None:
    client = _nurse(clinic_app)
    code = make_record(clinic_app, ["redness:mild"], 30)
    created = entries(clinic_app, code)[0].created_at
    madrid = ZoneInfo("Europe/Madrid")
    # A moment an hour or two from UTC in Madrid, so the two cannot be confused.
    assert created.astimezone(madrid).utcoffset() != timedelta(0)
    page = text(client.get(f"/nurse/records/{code}"))
    assert "Times are Europe/Madrid." in page and "Times are UTC" not in page
    assert f"{created.astimezone(madrid):%Y-%m-%d %H:%M} · patient form" in page
    assert f"{created.astimezone(UTC):%Y-%m-%d %H:%M} · patient form" not in page
    assert override(client, code, 1, disposition="monitor", reason="sore").status_code == 303
    (stored,) = entries(clinic_app, code)[0].overrides
    review = text(client.get("/nurse/overrides"))
    assert "Times are Europe/Madrid." in review and "When (Europe/Madrid)" in review
    assert f"<td>{stored.created_at.astimezone(madrid):%Y-%m-%d %H:%M}</td>" in review


# --- what the patient read ----------------------------------------------------------------------


def test_the_record_quotes_the_emergency_call_with_the_clinics_number(clinic_app: Flask) -> None:
    code = _patient_record(clinic_app, {"breathing-difficulty": "moderate"}, "1")
    (entry,) = entries(clinic_app, code)
    assert (entry.language, entry.emergency_number, entry.clinic_phone) == ("en", "112", "+34 910 000 000")
    page = text(_nurse(clinic_app).get(f"/nurse/records/{code}"))
    assert _told(page) == "<q>Call 112 now"
    assert "for example 911, 999 or 112" not in _told(page)


def test_the_record_quotes_it_in_spanish_when_the_patient_read_spanish(clinic_app: Flask) -> None:
    code = _patient_record(clinic_app, {"breathing-difficulty": "moderate"}, "1", language="es")
    (entry,) = entries(clinic_app, code)
    assert (entry.language, entry.emergency_number) == ("es", "112")
    assert entry.answer["summary"] == assess(["breathing-difficulty:moderate"], 1).summary  # stored in English
    page = text(_nurse(clinic_app).get(f"/nurse/records/{code}"))
    assert _told(page) == '<q lang="es">Llame ahora al 112'
    assert "(read in Spanish; the answer in English: " in page

    # Not an emergency: the answer's summary as the Spanish page worded it.
    code = _patient_record(clinic_app, {"redness": "mild"}, "30", language="es")
    with clinic_app.test_request_context():
        spanish = patient_assessor("es").assess(["redness:mild"], 30).summary
    assert spanish != assess(["redness:mild"], 30).summary
    page = text(_nurse_again(clinic_app).get(f"/nurse/records/{code}"))
    assert _told(page) == f'<q lang="es">{spanish}'


def _nurse_again(app: Flask) -> Any:
    client = app.test_client()
    sign_in(client, *NURSE)
    return client


def test_without_a_profile_the_record_quotes_the_neutral_words(app: Flask, nurse_client: Any) -> None:
    code = _patient_record(app, {"breathing-difficulty": "moderate"}, "1")
    (entry,) = entries(app, code)
    assert (entry.language, entry.emergency_number, entry.clinic_phone) == ("en", None, None)
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert _told(page) == "<q>" + assess(["breathing-difficulty:moderate"], 1).summary


def test_a_nurse_call_back_stores_the_clinics_numbers(clinic_app: Flask) -> None:
    client = _nurse(clinic_app)
    code = make_record(clinic_app, ["redness:mild"], 30)
    assert add_report(client, code, symptoms="lip-tongue-swelling:moderate", hours="40").status_code == 303
    second = entries(clinic_app, code)[1]
    assert (second.language, second.emergency_number, second.clinic_phone) == ("en", "112", "+34 910 000 000")
    assert _told(text(client.get(f"/nurse/records/{code}")), 2) == "<q>Call 112 now"


# --- lowering an emergency: a second, explicit confirmation -----------------------------------------


def test_lowering_an_emergency_is_refused_without_the_confirmation(nurse_client: Any, app: Flask) -> None:
    code = make_record(app, ["lip-tongue-swelling:moderate"], 30)
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert f'<label for="override-1-confirm">{CONFIRM}</label>' in page
    response = override(nurse_client, code, 1, disposition="expected", reason="seen on video: a cold sore")
    assert response.status_code == 400
    page = text(response)
    assert f"tick '{CONFIRM}'" in page and 'id="override-1-confirm-error"' in page
    assert 'href="#override-1-confirm"' in page  # the error summary leads to the box
    assert ">seen on video: a cold sore</textarea>" in page  # what was typed is kept
    assert re.search(r'id="override-1-expected" name="disposition" value="expected" checked', page)
    assert count(app, Override) == 0


def test_lowering_an_emergency_with_the_confirmation_is_recorded_and_marked(nurse_client: Any, app: Flask) -> None:
    code = make_record(app, ["lip-tongue-swelling:moderate"], 30)
    response = override(nurse_client, code, 1, disposition="expected", reason="seen on video", confirm="yes")
    assert response.status_code == 303
    (stored,) = entries(app, code)[0].overrides
    assert (stored.disposition, stored.emergency) == ("expected", False)
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert "lowered an emergency</strong> by nurse" in page
    review = text(nurse_client.get("/nurse/overrides"))
    row = review[review.index(f">{code} #1<") :]
    assert "lowered an emergency</strong></td>" in row[: row.index("</tr>")]
    (line,) = csv.DictReader(io.StringIO(nurse_client.get("/nurse/overrides.csv").get_data(as_text=True)))
    assert line["reference"] == code and line["lowered_emergency"] == "True"


def test_raising_or_keeping_an_answer_needs_no_confirmation(nurse_client: Any, app: Flask) -> None:
    code = make_record(app, ["redness:mild"], 30)
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert CONFIRM not in page  # not an emergency: nothing to confirm
    assert override(nurse_client, code, 1, disposition="contact clinician", reason="worried").status_code == 303
    review = text(nurse_client.get("/nurse/overrides"))
    assert "lowered an emergency</strong></td>" not in review
    (line,) = csv.DictReader(io.StringIO(nurse_client.get("/nurse/overrides.csv").get_data(as_text=True)))
    assert line["lowered_emergency"] == "False"
    emergency = make_record(app, ["lip-tongue-swelling:moderate"], 30)
    kept = override(nurse_client, emergency, 1, disposition="contact clinician", emergency="yes", reason="x")
    assert kept.status_code == 400 and "already answered" in text(kept)  # the same answer: no override at all


def test_spanish_without_a_profile_quotes_the_neutral_call_in_spanish(app: Flask, nurse_client: Any) -> None:
    code = _patient_record(app, {"breathing-difficulty": "moderate"}, "1", language="es")
    (entry,) = entries(app, code)
    assert (entry.language, entry.emergency_number) == ("es", None)
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    # the knowledge base's own Spanish sentence, as the page without a profile shows it
    assert _told(page) == '<q lang="es">Llame ahora a su número local de emergencias (por ejemplo, 112, 911 o 999).'


def test_spanish_words_of_an_older_knowledge_base_are_not_invented(app: Flask, nurse_client: Any) -> None:
    """The Spanish words are worded again only by the knowledge base that answered; for an older
    one the page quotes the stored English and says so."""
    code = _patient_record(app, {"redness": "mild"}, "30", language="es")
    with app.app_context(), database().transaction() as session:
        session.execute(update(Entry).values(kb_version="2026.01.01-1"))
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert _told(page) == "<q>" + assess(["redness:mild"], 30).summary
    assert "(read in Spanish; the answer in English, as stored: the Spanish words of knowledge base" in page
