"""The patient's language on the web: the switch (remembered in a cookie), Accept-Language, the
clinic profile's first language; `<html lang>` and Content-Language follow; the API honours
Accept-Language; the nurse side stays English; answers and records are the same in every language."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from tests.support import MakeApp
from tests.web_helpers import csrf_token, patient_form, signed_in_client
from triage import assess
from web import ConfigError
from web.assessor import patient_assessor
from web.i18n import CATALOGUES

KINDS = {
    "expected": ({"redness": "mild"}, "30"),
    "monitor": ({"redness": "moderate"}, "60"),
    "contact clinician": ({"fever": "moderate"}, "60"),
    "emergency": ({"breathing-difficulty": "moderate"}, "1"),
}


def _lang(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found, "the page has <html lang>"
    return found.group(1)


def _english_words() -> list[str]:
    """The catalogue's English messages without placeholders: none may show on a Spanish page."""
    with (CATALOGUES / "es" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    return [m.id for m in catalogue if isinstance(m.id, str) and m.id and "%(" not in m.id and m.string != m.id]


def _lang_cookie(response: Any) -> str | None:
    """The `lang` cookie the response sets, or None (the session cookie is set as well)."""
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang=")]
    return found[0] if found else None


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _post(client: Any, symptoms: dict[str, str], hours: str, **headers: str) -> Any:
    data = patient_form(symptoms, hours)
    data["csrf_token"] = csrf_token(client)
    return client.post("/", data=data, headers=headers)


def _profile_app(make_app: MakeApp, tmp_path: Path, languages: list[str]) -> Flask:
    langs = ", ".join(f'"{x}"' for x in languages)
    path = tmp_path / "clinic.toml"
    path.write_text(
        'name = "Clínica Sol"\nphone = "+34 910 000 000"\nout_of_hours = "+34 600 000 000"\n'
        f'emergency_number = "112"\ncountry = "ES"\ntimezone = "Europe/Madrid"\nlanguages = [{langs}]\n',
        encoding="utf-8",
    )
    return make_app(CLINIC_PROFILE=str(path))


# --- which language -----------------------------------------------------------------------


def test_english_by_default_with_a_visible_switch(client: Any) -> None:
    r = client.get("/")
    page = r.get_data(as_text=True)
    assert _lang(page) == "en" and r.headers["Content-Language"] == "en"
    assert '<a href="/?lang=es" lang="es" hreflang="es">Español</a>' in page
    assert "Accept-Language" in r.headers["Vary"] and "Cookie" in r.headers["Vary"]


def test_accept_language_gives_spanish(client: Any) -> None:
    r = client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    page = r.get_data(as_text=True)
    assert _lang(page) == "es" and r.headers["Content-Language"] == "es"
    assert "Revise su piel tras las microagujas" in page and "Rojez" in page
    assert '<a href="/?lang=en" lang="en" hreflang="en">English</a>' in page
    assert _lang_cookie(r) is None  # only the switch is remembered


def test_the_switch_is_remembered_in_a_cookie_and_beats_accept_language(client: Any) -> None:
    r = client.get("/?lang=es", headers={"Accept-Language": "en"})
    assert _lang(r.get_data(as_text=True)) == "es"
    cookie = _lang_cookie(r) or ""
    assert cookie.startswith("lang=es;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    again = client.get("/", headers={"Accept-Language": "en"})
    assert _lang(again.get_data(as_text=True)) == "es"
    back = client.get("/?lang=en", headers={"Accept-Language": "es"})
    assert _lang(back.get_data(as_text=True)) == "en" and (_lang_cookie(back) or "").startswith("lang=en;")
    assert _lang(client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)) == "en"


def test_an_unknown_language_is_ignored(client: Any) -> None:
    r = client.get("/?lang=xx", headers={"Accept-Language": "fr"})
    assert _lang(r.get_data(as_text=True)) == "en" and _lang_cookie(r) is None
    client.set_cookie("lang", "xx")
    assert _lang(client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)) == "es"


def test_the_profile_first_language_is_the_default(tmp_path: Path, make_app: MakeApp) -> None:
    app = _profile_app(make_app, tmp_path, ["es", "en"])
    client = app.test_client()
    assert _lang(client.get("/").get_data(as_text=True)) == "es"  # no Accept-Language
    assert _lang(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "en"


def test_a_profile_in_english_only_offers_no_switch(tmp_path: Path, make_app: MakeApp) -> None:
    app = _profile_app(make_app, tmp_path, ["en"])
    page = app.test_client().get("/?lang=es", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert _lang(page) == "en" and "language-switch" not in page


def test_a_profile_language_without_a_translation_stops_the_start(tmp_path: Path, make_app: MakeApp) -> None:
    with pytest.raises(ConfigError, match=r"clinic.toml: languages: 'fr' has no translation; available: en, es"):
        _profile_app(make_app, tmp_path, ["fr"])


# --- the Spanish pages ---------------------------------------------------------------------


def test_the_spanish_form_has_no_english_left(client: Any) -> None:
    page = client.get("/?lang=es").get_data(as_text=True)
    text = _text(page)
    english = [w for w in _english_words() if w in text]
    assert not english, english
    assert "¿Tiene ahora alguna de estas cosas?" in text and "Pedir ayuda ya" in text
    assert "¿Ha tenido eccema alguna vez?" in text  # factor questions from the knowledge base


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_spanish_result_is_spanish(client: Any, kind: str) -> None:
    client.get("/?lang=es")
    r = _post(client, *KINDS[kind])
    assert r.status_code == 200 and r.headers["Content-Language"] == "es"
    page = r.get_data(as_text=True)
    text = _text(page)
    assert _lang(page) == "es"
    english = [w for w in _english_words() if w in text]
    assert not english, english
    symptoms, hours = KINDS[kind]
    en = assess([f"{s}:{v}" for s, v in symptoms.items()], float(hours))
    for f in en.findings:  # no English patient text from the knowledge base either
        assert f.reason not in text and (f.advice or "@") not in text
    if kind == "emergency":
        assert "<title>Emergencia: llame ahora a su número local de emergencias</title>" in page
        emergency = page[page.index('<section class="emergency') : page.index("</section>")]
        assert "Llame ahora a su número local de emergencias" in emergency
        assert "Vuelva a revisarlo" not in page  # nothing on an emergency page suggests waiting


def test_the_spanish_safety_net(client: Any) -> None:
    client.get("/?lang=es")
    page = html.unescape(_post(client, *KINDS["monitor"]).get_data(as_text=True))
    start = page.index('id="safety-net-title"')
    net = page[start : page.index("</section>", start)]
    assert "Cuándo pedir ayuda antes" in net
    assert "<li>Llame ahora al número local de emergencias si se le hinchan los labios" in net
    assert "<li>Tenga lo que tenga, llame ahora al número local de emergencias" in net
    assert "<li>Llame a la clínica si la rojez pasa de la zona tratada" in net
    assert net.index("safety-net-emergency") < net.index("safety-net-clinic")
    en = assess(["redness:moderate"], 60)
    assert all(line.text not in net for line in en.safety_net)  # no English line


def test_a_spanish_emergency_with_a_profile_gives_the_number_to_call(tmp_path: Path, make_app: MakeApp) -> None:
    app = _profile_app(make_app, tmp_path, ["es", "en"])
    page = _post(app.test_client(), {"lip-tongue-swelling": "moderate"}, "").get_data(as_text=True)
    assert "<title>Emergencia: llame ahora al 112</title>" in page
    assert '<a class="call-button" id="call-now" href="tel:112">Llame ahora al 112</a>' in page


def test_spanish_dates_and_times(client: Any, app: Any) -> None:
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    client.get("/?lang=es")
    page = html.unescape(_post(client, {"redness": "mild"}, "6").get_data(as_text=True))
    assert (
        "Vuelva a revisarlo hacia las <strong>03:00 del viernes 27 de noviembre</strong> (hora de UTC), "
        "dentro de 42 horas."
    ) in page
    text = _text(page)
    assert "Será cuando hayan pasado 2 días (48 horas) desde que terminó su sesión." in text


def test_spanish_form_errors(client: Any) -> None:
    client.get("/?lang=es")
    r = _post(client, {}, "30")
    assert r.status_code == 400
    text = _text(r.get_data(as_text=True))
    assert (
        "Hay un problema" in text
        and "Elija al menos un síntoma. Si ninguno describe lo que tiene, llame a su clínica." in text
    )
    r = _post(client, {"redness": "mild"}, "soon")
    assert 'Escriba las horas con un número, como 30 (o días, como 2 días). Usted escribió "soon".' in _text(
        r.get_data(as_text=True)
    )


def test_the_record_is_stored_in_english_and_the_nurse_side_stays_english(app: Any, client: Any) -> None:
    """The answer is stored in English and the nurse reads it so; what the patient read is quoted
    in their language (marked as such), beside the English."""
    client.get("/?lang=es")
    page = _post(client, {"redness": "mild"}, "30").get_data(as_text=True)
    code = page.split('id="reference-code"', 1)[1].split(">", 1)[1].split("<", 1)[0].strip()
    nurse = signed_in_client(app)
    nurse.set_cookie("lang", "es")
    record = nurse.get(f"/nurse/records/{code}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert _lang(record) == "en"
    english = assess(["redness:mild"], 30)
    with app.test_request_context():
        spanish = patient_assessor("es").assess(["redness:mild"], 30).summary
    assert f"The patient was told: {spanish} (read in Spanish; the answer in English: {english.summary})" in _text(
        record
    )
    assert f'<q lang="es">{spanish}</q>' in html.unescape(record)
    assert english.findings[0].nurse_reason in html.unescape(record)
    console = nurse.get("/nurse", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert _lang(console) == "en" and "language-switch" not in console


# --- the API ---------------------------------------------------------------------------------


def test_the_api_honours_accept_language(client: Any) -> None:
    body = {"symptoms": [{"id": "redness", "severity": "severe"}], "hours": 5}
    es = client.post("/api/v1/assess", json=body, headers={"Accept-Language": "es"})
    en = client.post("/api/v1/assess", json=body)
    assert es.headers["Content-Language"] == "es" and en.headers["Content-Language"] == "en"
    a, b = es.get_json(), en.get_json()
    assert b == assess(["redness:severe"], 5).to_dict()
    for key in ("disposition", "emergency", "recheck_in_hours", "kb_version", "kb_digest", "report"):
        assert a[key] == b[key]
    assert [f["rule"] for f in a["findings"]] == [f["rule"] for f in b["findings"]]
    assert [f["nurse_reason"] for f in a["findings"]] == [f["nurse_reason"] for f in b["findings"]]
    assert a["findings"][0]["reason"].startswith("Rojez:")
    assert a["summary"].startswith("Esto no necesita atención urgente ahora")
    # a cookie does not change the API (it has no switch)
    client.set_cookie("lang", "es")
    assert client.post("/api/v1/assess", json=body).get_json() == b


def test_the_knowledge_endpoint_in_spanish(client: Any) -> None:
    r = client.get("/api/v1/knowledge", headers={"Accept-Language": "es"})
    data = r.get_json()
    assert r.headers["Content-Language"] == "es" and "Accept-Language" in r.headers["Vary"]
    names = {s["id"]: s["name"] for s in data["symptoms"]}
    assert names["redness"] == "Rojez" and data["disclaimer"].startswith("Esta herramienta")


def test_cds_hooks_cards_are_the_same_in_every_language(client: Any) -> None:
    body = {"symptoms": [{"id": "fever"}], "hours": 60}
    es = client.post("/api/v1/assess/cds-hooks", json=body, headers={"Accept-Language": "es"}).get_json()
    en = client.post("/api/v1/assess/cds-hooks", json=body).get_json()
    for card in es["cards"] + en["cards"]:
        assert card.pop("uuid")  # each card its own random uuid
    assert es == en


ACCEPT_LANGUAGES = [
    None,
    "",
    "es",
    "ES",
    "es-MX,es;q=0.9",
    "fr, es;q=0.2",
    "fr, en;q=0.1",
    "en-US,en;q=0.9,es;q=0.8",
    "es;q=0, en",
    "*",
    "de",
    "es-419",
    ";;,,q=",
]


@pytest.mark.parametrize("header", ACCEPT_LANGUAGES)
def test_the_remembered_match_is_werkzeugs_match(client: Any, header: str | None) -> None:
    """The language chosen from Accept-Language is kept per header value (web.i18n._best_match):
    asked twice, the API and the patient form give what werkzeug's own matching gives."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    best = parse_accept_header(header, LanguageAccept).best_match(("en", "es"))
    headers = {} if header is None else {"Accept-Language": header}
    for _ in range(2):  # the second time from the memo
        r = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": 3}, headers=headers)
        assert r.headers["Content-Language"] == (best or "en")
        page = client.get("/", headers=headers)
        assert page.headers["Content-Language"] == _lang(page.get_data(as_text=True)) == (best or "en")


def test_the_remembered_matches_are_bounded(app: Any, client: Any) -> None:
    """Clients sending ever new Accept-Language values cannot grow the memo; past the bound the
    match is still made, just not kept."""
    from web.i18n import MATCHES, MATCHES_KEPT

    for i in range(MATCHES_KEPT + 20):
        header = f"x-{i}, es;q=0.5" if i % 2 else f"x-{i}"
        r = client.get("/api/v1/knowledge", headers={"Accept-Language": header})
        assert r.headers["Content-Language"] == ("es" if i % 2 else "en")
    assert len(app.extensions[MATCHES]) == MATCHES_KEPT


def test_a_vary_header_already_set_is_kept(app: Any) -> None:
    """Content-Language and Vary are added to a response's own Vary, not written over it."""
    from flask import Response

    from web.i18n import _remember_and_label

    with app.test_request_context("/api/v1/knowledge", headers={"Accept-Language": "es"}):
        app.preprocess_request()
        response = _remember_and_label(Response(headers={"Vary": "Origin"}))
        assert response.headers["Vary"] == "Origin, Accept-Language, Cookie"
        assert response.headers["Content-Language"] == "es"
        response = _remember_and_label(Response())
        assert response.headers.getlist("Vary") == ["Accept-Language, Cookie"]


# --- error pages and time zones in the patient's language ----------------------------------

ERRORS_ES = {
    404: "No hay ninguna página en esta dirección.",
    405: "Esta dirección no acepta ese tipo de solicitud.",
    413: "La solicitud es demasiado grande.",
    429: "Demasiadas solicitudes en poco tiempo. Espere un minuto y vuelva a intentarlo.",
    500: "Algo salió mal por nuestra parte.",
}
ERRORS_EN = {
    404: "There is no page at this address.",
    405: "This address does not accept that kind of request.",
    413: "The request is too large.",
    429: "Too many requests in a short time. Please wait a minute and try again.",
    500: "Something went wrong on our side.",
}


def _error_response(make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, status: int, **headers: str) -> Any:
    """A patient's request that ends in `status`, on an app of its own (rate limit on)."""
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_FORM="1 per minute", MAX_CONTENT_LENGTH=2048)
    client = app.test_client()
    if status == 404:
        return client.get("/no-such-page", headers=headers)
    if status == 405:
        return client.put("/", headers=headers)
    if status == 413:
        return client.post("/", data={"hours": "x" * 4096}, headers=headers)
    if status == 429:
        data = patient_form({"redness": "mild"}, "30") | {"csrf_token": csrf_token(client)}
        assert client.post("/", data=data, headers=headers).status_code == 200
        return client.post("/", data=data, headers=headers)

    def broken(language: str) -> Any:
        raise RuntimeError("the assessor failed")

    monkeypatch.setattr("web.patient.patient_assessor", broken)
    return client.get("/", headers=headers)


@pytest.mark.parametrize("status", list(ERRORS_ES))
def test_error_pages_are_in_the_patients_language(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """Policy: every page a patient can reach, error pages included, is in the patient's language."""
    r = _error_response(make_app, monkeypatch, status, **{"Accept-Language": "es"})
    page = r.get_data(as_text=True)
    assert r.status_code == status and r.mimetype == "text/html"
    assert _lang(page) == "es" and r.headers["Content-Language"] == "es"
    assert f"<title>{ERRORS_ES[status]}</title>" in page and f"<h1>{ERRORS_ES[status]}</h1>" in page
    text = _text(page)
    assert "Ir al control de síntomas" in text
    english = [w for w in _english_words() if w in text]
    assert not english, english
    en = _error_response(make_app, monkeypatch, status)
    assert en.status_code == status
    assert f"<h1>{ERRORS_EN[status]}</h1>" in en.get_data(as_text=True)  # English stays English


def test_a_not_found_page_follows_the_remembered_language(client: Any) -> None:
    client.get("/?lang=es")
    page = client.get("/no-such-page", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(page) == "es" and "<h1>No hay ninguna página en esta dirección.</h1>" in page


def test_api_errors_stay_english_whatever_the_language(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's JSON errors are for programs: English, even when the client asks for Spanish."""

    def broken(language: str) -> Any:
        raise RuntimeError("the assessor failed")

    monkeypatch.setattr("web.api.patient_assessor", broken)
    body = {"symptoms": [{"id": "redness"}], "hours": 3}
    r = app.test_client().post("/api/v1/assess", json=body, headers={"Accept-Language": "es"})
    assert r.status_code == 500 and r.get_json()["message"] == "Something went wrong on our side."


def test_an_error_status_without_its_own_words_still_speaks_spanish(app: Any) -> None:
    from web.errors import english_message, page_message

    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        app.preprocess_request()
        assert page_message(418) == "No pudimos atender esta solicitud."
        assert page_message(503) == "Algo salió mal por nuestra parte."
        assert english_message(503) == "Something went wrong on our side."
        assert page_message(404) == "No hay ninguna página en esta dirección."  # the language is kept after


def _zone_options(page: str) -> list[tuple[str, str]]:
    select = page[page.index('<select id="timezone"') : page.index("</select>")]
    return [
        (v, html.unescape(label)) for v, label in re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select)
    ]


def test_the_time_zones_are_named_in_spanish(client: Any) -> None:
    from web.clock import zones

    options = _zone_options(client.get("/?lang=es&zones=all").get_data(as_text=True))
    labels = dict(options)
    assert labels["Europe/Madrid"] == "España (Madrid)"
    assert labels["America/Mexico_City"] == "México (Ciudad de México)"
    assert labels["America/Argentina/Buenos_Aires"] == "Argentina (Buenos Aires)"
    assert labels["Atlantic/Canary"] == "España (Canarias)"
    assert labels["America/New_York"] == "Estados Unidos (Nueva York)"
    assert labels["Asia/Tokyo"] == "Japón (Tokio)"
    assert sorted(labels) == sorted(zones()) and len(options) == len(zones())  # every zone can still be chosen
    assert options[0] == ("UTC", "UTC")
    assert not [label for _, label in options if "/" in label or "_" in label]  # no zone ids left
    shown = [label for _, label in options[1:]]
    plain = [unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().casefold() for label in shown]
    assert plain == sorted(plain)  # sorted by what the reader sees ("Japón" under J) ...
    assert shown.index("España (Madrid)") < shown.index("Estados Unidos (Nueva York)")  # ... not by the zone id


def test_the_english_form_keeps_the_zone_names(client: Any) -> None:
    labels = dict(_zone_options(client.get("/?lang=en&zones=all").get_data(as_text=True)))
    assert labels["America/New_York"] == "America/New York" and labels["Europe/Madrid"] == "Europe/Madrid"


def test_the_short_zone_list_is_named_in_spanish(make_app: Any) -> None:
    """The form's short list: the clinic's zone first, its country's other clock regions, UTC,
    in the reader's words; the full list is a link away, in Spanish too."""
    client = make_app(DEFAULT_TIMEZONE="Europe/Madrid").test_client()
    page = client.get("/?lang=es").get_data(as_text=True)
    assert _zone_options(page) == [
        ("Europe/Madrid", "España (Madrid)"),
        ("Atlantic/Canary", "España (Canarias)"),
        ("UTC", "UTC"),
    ]
    assert "¿No está en la lista? Ver todas las zonas horarias" in html.unescape(page)


def test_the_spanish_result_names_the_zone_in_spanish(client: Any, app: Any) -> None:
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    client.get("/?lang=es")
    data = patient_form({"redness": "mild"}, "6", timezone="America/Mexico_City")
    data["csrf_token"] = csrf_token(client)
    page = html.unescape(client.post("/", data=data).get_data(as_text=True))
    assert "(hora de Ciudad de México), dentro de 42 horas." in page
    assert "Mexico_City" not in _text(page) and "Mexico City" not in _text(page)
