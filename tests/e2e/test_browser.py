"""End-to-end in headless Chromium: a patient on a phone, the panic path (one tick, one press),
the infection emergency, the form's height, a form error, the nurse console and its note,
keyboard-only use, narrow screens, and axe-core on every kind of page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.pages import (
    EMERGENCY_SYMPTOMS,
    PHONE,
    assert_form_fits_a_phone,
    fill_result,
    new_page,
    on_first_screen,
    run_axe,
    sign_in,
    submit,
)
from triage import assess

pytestmark = pytest.mark.e2e


def body_text(page: Any) -> str:
    return " ".join(page.inner_text("body").split())


def test_patient_on_a_phone_sees_the_expected_banner(browser, live_server, screenshots, kb):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.goto(live_server + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Severity choices appear once a symptom is ticked (CSS only), the middle one chosen.
    assert not page.is_visible("#severity-redness-mild")
    page.check("#symptom-redness")
    assert page.is_visible("#severity-redness-mild") and page.is_checked("#severity-redness-moderate")
    page.check("#severity-redness-mild")
    page.check("#symptom-swelling")
    page.fill("#hours", "30")
    assert page.is_checked("#worsening-no")
    page.evaluate("document.getElementById('symptoms-heading').scrollIntoView()")
    page.screenshot(path=str(screenshots / "patient-form.png"))
    submit(page)
    banner = page.locator(".banner")
    assert banner.is_visible()
    assert "Expected" in banner.inner_text()
    assert page.locator(".banner svg.icon").count() == 1  # an icon as well as words
    assert "in 18 hours" in page.inner_text(".recheck")
    assert kb.header.disclaimer in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshots / "result-expected.png"), full_page=True)
    assert page.problems == []


def test_the_empty_form_is_at_most_four_phone_screens(browser, live_server, screenshots):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.goto(live_server + "/")
    assert_form_fits_a_phone(page, screenshots / "form-height.txt", "")
    page.screenshot(path=str(screenshots / "patient-form-full.png"), full_page=True)


@pytest.mark.parametrize("symptom", EMERGENCY_SYMPTOMS)
def test_panic_path_one_tick_one_press(browser, live_server, screenshots, symptom, kb):  # type: ignore[no-untyped-def]
    """Tick one emergency sign, press the button: the call on the first screen, no error list,
    nothing about checking again."""
    page = new_page(browser)
    page.goto(live_server + "/")
    page.check(f"#symptom-{symptom}")
    with page.expect_navigation(wait_until="load"):
        page.click("button.danger")
    assert page.locator("#error-summary").count() == 0
    emergency = page.locator(".emergency")
    assert kb.header.emergency.patient in emergency.inner_text()
    assert on_first_screen(page, ".emergency")
    text = body_text(page).lower()
    assert "check again" not in text and "contact your clinic today" not in text
    assert page.locator(".banner").count() == 0  # no "Contact clinician" banner below the call
    if symptom == EMERGENCY_SYMPTOMS[0]:
        page.screenshot(path=str(screenshots / "result-emergency.png"))
    assert page.problems == []


def test_severe_breathing_and_lip_swelling_say_one_thing(browser, live_server, kb):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.goto(live_server + "/")
    for sid in EMERGENCY_SYMPTOMS:
        page.check(f"#symptom-{sid}")
    page.check("#symptom-swelling")
    page.check("#severity-swelling-severe")
    page.fill("#hours", "1")
    submit(page)
    text = body_text(page)
    assert on_first_screen(page, ".emergency")
    assert "check again" not in text.lower() and "Monitor" not in text and "Expected" not in text
    assert kb.header.general_advice[0].text not in text  # no routine aftercare
    assert page.problems == []


def test_infection_emergency_is_one_message(browser, live_server, screenshots, kb):  # type: ignore[no-untyped-def]
    """Fever, spreading redness and severe pain at 60 h (issue 12): the call, not the clinic."""
    page = new_page(browser)
    page.goto(live_server + "/")
    for sid in ("fever", "spreading-redness", "pain"):
        page.check(f"#symptom-{sid}")
    page.check("#severity-pain-severe")
    page.fill("#hours", "60")
    submit(page)
    assert on_first_screen(page, ".emergency")
    text = body_text(page)
    assert kb.header.emergency.patient in text
    before_why = text[: text.index("Why")]
    assert "clinic" not in before_why.lower() and "check again" not in text.lower()
    assert page.locator("#why-title ~ ul.findings > li").count() <= 5
    page.screenshot(path=str(screenshots / "result-infection.png"), full_page=True)
    assert page.problems == []


def test_form_error_keeps_the_input(browser, live_server, screenshots):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.goto(live_server + "/")
    page.check("#symptom-pain")
    page.check("#severity-pain-severe")
    page.fill("#hours", "yesterday")
    page.check("#factor-diabetes")
    submit(page)
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    # The script moves focus to the summary, for screen readers and keyboard users.
    # (a selector, not wait_for_function: its polling evaluates a string, which our CSP forbids)
    page.wait_for_selector("#error-summary:focus", timeout=5000)
    assert 'You entered "yesterday"' in summary.inner_text()
    assert page.input_value("#hours") == "yesterday"
    assert page.is_checked("#symptom-pain") and page.is_checked("#severity-pain-severe")
    assert page.is_checked("#factor-diabetes")
    assert page.locator("#hours-error").is_visible()
    page.screenshot(path=str(screenshots / "form-error.png"))
    summary.locator('a[href="#hours"]').click()
    assert page.evaluate("document.activeElement.id") == "hours"
    # The only console message is the browser noting the 400 status of the re-shown form.
    assert [p for p in page.problems if "status of 400" not in p] == []


def _tab_to(page: Any, ident: str) -> None:
    """Press Tab until #ident has the focus, which must be visible."""
    for _ in range(400):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == ident:
            outline = page.evaluate(
                "(() => { const s = getComputedStyle(document.activeElement);"
                " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
            )
            assert outline[0] != "none" and outline[1] != "0px", (ident, outline)
            return
    raise AssertionError(f"Tab never reached #{ident}")


def test_keyboard_only(browser, live_server):  # type: ignore[no-untyped-def]
    """Tab reaches every control in order, Space chooses, Enter submits; focus is visible."""
    page = new_page(browser, {"width": 1024, "height": 800})
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    _tab_to(page, f"symptom-{EMERGENCY_SYMPTOMS[0]}")  # the emergency signs come first
    _tab_to(page, "symptom-itching")
    page.keyboard.press("Space")
    _tab_to(page, "severity-itching-moderate")  # the middle choice is the one in the tab order
    page.keyboard.press("ArrowUp")  # arrow keys move within a radio group
    assert page.is_checked("#severity-itching-mild")
    _tab_to(page, "hours")
    page.keyboard.type("20")
    _tab_to(page, "factor-diabetes")
    page.keyboard.press("Space")
    assert page.is_checked("#factor-diabetes")
    _tab_to(page, "worsening-no")
    assert page.is_checked("#worsening-no")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert "Expected" in page.inner_text(".banner")


def test_keyboard_only_panic_path(browser, live_server, kb):  # type: ignore[no-untyped-def]
    """Tab, Space, Tab, Enter: the emergency answer."""
    page = new_page(browser, {"width": 1024, "height": 800})
    page.goto(live_server + "/")
    _tab_to(page, f"symptom-{EMERGENCY_SYMPTOMS[-1]}")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Get help now"
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert kb.header.emergency.patient in page.inner_text(".emergency")


@pytest.mark.parametrize("width", [320, 640])
def test_narrow_screens_and_200_percent_zoom_do_not_scroll_sideways(browser, live_server, width):  # type: ignore[no-untyped-def]
    """320 px is the narrowest phone; 640 px is a 1280 px window at 200 % zoom."""
    page = new_page(browser, {"width": width, "height": 700})
    sign_in(page, live_server)
    for path in ("/", "/nurse/login", "/nurse", "/api/docs"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    page.goto(live_server + "/")
    page.check(f"#symptom-{EMERGENCY_SYMPTOMS[0]}")
    page.fill("#hours", "1")
    submit(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator(".emergency").bounding_box()
    assert box is not None and box["y"] < 700
    page.goto(live_server + "/nurse")
    page.fill("#symptoms", "redness:mild pus spreading-redness")
    page.fill("#hours", "30")
    with page.expect_navigation(wait_until="load"):
        page.press("#hours", "Enter")
    assert "Disposition:" in page.input_value("#note")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # wide tables scroll inside their box


def test_nurse_console_produces_the_note(browser, live_server, screenshots, kb):  # type: ignore[no-untyped-def]
    page = new_page(browser, {"width": 1366, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    sign_in(page, live_server)
    page.goto(live_server + "/nurse")
    assert page.evaluate("document.activeElement.id") == "symptoms"  # type straight away
    page.keyboard.type("redness:mild swelling pain:severe")
    page.fill("#hours", "30")
    page.check("#factor-diabetes")
    with page.expect_navigation(wait_until="load"):
        page.press("#hours", "Enter")
    note = page.input_value("#note")
    assert "Disposition: CONTACT CLINICIAN" in note
    assert f"Knowledge base version: {kb.version}" in note
    assert "Time of assessment:" in note and "Reasons:" in note and "Advice given:" in note
    table = page.inner_text(".findings-table")
    answer = assess(["redness:mild", "swelling", "pain:severe"], 30, ["diabetes"])
    for f in answer.findings:
        assert f.rule in table and f.nurse_reason in table and f.source in table
        assert f"(rule {f.rule})" in note
    page.click("#copy-note")
    page.wait_for_selector("#copy-status:not(:empty)", timeout=5000)
    assert page.inner_text("#copy-status") in ("Note copied.", "Press Ctrl+C to copy the selected note.")
    if page.inner_text("#copy-status") == "Note copied.":
        assert page.evaluate("navigator.clipboard.readText()") == note
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "nurse-console.png"))
    assert page.problems == []


def test_time_zone_is_filled_from_the_browser(browser, live_server):  # type: ignore[no-untyped-def]
    page = new_page(browser, timezone_id="Asia/Tokyo")
    page.goto(live_server + "/")
    assert page.input_value("#timezone") == "Asia/Tokyo"


def test_date_and_time_in_the_browsers_zone(browser, live_server):  # type: ignore[no-untyped-def]
    """The script sets the zone from the browser; the server reads the date and time in it."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    ended = datetime.now(ZoneInfo("America/Los_Angeles")) - timedelta(hours=10)
    page = new_page(browser, timezone_id="America/Los_Angeles")
    page.goto(live_server + "/")
    page.check("#symptom-redness")
    page.check("#severity-redness-mild")
    page.click("details.when-ended summary")
    page.fill("#ended_date", ended.strftime("%Y-%m-%d"))
    page.fill("#ended_time", ended.strftime("%H:%M"))
    submit(page)
    assert "Expected" in page.inner_text(".banner")
    recheck = page.inner_text(".recheck")  # about 38 hours left of the first 48
    assert "America/Los Angeles time" in recheck
    hours = float(recheck.split(", in ")[1].split(" hours")[0])
    assert 37.9 <= hours <= 38.1, recheck

    future = datetime.now(ZoneInfo("America/Los_Angeles")) + timedelta(hours=3)
    page.goto(live_server + "/")
    page.check("#symptom-redness")
    page.check("#severity-redness-mild")
    page.click("details.when-ended summary")
    page.fill("#ended_date", future.strftime("%Y-%m-%d"))
    page.fill("#ended_time", future.strftime("%H:%M"))
    submit(page)
    assert "That date and time is in the future" in page.inner_text("#error-summary")
    assert page.input_value("#ended_time") == future.strftime("%H:%M")


def test_pages_work_without_javascript(browser, live_server, kb):  # type: ignore[no-untyped-def]
    page = new_page(browser, java_script_enabled=False)
    page.goto(live_server + "/")
    page.check("#symptom-redness")
    page.fill("#hours", "60")
    submit(page)
    assert "Monitor" in page.inner_text(".banner")
    page.goto(live_server + "/")  # the panic path needs no script either
    page.check(f"#symptom-{EMERGENCY_SYMPTOMS[0]}")
    with page.expect_navigation(wait_until="load"):
        page.click("button.danger")
    assert kb.header.emergency.patient in page.inner_text(".emergency")
    page.goto(live_server + "/")  # nor do the date and time (in a <details>)
    page.click("details.when-ended summary")
    assert page.is_visible("#ended_date") and page.is_visible("#timezone")


def test_axe_finds_no_violations(browser, live_server, axe_source, screenshots):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    found: dict[str, list[dict[str, Any]]] = {}

    page.goto(live_server + "/")
    found["patient form"] = run_axe(page, axe_source)

    page.click("button.primary")  # empty form: the error state
    page.wait_for_selector("#error-summary")
    found["form with errors"] = run_axe(page, axe_source)

    for name, symptom, hours in [
        ("expected result", "redness", "6"),
        ("monitor result", "redness", "60"),
        ("contact result", "pus", "60"),
        ("emergency result", EMERGENCY_SYMPTOMS[0], "1"),
        ("emergency result without hours", EMERGENCY_SYMPTOMS[0], ""),
    ]:
        fill_result(page, live_server, symptom, hours)
        found[name] = run_axe(page, axe_source)

    wide = new_page(browser, {"width": 1366, "height": 900})
    wide.goto(live_server + "/nurse/login")
    found["nurse sign-in"] = run_axe(wide, axe_source)
    sign_in(wide, live_server)
    wide.goto(live_server + "/nurse")
    found["nurse console"] = run_axe(wide, axe_source)
    wide.fill("#symptoms", "fevr redness:awful")
    wide.fill("#hours", "soon")
    with wide.expect_navigation(wait_until="load"):
        wide.press("#hours", "Enter")
    assert "did you mean 'fever'?" in wide.inner_text("#error-summary")
    found["nurse console with errors"] = run_axe(wide, axe_source)
    wide.fill("#symptoms", "redness:mild fever")
    wide.fill("#hours", "30")
    with wide.expect_navigation(wait_until="load"):
        wide.press("#hours", "Enter")
    found["nurse console with answer"] = run_axe(wide, axe_source)
    wide.fill("#symptoms", "swelling:severe lip-tongue-swelling")
    wide.fill("#hours", "1")
    with wide.expect_navigation(wait_until="load"):
        wide.press("#hours", "Enter")
    found["nurse console with an emergency"] = run_axe(wide, axe_source)
    wide.click(".more-detail summary")
    found["nurse console, more detail open"] = run_axe(wide, axe_source)
    reference = wide.inner_text(".reference-inline").strip()
    wide.goto(live_server + "/nurse/records")
    found["open a record"] = run_axe(wide, axe_source)
    wide.goto(live_server + f"/nurse/records/{reference}")
    found["record"] = run_axe(wide, axe_source)
    wide.goto(live_server + "/nurse/overrides")
    found["overrides"] = run_axe(wide, axe_source)
    wide.goto(live_server + "/api/docs")
    found["API docs"] = run_axe(wide, axe_source)

    report = screenshots.parent / "axe-report.json"  # docs/ with UPDATE_SCREENSHOTS=1
    report.write_text(json.dumps(found, indent=2) + "\n")
    assert all(not v for v in found.values()), json.dumps(found, indent=2)
