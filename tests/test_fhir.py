"""FHIR R4 export (triage/exports/fhir.py): every kind of record's Bundle validates against R4
(SMART's fhirclient models, generated from FHIR 4.0.1: strict) and the fhir.resources R4B models
(fhir.resources 8.3 ships R5, R4B and STU3, no R4; R4B's resources used here have R4's elements);
the RiskAssessment predicts the need for clinician review, at the triage level of the product's
CodeSystem, and for emergency care (not the symptoms, which the QuestionnaireResponse holds,
SNOMED coded with coded severities, against an exported Questionnaire); it is performed by the
engine's Device (KB version and digest) and carries rule ids and the nurse's wording; a nurse's
override is a RiskAssessment of its own (performer the nurse, basis the engine's answer) with a
Provenance; the export is deterministic and holds no patient data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from triage import KnowledgeError, assess, load_knowledge
from triage.exports.fhir import EMERGENCY_OUTCOME, REVIEW_OUTCOME, SNOMED_SYSTEM, ExportEntry, record_bundle
from triage.exports.fhir_actors import nurse_id
from triage.exports.organization import Organization
from triage.exports.triage_codes import TRIAGE_CODE_SYSTEM


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
    "hives": "247472004",  # Weal (finding): what the patient has, not the disorder urticaria
    "breathing-difficulty": "267036007",  # Dyspnea (finding)
    "rash": "271807003",  # Eruption of skin (disorder)
    "numbness": "44077006",  # Numbness (finding)
    "swollen-glands": "30746006",  # Lymphadenopathy (disorder)
    "blisters": "417237009",  # Blister of skin AND/OR mucosa (disorder)
    "bruising": "302227002",  # Ecchymosis (finding), not 302215000 (Thrombocytopenic disorder)
    "darkening": "49765009",  # Hyperpigmentation of skin (disorder)
}
# "fever or chills": Fever (finding) would say a chills-only report had a fever; "burning or
# stinging" and cold sores (a diagnosis) likewise stay text (knowledge/README.md)
UNCODED_ON_PURPOSE = ("fever", "burning", "cold-sores", "lighter-patches")
CLINIC = Organization("Clinica Sol", "+34 600 000 000", "+34 600 000 001", True, "ES")
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


def _kinds(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["resourceType"] for e in bundle["entry"]]


HEAD = ["Questionnaire", "CodeSystem", "Device", "Practitioner"]


def test_bundle_validates_as_fhir_r4(bundle, r4) -> None:
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    parsed = r4.Bundle(bundle, strict=True)
    assert parsed.type == "collection" and parsed.identifier.value == REFERENCE
    kinds = [type(e.resource).__name__ for e in parsed.entry]
    assert (
        kinds
        == _kinds(bundle)
        == [
            *HEAD,
            *["QuestionnaireResponse", "RiskAssessment"],
            *["QuestionnaireResponse", "RiskAssessment", "RiskAssessment", "Provenance"],
            *["QuestionnaireResponse", "RiskAssessment"],
        ]
    )
    ra = _resources(bundle, "RiskAssessment")[0]
    assert ra["prediction"][0]["outcome"]["text"] == REVIEW_OUTCOME
    index = _kinds(bundle).index("RiskAssessment")
    broken = json.loads(json.dumps(bundle))
    del broken["entry"][index]["resource"]["status"]  # RiskAssessment.status is 1..1 in R4
    with pytest.raises(FHIRValidationError, match="status"):
        r4.Bundle(broken, strict=True)
    broken = json.loads(json.dumps(bundle))
    broken["entry"][index]["resource"]["prediction"][0]["probabilityDecimal"] = "likely"  # not a decimal
    with pytest.raises(FHIRValidationError):
        r4.Bundle(broken, strict=True)


def test_bundle_validates_as_fhir_r4b(bundle, r4b) -> None:
    _validate_r4b(bundle)
    Bundle, *_ = _models(r4b)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    assert parsed.identifier.system == "urn:microneedling-triage:reference"
    assert parsed.identifier.value == REFERENCE
    assert [type(e.resource).__name__ for e in parsed.entry] == _kinds(bundle)
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])
    json.dumps(bundle)  # plain JSON, nothing left to serialise


def _validate_r4b(bundle: dict[str, Any]) -> None:
    """The Bundle, then each resource on its own, by the fhir.resources R4B models."""
    import importlib

    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
        getattr(module, kind).model_validate(entry["resource"])


def _validate_r4(bundle: dict[str, Any]) -> None:
    from fhirclient.models.bundle import Bundle

    parsed = Bundle(bundle, strict=True)
    assert [type(e.resource).__name__ for e in parsed.entry] == _kinds(bundle)


def _override(disposition: str, reason: str, nurse: str, at: datetime, emergency: bool = False) -> dict[str, Any]:
    return {"disposition": disposition, "emergency": emergency, "reason": reason, "nurse": nurse, "at": at}


def _record(name: str) -> list[ExportEntry]:
    """The kinds of record an EHR receives, each as the store hands it to the export."""
    if name == "expected":
        return [ExportEntry(1, T0, "patient-form", assess(["redness:mild", "swelling:mild"], 6).to_dict())]
    if name == "emergency":
        return [ExportEntry(1, T0, "api", assess(["lip-tongue-swelling", "hives"], 1).to_dict())]
    if name == "infection":
        return [
            ExportEntry(1, T0, "patient-form", assess(["fever", "pus", "pain:severe"], 72, worsening=True).to_dict())
        ]
    if name == "repeat with call-backs":
        return [
            ExportEntry(1, T0, "patient-form", assess(["redness"], 60).to_dict()),
            ExportEntry(2, T0 + timedelta(hours=24), "nurse-console", assess(["redness"], 84).to_dict(), (), "sam"),
            ExportEntry(
                3, T0 + timedelta(hours=48), "nurse-console", assess(["redness:mild"], 108).to_dict(), (), "ann"
            ),
        ]
    assert name == "override"
    sent_to_ed = _override(
        "contact clinician", "Stridor on the call; sent to the emergency department", "sam", T0, True
    )
    return [ExportEntry(1, T0 - timedelta(hours=1), "patient-form", assess(["redness"], 60).to_dict(), (sent_to_ed,))]


RECORDS = ["expected", "emergency", "infection", "repeat with call-backs", "override"]


@pytest.mark.parametrize("with_clinic", [False, True], ids=["no clinic profile", "clinic profile"])
@pytest.mark.parametrize("name", RECORDS)
def test_every_kind_of_record_validates_as_r4(name: str, with_clinic: bool, kb, r4, r4b) -> None:
    exported = record_bundle(REFERENCE, _record(name), kb, T0 + timedelta(days=3), CLINIC if with_clinic else None)
    _validate_r4(exported)
    _validate_r4b(exported)
    (code_system,) = _resources(exported, "CodeSystem")
    defined = {c["code"] for c in code_system["concept"]}
    used = [c for k, v in _walk(exported) if k == "coding" for c in v if c["system"] == TRIAGE_CODE_SYSTEM]
    assert used and {c["code"] for c in used} <= defined  # every code the bundle uses is defined in it
    (device,) = _resources(exported, "Device")
    for ra in _resources(exported, "RiskAssessment"):
        performer = ra["performer"]["reference"]
        kind = next(e["resource"]["resourceType"] for e in exported["entry"] if e["fullUrl"] == performer)
        assert kind == ("Practitioner" if ra["meta"]["tag"][0]["code"] == "nurse-override" else "Device")
    if with_clinic:
        (org,) = [e for e in exported["entry"] if e["resource"]["resourceType"] == "Organization"]
        assert device["owner"] == {"reference": org["fullUrl"]}
        for qr in _resources(exported, "QuestionnaireResponse"):
            if qr["meta"]["tag"][0]["code"] != "nurse-console":
                assert qr["author"] == {"reference": org["fullUrl"]}
    else:
        assert "owner" not in device and not _resources(exported, "Organization")


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
    reports = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    urls = {e["resource"]["identifier"]["value"]: e["fullUrl"] for e in reports}  # one identifier each
    engine = [
        e
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "RiskAssessment"
        and e["resource"]["meta"]["tag"][0]["code"] != "nurse-override"
    ]
    for entry in engine:
        ra = entry["resource"]
        seq_ref = ra["identifier"][0]["value"]
        assert ra["basis"] == [{"reference": urls[seq_ref]}]
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
        if sid in codings:
            assert codings[sid] == {"system": SNOMED_SYSTEM, "code": code, "display": kb.symptoms[sid].snomed.display}
    assert codings["rash"]["code"] == EXPECTED_SNOMED["rash"]
    assert codings["fever"] is None  # reported, exported as its name only
    infection = record_bundle(REFERENCE, _record("infection"), kb, T0)
    pus = next(i for i in _resources(infection, "QuestionnaireResponse")[0]["item"] if i["linkId"] == "symptom-pus")
    assert "valueCoding" not in pus["answer"][0] and pus["answer"][0]["valueString"] == "Pus or yellow crusts"
    # the symptoms are what was reported, not a prediction: the outcomes are the product's codes
    outcomes = {
        c["system"]
        for ra in _resources(bundle, "RiskAssessment")
        for p in ra["prediction"]
        for c in p["outcome"]["coding"]
    }
    assert outcomes == {TRIAGE_CODE_SYSTEM}


def test_questionnaire_items_carry_the_codes(bundle, kb) -> None:
    (q,) = _resources(bundle, "Questionnaire")
    items = {i["linkId"]: i for i in q["item"]}
    for sid, s in kb.symptoms.items():
        item = items[f"symptom-{sid}"]
        if s.snomed is None:
            assert "code" not in item
        else:
            assert item["code"] == [{"system": SNOMED_SYSTEM, "code": s.snomed.code, "display": s.snomed.display}]
    assert items["symptom-breathing-difficulty"]["code"][0]["code"] == "267036007"


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


def _level(prediction: dict[str, Any]) -> str:
    (coding,) = prediction["qualitativeRisk"]["coding"]
    assert coding["system"] == TRIAGE_CODE_SYSTEM
    return str(coding["code"])


def test_risk_assessment_predicts_the_need_for_review_and_emergency_care(bundle, kb) -> None:
    """An `expected` answer says the triage level for review is `expected`, not that redness is unlikely."""
    expected = record_bundle(REFERENCE, [ExportEntry(1, T0, "api", assess(["redness:mild"], 6).to_dict())], kb, T0)
    (ra,) = _resources(expected, "RiskAssessment")
    review, emergency = ra["prediction"]
    assert review["outcome"]["coding"][0]["code"] == "clinician-review" and review["outcome"]["text"] == REVIEW_OUTCOME
    assert emergency["outcome"]["coding"][0]["code"] == "emergency-care"
    assert emergency["outcome"]["text"] == EMERGENCY_OUTCOME
    assert (_level(review), _level(emergency)) == ("expected", "no-emergency-sign")
    assert "risk-probability" not in json.dumps(expected)  # no probability scale for a rule-based level
    engine = [ra for ra in _resources(bundle, "RiskAssessment") if ra["meta"]["tag"][0]["code"] != "nurse-override"]
    risks = [[_level(p) for p in ra["prediction"]] for ra in engine]
    assert risks == [
        ["contact-clinician", "no-emergency-sign"],
        ["contact-clinician", "no-emergency-sign"],
        ["contact-clinician", "emergency"],
    ]
    monitor = record_bundle(REFERENCE, [ExportEntry(1, T0, "api", assess(["redness"], 60).to_dict())], kb, T0)
    assert _level(_resources(monitor, "RiskAssessment")[0]["prediction"][0]) == "monitor"


def test_the_engine_is_a_device_naming_the_knowledge_base(bundle, kb) -> None:
    (device,) = _resources(bundle, "Device")
    answer = _entries()[0].answer
    assert device["deviceName"][0]["name"] == "Microneedling side-effect triage engine"
    assert [v["value"] for v in device["version"]] == [answer["kb_version"], answer["kb_digest"]]
    device_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device")
    engine = [ra for ra in _resources(bundle, "RiskAssessment") if ra["meta"]["tag"][0]["code"] != "nurse-override"]
    assert {ra["performer"]["reference"] for ra in engine} == {device_url}
    older = dict(answer, kb_version="2026.01.01-1", kb_digest="sha256:" + "0" * 64)
    two = record_bundle(REFERENCE, [ExportEntry(1, T0, "api", older), ExportEntry(2, T0, "api", answer)], kb, T0)
    assert [d["version"][0]["value"] for d in _resources(two, "Device")] == ["2026.01.01-1", answer["kb_version"]]


def test_report_items(bundle) -> None:
    first = {i["linkId"]: i for i in _resources(bundle, "QuestionnaireResponse")[0]["item"]}
    assert first["hours"]["answer"] == [{"valueDecimal": 30.0}]
    assert first["worsening"]["answer"] == [{"valueBoolean": False}]
    assert [a["valueCoding"]["code"] for a in first["factors"]["answer"]] == ["prp"]
    assert first["worse-symptoms"]["answer"] == [
        {"valueCoding": {"system": SNOMED_SYSTEM, "code": "267038008", "display": "Edema"}},
        {"valueCoding": {"system": SNOMED_SYSTEM, "code": "271807003", "display": "Eruption"}},
    ]
    second = {i["linkId"] for i in _resources(bundle, "QuestionnaireResponse")[1]["item"]}
    assert "worse-symptoms" not in second and "factors" not in second  # absent keys, no empty items


def test_kb_version_and_rule_ids(bundle) -> None:
    engine = [ra for ra in _resources(bundle, "RiskAssessment") if ra["meta"]["tag"][0]["code"] != "nurse-override"]
    for entry, ra in zip(_entries(), engine, strict=True):
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


def test_override_is_a_structured_decision_beside_the_engine_answer(kb, r4, r4b) -> None:
    """The record where the nurse sent the patient to the emergency department: the EHR reads the
    nurse's decision (contact clinician with the emergency flag) in a RiskAssessment of its own."""
    exported = record_bundle(REFERENCE, _record("override"), kb, T0 + timedelta(days=1))
    _validate_r4(exported)
    _validate_r4b(exported)
    by_url = {e["fullUrl"]: e["resource"] for e in exported["entry"]}
    engine, override = _resources(exported, "RiskAssessment")
    engine_url = next(u for u, r in by_url.items() if r is engine)
    override_url = next(u for u, r in by_url.items() if r is override)
    qr_url = next(u for u, r in by_url.items() if r["resourceType"] == "QuestionnaireResponse")

    # the engine's answer as it was given: monitor, no emergency
    assert [_level(p) for p in engine["prediction"]] == ["monitor", "no-emergency-sign"]
    assert {"system": "urn:microneedling-triage:flag", "code": "overridden", "display": "Overridden by a nurse"} in (
        engine["meta"]["tag"]
    )
    assert not any("Stridor" in n["text"] for n in engine["note"])
    # the nurse's decision: contact clinician, emergency care needed
    assert [_level(p) for p in override["prediction"]] == ["contact-clinician", "emergency"]
    assert override["prediction"][1]["outcome"]["coding"][0]["code"] == "emergency-care"
    assert override["basis"] == [{"reference": engine_url}, {"reference": qr_url}]
    assert override["occurrenceDateTime"] == T0.isoformat() and override["status"] == "final"
    nurse = by_url[override["performer"]["reference"]]
    assert nurse == {
        "resourceType": "Practitioner",
        "identifier": [{"system": "urn:microneedling-triage:nurse", "value": nurse_id("sam")}],
        "active": True,
    }
    assert "sam" not in json.dumps(nurse) and "name" not in nurse  # opaque id, no name
    (note,) = override["note"]
    assert note["text"] == "Stridor on the call; sent to the emergency department"
    assert note["authorReference"] == override["performer"] and note["time"] == T0.isoformat()
    # who and when
    (provenance,) = _resources(exported, "Provenance")
    assert provenance["target"] == [{"reference": override_url}]
    assert provenance["recorded"] == T0.isoformat()
    assert provenance["agent"][0]["who"] == override["performer"]
    assert provenance["agent"][0]["type"]["coding"][0]["code"] == "author"
    assert provenance["entity"] == [{"role": "revision", "what": {"reference": engine_url}}]
    with_clinic = record_bundle(REFERENCE, _record("override"), kb, T0, CLINIC)
    org_url = next(e["fullUrl"] for e in with_clinic["entry"] if e["resource"]["resourceType"] == "Organization")
    assert _resources(with_clinic, "Provenance")[0]["agent"][0]["onBehalfOf"] == {"reference": org_url}


def test_a_nurse_entered_report_is_authored_by_the_practitioner(bundle) -> None:
    qr = _resources(bundle, "QuestionnaireResponse")[1]
    practitioner_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner")
    assert qr["author"] == {"reference": practitioner_url}
    assert "author" not in _resources(bundle, "QuestionnaireResponse")[0]  # the patient form, no clinic profile


def test_emergency_is_visible(bundle, kb) -> None:
    ra = _resources(bundle, "RiskAssessment")[3]
    assert _entries()[2].answer["emergency"] is True
    assert any(n["text"] == f"EMERGENCY: {kb.header.emergency.nurse}" for n in ra["note"])
    assert any(t["code"] == "emergency" for t in ra["meta"]["tag"])
    emergency = ra["prediction"][1]
    assert emergency["outcome"]["text"] == EMERGENCY_OUTCOME
    assert _level(emergency) == "emergency"
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
    assert "Safety-net advice given" not in ras[3]["mitigation"]  # an emergency has none

    expected = assess(["redness:mild"], 6).to_dict()
    assert expected["disposition"] == "expected"
    one = record_bundle(REFERENCE, [ExportEntry(1, T0, "api", expected)], kb, T0)
    mitigation = _resources(one, "RiskAssessment")[0]["mitigation"]
    assert "- contact the clinic (redness): Contact the clinic if the redness spreads" in mitigation
    assert mitigation.index("- call now (redness)") < mitigation.index("- contact the clinic (redness)")
    Bundle, _, RiskAssessment, _ = _models(r4b)
    Bundle.model_validate(one)
    assert RiskAssessment.model_validate(_resources(one, "RiskAssessment")[0]).mitigation == mitigation
    r4.Bundle(one, strict=True)


def test_an_answer_stored_before_the_safety_net_still_exports(kb) -> None:
    old = assess(["redness:mild"], 6).to_dict()
    del old["safety_net"]
    (ra,) = _resources(record_bundle(REFERENCE, [ExportEntry(1, T0, "api", old)], kb, T0), "RiskAssessment")
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
    (ra,) = _resources(record_bundle(REFERENCE, [local], kb, T0), "RiskAssessment")
    assert ra["occurrenceDateTime"] == "2026-11-25T09:00:00+00:00"
    with pytest.raises(ValueError, match="time zone"):
        record_bundle(REFERENCE, [entry], kb, datetime(2026, 11, 25, 9, 0))
    with pytest.raises(ValueError, match="channel"):
        record_bundle(REFERENCE, [ExportEntry(1, T0, "fax", entry.answer)], kb, T0)


def test_no_patient_identifying_data(bundle) -> None:
    """No Patient, and nothing about a person: the nurses are opaque ids; only the engine's
    Device and the product's CodeSystem have names (of software and terminology)."""
    people = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] not in ("Device", "CodeSystem")]
    keys = {k for k, _ in _walk(people)}
    assert not keys & {"name", "birthDate", "gender", "telecom", "address", "photo", "contact"}
    assert set(_kinds(bundle)) == {
        "Questionnaire",
        "CodeSystem",
        "Device",
        "Practitioner",
        "QuestionnaireResponse",
        "RiskAssessment",
        "Provenance",
    }
    assert '"sam"' not in json.dumps(bundle) and "Nurse sam" not in json.dumps(bundle)


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
    assert not set(UNCODED_ON_PURPOSE) & set(coded)


def test_every_override_of_an_entry_is_exported_in_order(kb) -> None:
    answer = assess(["redness:mild"], 10).to_dict()
    first = _override("monitor", "photo looks worse", "sam", T0)
    second = _override("contact clinician", "now wheezy", "ann", T0 + timedelta(minutes=5), True)
    entry = ExportEntry(1, T0, "patient-form", answer, (first, second), None)
    exported = record_bundle(REFERENCE, [entry], kb, T0)
    _engine, *overrides = _resources(exported, "RiskAssessment")
    assert [[_level(p) for p in o["prediction"]] for o in overrides] == [
        ["monitor", "no-emergency-sign"],
        ["contact-clinician", "emergency"],
    ]
    assert [o["note"][0]["text"] for o in overrides] == ["photo looks worse", "now wheezy"]
    assert [o["identifier"][0]["value"] for o in overrides] == [
        f"{REFERENCE}/1/override/1",
        f"{REFERENCE}/1/override/2",
    ]
    assert len({o["performer"]["reference"] for o in overrides}) == 2  # two nurses, two Practitioners
    assert len(_resources(exported, "Practitioner")) == 2 and len(_resources(exported, "Provenance")) == 2
