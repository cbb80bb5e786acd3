"""Safety-netting (triage-policy.md "What would make it more urgent"): every answer that is not an
emergency says what would make it more urgent. The policy's lists are written out here, in its
own words, and checked against the answers (not against the knowledge base's data, which the
answers are built from): each symptom's "call now if" names the emergency signs that belong to
it, every non-emergency answer has the one general line, a `contact clinician` answer has no
clinic line, an emergency none, emergency lines come first and each meaning is said once."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import triage.answer.safety_net
from tests.test_properties import SETTINGS, factor_lists, hours, symptom_lists
from triage import Assessment, Assessor, Disposition, KnowledgeBase, KnowledgeError, load_knowledge
from triage.answer.languages import LanguageAssessor
from triage.answer.safety_net import CLINIC, EMERGENCY
from triage.knowledge.conditions import answer_change_hours

# The emergency signs the policy gives each symptom, as words its "call now if" lines must say.
LIPS = ("lips, tongue or throat swell", "hard to breathe")
INFECTION = ("very unwell", "confused or very sleepy", "breathing very fast")
STROKE = ("face droops", "an arm or leg is suddenly weak", "speech is slurred")
SIGHT = ("sight suddenly blurs, doubles or goes",)
BLOCKED_VESSEL = ("white, grey, blue or blotchy purple",)
SIGNS: dict[str, list[tuple[str, ...]]] = {}
for _signs, _symptoms in (
    (LIPS, ("redness", "swelling", "itching", "rash", "hives", "burning", "warmth", "blisters")),
    (INFECTION, ("pus", "spreading-redness", "fever", "warmth", "swollen-glands", "pain")),
    (STROKE, ("numbness",)),
    (SIGHT, ("eye-problem", "cold-sores", "blisters")),
):
    for _sid in _symptoms:
        SIGNS.setdefault(_sid, []).append(_signs)
FILLER_SYMPTOMS = ("pain", "bruising", "redness", "swelling")  # with the factor recent-filler
# The general line: trouble breathing, lips/tongue/throat, drooping face, weak arm, slurred
# speech, sudden loss of sight, skin turning white, grey or blue.
GENERAL = (
    "hard to breathe",
    "lips, tongue or throat swell",
    "face droops",
    "arm or leg is weak",
    "speech is slurred",
    "suddenly lose your sight",
    "white, grey or blue",
)


def _general(answer: Assessment) -> list[str]:
    return [line.text for line in answer.safety_net if not line.symptoms]


def check_policy(kb: KnowledgeBase, answer: Assessment) -> None:
    """Everything the policy says of one answer's safety net."""
    net = answer.safety_net
    if answer.emergency:
        assert net == (), "an emergency answer carries none"
        return
    levels = [line.level for line in net]
    assert set(levels) <= {EMERGENCY, CLINIC}
    assert levels == sorted(levels, key=[EMERGENCY, CLINIC].index), "emergency lines come first"
    general = _general(answer)
    assert len(general) == 1, "one general line"
    assert all(words in general[0] for words in GENERAL), general[0]
    texts = [line.text for line in net]
    assert len(set(texts)) == len(texts), "each meaning is said once"
    reported = [sid for sid, _ in answer.report.symptoms]
    assert all(set(line.symptoms) <= set(reported) and line.nurse_text for line in net)
    calls = [line for line in net if line.level == EMERGENCY]
    for sid in reported:
        said = " ".join(line.text for line in calls if sid in line.symptoms)
        for signs in SIGNS.get(sid, []):
            assert all(words in said for words in signs), (sid, signs, said)
        if "recent-filler" in answer.report.factors and sid in FILLER_SYMPTOMS:
            assert all(words in said for words in BLOCKED_VESSEL), (sid, said)
    clinic = [line for line in net if line.level == CLINIC]
    if answer.disposition is Disposition.CONTACT_CLINICIAN:
        assert clinic == [], "a contact clinician answer already says to contact the clinic"
    else:  # expected or monitor: each symptom's "contact the clinic if"
        for sid in reported:
            assert [line.text for line in clinic if sid in line.symptoms] == [kb.symptoms[sid].urgent_if], sid


# --- every symptom, at every hour its answer can change, at each disposition it can reach ------


def _reachable(assessor: Assessor, sid: str) -> dict[str, list[Assessment]]:
    """Answers about one symptom alone, by disposition: every hour at which an answer can change
    (and just after), each severity, getting worse or not."""
    out: dict[str, list[Assessment]] = {}
    for h in answer_change_hours(assessor.kb):
        for at in (h, h + 0.5):
            for severity in ("mild", "moderate", "severe"):
                for worsening in (False, True):
                    answer = assessor.assess([f"{sid}:{severity}"], at, (), worsening)
                    out.setdefault(answer.disposition.value + (" emergency" if answer.emergency else ""), []).append(
                        answer
                    )
    return out


@pytest.mark.parametrize("sid", sorted(load_knowledge().symptoms))
def test_every_symptom_at_every_disposition_it_reaches(assessor: Assessor, kb: KnowledgeBase, sid: str) -> None:
    reached = _reachable(assessor, sid)
    if kb.symptoms[sid].emergency:
        assert set(reached) == {"contact clinician emergency"}
    elif kb.symptoms[sid].always:
        assert set(reached) == {"contact clinician"}
    else:
        assert "contact clinician" in reached and ({"expected", "monitor"} & set(reached))
    for answers in reached.values():
        for answer in answers:
            check_policy(kb, answer)
    for answer in reached.get("expected", []) + reached.get("monitor", []):
        assert [line.level for line in answer.safety_net].count(CLINIC) == 1


@pytest.mark.parametrize("sid", FILLER_SYMPTOMS)
def test_recent_filler_adds_the_skin_colour_line(assessor: Assessor, kb: KnowledgeBase, sid: str) -> None:
    for h in (1, 6, 30, 60, 100):
        answer = assessor.assess([sid], h, ["recent-filler"])
        check_policy(kb, answer)
        without = assessor.assess([sid], h)
        assert not any(BLOCKED_VESSEL[0] in line.text for line in without.safety_net)


# --- random reports ------------------------------------------------------------------------------


@SETTINGS
@given(symptom_lists, hours, factor_lists, st.booleans())
def test_random_reports_obey_the_policy(
    assessor: Assessor, kb: KnowledgeBase, symptoms: list[str], h: float, factors: list[str], worsening: bool
) -> None:
    check_policy(kb, assessor.assess(symptoms, h, factors, worsening))


@SETTINGS
@given(symptom_lists, hours, factor_lists)
def test_a_spanish_answer_has_the_same_lines_in_spanish(
    spanish: LanguageAssessor, symptoms: list[str], h: float, factors: list[str]
) -> None:
    local, english = spanish.assess(symptoms, h, factors), spanish.english.assess(symptoms, h, factors)
    assert [(x.level, x.symptoms, x.nurse_text) for x in local.safety_net] == [
        (x.level, x.symptoms, x.nurse_text) for x in english.safety_net
    ]
    assert all(x.text != e.text for x, e in zip(local.safety_net, english.safety_net, strict=True))


@pytest.fixture(scope="module")
def spanish(assessor: Assessor) -> LanguageAssessor:
    return LanguageAssessor(assessor, "es", cache_size=64)


# --- the cases the policy names ------------------------------------------------------------------


def _calls(answer: Assessment) -> str:
    return " ".join(line.text for line in answer.safety_net if line.level == EMERGENCY)


def test_numbness_after_the_numbing_cream_names_the_stroke_signs(assessor: Assessor) -> None:
    answer = assessor.assess(["numbness"], 5)
    assert answer.disposition is Disposition.CONTACT_CLINICIAN and not answer.emergency
    line = next(x for x in answer.safety_net if x.symptoms == ("numbness",))
    assert line.level == EMERGENCY and all(words in line.text for words in STROKE)
    assert "FAST" in line.nurse_text


def test_hives_with_swelling_names_the_airway_once_for_both(assessor: Assessor) -> None:
    answer = assessor.assess(["hives", "swelling"], 1)
    assert answer.disposition is Disposition.CONTACT_CLINICIAN and not answer.emergency
    lines = [x for x in answer.safety_net if "lips, tongue or throat swell" in x.text and x.symptoms]
    assert len(lines) == 1 and set(lines[0].symptoms) == {"hives", "swelling"}
    assert "hard to breathe" in lines[0].text


def test_an_eye_problem_names_sudden_loss_of_sight(assessor: Assessor) -> None:
    answer = assessor.assess(["eye-problem"], 5)
    assert "sight suddenly blurs, doubles or goes" in _calls(answer)
    assert [x.level for x in answer.safety_net] == [EMERGENCY, EMERGENCY]  # its line and the general one


def test_pain_after_recent_filler_names_the_skin_colour_change(assessor: Assessor) -> None:
    answer = assessor.assess(["pain"], 6, ["recent-filler"])
    assert "white, grey, blue or blotchy purple" in _calls(answer)
    assert "vascular occlusion" in " ".join(x.nurse_text for x in answer.safety_net)


def test_a_report_without_symptoms_gets_the_general_line(assessor: Assessor) -> None:
    answer = assessor.assess([], 10, ["shared-equipment"])
    assert answer.disposition is Disposition.CONTACT_CLINICIAN
    assert [x.symptoms for x in answer.safety_net] == [()]


def test_the_swelling_and_numbness_clinic_lines_hold_only_the_clinic_part(kb: KnowledgeBase) -> None:
    for sid in ("swelling", "numbness"):
        assert "emergency" not in kb.symptoms[sid].urgent_if.lower()
        assert kb.symptoms[sid].urgent_if.startswith("Contact the clinic")


def test_the_code_names_no_symptom_or_factor() -> None:
    source = inspect.getsource(triage.answer.safety_net)
    kb = load_knowledge()
    named = [i for i in (*kb.symptoms, *kb.factors) if f'"{i}"' in source or f"'{i}'" in source]
    assert named == []


def test_an_answer_stored_before_the_safety_net_reads_back_without_one(assessor: Assessor) -> None:
    stored = assessor.assess(["redness"], 6).to_dict()
    del stored["safety_net"]
    assert Assessment.from_dict(stored).safety_net == ()
    answer = assessor.assess(["redness"], 6)
    assert Assessment.from_dict(answer.to_dict()) == answer
    assert dataclasses.replace(answer, safety_net=()).to_dict()["safety_net"] == []


# --- the knowledge base's checks -------------------------------------------------------------------

ALLERGY_LINE = (
    '"Call your local emergency number now if your lips, tongue or throat swell, or you find it hard to breathe."'
)
BROKEN = {
    "a call-now line on an emergency sign": (
        "symptoms.toml",
        'urgent_if = "This is an emergency: call your local emergency number now."',
        'urgent_if = "This is an emergency: call your local emergency number now."\n'
        f'call_now_if = [{ALLERGY_LINE}]\nnurse_call_now_if = ["x"]',
        ["symptom 'lip-tongue-swelling'", "an emergency sign needs none"],
    ),
    "a nurse's wording missing": (
        "symptoms.toml",
        'nurse_call_now_if = ["Emergency if FAST positive',
        'nurse_call_now_if = [] # ["Emergency if FAST positive',
        ["symptom 'numbness'", "nurse_call_now_if: 0 texts for 1"],
    ),
    "a call-now line without the emergency number's words": (
        "symptoms.toml",
        '"Call your local emergency number now if one side of your face droops.',
        '"Call 911 now if one side of your face droops.',
        ["symptom 'numbness'", "does not say 'your local emergency number'"],
    ),
    "one wording, two nurse's wordings": (
        "symptoms.toml",
        'nurse_call_now_if = ["Emergency if lip, tongue or throat swelling, stridor, wheeze or dyspnoea: angioedema, '
        'possible anaphylaxis."]\nsource = ["chu-2021", "seed-article"]',
        'nurse_call_now_if = ["Airway swelling."]\nsource = ["chu-2021", "seed-article"]',
        ["symptom 'swelling'", "has another nurse's wording elsewhere"],
    ),
    "a placeholder": (
        "symptoms.toml",
        'urgent_if = "Contact the clinic if numb skin lasts more than a few hours."',
        'urgent_if = "Contact the clinic if numb skin lasts more than {hours}."',
        ["symptom 'numbness'", "unknown placeholder ['hours']"],
    ),
    "a clinic line without the clinic's words": (
        "symptoms.toml",
        'urgent_if = "Contact the clinic if numb skin lasts more than a few hours."',
        'urgent_if = "Call your nurse if numb skin lasts more than a few hours."',
        ["symptom 'numbness'", "urgent_if: does not say 'the clinic'"],
    ),
    "no nurse's clinic line": (
        "symptoms.toml",
        'nurse_urgent_if = "Same-day review if numbness persists beyond a few hours: possible nerve injury."',
        "",
        ["symptom 'numbness'", "nurse_urgent_if: missing"],
    ),
    "a factor's line for an unknown symptom": (
        "factors.toml",
        'call_now_symptoms = ["pain", "bruising", "redness", "swelling"]',
        'call_now_symptoms = ["pain", "bruises"]',
        ["factor 'recent-filler'", "unknown symptom ['bruises']"],
    ),
    "a factor's line for an emergency sign": (
        "factors.toml",
        'call_now_symptoms = ["pain", "bruising", "redness", "swelling"]',
        'call_now_symptoms = ["pain", "face-droop"]',
        ["factor 'recent-filler'", "['face-droop'] are emergency signs"],
    ),
    "a factor's line without its symptoms": (
        "factors.toml",
        'call_now_symptoms = ["pain", "bruising", "redness", "swelling"]',
        "",
        ["factor 'recent-filler'", "give all of call_now_if, nurse_call_now_if and call_now_symptoms"],
    ),
    "an unknown key in [safety_net]": (
        "kb.toml",
        'clinic = "the clinic"',
        'clinic = "the clinic"\nhospital = "the hospital"',
        ["kb.toml", "header", "safety_net.hospital"],
    ),
    "a general line without the emergency number's words": (
        "kb.toml",
        "Whatever your symptoms, call your local emergency number now if",
        "Whatever your symptoms, call 999 now if",
        ["kb.toml", "safety_net", "general: does not say"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_safety_net_is_refused_naming_the_entry(case: str, edit_kb: Callable[[str, str, str], Path]) -> None:
    file, old, new, words = BROKEN[case]
    directory = edit_kb(file, old, new)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    message = str(info.value)
    assert file in message and all(w in message for w in words), message


ES_BROKEN = {
    "a line translated two ways": (
        'call_now_if = ["Llame ahora al número local de emergencias si se le hinchan los labios, la lengua o la '
        'garganta, o le cuesta respirar."]\n',
        'call_now_if = ["Llame ahora al número local de emergencias si se le hinchan la boca o la garganta."]\n',
        ["symptom 'swelling'", "is translated elsewhere as"],
    ),
    "a line missing": (
        'call_now_if = ["Llame ahora al número local de emergencias si se le hinchan los labios, la lengua o la '
        'garganta, o le cuesta respirar."]\n',
        "",
        ["symptom 'redness'", "call_now_if: 0 lines for the English 1"],
    ),
    "a line without the emergency number's words": (
        '"Llame ahora al número local de emergencias si de pronto ve borroso, ve doble o deja de ver."',
        '"Llame ahora al 112 si de pronto ve borroso, ve doble o deja de ver."',
        ["does not say 'número local de emergencias'"],
    ),
    "a clinic line without the clinic's words": (
        'urgent_if = "Llame a la clínica si la piel sigue dormida más de unas horas."',
        'urgent_if = "Llame a su enfermera si la piel sigue dormida más de unas horas."',
        ["symptom 'numbness'", "urgent_if: does not say 'la clínica'"],
    ),
    "the general line left out": ("[header.safety_net]\n", "[header.safety_netx]\n", ["header", "unknown key"]),
}


@pytest.mark.parametrize("case", list(ES_BROKEN))
def test_a_broken_spanish_safety_net_is_refused(case: str, edit_kb: Callable[[str, str, str], Path]) -> None:
    old, new, words = ES_BROKEN[case]
    directory = edit_kb("i18n/es.toml", old, new)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    message = str(info.value)
    assert "es.toml" in message and all(w in message for w in words), message
