"""The follow-up loop in Chromium at 375x812, with the app's clock moved forward (issue 31):
day 1 redness -> `expected`, the private link and the calendar file saved; day 3 through the
link, fever and spreading redness -> `contact clinician`, a call-back asked; the nurse's open
worklist shows it within 10 seconds without a reload; the patient adds a photo through the link
and the nurse's row shows its thumbnail, kept across the page's polls; the nurse claims it, asks
for a new photo (the link says so), records "reached"; the patient's link says so. In English
without a clinic profile, in Spanish with one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from tests.e2e.conftest import serve
from tests.e2e.pages import PHONE, new_page, read_axe, run_axe, sign_in
from tests.photo_samples import small_jpeg
from tests.support import NURSE, PROFILE, build_app

pytestmark = pytest.mark.e2e

DAY1 = datetime.now(UTC).replace(microsecond=0)


class Clock:
    """The app's clock (config NOW): the test moves it forward two days."""

    def __init__(self) -> None:
        self.at = DAY1

    def __call__(self) -> datetime:
        return self.at


WORDS = {
    "en": {
        "expected": "Expected",
        "contact": "Contact clinician",
        "asked": "The clinic has your request. It has not called you yet.",
        "reached": "The clinic has called you back.",
        "summary": "Check your skin again",
        "phone": "+44 7911 123456",
        "shown": "+44 7911 123456",
        "new photo": "The nurse asked you for a new photo.",
    },
    "es": {
        "expected": "Esperado",
        "contact": "Llamar a la clínica",
        "asked": "La clínica tiene su petición. Todavía no le ha llamado.",
        "reached": "La clínica ya le ha llamado.",
        "summary": "Revise su piel otra vez",
        "phone": "612 345 678",  # the clinic's country (ES) is the default region
        "shown": "+34 612 34 56 78",
        "new photo": "El personal de enfermería le pidió una foto nueva.",
    },
}


@pytest.fixture(params=["en", "es"])
def loop_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Clock, str]]:
    from web.storage import store

    folder = tmp_path_factory.mktemp("loop")
    clock = Clock()
    extra: dict[str, Any] = {}
    if request.param == "es":
        (folder / "clinic.toml").write_text(PROFILE, encoding="utf-8")
        extra["CLINIC_PROFILE"] = str(folder / "clinic.toml")
    app = build_app(LOG_REQUESTS=False, DATABASE_URL=f"sqlite:///{folder / 'records.sqlite3'}", NOW=clock, **extra)
    with app.extensions["triage_db"].transaction() as session:
        store.create_nurse(session, *NURSE)
    for url in serve(app):
        yield url, clock, request.param


def _label(page: Any) -> str:
    return str(page.inner_text("#disposition-title")).split("\n")[-1].replace("Your result:", "").strip()


def test_the_whole_follow_up_loop(browser: Any, loop_server: tuple[str, Clock, str], tmp_path: Path) -> None:
    url, clock, language = loop_server
    words = WORDS[language]
    patient = new_page(browser, PHONE, locale="es-ES" if language == "es" else "en-GB", accept_downloads=True)

    # Day 1: redness, mild, a day after the session -> expected; the link and the reminder are saved.
    patient.goto(url + "/")
    patient.check("#symptom-redness")
    patient.check("#severity-redness-mild")
    patient.fill("#hours", "24")
    with patient.expect_navigation(wait_until="load"):
        patient.click("#check-submit")
    assert words["expected"] in _label(patient)
    link = patient.input_value("#private-link")
    assert re.fullmatch(re.escape(url) + r"/c/[A-Za-z0-9_-]{43}", link)
    with patient.expect_download() as download:
        patient.click("#add-reminder")
    saved = tmp_path / "reminder.ics"
    download.value.save_as(saved)
    event = Calendar.from_ical(saved.read_bytes()).walk("VEVENT")[0]
    assert str(event["summary"]) == words["summary"] and str(event["description"]) == link
    assert len(event.walk("VALARM")) == 1
    assert timedelta(0) <= DAY1 + timedelta(hours=24) - event.decoded("dtstart") < timedelta(minutes=15)
    assert "redness" not in saved.read_text().lower()
    assert patient.locator("#ask-call-back").count() == 0  # expected: no call-back offered

    # Day 3. The nurse on shift has the worklist open (signed in on a desktop that day: a nurse's
    # session ends NURSE_SESSION_HOURS after sign-in on the app's clock); nothing from this patient yet.
    clock.at = DAY1 + timedelta(hours=48)
    nurse = new_page(browser, {"width": 1366, "height": 900})
    sign_in(nurse, url)
    nurse.goto(url + "/nurse/worklist")
    assert nurse.locator("tr.worklist-item").count() == 0

    # Through the link: the form is filled in from day 1, with the hours from the session.
    patient.goto(link)
    assert run_axe(patient, read_axe()) == [], "the link page"
    assert patient.input_value("#hours") == "72"
    assert patient.is_checked("#symptom-redness") and patient.is_checked("#severity-redness-mild")
    patient.check("#severity-redness-severe")
    patient.check("#symptom-fever")
    patient.check("#symptom-spreading-redness")
    with patient.expect_navigation(wait_until="load"):
        patient.click("#check-submit")
    assert words["contact"] in _label(patient)
    assert patient.locator("#add-reminder").count() == 0  # contact clinician: no "check again later" time
    patient.fill("#phone", words["phone"])
    patient.check("#consent")
    with patient.expect_navigation(wait_until="load"):
        patient.click("#ask-call-back")
    assert words["asked"] in patient.inner_text("#call-back-state")

    # A photo through the link: listed with "remove this photo", then back to the link.
    photo = tmp_path / "arm.jpg"
    photo.write_bytes(small_jpeg())
    patient.set_input_files("#photo-files", str(photo))
    with patient.expect_navigation(wait_until="load"):
        patient.click(".photo-form button[type=submit]")
    assert "arm.jpg" in patient.inner_text(".patient-photos")
    with patient.expect_navigation(wait_until="load"):
        patient.click("#back-to-check")
    assert patient.problems == []

    # The nurse's page shows it within 10 seconds, without a reload (static/worklist.js).
    row = nurse.locator("tr.worklist-item")
    row.first.wait_for(timeout=10_000)
    assert "Contact clinician" in row.first.inner_text() and "Call-back" in row.first.inner_text()
    assert nurse.inner_text("#worklist-caption").startswith("1 open")
    with nurse.expect_navigation(wait_until="load"):
        nurse.locator("tr.worklist-item button", has_text="Claim").first.click()
    assert words["shown"] in nurse.inner_text(".worklist-phone")
    # The row's thumbnail (fetched once: a view), kept as it is across the script's polls.
    thumbnail = nurse.locator("tr.worklist-item td.worklist-photos img")
    assert thumbnail.count() == 1
    thumbnail.evaluate("img => new Promise(done => img.complete ? done() : img.addEventListener('load', done))")
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    thumbnail.evaluate("img => { img.dataset.kept = 'yes'; }")
    with nurse.expect_response(lambda r: "/nurse/worklist.json" in r.url, timeout=10_000):
        pass
    nurse.wait_for_timeout(300)
    assert thumbnail.get_attribute("data-kept") == "yes"
    assert run_axe(nurse, read_axe()) == [], "the worklist"
    nurse.locator("tr.worklist-item select").first.select_option("ask for a new photo")
    with nurse.expect_navigation(wait_until="load"):
        nurse.locator("tr.worklist-item button", has_text="Record outcome").first.click()
    assert nurse.locator("tr.worklist-item").count() == 1  # still open: the patient needs the clinic
    patient.goto(link)
    assert words["new photo"] in patient.inner_text("#new-photo-asked")
    assert patient.locator(".photo-seen").count() == 1  # the nurse saw it: no "remove" now
    nurse.locator("tr.worklist-item select").first.select_option("reached")
    nurse.locator("tr.worklist-item input[name=note]").first.fill("Advised to come in today")
    with nurse.expect_navigation(wait_until="load"):
        nurse.locator("tr.worklist-item button", has_text="Record outcome").first.click()
    assert nurse.locator("tr.worklist-item").count() == 0
    assert nurse.problems == []

    # The patient's link says the clinic called, and never shows the nurse's note.
    patient.goto(link)
    state = patient.inner_text("#call-back-state")
    assert words["reached"] in state
    assert "Advised" not in patient.content()
    patient.context.close()
    nurse.context.close()
