"""The clinic profile (CLINIC_PROFILE, web/clinic.py): validated at start-up naming the file,
the key and the problem; its name and numbers on every patient result kind, in the API's
`contact`, the nurse note, the FHIR export and the CDS Hooks card; neutral wording without one."""

from __future__ import annotations

import html
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support import MakeApp
from tests.web_helpers import csrf_token, patient_form, signed_in_client
from triage.exports.fhir import ExportEntry, record_bundle
from web import ConfigError
from web.clinic import ClinicProfile, load_profile

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "clinic-profile.toml"
GOOD = {
    "name": "Clínica Piel Sana",
    "phone": "+34 910 123 456",
    "out_of_hours": "+34 600 123 456",
    "emergency_number": "112",
    "country": "ES",
    "timezone": "Europe/Madrid",
    "languages": ["en"],
}
# One report per result kind (the knowledge base decides which kind; checked below).
KINDS = {
    "expected": ({"redness": "mild"}, "30"),
    "monitor": ({"redness": "moderate"}, "60"),
    "contact clinician": ({"fever": "moderate"}, "60"),
    "emergency": ({"breathing-difficulty": "moderate"}, "1"),
}


def _toml(values: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(v).lower() if isinstance(v, bool) else str(v)

    return "".join(f"{k} = {value(v)}\n" for k, v in values.items())


def _write(tmp_path: Path, values: dict[str, Any], name: str = "clinic.toml") -> Path:
    path = tmp_path / name
    path.write_text(_toml(values), encoding="utf-8")
    return path


@pytest.fixture
def profile_path(tmp_path: Path) -> Path:
    return _write(tmp_path, GOOD)


@pytest.fixture
def clinic_app(profile_path: Path, make_app: MakeApp) -> Flask:
    return make_app(CLINIC_PROFILE=str(profile_path))


def _result(client: Any, kind: str) -> str:
    symptoms, hours = KINDS[kind]
    data = patient_form(symptoms, hours)
    data["csrf_token"] = csrf_token(client)
    response = client.post("/", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return response.get_data(as_text=True)


def _assess_api(client: Any, kind: str) -> dict[str, Any]:
    symptoms, hours = KINDS[kind]
    body = {"symptoms": [{"id": s, "severity": v} for s, v in symptoms.items()], "hours": float(hours)}
    response = client.post("/api/v1/assess", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()
    expected = kind if kind != "emergency" else "contact clinician"
    assert data["disposition"] == expected and data["emergency"] == (kind == "emergency")
    return data


# --- the file ------------------------------------------------------------------------------


def test_the_documented_example_is_valid_and_documents_every_key() -> None:
    profile = load_profile(EXAMPLE)
    assert profile.emergency_number == "112" and profile.timezone == "Europe/Madrid"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert set(tomllib.loads(text)) == set(ClinicProfile.model_fields)
    for key in ClinicProfile.model_fields:  # each key has a comment saying what it is
        assert re.search(rf"^{key} = .+#", text, re.M), key


def test_a_good_profile_loads(profile_path: Path) -> None:
    profile = load_profile(profile_path)
    assert profile.name == "Clínica Piel Sana" and profile.out_of_hours_is_phone
    assert profile.contact() == {
        "clinic": "Clínica Piel Sana",
        "phone": "+34 910 123 456",
        "out_of_hours": "+34 600 123 456",
        "emergency_number": "112",
        "country": "ES",
    }


def test_out_of_hours_may_be_a_sentence(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, {**GOOD, "out_of_hours": "Call 111 and say you had microneedling."}))
    assert not profile.out_of_hours_is_phone


BAD = [
    ("unknown key", {"fax": "123"}, "fax", "unknown key; valid keys: name, phone"),
    ("empty name", {"name": ""}, "name", "at least 1 character"),
    ("name not text", {"name": 5}, "name", "valid string"),
    ("phone with letters", {"phone": "call us"}, "phone", "'call us' is not a phone number"),
    ("phone too short", {"phone": "12"}, "phone", "'12' is not a phone number"),
    ("empty out of hours", {"out_of_hours": "   "}, "out_of_hours", "give a phone number or a sentence"),
    ("emergency number with letters", {"emergency_number": "one-one-two"}, "emergency_number", "not an emergency"),
    ("emergency number as a number", {"emergency_number": 112}, "emergency_number", "valid string"),
    ("country in lower case", {"country": "es"}, "country", "'es' is not a two-letter ISO 3166-1"),
    ("country name", {"country": "Spain"}, "country", "'Spain' is not a two-letter"),
    ("unknown time zone", {"timezone": "Europe/Atlantis"}, "timezone", "unknown time zone 'Europe/Atlantis'"),
    ("no language", {"languages": []}, "languages", "at least 1 item"),
    ("language in capitals", {"languages": ["ES"]}, "languages", "'ES' is not a two-letter ISO 639-1 language code"),
    ("language twice", {"languages": ["en", "en"]}, "languages", "listed twice"),
    ("language not a list", {"languages": "en"}, "languages", "valid list"),
]


@pytest.mark.parametrize(("why", "change", "key", "problem"), BAD, ids=[b[0] for b in BAD])
def test_each_bad_key_is_refused_naming_the_file_the_key_and_the_problem(
    tmp_path: Path, why: str, change: dict[str, Any], key: str, problem: str
) -> None:
    path = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(f"CLINIC_PROFILE {path}: {key}: "), message
    assert problem in message


@pytest.mark.parametrize("key", list(GOOD))
def test_each_missing_key_is_refused(tmp_path: Path, key: str) -> None:
    path = _write(tmp_path, {k: v for k, v in GOOD.items() if k != key})
    with pytest.raises(ConfigError, match=rf"CLINIC_PROFILE .*clinic.toml: {key}: this key is required"):
        load_profile(path)


def test_not_toml_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "unclosed\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        load_profile(broken)
    with pytest.raises(ConfigError, match=r"missing.toml: cannot read the clinic profile"):
        load_profile(tmp_path / "missing.toml")


def test_a_bad_profile_stops_the_start(tmp_path: Path, make_app: MakeApp) -> None:
    path = _write(tmp_path, {**GOOD, "emergency_number": "emergency"})
    with pytest.raises(ConfigError, match=r"clinic.toml: emergency_number: 'emergency' is not an emergency number"):
        make_app(CLINIC_PROFILE=str(path))


def test_the_environment_names_the_profile(profile_path: Path) -> None:
    from web.config import load_config

    assert load_config({"TESTING": True}, env={})["CLINIC_PROFILE"] is None
    assert load_config({"TESTING": True}, env={"CLINIC_PROFILE": str(profile_path)})["CLINIC_PROFILE"] == str(
        profile_path
    )


# --- the patient pages ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["expected", "monitor", "contact clinician"])
def test_every_non_emergency_result_names_the_clinic_and_its_numbers(clinic_app: Any, kind: str) -> None:
    page = html.unescape(_result(clinic_app.test_client(), kind))
    assert 'class="clinic-contact"' in page and "Clínica Piel Sana" in page
    # the clinic's numbers are buttons that dial (full width, 48px tall: tests/e2e)
    button = '<a class="call-button call-clinic" href="tel:{}">{}: <span class="number">{}</span></a>'
    assert button.format("+34910123456", "Call the clinic", "+34 910 123 456") in page
    assert button.format("+34600123456", "Out of hours", "+34 600 123 456") in page
    assert '<a class="tel" href="tel:112">112</a>' in page  # the footer's emergency line
    assert "your local emergency number" not in page
    if kind == "contact clinician":  # the banner that says to contact the clinic says how
        banner = page[page.index('class="banner ') : page.index("</section>")]
        assert "tel:+34910123456" in banner
    net = page[page.index('<section class="safety-net"') :]
    net = net[: net.index("</section>")]
    call = 'Call <a class="tel" href="tel:112">112</a> now if'
    assert call in net  # the clinic's emergency number in the "call now if" lines, as a link to call
    if kind == "contact clinician":  # the banner already says to contact the clinic
        assert "safety-net-clinic" not in net
    else:
        clinic = 'Contact Clínica Piel Sana (<a class="tel" href="tel:+34910123456">+34 910 123 456</a>) if the redness'
        assert clinic in net
        assert net.index(call) < net.index(clinic)


def test_the_safety_net_names_the_clinic_in_spanish(profile_path: Path, make_app: MakeApp) -> None:
    profile_path.write_text(_toml(GOOD | {"languages": ["es"]}), encoding="utf-8")
    app = make_app(CLINIC_PROFILE=str(profile_path))
    page = html.unescape(_result(app.test_client(), "monitor"))
    net = page[page.index('<section class="safety-net"') :]
    net = net[: net.index("</section>")]
    assert "Cuándo pedir ayuda antes" in net
    assert 'Llame ahora al <a class="tel" href="tel:112">112</a> si se le hinchan los labios' in net
    assert 'Llame a Clínica Piel Sana (<a class="tel" href="tel:+34910123456">+34 910 123 456</a>) si la rojez' in net
    assert "número local de emergencias" not in net and "la clínica" not in net


def test_an_emergency_says_to_call_the_emergency_number_first_and_not_the_clinic(clinic_app: Any) -> None:
    page = html.unescape(_result(clinic_app.test_client(), "emergency"))
    assert "<title>Emergency: call 112 now</title>" in page
    emergency = page[page.index('<section class="emergency') : page.index("</section>")]
    # the call first, right under the headline, as a button; then first aid
    call = emergency.index('<a class="call-button" id="call-now" href="tel:112">Call 112 now</a>')
    assert emergency.index("</h1>") < call < emergency.index('<ul class="first-aid">')
    assert "<a" not in emergency[emergency.index("</h1>") : call]
    assert "911" not in page and "999" not in page and "your local emergency number" not in page
    assert "tel:+34910123456" not in page  # nothing on an emergency page offers the clinic instead


def test_an_out_of_hours_sentence_is_shown_as_written(tmp_path: Path, make_app: MakeApp) -> None:
    sentence = "Call 111 and say you had microneedling."
    path = _write(tmp_path, {**GOOD, "out_of_hours": sentence})
    app = make_app(CLINIC_PROFILE=str(path))
    page = html.unescape(_result(app.test_client(), "monitor"))
    assert f"Out of hours: {sentence}" in page and "tel:111" not in page


def test_form_errors_say_how_to_contact_the_clinic(clinic_app: Any) -> None:
    client = clinic_app.test_client()
    assert 'class="clinic-contact"' not in client.get("/").get_data(as_text=True)  # the empty form stays short
    data = patient_form({}, "30")
    data["csrf_token"] = csrf_token(client)
    page = html.unescape(client.post("/", data=data).get_data(as_text=True))
    assert "contact your clinic" in page and "tel:+34910123456" in page


def test_the_profile_time_zone_is_the_form_default(clinic_app: Any) -> None:
    page = clinic_app.test_client().get("/").get_data(as_text=True)
    assert re.search(r'<option value="Europe/Madrid"\s+selected', page), "the clinic's zone is preselected"


@pytest.mark.parametrize("kind", list(KINDS))
def test_without_a_profile_the_wording_stays_neutral(client: Any, kind: str) -> None:
    page = html.unescape(_result(client, kind))
    assert "tel:" not in page and 'class="clinic-contact"' not in page
    assert "your local emergency number" in page
    if kind == "emergency":
        assert "<title>Emergency: call your local emergency number now</title>" in page


# --- the API, the nurse note and the exports -------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_api_answer_carries_the_contact(clinic_app: Any, kind: str) -> None:
    data = _assess_api(clinic_app.test_client(), kind)
    assert data["contact"] == load_profile(_profile_of(clinic_app)).contact()


def _profile_of(app: Any) -> str:
    return str(app.config["CLINIC_PROFILE"])


def test_the_api_answer_has_no_contact_without_a_profile_and_documents_it(client: Any) -> None:
    assert "contact" not in _assess_api(client, "expected")
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    fields = {"clinic", "phone", "out_of_hours", "emergency_number", "country"}
    assert set(schemas["ContactOut"]["properties"]) == fields
    assert "ContactOut" in json.dumps(schemas["AssessmentOut"]["properties"]["contact"])


def test_the_cds_hooks_card_names_the_clinic(clinic_app: Any, client: Any) -> None:
    body = {"symptoms": [{"id": "fever"}], "hours": 60}
    (card,) = clinic_app.test_client().post("/api/v1/assess/cds-hooks", json=body).get_json()["cards"]
    assert card["source"]["label"].startswith("Clínica Piel Sana: microneedling triage, knowledge base ")
    assert "**Clinic:** Clínica Piel Sana, +34 910 123 456; out of hours: +34 600 123 456" in card["detail"]
    (neutral,) = client.post("/api/v1/assess/cds-hooks", json=body).get_json()["cards"]
    assert neutral["source"]["label"].startswith("Microneedling triage, knowledge base ")
    assert "Clinic:" not in neutral["detail"]
    assert neutral["indicator"] == card["indicator"] == "critical"


def test_the_nurse_note_names_the_clinic(clinic_app: Any) -> None:
    client = signed_in_client(clinic_app)
    data = {"symptoms": "fever", "hours": "60", "timezone": "UTC", "csrf_token": csrf_token(client, "/nurse")}
    page = html.unescape(client.post("/nurse", data=data).get_data(as_text=True))
    note = page[page.index('<textarea id="note"') : page.index("</textarea>")]
    assert "Clinic: Clínica Piel Sana, +34 910 123 456; out of hours: +34 600 123 456" in note


def test_the_fhir_export_holds_the_clinic_as_an_organization(clinic_app: Any) -> None:
    client = signed_in_client(clinic_app)
    data = {"symptoms": "fever", "hours": "60", "timezone": "UTC", "csrf_token": csrf_token(client, "/nurse")}
    page = client.post("/nurse", data=data).get_data(as_text=True)
    code = re.search(r"Reference: ([A-Z0-9-]+)", page)
    assert code, "the console stored the assessment"
    bundle = client.get(f"/nurse/records/{code.group(1)}/fhir.json").get_json(force=True)
    (org,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Organization"]
    assert org["name"] == "Clínica Piel Sana" and org["address"] == [{"use": "work", "country": "ES"}]
    assert org["telecom"][0]["value"] == "+34 910 123 456"
    assert org["contact"][0]["telecom"][0]["value"] == "+34 600 123 456"


def test_the_organization_validates_as_fhir_r4_and_r4b(kb: Any, tmp_path: Path) -> None:
    r4 = pytest.importorskip("fhirclient.models.bundle", reason="fhirclient (test extra) validates against R4")
    r4b = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources (test extra) validates the export")
    from datetime import UTC, datetime

    from triage import assess

    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    entries = [ExportEntry(1, at, "api", assess(["fever"], 60).to_dict())]
    for profile in (
        load_profile(_write(tmp_path, GOOD)),
        load_profile(_write(tmp_path, {**GOOD, "out_of_hours": "Call 111 and say you had microneedling."}, "b.toml")),
    ):
        bundle = record_bundle("K7M-4QX", entries, kb, at, profile.organization())
        r4.Bundle(bundle, strict=True)
        parsed = r4b.Bundle.model_validate(bundle)
        assert [e.resource.__resource_type__ for e in parsed.entry][2] == "Organization"
    without = record_bundle("K7M-4QX", entries, kb, at)
    assert "Organization" not in {e["resource"]["resourceType"] for e in without["entry"]}
