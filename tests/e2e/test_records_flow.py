"""The records journey in Chromium: a patient gets a code; a nurse signs in, opens it, adds a
call-back report, overrides with a reason and exports the record as FHIR. axe-core checks each
nurse page on the way, each check a subtest: without axe-core only those checks skip."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages import PHONE, fill_result, new_page, read_axe, run_axe, sign_in
from tests.support import NURSE

pytestmark = pytest.mark.e2e


def _patient_code(browser: Any, live_server: str) -> str:
    page = new_page(browser, PHONE)
    fill_result(page, live_server, "redness", "30", "mild")
    assert "Give this code to the nurse if you call" in page.inner_text(".reference")
    code = page.inner_text("#reference-code").strip()
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", code)
    assert page.problems == []
    page.context.close()
    return code


def _no_axe_violations(subtests: Any, page: Any, name: str) -> None:
    """axe-core on the page as it is now, as a subtest: without axe-core it skips, and the journey goes on."""
    with subtests.test(msg=f"axe-core: {name}"):
        assert run_axe(page, read_axe()) == [], name


def test_patient_code_to_nurse_call_back_override_and_export(  # type: ignore[no-untyped-def]
    browser, live_server, subtests, screenshots, tmp_path: Path
):
    code = _patient_code(browser, live_server)

    page = new_page(browser, {"width": 1366, "height": 900})
    page.goto(live_server + f"/nurse/records/{code}")
    assert "/nurse/login" in page.url  # records need a signed-in nurse
    sign_in(page, live_server)

    # Open the record as a patient would read the code out: lower case, no dash.
    page.goto(live_server + "/nurse/records")
    _no_axe_violations(subtests, page, "open-a-record page")
    page.fill("#code", code.replace("-", " ").lower())
    with page.expect_navigation(wait_until="load"):
        page.press("#code", "Enter")
    assert page.url.endswith(f"/nurse/records/{code}")
    first = page.inner_text("#entry-1")
    assert "redness-expected" in first and "Expected" in first

    # The patient calls back at 60 h: redness is now severe; the box "getting worse" stays empty.
    page.fill("#symptoms", "redness:severe")
    page.fill("#hours", "60")
    with page.expect_navigation(wait_until="load"):
        page.press("#hours", "Enter")
    second = page.inner_text("#entry-2")
    assert "worsening-after-48h" in second
    assert "mild → severe" in second
    course = page.inner_text("table", timeout=5000)
    assert "60" in course

    # Override entry 1: refused without a reason, then recorded with one.
    page.click("#entry-1 details.override-form summary")
    page.check("#override-1-monitor")
    with page.expect_navigation(wait_until="load"):
        page.click("#override-1 button[type=submit]")
    assert "give the reason" in page.inner_text("#entry-1").lower()
    page.fill("#override-1-reason", "Photo shows redness beyond the treated area")
    with page.expect_navigation(wait_until="load"):
        page.click("#override-1 button[type=submit]")
    overrides = page.inner_text("#entry-1 .entry-overrides")
    assert "Photo shows redness beyond the treated area" in overrides and NURSE[0] in overrides
    assert "redness-expected" in page.inner_text("#entry-1")  # the engine's answer is still there
    page.screenshot(path=str(screenshots / "nurse-record.png"), full_page=True)
    _no_axe_violations(subtests, page, "record page")

    # Export as FHIR.
    with page.expect_download() as download:
        page.click("text=Download as FHIR (JSON)")
    target = tmp_path / "record.json"
    download.value.save_as(target)
    bundle = json.loads(target.read_text())
    assert bundle["resourceType"] == "Bundle"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    # two reports, the engine's two answers and the nurse's override as a decision of its own
    assert kinds.count("QuestionnaireResponse") == 2 and kinds.count("RiskAssessment") == 3
    (override,) = [
        e["resource"]
        for e in bundle["entry"]
        if any(t["code"] == "nurse-override" for t in e["resource"].get("meta", {}).get("tag", []))
    ]
    assert override["note"][0]["text"] == "Photo shows redness beyond the treated area"
    assert "worsening-after-48h" in json.dumps(bundle)

    # The override is listed for clinical review.
    page.goto(live_server + "/nurse/overrides")
    review = page.inner_text("main")
    assert code in review and "Photo shows redness beyond the treated area" in review
    _no_axe_violations(subtests, page, "overrides page")
    # The refused override was a 400 page (the browser logs that); nothing else went wrong.
    assert [p for p in page.problems if "status of 400" not in p] == []


def test_on_a_phone_the_call_back_is_filled_in_and_lowering_an_emergency_is_confirmed(  # type: ignore[no-untyped-def]
    browser, live_server, subtests
):
    """At 375x812: the call-back form holds the last report and the hours since the session;
    lowering the engine's emergency is refused until the confirmation box is ticked, what was
    typed kept, and the review marks it."""
    code = _patient_code(browser, live_server)
    page = new_page(browser, PHONE)
    sign_in(page, live_server)
    page.goto(live_server + f"/nurse/records/{code}")
    assert page.input_value("#symptoms") == "redness:mild"
    assert page.input_value("#hours") == "30"  # the patient's 30 h, and (almost) no time since
    assert "Filled in from entry 1" in page.inner_text("#prefill-note")

    # The call-back: the nurse adds a new sign to what is there; the engine answers an emergency.
    page.fill("#symptoms", page.input_value("#symptoms") + " lip-tongue-swelling:moderate")
    with page.expect_navigation(wait_until="load"):
        page.press("#hours", "Enter")
    assert "EMERGENCY" in page.inner_text("#entry-2")
    assert page.input_value("#symptoms") == "redness:mild lip-tongue-swelling:moderate"  # now from entry 2

    # Lowering it without the box is refused, with the reason kept.
    page.click("#entry-2 details.override-form summary")
    page.check("#override-2-expected")
    page.fill("#override-2-reason", "Seen on video: lips normal")
    with page.expect_navigation(wait_until="load"):
        page.click("#override-2 button[type=submit]")
    assert "I confirm this patient does not need emergency care" in page.inner_text("#override-2-confirm-error")
    assert page.input_value("#override-2-reason") == "Seen on video: lips normal"
    assert page.is_checked("#override-2-expected") and not page.is_checked("#override-2-confirm")
    assert "None." in page.inner_text("#entry-2 .entry-overrides")
    _no_axe_violations(subtests, page, "record page with the confirmation error")

    page.check("#override-2-confirm")
    with page.expect_navigation(wait_until="load"):
        page.click("#override-2 button[type=submit]")
    assert "lowered an emergency" in page.inner_text("#entry-2 .entry-overrides")
    page.goto(live_server + "/nurse/overrides")
    assert "lowered an emergency" in page.inner_text("main")
    _no_axe_violations(subtests, page, "overrides page on a phone")
    assert [p for p in page.problems if "status of 400" not in p] == []
