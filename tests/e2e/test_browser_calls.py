"""End-to-end in headless Chromium at 375x812 (issue 30): calls are buttons and the page says one
thing, top down. The emergency call is a full-width button at least 48 px tall right under the
headline (a link to the clinic profile's number; without a profile a block that looks the same
but dials nothing: no number is right everywhere); the clinic's numbers are buttons too; on an
emergency page the findings are tagged "Emergency" or "Tell them about this too"; the re-check
sits right under the banner. axe-core finds nothing on any of them, in English and Spanish."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.pages import PHONE, new_page, run_axe, submit
from tests.support import shipped_kb

pytestmark = pytest.mark.e2e

MIN_TAP = 48  # px: the smallest a call button may be
INFECTION_EMERGENCY = {"fever": "moderate", "spreading-redness": "moderate", "pain": "severe"}
SPANISH = {"locale": "es-ES", "extra_http_headers": {"Accept-Language": "es"}}


def _answer(page: Any, server: str, symptoms: dict[str, str], hours: str) -> None:
    page.goto(server + "/")
    for sid, severity in symptoms.items():
        page.check(f"#symptom-{sid}")
        if not shipped_kb().symptoms[sid].emergency:
            page.check(f"#severity-{sid}-{severity}")
    page.fill("#hours", hours)
    submit(page)


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box  # type: ignore[no-any-return]


def _content_width(page: Any, selector: str) -> float:
    """The width inside the padding of the element `selector` names."""
    return page.evaluate(  # type: ignore[no-any-return]
        """s => { const e = document.querySelector(s), c = getComputedStyle(e);
                  return e.clientWidth - parseFloat(c.paddingLeft) - parseFloat(c.paddingRight); }""",
        selector,
    )


def _assert_a_full_width_button(page: Any, selector: str, within: str) -> dict[str, float]:
    box = _box(page, selector)
    assert box["height"] >= MIN_TAP, box
    assert box["width"] >= _content_width(page, within) - 1, box  # the whole width it has
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    return box


def _assert_the_call_comes_first(page: Any) -> None:
    """The call right under the headline: the first thing after it, on the first screen."""
    head, call = _box(page, ".emergency h1"), _box(page, "#call-now")
    assert head["y"] + head["height"] <= call["y"] and call["y"] + call["height"] <= PHONE["height"]
    first = page.evaluate("document.querySelector('.emergency-head').nextElementSibling.id")
    assert first == "call-now"


@pytest.mark.parametrize("language", ["en", "es"])
def test_with_a_profile_the_emergency_call_is_a_button_at_the_top(  # type: ignore[no-untyped-def]
    browser, clinic_server, axe_source, screenshots, language
) -> None:
    page = new_page(browser, **(SPANISH if language == "es" else {}))
    _answer(page, clinic_server, {"breathing-difficulty": "moderate"}, "1")
    call = page.locator("#call-now")
    assert call.evaluate("e => e.tagName") == "A" and call.get_attribute("href") == "tel:112"
    assert call.inner_text() == ("Call 112 now" if language == "en" else "Llame ahora al 112")
    _assert_a_full_width_button(page, "#call-now", ".emergency")
    _assert_the_call_comes_first(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshots / f"result-emergency-call-{language}.png"))
    assert run_axe(page, axe_source) == []
    assert page.problems == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_without_a_profile_the_emergency_call_is_a_block_that_dials_nothing(  # type: ignore[no-untyped-def]
    browser, live_server, axe_source, language
) -> None:
    page = new_page(browser, **(SPANISH if language == "es" else {}))
    _answer(page, live_server, {"breathing-difficulty": "moderate"}, "1")
    call = page.locator("#call-now")
    assert call.evaluate("e => e.tagName") == "P" and page.locator(".emergency a[href^='tel:']").count() == 0
    words = shipped_kb().in_language(language).header.emergency.patient
    assert call.inner_text() == words
    _assert_a_full_width_button(page, "#call-now", ".emergency")
    _assert_the_call_comes_first(page)
    assert run_axe(page, axe_source) == []
    assert page.problems == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_emergency_page_tags_what_makes_it_one_and_the_rest(  # type: ignore[no-untyped-def]
    browser, live_server, axe_source, language
) -> None:
    page = new_page(browser, **(SPANISH if language == "es" else {}))
    _answer(page, live_server, INFECTION_EMERGENCY, "60")
    tags = page.locator(".findings .tag").all_inner_texts()
    english = language == "en"
    emergency, also = ("Emergency", "Tell them about this too") if english else ("Emergencia", "Dígales también esto")
    assert tags[0] == emergency and also in tags and set(tags) == {emergency, also}, tags
    contact = shipped_kb().in_language(language).header.dispositions["contact-clinician"].label
    assert contact not in page.inner_text("main")
    assert run_axe(page, axe_source) == []  # the tags' colours too
    assert page.problems == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_clinic_numbers_are_buttons(browser, clinic_server, axe_source, language) -> None:  # type: ignore[no-untyped-def]
    """Contact clinician (in the banner) and monitor (under "What to do now")."""
    for symptoms, hours, within in (({"pus": "mild"}, "60", ".banner"), ({"redness": "moderate"}, "60", "main")):
        page = new_page(browser, **(SPANISH if language == "es" else {}))
        _answer(page, clinic_server, symptoms, hours)
        buttons = page.locator("a.call-clinic")
        assert buttons.count() == 2
        assert [buttons.nth(i).get_attribute("href") for i in range(2)] == ["tel:+34910123456", "tel:+34600123456"]
        for i in range(2):
            _assert_a_full_width_button(page, f"a.call-clinic >> nth={i}", within)
        assert run_axe(page, axe_source) == []
        assert page.problems == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_recheck_sits_right_under_the_banner(  # type: ignore[no-untyped-def]
    browser, live_server, axe_source, language
) -> None:
    page = new_page(browser, **(SPANISH if language == "es" else {}))
    _answer(page, live_server, {"redness": "mild"}, "6")
    banner, recheck = _box(page, ".banner"), _box(page, ".recheck-section")
    assert banner["y"] + banner["height"] <= recheck["y"]
    assert page.evaluate("document.querySelector('.banner').nextElementSibling.className") == "recheck-section"
    assert recheck["y"] + recheck["height"] <= PHONE["height"]  # on the first screen
    assert ("at about" if language == "en" else "hacia las") in page.inner_text(".recheck")
    assert run_axe(page, axe_source) == []
    assert page.problems == []
