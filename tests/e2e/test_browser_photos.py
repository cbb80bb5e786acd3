"""Photos for the nurse in Chromium at 375x812: a patient adds two photos from files (a preview
first, from the static script, with no CSP violation), sees them listed, removes one; the nurse
sees the other beside the right report, and it loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests import photo_samples as samples
from tests.e2e.pages import PHONE, fill_result, new_page, read_axe, run_axe, sign_in

pytestmark = pytest.mark.e2e


def test_a_patient_adds_two_photos_removes_one_and_the_nurse_sees_the_other(  # type: ignore[no-untyped-def]
    browser, live_server, subtests, screenshots, tmp_path: Path
):
    arm, close_up = tmp_path / "arm.jpg", tmp_path / "close-up.png"
    arm.write_bytes(samples.phone_jpeg((2000, 1500)))
    close_up.write_bytes(samples.transparent_png())

    page: Any = new_page(browser, PHONE)
    fill_result(page, live_server, "redness", "60", "moderate")
    offer = page.locator("section.photos-offer")
    assert "Add photos for the nurse" in offer.inner_text()
    assert "daylight" in offer.inner_text()
    page.set_input_files("#photo-files", [str(arm), str(close_up)])
    preview = page.locator("#photo-preview li")
    preview.nth(1).wait_for()
    assert preview.count() == 2 and page.locator("#photo-preview img").count() == 2
    with page.expect_navigation(wait_until="load"):
        page.click("section.photos-offer button[type=submit]")
    listed = page.locator(".patient-photo")
    assert [listed.nth(i).inner_text().split(",")[0] for i in range(listed.count())] == ["arm.jpg", "close-up.png"]
    code = re.search(r"[A-Z0-9]{3}-[A-Z0-9]{3}", page.inner_text("main"))
    assert code is not None
    with subtests.test(msg="axe-core: the patient's photos page"):
        assert run_axe(page, read_axe()) == []
    page.screenshot(path=str(screenshots / "patient-photos.png"), full_page=True)

    with page.expect_navigation(wait_until="load"):
        page.click(".patient-photo:has-text('arm.jpg') button")
    assert "The photo was removed." in page.inner_text("main")
    assert [t.split(",")[0] for t in page.locator(".patient-photo").all_inner_texts()] == ["close-up.png"]
    assert page.problems == []  # no script error, no CSP violation (the preview used data: URLs)
    page.context.close()

    nurse: Any = new_page(browser, {"width": 1366, "height": 900})
    sign_in(nurse, live_server)
    nurse.goto(live_server + f"/nurse/records/{code.group()}")
    nurse.fill("#symptoms", "redness:mild")
    nurse.fill("#hours", "80")
    with nurse.expect_navigation(wait_until="load"):
        nurse.press("#hours", "Enter")
    assert nurse.locator("#entry-2 .entry-photos").count() == 0
    thumbs = nurse.locator("#entry-1 .photo-thumbnails img")
    assert thumbs.count() == 1
    thumbs.first.scroll_into_view_if_needed()
    thumbnail = "document.querySelector('#entry-1 .photo-thumbnails img')"
    nurse.wait_for_function(f"() => {thumbnail}.complete && {thumbnail}.naturalWidth > 0")
    assert nurse.evaluate(f"{thumbnail}.naturalWidth") == 320
    with nurse.context.expect_page() as opened:
        thumbs.first.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.evaluate("document.images[0].naturalWidth") == 800  # the PNG, full size
    assert nurse.problems == []
    nurse.context.close()
