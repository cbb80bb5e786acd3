"""End-to-end in headless Chromium: the safety net on a patient's phone, served with a clinic
profile. Hives at 1 h is `contact clinician` (not an emergency): the page says, after the
banner, to call the clinic's emergency number now if the lips, tongue or throat swell or
breathing gets hard, with the number as a link to call; axe-core finds nothing on it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.pages import PHONE, fill_result, new_page, run_axe

pytestmark = pytest.mark.e2e


def test_the_hives_result_says_when_to_call_the_clinics_emergency_number(  # type: ignore[no-untyped-def]
    browser, clinic_server, axe_source, screenshots
) -> None:
    page = new_page(browser)
    fill_result(page, clinic_server, "hives", "1")
    assert "Contact clinician" in page.inner_text(".banner")
    net = page.locator("section.safety-net")
    assert net.is_visible()
    assert "When to get help sooner" in net.inner_text()
    first = net.locator(".safety-net-emergency li").first
    assert first.inner_text() == "Call 112 now if your lips, tongue or throat swell, or you find it hard to breathe."
    link = first.locator("a.tel")
    assert link.get_attribute("href") == "tel:112" and link.is_visible()
    assert "Whatever your symptoms, call 112 now if" in net.inner_text()
    assert net.locator(".safety-net-clinic").count() == 0  # the banner already says to contact the clinic
    assert "your local emergency number" not in page.inner_text("main")
    # after the banner, which says what to do now (once: no "What to do now" repeating it)
    banner, net_top = page.locator(".banner").bounding_box(), net.bounding_box()
    assert banner is not None and net_top is not None and banner["y"] < net_top["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshots / "result-safety-net.png"), full_page=True)
    assert run_axe(page, axe_source) == []
    assert page.problems == []


def test_the_spanish_monitor_result_names_the_clinic_and_its_number(browser, clinic_server) -> None:  # type: ignore[no-untyped-def]
    page: Any = new_page(browser, locale="es-ES", extra_http_headers={"Accept-Language": "es"})
    fill_result(page, clinic_server, "redness", "60")
    net = page.locator("section.safety-net")
    assert "Cuándo pedir ayuda antes" in net.inner_text()
    assert "Llame ahora al 112 si se le hinchan los labios" in net.inner_text()
    clinic = net.locator(".safety-net-clinic li").first
    assert clinic.inner_text().startswith("Llame a Clínica Piel Sana (+34 910 123 456) si la rojez")
    assert clinic.locator("a.tel").get_attribute("href") == "tel:+34910123456"
    assert page.problems == []
