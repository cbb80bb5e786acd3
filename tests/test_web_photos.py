"""Photos for the nurse on the web (web/photos.py): the offer on a stored, non-emergency result
(with and without a clinic profile, in English and Spanish), uploads judged file by file, removal
before a nurse saw it, the grant, the nurse's thumbnails and full-size view (headers, audit,
access), the upload's own body limit and rate-limit scope, and /healthz during a burst."""

from __future__ import annotations

import html
import io
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from PIL import Image
from sqlalchemy import select

from tests import photo_samples as samples
from tests.support import NURSE, MakeApp
from tests.web_helpers import csrf_token, patient_form, signed_in_client
from web.photos import GRANT_SALT
from web.security import CSP
from web.storage.models import AuditEvent, Photo

MONITOR = {"redness": "moderate"}
EMERGENCY = {"breathing-difficulty": "moderate"}
PROFILE = (
    'name = "Clínica Piel Sana"\nphone = "+34 910 123 456"\nout_of_hours = "+34 600 123 456"\n'
    'emergency_number = "112"\ncountry = "ES"\ntimezone = "Europe/Madrid"\nlanguages = ["en", "es"]\n'
)


def _result(client: Any, symptoms: dict[str, str] = MONITOR, hours: str = "60") -> str:
    response = client.post("/", data=patient_form(symptoms, hours, csrf_token=csrf_token(client)))
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return response.get_data(as_text=True)


def _grant(page: str) -> str:
    found = re.search(r'name="grant" value="([^"]+)"', page)
    assert found, "no photo form on the page"
    return found.group(1)


def _reference(page: str) -> str:
    found = re.search(r'id="reference-code"[^>]*>([A-Z0-9-]+)<', page)
    assert found
    return found.group(1)


def _upload(client: Any, grant: str, *files: tuple[bytes, str]) -> Any:
    data = {
        "csrf_token": csrf_token(client),
        "grant": grant,
        "photo": [(io.BytesIO(content), name) for content, name in files],
    }
    return client.post("/photos", data=data, content_type="multipart/form-data")


def _text(response: Any) -> str:
    """The page as read: no tags, spaces collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.get_data(as_text=True))))


def _photos(app: Flask) -> list[Photo]:
    with app.extensions["triage_db"].transaction() as s:
        return list(s.scalars(select(Photo).order_by(Photo.id)))


def _audit(app: Flask, action: str) -> list[tuple[str, str | None, str | None]]:
    with app.extensions["triage_db"].transaction() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [(e.actor, e.reference, e.detail) for e in events]


# --- the offer ----------------------------------------------------------------------------


def _profile_app(make_app: MakeApp, tmp_path: Path) -> Flask:
    path = tmp_path / "clinic.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return make_app(CLINIC_PROFILE=str(path))


def _patient(make_app: MakeApp, tmp_path: Path, profile: bool, language: str = "en") -> Any:
    """A patient's browser (a test client) on an app with or without the clinic profile, in `language`."""
    app = _profile_app(make_app, tmp_path) if profile else make_app()
    client = app.test_client()
    client.get(f"/?lang={language}")
    return client


@pytest.mark.parametrize("profile", [False, True], ids=["no-profile", "clinic-profile"])
@pytest.mark.parametrize(
    ("language", "heading", "guidance"),
    [
        ("en", "Add photos for the nurse", "Take photos in daylight: first the whole treated area, then one close-up."),
        (
            "es",
            "Añadir fotos para el personal de enfermería",
            "Tome las fotos con luz de día: primero toda la zona tratada, luego una de cerca.",
        ),
    ],
)
def test_a_stored_result_offers_photos_with_a_form_that_needs_no_script(
    make_app: MakeApp, tmp_path: Path, profile: bool, language: str, heading: str, guidance: str
) -> None:
    page = _result(_patient(make_app, tmp_path, profile, language))
    text = html.unescape(page)
    assert heading in text and guidance in text
    form = page[page.index('<form class="photo-form"') :]
    form = form[: form.index("</form>")]
    assert 'method="post"' in form and 'enctype="multipart/form-data"' in form and 'action="/photos"' in form
    assert 'accept="image/*"' in form and 'capture="environment"' in form and "multiple" in form
    assert re.search(r'<script src="/static/photos\.[0-9a-f]+\.js" defer></script>', page)
    assert "<script>" not in page  # no inline script: the CSP allows none


@pytest.mark.parametrize("profile", [False, True], ids=["no-profile", "clinic-profile"])
def test_an_emergency_result_offers_no_photos(make_app: MakeApp, tmp_path: Path, profile: bool) -> None:
    page = _result(_patient(make_app, tmp_path, profile), EMERGENCY, "1")
    assert "photo" not in page.lower() and 'name="grant"' not in page


def test_an_answer_that_could_not_be_stored_offers_no_photos(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("web.patient.store_self_check", lambda *args, **kwargs: None)
    page = _result(client)
    assert "No reference code this time" in page
    assert 'name="grant"' not in page and "Add photos" not in page


# --- uploading ----------------------------------------------------------------------------


def test_phone_photos_are_added_listed_with_their_names_and_a_fourth_is_refused_by_name(app: Flask) -> None:
    client = app.test_client()
    grant = _grant(_result(client))
    response = _upload(
        client,
        grant,
        (samples.phone_jpeg(), "IMG_0001.JPG"),
        (samples.transparent_png(), "screenshot.png"),
        (samples.heic(), "IMG_0002.HEIC"),
        (samples.webp(), "fourth.webp"),
    )
    assert response.status_code == 200
    text = _text(response)
    assert "fourth.webp: You can add up to 3 photos to one check." in text
    listed = text[text.index("Your photos") :]
    assert [name in listed for name in ("IMG_0001.JPG", "screenshot.png", "IMG_0002.HEIC")] == [True] * 3
    assert listed.count("Remove this photo") == 3
    assert "Add photos for the nurse" not in listed  # no room left: no form
    stored = _photos(app)
    assert [p.file_name for p in stored] == ["IMG_0001.JPG", "screenshot.png", "IMG_0002.HEIC"]
    with app.extensions["triage_db"].transaction() as s:
        jpeg = s.scalar(select(Photo.jpeg).where(Photo.id == stored[0].id))
    image = Image.open(io.BytesIO(jpeg))
    assert image.size == (1512, 2016) and "exif" not in image.info  # upright, no metadata
    assert len(_audit(app, "add-photo")) == 3


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (samples.png_bomb(), "bomb.png", "The picture is too big. Use your camera's normal photo setting."),
        (samples.truncated_jpeg(), "half.jpg", "The photo is damaged or incomplete. Take it again."),
        (samples.html_named_jpg(), "page.jpg", "It is not a photo we can use. Send a JPEG, PNG, WebP or HEIC photo."),
        (samples.pdf_named_jpg(), "letter.jpg", "It is not a photo we can use. Send a JPEG, PNG, WebP or HEIC photo."),
        (samples.jpeg_with_script_comment(), "poly.jpg", "The file holds more than a photo, so it was not kept."),
        (samples.oversize(30), "huge.jpg", "The file is larger than 10 MB."),
    ],
    ids=["bomb", "truncated", "html", "pdf", "script-comment", "30mb"],
)
def test_a_hostile_file_is_refused_naming_it_and_why_and_the_good_one_is_kept(
    app: Flask, content: bytes, name: str, reason: str
) -> None:
    client = app.test_client()
    response = _upload(client, _grant(_result(client)), (content, name), (samples.small_jpeg(), "good.jpg"))
    assert response.status_code == 200
    text = _text(response)
    assert f"{name}: {reason}" in text
    assert [p.file_name for p in _photos(app)] == ["good.jpg"]


def test_a_refused_file_leaves_room_and_no_more_than_six_files_are_decoded_per_upload(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    import web.photos

    decoded: list[int] = []
    real = web.photos.make_safe
    monkeypatch.setattr(web.photos, "make_safe", lambda data: decoded.append(len(data)) or real(data))
    client = app.test_client()
    junk = [(samples.html_named_jpg(), f"junk-{i}.jpg") for i in range(5)]
    response = _upload(
        client, _grant(_result(client)), *junk, (samples.small_jpeg(), "a.jpg"), (samples.small_jpeg(), "b.jpg")
    )
    text = _text(response)
    assert len(decoded) == 6  # the five junk files and a.jpg; b.jpg is refused without decoding
    assert [p.file_name for p in _photos(app)] == ["a.jpg"]
    assert "b.jpg: You can add up to 3 photos to one check." in text and "junk-4.jpg: It is not a photo" in text


def test_only_refused_files_answer_400_and_no_file_says_to_choose_one(app: Flask) -> None:
    client = app.test_client()
    grant = _grant(_result(client))
    response = _upload(client, grant, (samples.html_named_jpg(), "page.jpg"))
    assert response.status_code == 400 and "page.jpg:" in _text(response)
    empty = _upload(client, grant, (b"", ""))
    assert empty.status_code == 400 and "Choose a photo first." in _text(empty)
    assert _photos(app) == []


def test_a_spanish_patient_reads_the_refusal_in_spanish(app: Flask) -> None:
    client = app.test_client()
    client.get("/?lang=es")
    response = _upload(client, _grant(_result(client)), (samples.html_named_jpg(), "pagina.jpg"))
    text = _text(response)
    assert "pagina.jpg: No es una foto que podamos usar." in text and "Fotos para el personal de enfermería" in text


@pytest.mark.parametrize("profile", [False, True], ids=["no-profile", "clinic-profile"])
@pytest.mark.parametrize(
    ("language", "listed", "emergency"),
    [("en", "Your photos", "call your local emergency number now"), ("es", "Sus fotos", "número local de emergencias")],
)
def test_the_photos_page_works_with_and_without_a_clinic_profile_in_each_language(
    make_app: MakeApp, tmp_path: Path, profile: bool, language: str, listed: str, emergency: str
) -> None:
    client = _patient(make_app, tmp_path, profile, language)
    response = _upload(client, _grant(_result(client)), (samples.small_jpeg(), "skin.jpg"))
    assert response.status_code == 200
    text = _text(response)
    assert f'<html lang="{language}">' in response.get_data(as_text=True)
    assert listed in text and "skin.jpg" in text
    # The footer's emergency line: the profile's number, else the neutral wording.
    assert ("112" in text and emergency not in text) if profile else emergency in text


# --- removing -----------------------------------------------------------------------------


def test_the_patient_removes_a_photo_until_a_nurse_has_seen_it(app: Flask) -> None:
    client = app.test_client()
    page = _result(client)
    grant, reference = _grant(page), _reference(page)
    _upload(client, grant, (samples.small_jpeg(), "one.jpg"), (samples.small_jpeg(), "two.jpg"))
    one, two = _photos(app)
    removed = client.post("/photos/remove", data={"csrf_token": csrf_token(client), "grant": grant, "photo": one.id})
    assert removed.status_code == 200 and "The photo was removed." in _text(removed)
    assert [p.id for p in _photos(app)] == [two.id]
    nurse = signed_in_client(app)
    assert nurse.get(f"/nurse/records/{reference}/photos/{two.id}").status_code == 200
    kept = client.post("/photos/remove", data={"csrf_token": csrf_token(client), "grant": grant, "photo": two.id})
    assert kept.status_code == 400 and "a nurse has already seen it" in _text(kept)
    assert "A nurse has seen it." in _text(kept) and "Remove this photo" not in _text(kept)
    assert [p.id for p in _photos(app)] == [two.id]
    assert [a[0] for a in _audit(app, "remove-photo")] == ["patient-form"]


# --- the grant ----------------------------------------------------------------------------


def test_without_a_genuine_current_grant_nothing_is_added_or_removed(app: Flask) -> None:
    client = app.test_client()
    page = _result(client)
    grant, reference = _grant(page), _reference(page)
    _upload(client, grant, (samples.small_jpeg(), "mine.jpg"))
    (mine,) = _photos(app)
    other = _grant(_result(client))  # another check's grant
    old = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt=GRANT_SALT, signer=_Signer8DaysAgo, signer_kwargs={}
    ).dumps({"c": reference, "s": 1, "z": "UTC"})
    forged = URLSafeTimedSerializer("another key", salt=GRANT_SALT).dumps({"c": reference, "s": 1, "z": "UTC"})
    for bad in ("", reference, forged, old, grant[:-2] + "xx"):
        refused = _upload(client, bad, (samples.small_jpeg(), "x.jpg"))
        assert refused.status_code == 403, bad
        gone = client.post("/photos/remove", data={"csrf_token": csrf_token(client), "grant": bad, "photo": mine.id})
        assert gone.status_code == 403
    # Another check's grant cannot remove this photo (it is not with that report).
    wrong = client.post("/photos/remove", data={"csrf_token": csrf_token(client), "grant": other, "photo": mine.id})
    assert wrong.status_code == 400 and "mine.jpg" not in _text(wrong)
    assert [p.id for p in _photos(app)] == [mine.id]


class _Signer8DaysAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 8 * 24 * 3600


# --- the nurse ----------------------------------------------------------------------------


def _with_photo(app: Flask) -> tuple[str, int]:
    client = app.test_client()
    page = _result(client)
    _upload(client, _grant(page), (samples.phone_jpeg((1600, 1200)), "arm.jpg"))
    return _reference(page), _photos(app)[-1].id


def test_the_nurse_sees_the_thumbnail_beside_the_right_report_and_the_full_size(app: Flask) -> None:
    reference, photo_id = _with_photo(app)
    nurse = signed_in_client(app)
    token = csrf_token(nurse, f"/nurse/records/{reference}")
    added = nurse.post(
        f"/nurse/records/{reference}/entries",
        data={"csrf_token": token, "symptoms": "redness:mild", "hours": "80"},
    )
    assert added.status_code == 303
    page = nurse.get(f"/nurse/records/{reference}").get_data(as_text=True)
    entry1 = page[page.index('id="entry-1"') : page.index('id="entry-2"')]
    entry2 = page[page.index('id="entry-2"') : page.index('id="add-title"')]
    thumb = f"/nurse/records/{reference}/photos/{photo_id}/thumbnail"
    assert thumb in entry1 and thumb not in entry2
    assert f'href="/nurse/records/{reference}/photos/{photo_id}"' in entry1
    assert re.search(r"Sent \d{4}-\d\d-\d\d \d\d:\d\d", entry1)
    for url, size in ((thumb, 320), (f"/nurse/records/{reference}/photos/{photo_id}", 1600)):
        response = nurse.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"] == 'inline; filename="photo.jpg"'
        assert response.headers["Content-Security-Policy"] == CSP
        assert max(Image.open(io.BytesIO(response.data)).size) == size
    views = _audit(app, "view-photo")
    assert views == [
        (f"nurse:{NURSE[0]}", reference, f"entry 1 photo {photo_id} (thumbnail)"),
        (f"nurse:{NURSE[0]}", reference, f"entry 1 photo {photo_id} (full size)"),
    ]


def test_anonymous_a_stale_cookie_and_another_record_get_no_photo(app: Flask) -> None:
    reference, photo_id = _with_photo(app)
    other = _reference(_result(app.test_client()))
    url = f"/nurse/records/{reference}/photos/{photo_id}"
    for path in (url, url + "/thumbnail"):
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/nurse/login" in anonymous.headers["Location"]
        assert anonymous.headers.get("Content-Type", "").startswith("text/html")
    stale = app.test_client()
    nurse = signed_in_client(app)
    cookie = nurse.get_cookie("session")
    assert cookie is not None
    stale.set_cookie("session", cookie.value)
    assert stale.get(url).status_code == 200  # the same cookie works before sign-out
    nurse.post("/nurse/logout", data={"csrf_token": csrf_token(nurse, "/nurse")})
    after = stale.get(url)
    assert after.status_code == 302 and after.data[:3] != b"\xff\xd8\xff"
    again = signed_in_client(app)
    missing = again.get(f"/nurse/records/{other}/photos/{photo_id}")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert again.get(f"/nurse/records/not-a-code/photos/{photo_id}").status_code == 404
    assert len(_audit(app, "photo-not-found")) == 2
    # The other site cannot make the nurse's browser fetch it either.
    assert again.get(url, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


# --- limits -------------------------------------------------------------------------------


def test_only_the_upload_route_takes_a_large_body(app: Flask) -> None:
    client = app.test_client()
    grant = _grant(_result(client))
    big = samples.phone_jpeg()  # a few MB, far over the app's 16 KiB
    assert len(big) > 16 * 1024 * 10
    assert _upload(client, grant, (big, "big.jpg")).status_code == 200
    assert client.post("/api/v1/assess", data=b"x" * (17 * 1024), content_type="application/json").status_code == 413
    form = patient_form(MONITOR, "60", csrf_token=csrf_token(client), note="x" * (17 * 1024))
    assert client.post("/", data=form).status_code == 413
    over = app.config["MAX_PHOTO_UPLOAD_LENGTH"] + 1
    assert client.post("/photos", data=b"x" * over, content_type="multipart/form-data; boundary=x").status_code == 413


def test_uploads_have_a_rate_limit_scope_of_their_own(make_app: MakeApp) -> None:
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_PHOTOS="2 per minute", RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    grant = _grant(_result(client))
    statuses = [_upload(client, grant, (samples.small_jpeg(), f"{i}.jpg")).status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    _result(client)  # the patient form's own budget is untouched


def test_a_bad_upload_limit_stops_the_start() -> None:
    from web import ConfigError
    from web.config import load_config

    with pytest.raises(ConfigError, match="MAX_PHOTO_UPLOAD_LENGTH must be a whole number, got '30MB'"):
        load_config({"TESTING": True}, env={"MAX_PHOTO_UPLOAD_LENGTH": "30MB"})


def test_healthz_answers_within_2_s_during_a_burst_of_hostile_uploads(tmp_path: Path) -> None:
    import requests

    from tests.gunicorn_server import start_gunicorn

    server = start_gunicorn(tmp_path / "gunicorn.log", args=("-w", "1", "--threads", "8", "--timeout", "60"))
    try:
        base = server.base
        hostile = [
            (samples.png_bomb(), "bomb.png"),
            (samples.truncated_jpeg(), "half.jpg"),
            (samples.html_named_jpg(), "page.jpg"),
            (samples.jpeg_with_script_comment(), "poly.jpg"),
            (samples.oversize(30), "huge.jpg"),
            (samples.phone_jpeg(), "real.jpg"),  # a heavy decode among them
        ]
        errors: list[str] = []

        def attacker() -> None:
            session = requests.Session()
            page = session.post(base + "/", data=patient_form(MONITOR, "60", csrf_token=_csrf(session, base))).text
            for content, name in hostile:
                files = [("photo", (name, content, "image/jpeg"))]
                data = {"csrf_token": _csrf(session, base), "grant": _grant(page)}
                response = session.post(base + "/photos", data=data, files=files, timeout=60)
                said = re.sub(r"<[^>]+>", "", response.text)
                refused = f"{name}:" in said
                if response.status_code != (200 if name == "real.jpg" else 400) or refused != (name != "real.jpg"):
                    errors.append(f"{name}: {response.status_code}")

        threads = [threading.Thread(target=attacker) for _ in range(4)]
        for t in threads:
            t.start()
        slowest = 0.0
        while any(t.is_alive() for t in threads):
            started = time.perf_counter()
            assert requests.get(base + "/healthz", timeout=5).status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.05)
        for t in threads:
            t.join()
        assert errors == []
        assert slowest < 2.0, slowest
    finally:
        server.stop()


def _csrf(session: Any, base: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', session.get(base + "/").text)
    assert found
    return found.group(1)


# --- FHIR ---------------------------------------------------------------------------------


def test_the_fhir_export_gives_each_photo_as_media_of_its_questionnaire_response(app: Flask) -> None:
    from fhir.resources.R4B.bundle import Bundle as R4BBundle
    from fhirclient.models.bundle import Bundle as R4Bundle

    reference, photo_id = _with_photo(app)
    nurse = signed_in_client(app)
    bundle = nurse.get(f"/nurse/records/{reference}/fhir.json").get_json()
    R4Bundle(bundle)  # strict R4 (4.0.1): unknown keys, wrong types, missing required elements raise
    R4BBundle.model_validate(bundle)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    (media,) = [r for r in by_url.values() if r["resourceType"] == "Media"]
    part_of = by_url[media["partOf"][0]["reference"]]
    assert part_of["resourceType"] == "QuestionnaireResponse"
    assert part_of["identifier"]["value"] == f"{reference}/1"
    assert media["content"]["contentType"] == "image/jpeg" and "data" not in media["content"]
    assert media["content"]["url"] == f"http://localhost/nurse/records/{reference}/photos/{photo_id}"
    assert (media["width"], media["height"]) == (1200, 1600)  # upright: orientation 6 applied
    fetched = nurse.get(media["content"]["url"])
    assert fetched.status_code == 200 and fetched.data[:3] == b"\xff\xd8\xff"
    assert app.test_client().get(media["content"]["url"]).status_code == 302  # only a nurse's session


def test_the_upload_alone_gets_minutes_for_its_body(make_app: Any) -> None:
    """A phone sending three photos over a slow connection needs minutes; every other route keeps
    REQUEST_BODY_TIMEOUT (web.body cuts a body off at its route's deadline)."""
    from web.body import body_timeout

    app = make_app(REQUEST_BODY_TIMEOUT=10, PHOTO_UPLOAD_TIMEOUT=300)
    with app.test_request_context("/photos", method="POST"):
        assert body_timeout(app) == 300
    for path in ("/", "/api/v1/assess", "/nurse/login"):
        with app.test_request_context(path, method="POST"):
            assert body_timeout(app) == 10, path
