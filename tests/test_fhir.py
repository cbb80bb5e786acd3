"""FHIR R4 export (triage/fhir.py): the Bundle validates against R4 (SMART's fhirclient models,
generated from FHIR 4.0.1) and the fhir.resources R4B models; the RiskAssessment predicts the need
for clinician review and emergency care (not the symptoms, which the QuestionnaireResponse holds,
SNOMED coded with coded severities, against an exported Questionnaire); it carries rule ids, the
nurse's wording and the KB version, keeps a nurse override beside the engine's answer, shows an
emergency, is deterministic and holds no patient data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from triage import KnowledgeError, assess, load_knowledge
from triage.exports.fhir import EMERGENCY_OUTCOME, REVIEW_OUTCOME, SNOMED_SYSTEM, ExportEntry, record_bundle


@pytest.fixture(scope="module")
def r4b() -> Any:
    """The fhir.resources R4B models (test extra); only the validation tests need them, so the
    others still run where the package is missing."""
    return pytest.importorskip("fhir.resources.R4B", reason="fhir.resources (test extra) validates the export")


def _models(r4b: Any) -> tuple[Any, Any, Any, Any]:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.questionnaire import Questionnaire
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    from fhir.resources.R4B.riskassessment import RiskAssessment

    return Bundle, QuestionnaireResponse, RiskAssessment, Questionnaire


@pytest.fixture(scope="module")
def r4() -> Any:
    """SMART's fhirclient models: FHIR R4 (4.0.1), strict (unknown keys, wrong types and
    missing required elements raise)."""
    return pytest.importorskip("fhirclient.models.bundle", reason="fhirclient (test extra) validates against R4")


REFERENCE = "K7M-4QX"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
EXPECTED_SNOMED = {
    "redness": "247441003",
    "swelling": "267038008",
    "pain": "22253000",
    "itching": "418290006",
    "fever": "386661006",
    "hives": "247472004",  # Weal (finding): what the patient has, not the disorder urticaria
}
SEVERITY_SNOMED = {"mild": "255604002", "moderate": "6736007", "severe": "24484000"}


def _entries() -> list[ExportEntry]:
    common = assess(["redness:mild", "swelling", "pain", "itching", "rash"], 30, factors=["prp"]).to_dict()
    common["report"]["worse_symptoms"] = ["swelling", "rash"]  # the lead's coming report key
    infected = assess(["fever", "pain:severe"], 60, worsening=True).to_dict()
    emergency = assess(["breathing-difficulty", "hives"], 2).to_dict()
    override = {"disposition": "contact clinician", "reason": "Spreading on the photo", "nurse": "sam", "at": T0}
    return [
        ExportEntry(1, T0, "patient-form", common, (), None),
        ExportEntry(2, T0 + timedelta(hours=1), "nurse-console", infected, (override,), "sam"),
        ExportEntry(3, T0 + timedelta(hours=2), "api", emergency, (), None),
    ]


@pytest.fixture(scope="module")
def bundle(kb) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return record_bundle(REFERENCE, _entries(), kb, T0 + timedelta(days=1))


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_bundle_validates_as_fhir_r4(bundle, r4) -> None:
    from fhirclient.models.fhirabstractbase import FHIRValidationError
    from fhirclient.models.questionnaire import Questionnaire
    from fhirclient.models.questionnaireresponse import QuestionnaireResponse
    from fhirclient.models.riskassessment import RiskAssessment

    parsed = r4.Bundle(bundle, strict=True)
    assert parsed.type == "collection" and parsed.identifier.value == REFERENCE
    kinds = [type(e.resource) for e in parsed.entry]
    assert kinds == [Questionnaire] + [QuestionnaireResponse, RiskAssessment] * 3
    assert parsed.as_json()["entry"][2]["resource"]["prediction"][0]["outcome"]["text"] == REVIEW_OUTCOME
    broken = json.loads(json.dumps(bundle))
    del broken["entry"][2]["resource"]["status"]  # RiskAssessment.status is 1..1 in R4
    with pytest.raises(FHIRValidationError, match="status"):
        r4.Bundle(broken, strict=True)
    broken = json.loads(json.dumps(bundle))
    broken["entry"][2]["resource"]["prediction"][0]["probabilityDecimal"] = "likely"  # not a decimal
    with pytest.raises(FHIRValidationError):
        r4.Bundle(broken, strict=True)


def test_bundle_validates_as_fhir_r4b(bundle, r4b) -> None:
    Bundle, QuestionnaireResponse, RiskAssessment, Questionnaire = _models(r4b)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    assert parsed.identifier.system == "urn:microneedling-triage:reference"
    assert parsed.identifier.value == REFERENCE
    assert [type(e.resource) for e in parsed.entry] == [Questionnaire] + [QuestionnaireResponse, RiskAssessment] * 3
    for entry in bundle["entry"]:
        cls = {"QuestionnaireResponse": QuestionnaireResponse, "RiskAssessment": RiskAssessment}
        cls.get(entry["resource"]["resourceType"], Questionnaire).model_validate(entry["resource"])
        assert entry["fullUrl"].startswith("urn:uuid:")
    json.dumps(bundle)  # plain JSON, nothing left to serialise


def test_required_elements_are_enforced_by_the_validator(bundle, r4b) -> None:
    """The R4 cardinalities the export relies on: RiskAssessment.status and .subject 1..1,
    QuestionnaireResponse.status 1..1 (so the validation above is not vacuous)."""
    _, QuestionnaireResponse, RiskAssessment, _ = _models(r4b)
    ra = _resources(bundle, "RiskAssessment")[0]
    qr = _resources(bundle, "QuestionnaireResponse")[0]
    for resource, cls, key in (
        (ra, RiskAssessment, "status"),
        (ra, RiskAssessment, "subject"),
        (qr, QuestionnaireResponse, "status"),
    ):
        broken = {k: v for k, v in resource.items() if k != key}
        with pytest.raises(ValueError, match=key):
            cls.model_validate(broken)


def test_basis_references_the_questionnaire_response_in_the_bundle(bundle) -> None:
    urls = [e["fullUrl"] for e in bundle["entry"]]
    for i in range(1, len(urls), 2):
        ra = bundle["entry"][i + 1]["resource"]
        assert ra["basis"] == [{"reference": urls[i]}]
        assert ra["subject"]["display"] == f"Anonymous patient, record {REFERENCE}"
        assert ra["subject"]["identifier"]["value"] == REFERENCE
        assert "reference" not in ra["subject"]  # there is no Patient resource to point at


def test_snomed_codes_for_the_coded_symptoms(bundle, kb) -> None:
    codings = {}
    for qr in _resources(bundle, "QuestionnaireResponse"):
        for item in qr["item"]:
            if item["linkId"].startswith("symptom-"):
                sid = item["linkId"].removeprefix("symptom-")
                assert item["text"] == kb.symptoms[sid].name
                codings[sid] = item["answer"][0].get("valueCoding")
                severity = item["answer"][0]["item"][0]
                assert severity["linkId"] == f"symptom-{sid}-severity"
                assert severity["answer"][0]["valueCoding"]["system"] == SNOMED_SYSTEM
                assert severity["answer"][0]["valueCoding"]["code"] in SEVERITY_SNOMED.values()
    for sid, code in EXPECTED_SNOMED.items():
        assert codings[sid] == {"system": SNOMED_SYSTEM, "code": code, "display": kb.symptoms[sid].snomed.display}
    assert codings["rash"] is None  # no checked code: text only
    # the symptoms are what was reported, not a prediction: no RiskAssessment outcome codes a symptom
    assert not [p for ra in _resources(bundle, "RiskAssessment") for p in ra["prediction"] if "coding" in p["outcome"]]


def test_severities_are_coded(bundle) -> None:
    first = {i["linkId"]: i for i in _resources(bundle, "QuestionnaireResponse")[0]["item"]}
    mild = first["symptom-redness"]["answer"][0]["item"][0]["answer"][0]["valueCoding"]
    moderate = first["symptom-swelling"]["answer"][0]["item"][0]["answer"][0]["valueCoding"]
    assert (mild["code"], moderate["code"]) == (SEVERITY_SNOMED["mild"], SEVERITY_SNOMED["moderate"])
    second = {i["linkId"]: i for i in _resources(bundle, "QuestionnaireResponse")[1]["item"]}
    severe = second["symptom-pain"]["answer"][0]["item"][0]["answer"][0]["valueCoding"]
    assert severe == {"system": SNOMED_SYSTEM, "code": SEVERITY_SNOMED["severe"], "display": "Severe"}


def test_questionnaire_defines_every_link_id_the_responses_use(bundle, kb) -> None:
    (q,) = _resources(bundle, "Questionnaire")

    def ids(items: list[dict[str, Any]]) -> set[str]:
        out: set[str] = set()
        for item in items:
            out.add(item["linkId"])
            out |= ids(item.get("item", []))
            for answer in item.get("answer", []):
                out |= ids(answer.get("item", []))
        return out

    defined = ids(q["item"])
    for qr in _resources(bundle, "QuestionnaireResponse"):
        assert ids(qr["item"]) <= defined
        assert qr["questionnaire"] == f"{q['url']}|{q['version']}"
    assert {f"symptom-{sid}" for sid in kb.symptoms} <= defined and q["status"] == "active"


def test_risk_assessment_predicts_the_need_for_review_and_emergency_care(bundle, kb) -> None:
    """An `expected` answer says the person is unlikely to need review, not unlikely to have redness."""
    expected = record_bundle(REFERENCE, [ExportEntry(1, T0, "api", assess(["redness:mild"], 6).to_dict())], kb, T0)
    (ra,) = _resources(expected, "RiskAssessment")
    review, emergency = ra["prediction"]
    assert (review["outcome"]["text"], review["qualitativeRisk"]["coding"][0]["code"]) == (REVIEW_OUTCOME, "low")
    assert (emergency["outcome"]["text"], emergency["qualitativeRisk"]["coding"][0]["code"]) == (
        EMERGENCY_OUTCOME,
        "low",
    )
    risks = [
        [p["qualitativeRisk"]["coding"][0]["code"] for p in ra["prediction"]]
        for ra in _resources(bundle, "RiskAssessment")
    ]
    assert risks == [["high", "low"], ["high", "low"], ["high", "high"]]


def test_report_items(bundle) -> None:
    first = {i["linkId"]: i for i in _resources(bundle, "QuestionnaireResponse")[0]["item"]}
    assert first["hours"]["answer"] == [{"valueDecimal": 30.0}]
    assert first["worsening"]["answer"] == [{"valueBoolean": False}]
    assert [a["valueCoding"]["code"] for a in first["factors"]["answer"]] == ["prp"]
    assert first["worse-symptoms"]["answer"] == [
        {"valueCoding": {"system": SNOMED_SYSTEM, "code": "267038008", "display": "Edema"}},
        {"valueString": "Rash"},
    ]
    second = {i["linkId"] for i in _resources(bundle, "QuestionnaireResponse")[1]["item"]}
    assert "worse-symptoms" not in second and "factors" not in second  # absent keys, no empty items


def test_kb_version_and_rule_ids(bundle) -> None:
    for entry, ra in zip(_entries(), _resources(bundle, "RiskAssessment"), strict=True):
        version = entry.answer["kb_version"]
        assert entry.answer["kb_digest"].startswith("sha256:")
        assert ra["method"]["text"] == (
            f"microneedling-triage knowledge base {version}, content digest {entry.answer['kb_digest']}"
        )
        notes = " ".join(n["text"] for n in ra["note"])
        assert version in notes
        review = ra["prediction"][0]
        for finding in entry.answer["findings"]:
            assert finding["rule"] in notes
            assert f"rule {finding['rule']}" in review["rationale"]
            assert finding["source"] in review["rationale"]
            assert finding["nurse_reason"] in review["rationale"]  # the nurse's wording
            assert finding["reason"] not in review["rationale"]


def test_override_is_kept_beside_the_engine_answer(bundle) -> None:
    ra = _resources(bundle, "RiskAssessment")[1]
    engine = _entries()[1].answer
    assert engine["disposition"] == "contact clinician"
    notes = [n for n in ra["note"] if n["text"].startswith("NURSE OVERRIDE")]
    assert len(notes) == 1
    note = notes[0]
    assert note["authorString"] == "Nurse sam" and note["time"] == T0.isoformat()
    assert "Spreading on the photo" in note["text"] and "contact clinician" in note["text"]
    assert f"Engine answer: {engine['disposition']}" in ra["note"][0]["text"]
    assert [p["outcome"]["text"] for p in ra["prediction"]] == [REVIEW_OUTCOME, EMERGENCY_OUTCOME]
    assert ra["prediction"][0]["qualitativeRisk"]["text"] == "high (triage answer: contact clinician)"
    assert {"system": "urn:microneedling-triage:flag", "code": "nurse-override", "display": "Nurse override"} in ra[
        "meta"
    ]["tag"]
    qr = _resources(bundle, "QuestionnaireResponse")[1]
    assert qr["author"]["display"] == "Nurse sam"
    others = _resources(bundle, "RiskAssessment")[0::2]
    assert not any(n["text"].startswith("NURSE OVERRIDE") for ra in others for n in ra["note"])


def test_emergency_is_visible(bundle, kb) -> None:
    ra = _resources(bundle, "RiskAssessment")[2]
    assert _entries()[2].answer["emergency"] is True
    assert any(n["text"] == f"EMERGENCY: {kb.header.emergency.nurse}" for n in ra["note"])
    assert any(t["code"] == "emergency" for t in ra["meta"]["tag"])
    emergency = ra["prediction"][1]
    assert emergency["outcome"]["text"] == EMERGENCY_OUTCOME
    assert emergency["qualitativeRisk"]["coding"][0]["code"] == "high"
    assert emergency["rationale"].startswith("EMERGENCY.") and "breathing-difficulty-always" in emergency["rationale"]
    calm = _resources(bundle, "RiskAssessment")[0]
    assert not any("EMERGENCY" in n["text"] for n in calm["note"])


def test_the_safety_net_is_in_the_mitigation(bundle, kb, r4b, r4) -> None:
    ras = _resources(bundle, "RiskAssessment")
    answers = [e.answer for e in _entries()]
    calm = ras[0]["mitigation"]  # contact clinician (a rash): the call-now lines, no clinic line
    assert answers[0]["safety_net"] and calm.index("Safety-net advice given:") > calm.index(answers[0]["advice"][-1])
    for line in answers[0]["safety_net"]:
        assert line["level"] == "emergency" and line["text"] in calm
    allergy = "- call now (redness, swelling, itching, rash): Call your local emergency number now if your lips, tongue"
    assert allergy in calm  # one line for every symptom it is said for
    assert "- call now (pain): Call your local emergency number now if you feel very unwell" in calm
    assert "- call now: Whatever your symptoms, call your local emergency number now" in calm
    assert "contact the clinic" not in calm
    assert "Safety-net advice given" not in ras[2]["mitigation"]  # an emergency has none

    expected = assess(["redness:mild"], 6).to_dict()
    assert expected["disposition"] == "expected"
    one = record_bundle(REFERENCE, [ExportEntry(1, T0, "api", expected)], kb, T0)
    mitigation = one["entry"][2]["resource"]["mitigation"]
    assert "- contact the clinic (redness): Contact the clinic if the redness spreads" in mitigation
    assert mitigation.index("- call now (redness)") < mitigation.index("- contact the clinic (redness)")
    Bundle, _, RiskAssessment, _ = _models(r4b)
    Bundle.model_validate(one)
    assert RiskAssessment.model_validate(one["entry"][2]["resource"]).mitigation == mitigation
    r4.Bundle(one, strict=True)


def test_an_answer_stored_before_the_safety_net_still_exports(kb) -> None:
    old = assess(["redness:mild"], 6).to_dict()
    del old["safety_net"]
    ra = record_bundle(REFERENCE, [ExportEntry(1, T0, "api", old)], kb, T0)["entry"][2]["resource"]
    assert ra["mitigation"] == "\n".join(old["advice"])


def test_export_is_deterministic(kb) -> None:
    exported = T0 + timedelta(days=1)
    one = record_bundle(REFERENCE, _entries(), kb, exported)
    two = record_bundle(REFERENCE, list(reversed(_entries())), kb, exported)
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    other = record_bundle("ACD-EFG", _entries(), kb, exported)
    assert {e["fullUrl"] for e in one["entry"]}.isdisjoint(e["fullUrl"] for e in other["entry"])


def test_times_are_utc_and_naive_times_refused(kb) -> None:
    entry = _entries()[0]
    local = ExportEntry(1, T0.astimezone(timezone(timedelta(hours=2))), "api", entry.answer)
    ra = record_bundle(REFERENCE, [local], kb, T0)["entry"][2]["resource"]
    assert ra["occurrenceDateTime"] == "2026-11-25T09:00:00+00:00"
    with pytest.raises(ValueError, match="time zone"):
        record_bundle(REFERENCE, [entry], kb, datetime(2026, 11, 25, 9, 0))
    with pytest.raises(ValueError, match="channel"):
        record_bundle(REFERENCE, [ExportEntry(1, T0, "fax", entry.answer)], kb, T0)


def test_no_patient_identifying_data(bundle) -> None:
    keys = {k for k, _ in _walk(bundle)}
    assert not keys & {"name", "birthDate", "gender", "telecom", "address", "photo", "contact"}
    assert not [
        v
        for k, v in _walk(bundle)
        if k == "resourceType" and v not in ("Bundle", "Questionnaire", "QuestionnaireResponse", "RiskAssessment")
    ]


def test_bad_snomed_code_is_rejected_naming_file_and_entry(edit_kb) -> None:
    directory = edit_kb("symptoms.toml", 'code = "247441003"', 'code = "24744100X"')
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    message = str(info.value)
    assert str(directory / "symptoms.toml") in message
    assert "symptom 'redness'" in message and "snomed.code" in message


@pytest.mark.parametrize("code", ["12345", "1" * 19, ""])
def test_snomed_code_length_is_checked(edit_kb, code: str) -> None:
    directory = edit_kb("symptoms.toml", 'code = "22253000"', f'code = "{code}"')
    with pytest.raises(KnowledgeError, match=r"symptom 'pain'.*snomed\.code"):
        load_knowledge(directory)


def test_unknown_snomed_key_is_rejected(edit_kb) -> None:
    directory = edit_kb("symptoms.toml", 'code = "22253000", display', 'code = "22253000", system = "x", display')
    with pytest.raises(KnowledgeError, match=r"symptom 'pain'.*snomed\.system.*Extra inputs"):
        load_knowledge(directory)


def test_snomed_codes_in_the_shipped_knowledge_base(kb) -> None:
    coded = {sid: s.snomed.code for sid, s in kb.symptoms.items() if s.snomed is not None}
    assert {sid: coded[sid] for sid in EXPECTED_SNOMED} == EXPECTED_SNOMED


def test_every_override_of_an_entry_is_exported_in_order(kb) -> None:
    answer = assess(["redness:mild"], 10).to_dict()
    first = {"disposition": "monitor", "reason": "photo looks worse", "nurse": "sam", "at": T0}
    second = {"disposition": "contact clinician", "emergency": True, "reason": "now wheezy", "nurse": "ann", "at": T0}
    entry = ExportEntry(1, T0, "patient-form", answer, (first, second), None)
    (ra,) = _resources(record_bundle(REFERENCE, [entry], kb, T0), "RiskAssessment")
    notes = [n["text"] for n in ra["note"] if n["text"].startswith("NURSE OVERRIDE")]
    assert len(notes) == 2
    assert "monitor" in notes[0] and "photo looks worse" in notes[0]
    assert "contact clinician with EMERGENCY flag" in notes[1] and "now wheezy" in notes[1]
