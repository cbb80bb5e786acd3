"""The patient pages in Spanish in headless Chromium: the switch (remembered in a cookie), the
browser's language (Accept-Language), the form still at most four phone screens, the panic path
in Spanish, and axe-core on every Spanish page kind; screenshots of the Spanish form and an
emergency result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.pages import (
    EMERGENCY_SYMPTOMS,
    PHONE,
    assert_form_fits_a_phone,
    new_page,
    on_first_screen,
    run_axe,
    submit,
)
from triage import KnowledgeBase

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def es(kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base in Spanish."""
    return kb.in_language("es")


def spanish_result(page: Any, live_server: str, symptom: str, hours: str) -> None:
    page.goto(live_server + "/?lang=es")
    page.check(f"#symptom-{symptom}")
    page.fill("#hours", hours)
    submit(page)


def test_the_switch_gives_spanish_and_is_remembered(browser, live_server):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.goto(live_server + "/")
    assert page.get_attribute("html", "lang") == "en"
    switch = page.locator(".language-switch a[hreflang=es]")
    assert switch.is_visible() and switch.inner_text() == "Español" and on_first_screen(page, ".language-switch a")
    with page.expect_navigation(wait_until="load"):
        switch.click()
    assert page.get_attribute("html", "lang") == "es"
    assert page.inner_text("h1") == "Revise su piel tras las microagujas"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("lang") == "es"
    page.goto(live_server + "/")  # remembered
    assert page.get_attribute("html", "lang") == "es"
    page.check("#symptom-redness")
    page.fill("#hours", "30")
    submit(page)
    assert page.get_attribute("html", "lang") == "es" and "Esperado" in page.inner_text(".banner")
    with page.expect_navigation(wait_until="load"):
        page.click(".language-switch a[hreflang=en]")
    assert page.get_attribute("html", "lang") == "en" and page.inner_text("h1") == "Check your skin after microneedling"
    assert page.problems == []


def test_the_browsers_language_gives_spanish(browser, live_server, es):  # type: ignore[no-untyped-def]
    page = new_page(browser, locale="es-ES")
    response = page.goto(live_server + "/")
    assert response.headers["content-language"] == "es"
    assert page.get_attribute("html", "lang") == "es"
    assert es.symptoms["redness"].name in page.inner_text("body")


def test_the_spanish_form_is_at_most_four_phone_screens(browser, live_server, screenshots):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.goto(live_server + "/?lang=es")
    assert_form_fits_a_phone(page, screenshots / "form-height-es.txt", ", Spanish")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshots / "patient-form-es.png"))


@pytest.mark.parametrize("symptom", EMERGENCY_SYMPTOMS)
def test_spanish_panic_path(browser, live_server, screenshots, symptom, es):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    page.goto(live_server + "/?lang=es")
    page.check(f"#symptom-{symptom}")
    with page.expect_navigation(wait_until="load"):
        page.click("button.danger")
    emergency = page.locator(".emergency")
    assert es.header.emergency.patient in emergency.inner_text()  # the call, first
    assert on_first_screen(page, ".emergency")
    text = " ".join(page.inner_text("body").split()).lower()
    assert "vuelva a revisarlo" not in text and "llame hoy a su clínica" not in text
    assert page.locator(".banner").count() == 0
    if symptom == EMERGENCY_SYMPTOMS[0]:
        page.screenshot(path=str(screenshots / "result-emergency-es.png"))
    assert page.problems == []


def test_axe_finds_no_violations_on_the_spanish_pages(browser, live_server, axe_source, screenshots):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    found: dict[str, list[dict[str, Any]]] = {}
    page.goto(live_server + "/?lang=es")
    found["formulario"] = run_axe(page, axe_source)
    page.click("button.primary")
    page.wait_for_selector("#error-summary")
    assert "Hay un problema" in page.inner_text("#error-summary")
    found["formulario con errores"] = run_axe(page, axe_source)
    for name, symptom, hours in [
        ("resultado esperado", "redness", "6"),
        ("resultado vigilar", "redness", "60"),
        ("resultado llamar a la clínica", "pus", "60"),
        ("resultado de emergencia", EMERGENCY_SYMPTOMS[0], "1"),
    ]:
        spanish_result(page, live_server, symptom, hours)
        assert page.get_attribute("html", "lang") == "es"
        found[name] = run_axe(page, axe_source)
    report = screenshots.parent / "axe-report-es.json"  # docs/ with UPDATE_SCREENSHOTS=1
    report.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    assert all(not v for v in found.values()), json.dumps(found, indent=2, ensure_ascii=False)


@pytest.mark.parametrize(("typed", "hours"), [("2 días", "48"), ("1,5 días", "36"), ("36 horas", "36")])
def test_the_spanish_form_takes_its_own_example_hours(browser, live_server, typed, hours):  # type: ignore[no-untyped-def]
    """Issue 30: the hint says "Por ejemplo, 30 o 2 días"; a phone at 375×812 typing it gets the
    answer for those hours, as if the number of hours had been typed."""
    page = new_page(browser)
    page.goto(live_server + "/?lang=es")
    assert "2 días" in page.inner_text("body")  # the hint shows the example
    spanish_result(page, live_server, "redness", typed)
    assert page.get_attribute("html", "lang") == "es" and page.locator(".banner").count() == 1
    said = page.inner_text(".banner")
    spanish_result(page, live_server, "redness", hours)
    assert said == page.inner_text(".banner")
    assert page.problems == []
