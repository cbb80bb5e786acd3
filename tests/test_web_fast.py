"""Fast on a slow phone: compressed responses (and the BREACH rule), content-hashed static files
cached for a year, and the short time-zone list with the full one on request."""

from __future__ import annotations

import gzip
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import brotli
import pytest
from flask import Flask

from tests.web_helpers import csrf_token, patient_form
from web.clock import zones
from web.static_files import IMMUTABLE

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


def _static_urls(page: str) -> dict[str, str]:
    """The page's static URLs by the file's own name ('style.css': '/static/style.<hash>.css')."""
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    return {re.sub(r"\.[0-9a-f]{12}\.", ".", url.rsplit("/", 1)[1]): url for url in urls}


def _zone_options(page: str) -> list[str]:
    select = page[page.index('<select id="timezone"') : page.index("</select>")]
    return re.findall(r'<option value="([^"]+)"', select)


# --- compression -----------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "decompress"), [("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_the_form_is_compressed_as_the_browser_asks(client: Any, encoding: str, decompress: Any) -> None:
    plain = client.get("/").get_data(as_text=True)
    response = client.get("/", headers={"Accept-Encoding": encoding})
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert int(response.headers["Content-Length"]) == len(response.data) < len(plain) / 3
    page = decompress(response.data).decode()
    # The same page (but its per-request CSRF token)
    token = re.compile(r'name="csrf_token" value="[^"]+"')
    assert token.sub("", page) == token.sub("", plain)


def test_brotli_is_preferred_when_both_are_accepted(client: Any) -> None:
    response = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br"


def test_nothing_is_compressed_for_a_browser_that_does_not_ask(client: Any) -> None:
    response = client.get("/")
    assert "Content-Encoding" not in response.headers
    assert "<form" in response.get_data(as_text=True)


def test_static_text_is_compressed_and_images_are_not(client: Any, app: Flask) -> None:
    urls = _static_urls(client.get("/").get_data(as_text=True))
    css = client.get(urls["style.css"], headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(css.data) == (STATIC / "style.css").read_bytes()
    # Not text: a PNG is sent as it is, even when the browser accepts compression.
    png = Path(app.static_folder or "") / "not-text-test.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    try:
        response = client.get("/static/not-text-test.png", headers={"Accept-Encoding": "br, gzip"})
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert "Content-Encoding" not in response.headers
    finally:
        png.unlink()


def test_no_answer_to_a_post_is_compressed(client: Any) -> None:
    """BREACH: a POST's answer shows what was sent beside a CSRF token (the form again, input
    kept) or a reference code (the result): never compressed."""
    data = patient_form({"redness": "mild"}, "not hours")
    data["csrf_token"] = csrf_token(client)
    again = client.post("/", data=data, headers={"Accept-Encoding": "br, gzip"})
    assert again.status_code == 400 and "Content-Encoding" not in again.headers
    page = again.get_data(as_text=True)
    assert 'value="not hours"' in page and 'name="csrf_token"' in page
    data = patient_form({"redness": "mild"}, "30")
    data["csrf_token"] = csrf_token(client)
    result = client.post("/", data=data, headers={"Accept-Encoding": "br, gzip"})
    assert result.status_code == 200 and "Content-Encoding" not in result.headers
    # Nor the form shown again after a missing or stale token, which reflects what was posted.
    expired = client.post("/", data={"hours": "attacker text"}, headers={"Accept-Encoding": "gzip"})
    assert expired.status_code == 400 and "Content-Encoding" not in expired.headers
    assert "attacker text" in expired.get_data(as_text=True)


def test_nurse_pages_are_never_compressed(client: Any) -> None:
    """The nurse's pages carry a signed-in session's token and health data: never compressed."""
    response = client.get("/nurse/login", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and 'name="csrf_token"' in response.get_data(as_text=True)
    assert "Content-Encoding" not in response.headers


# --- static files ----------------------------------------------------------------------------


def test_pages_name_static_files_by_their_content(client: Any) -> None:
    import hashlib

    urls = _static_urls(client.get("/").get_data(as_text=True))
    assert set(urls) == {"style.css", "enhance.js", "favicon.svg"}
    for name, url in urls.items():
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
        stem, suffix = name.rsplit(".", 1)
        assert url == f"/static/{stem}.{digest}.{suffix}"
        response = client.get(url)
        assert response.status_code == 200 and response.data == (STATIC / name).read_bytes()
        assert response.headers["Cache-Control"] == IMMUTABLE


def test_the_old_names_still_work_and_are_revalidated(client: Any) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200 and response.data == (STATIC / "style.css").read_bytes()
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["ETag"]
    assert client.get("/static/style.css", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_a_hash_that_is_not_the_contents_is_not_found(client: Any) -> None:
    assert client.get("/static/style.000000000000.css").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404


def test_the_content_security_policy_allows_the_hashed_files(client: Any) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert all(url.startswith("/static/") for url in _static_urls(response.get_data(as_text=True)).values())


def test_pages_themselves_are_still_never_cached(client: Any) -> None:
    assert client.get("/", headers={"Accept-Encoding": "gzip"}).headers["Cache-Control"] == "no-store"


# --- the time-zone list ----------------------------------------------------------------------


def test_the_form_lists_the_likely_zones_clinic_first(make_app: Any) -> None:
    client = make_app(DEFAULT_TIMEZONE="America/New_York").test_client()
    page = client.get("/").get_data(as_text=True)
    options = _zone_options(page)
    assert options[0] == "America/New_York" and options[-1] == "UTC"
    assert {"America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu"} <= set(options)
    assert len(options) <= 10
    assert "selected>America/New York</option>" in page
    assert 'href="/?zones=all#timezone"' in page


def test_all_zones_on_request(client: Any) -> None:
    page = client.get("/?zones=all").get_data(as_text=True)
    assert _zone_options(page) == list(zones())
    assert "zones=all" not in page  # no link to what is already shown
    assert '<details class="when-ended" open>' in page  # the list in view, without JavaScript


def test_a_zone_chosen_outside_the_short_list_is_kept_first(client: Any) -> None:
    """Chosen from the full list, the zone is first in the short list of the form shown again."""
    data = patient_form({"redness": "mild"}, "", ended_date="2026-11-24", ended_time="25:00")
    data["timezone"] = "Asia/Kathmandu"
    data["csrf_token"] = csrf_token(client)
    page = client.post("/", data=data).get_data(as_text=True)
    assert _zone_options(page)[0] == "Asia/Kathmandu"
    assert '<option value="Asia/Kathmandu" selected>' in page


def test_a_zone_from_the_full_list_works_without_javascript(client: Any, app: Flask) -> None:
    """No script: the form, its full list, a date and time read in a zone from it, an answer."""
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 01:45 on the 26th in Chatham
    page = client.get("/?zones=all").get_data(as_text=True)
    assert "Pacific/Chatham" in _zone_options(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    data = patient_form({"redness": "mild"}, "", ended_date="2026-11-25", ended_time="19:45")
    data |= {"timezone": "Pacific/Chatham", "csrf_token": token.group(1)}
    response = client.post("/", data=data)
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    assert "Your reference code" in text and "Pacific/Chatham time" in text
