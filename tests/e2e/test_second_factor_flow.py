"""The second factor in Chromium (NURSE_MFA=required): the set-up page's QR code shows under the
CSP, a code from the app signs in, the recovery codes are shown once; axe-core checks each page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.e2e.conftest import serve
from tests.e2e.pages import new_page, read_axe, run_axe, sign_in
from tests.support import NURSE, build_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def mfa_server(tmp_path: Path) -> Iterator[str]:
    from web.storage import store

    app = build_app(LOG_REQUESTS=False, NURSE_MFA="required", DATABASE_URL=f"sqlite:///{tmp_path / 'r.sqlite3'}")
    with app.extensions["triage_db"].transaction() as session:
        store.create_nurse(session, *NURSE)
    yield from serve(app)


def _check(subtests: Any, page: Any, name: str) -> None:
    with subtests.test(msg=f"axe-core: {name}"):
        assert run_axe(page, read_axe()) == [], name


def test_setting_up_and_using_the_sign_in_code(browser, mfa_server, subtests) -> None:  # type: ignore[no-untyped-def]
    page = new_page(browser, {"width": 1366, "height": 900})
    sign_in(page, mfa_server, second_step=True)
    assert page.url.endswith("/nurse/login/enrol")
    assert page.evaluate("document.querySelector('img[src^=\"data:image/svg+xml\"]').naturalWidth") > 100  # drawn
    _check(subtests, page, "set-up page")
    totp = pyotp.TOTP(page.inner_text(".setup-key").replace(" ", ""))
    page.fill("#code", totp.now())
    with page.expect_navigation(wait_until="load"):
        page.press("#code", "Enter")
    assert len(page.query_selector_all(".recovery-codes li")) == 10
    _check(subtests, page, "recovery codes page")
    with page.expect_navigation(wait_until="load"):
        page.click("text=I have kept them: continue")
    assert page.url.endswith("/nurse")
    assert page.problems == []  # no CSP violation (the QR image is a data: URI) and no script error

    later = new_page(browser, {"width": 375, "height": 740})
    sign_in(later, mfa_server, second_step=True)
    assert later.url.endswith("/nurse/login/code")
    _check(subtests, later, "sign-in code page")
    later.fill("#code", "000000")
    with later.expect_navigation(wait_until="load"):
        later.press("#code", "Enter")
    assert "not right" in later.inner_text("#error-summary")
    _check(subtests, later, "sign-in code page with an error")
    assert [p for p in later.problems if "status of 401" not in p] == []  # (the wrong code's page is a 401)
