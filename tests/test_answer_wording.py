"""What each reader sees of a finding (policy v2, v3): the patient's reason on the patient pages,
the nurse's reason on the console, the note and the CLI; how common the effect is and how long it
usually lasts on expected and monitor findings; reasons true of the report; and a report with no
symptoms where a factor is answered on its own."""

from __future__ import annotations

import html
import json
import subprocess
import sys

import pytest

from tests.support import REPO
from tests.web_helpers import csrf_token, patient_form
from triage import assess


def test_expected_and_monitor_findings_say_how_common_and_how_long() -> None:
    answer = assess(["redness:mild", "darkening"], 10)
    by_symptom = {f.symptom: f for f in answer.findings if f.symptom}
    assert by_symptom["redness"].likelihood == "very common: more than 1 in 10 people"
    assert by_symptom["redness"].typical_duration == "Usually fades within 2 days (48 hours)."
    # policy v3: uncommon, but about 1 in 7 in darker skin (Dogra 2014: 5 of 36)
    assert by_symptom["darkening"].likelihood == (
        "uncommon: between 1 in 100 and 1 in 1,000 people (very common in brown or black skin, about 1 in 7)"
    )
    dark = assess(["darkening"], 10, ["darker-skin"])  # contact clinician: its monitor finding says it
    (window,) = [f for f in dark.more_detail if f.rule == "darkening-monitor"]
    assert window.likelihood == "very common: more than 1 in 10 people"
    rf = assess(["redness"], 10, ["rf-microneedling"])  # the window after risk factors
    assert rf.findings[0].typical_duration == "Usually fades within 3 days (72 hours)."
    data = answer.to_dict()["findings"][0]
    assert {"likelihood", "typical_duration", "nurse_reason", "reason"} <= set(data)


@pytest.mark.parametrize(
    ("symptom", "hours", "band"),
    [
        ("pain", 10, "very common"),
        ("burning", 10, "very common"),
        ("flaking", 60, "very common"),
        ("numbness", 2, "very common"),
        ("tightness", 30, "common"),
        ("bruising", 30, "common"),
    ],
)
def test_likelihood_bands_of_policy_v3(symptom: str, hours: float, band: str) -> None:
    (finding,) = assess([f"{symptom}:mild"], hours).findings
    assert finding.likelihood is not None and finding.likelihood.partition(":")[0] == band
    if symptom == "numbness":  # very common only while the numbing cream wears off
        assert "numbing cream" in finding.likelihood and "rare after" in finding.likelihood


def test_contact_clinician_findings_do_not_say_how_common_or_how_long() -> None:
    """Policy v3 item 7: how common and how long reassure; not on contact clinician or emergencies."""
    contact = assess(["fever", "redness:mild"], 10)
    for f in (*contact.findings, *contact.more_detail):
        shown = f.disposition.value != "contact clinician"
        assert (f.likelihood is not None) is (shown and f.symptom is not None), f.rule
        assert (f.typical_duration is not None) is (shown and f.symptom is not None), f.rule
    emergency = assess(["breathing-difficulty", "redness:mild"], 2)
    assert all(f.likelihood is None and f.typical_duration is None for f in emergency.findings)
    late = assess(["redness"], 200)  # past its window: contact clinician, no "usually fades"
    assert late.findings[0].likelihood is None and late.findings[0].typical_duration is None
    combo = assess(["fever", "pus"], 10)
    assert all(f.likelihood is None for f in (*combo.findings, *combo.more_detail))


def test_api_answer_carries_both_wordings(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/assess", json={"symptoms": [{"id": "itching", "severity": "mild"}], "hours": 100})
    assert r.status_code == 200
    (finding,) = r.get_json()["findings"]
    assert finding["reason"].startswith("Itching past")
    assert "Pruritus" in finding["nurse_reason"]
    assert finding["likelihood"].startswith("common: ") and finding["typical_duration"]


def test_patient_page_shows_patient_words_and_how_common(client) -> None:  # type: ignore[no-untyped-def]
    data = {**patient_form({"itching": "mild"}, hours="100"), "csrf_token": csrf_token(client)}
    page = html.unescape(client.post("/", data=data).get_data(as_text=True))
    finding = assess(["itching:mild"], 100).findings[0]
    assert finding.reason in page and finding.nurse_reason not in page
    assert f"How common: {finding.likelihood}." in page and finding.typical_duration in page


def test_console_and_note_show_nurse_words_and_how_common(nurse_client) -> None:  # type: ignore[no-untyped-def]
    client = nurse_client
    data = {"symptoms": "itching:mild", "hours": "100", "timezone": "UTC", "csrf_token": csrf_token(client, "/nurse")}
    page = html.unescape(client.post("/nurse", data=data).get_data(as_text=True))
    finding = assess(["itching:mild"], 100).findings[0]
    note = page[page.index('<textarea id="note"') : page.index("</textarea>")]
    for shown in (page, note):
        assert finding.nurse_reason in shown and finding.likelihood in shown and finding.typical_duration in shown
    assert finding.reason not in note


def test_cli_text_is_the_nurse_wording() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "triage", "check", "itching:mild", "--hours", "100"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    finding = assess(["itching:mild"], 100).findings[0]
    assert done.returncode == 0 and finding.nurse_reason in done.stdout and finding.likelihood in done.stdout


def test_no_symptoms_with_shared_equipment_is_answered_everywhere(client) -> None:  # type: ignore[no-untyped-def]
    api = client.post("/api/v1/assess", json={"symptoms": [], "hours": 10, "factors": ["shared-equipment"]})
    assert api.status_code == 200 and api.get_json()["disposition"] == "contact clinician"
    refused = client.post("/api/v1/assess", json={"symptoms": [], "hours": 10, "factors": ["diabetes"]})
    assert refused.status_code == 422
    data = {**patient_form({}, hours="10", factors=("shared-equipment",)), "csrf_token": csrf_token(client)}
    page = html.unescape(client.post("/", data=data).get_data(as_text=True))
    # policy v3: the PEP instruction leads, naming where to go and the hours left; not only "your clinic"
    assert "Go today to a doctor, a sexual health clinic or an emergency department" in page
    assert "about 62 hours left" in page and "Contact your clinic today." not in page
    empty = {**patient_form({}, hours="10"), "csrf_token": csrf_token(client)}
    assert "Choose at least one symptom" in html.unescape(client.post("/", data=empty).get_data(as_text=True))
    cli = subprocess.run(
        [sys.executable, "-m", "triage", "check", "--hours", "80", "--factor", "shared-equipment", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0 and "6 weeks" in json.loads(cli.stdout)["summary"]
    card = client.post("/api/v1/assess/cds-hooks", json={"symptoms": [], "hours": 10, "factors": ["shared-equipment"]})
    assert card.get_json()["cards"][0]["summary"].startswith("Contact clinician: no symptoms; Non-sterile")


def test_monitor_reads_does_not_need_urgent_care_now_in_every_language() -> None:
    """Policy v3 item 5: 'does not need urgent care now', not 'not dangerous now'."""
    from triage import default_assessor
    from triage.answer.languages import LanguageAssessor

    answer = assess(["bruising"], 30)
    assert answer.summary.startswith("This does not need urgent care now") and "dangerous" not in answer.summary
    spanish = LanguageAssessor(default_assessor(), "es", cache_size=0).assess(["bruising"], 30)
    assert spanish.summary.startswith("Esto no necesita atención urgente ahora")
    assert "peligroso" not in spanish.summary


def _patient_texts(answer) -> list[str]:  # type: ignore[no-untyped-def]
    texts = [answer.summary, *answer.advice]
    for f in (*answer.findings, *answer.more_detail):
        texts += [t for t in (f.reason, f.advice, f.urgent_if, f.likelihood, f.typical_duration) if t]
    return texts


def test_dent_names_the_radiofrequency_device_only_when_it_was_used() -> None:
    """Policy v3 item 8: a text about a device appears only when that factor was given."""
    plain = assess(["dent"], 100)
    assert not [t for t in _patient_texts(plain) if "radiofrequency" in t.lower() or "heated" in t.lower()]
    rf = assess(["dent"], 100, ["rf-microneedling"])
    (why,) = rf.findings
    assert why.rule == "rf-microneedling-dent" and "radiofrequency" in why.reason
    assert rf.disposition.value == "contact clinician"


def test_hives_care_keeps_to_the_moisturiser_and_sunscreen_advice() -> None:
    """Policy v3 item 8: stop any new product; keep to a plain moisturiser and a sunscreen used before."""
    answer = assess(["hives"], 10)
    care = next(a for a in answer.advice if "new product" in a)
    assert "plain moisturiser" in care and "sunscreen you have used before" in care
    assert not [a for a in answer.advice if "Stop all products" in a]


@pytest.mark.parametrize(
    ("symptoms", "hours", "factors", "rule", "words"),
    [
        (["bruising"], 2, ["isotretinoin"], "isotretinoin-past-expected", "isotretinoin"),
        (["redness"], 60, ["isotretinoin"], "isotretinoin-past-expected", "isotretinoin"),
        (["bruising"], 60, ["diabetes"], "diabetes-after-48h", "diabetes"),
        (["bruising"], 2, ["immunosuppressed"], "immunosuppressed-escalation", "defences are weak"),
        (["darkening"], 2, ["darker-skin"], "darker-skin-pigment", "brown or black skin"),
        (["bruising"], 2, ["recent-filler"], "recent-filler-bruising", "filler"),
        (["pinpoint-bleeding:severe"], 2, ["blood-thinners"], "blood-thinners-severe-bleeding", "blood thinner"),
    ],
)
def test_a_factor_made_finding_gives_the_factors_reason(
    symptoms: list[str], hours: float, factors: list[str], rule: str, words: str
) -> None:
    """Policy v3 item 8: the reason is true of the report; a bruise at hour 2 does not 'last past its usual time'."""
    answer = assess(symptoms, hours, factors)
    (finding,) = [f for f in answer.findings if f.symptom == symptoms[0].partition(":")[0]]
    assert finding.rule == rule and words in finding.reason
    assert "past its usual time" not in finding.reason and "lasts past" not in finding.reason
