"""One message per answer (issue 12): what a person is told follows the overall answer only.

Emergency symptoms are read from the knowledge base, never named here, so these hold as it grows.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import shipped_kb
from triage import Assessment, Assessor, Disposition, InvalidReport, KnowledgeBase, KnowledgeError, load_knowledge
from triage.answer import message
from triage.answer.message import urgency
from triage.knowledge.conditions import answer_change_hours
from triage.knowledge.files import default_dir
from triage.vocabulary import SEVERITIES

# Read while collecting (parametrize, strategies); the tests read the `kb` fixture.
EMERGENCY_SYMPTOMS = sorted(s for s, sym in shipped_kb().symptoms.items() if sym.emergency)
HOURS = [0, 1, 11.5, 23.99, 24, 47.99, 48, 72, 200, 2000, 8760, None]

# Random reports, half of them built around an emergency symptom or an emergency rule's symptoms.
EMERGENCY_CLUSTERS = [[s] for s in EMERGENCY_SYMPTOMS] + [
    [ref.partition(":")[0] for ref in (*r.symptoms_all, *r.symptoms_any)] or list(r.symptoms)  # per-symptom rules
    for r in shipped_kb().rules.values()
    if r.emergency and (r.symptoms_all or r.symptoms_any or r.symptoms)
]
entries = st.builds(
    lambda sid, sev: sid if sev is None else f"{sid}:{sev}",
    st.sampled_from(sorted(shipped_kb().symptoms)),
    st.none() | st.sampled_from(SEVERITIES),
)
symptom_lists = st.lists(entries, min_size=1, max_size=4) | st.builds(
    lambda cluster, sev, extra: [f"{s}:{sev}" for s in cluster] + extra,
    st.sampled_from(EMERGENCY_CLUSTERS),
    st.sampled_from(SEVERITIES),
    st.lists(entries, max_size=3),
)
hours = st.sampled_from(answer_change_hours(shipped_kb())) | st.floats(0, 8760) | st.none()
factor_lists = st.lists(st.sampled_from(sorted(shipped_kb().factors)), unique=True, max_size=3)


@pytest.fixture(scope="module")
def assessor(kb: KnowledgeBase) -> Assessor:
    return Assessor(kb, cache_size=0)


def says_wait(text: str) -> bool:
    lowered = text.lower()
    return any(words in lowered for words in ("check again", "re-check", "watch it", "wait"))


def assert_one_emergency_message(kb: KnowledgeBase, answer: Assessment) -> None:
    """An emergency answer: the call first, nothing below contact clinician, nothing about waiting."""
    assert answer.emergency and answer.disposition is Disposition.CONTACT_CLINICIAN
    assert all(f.disposition is Disposition.CONTACT_CLINICIAN for f in answer.findings), answer.findings
    assert answer.recheck_in_hours is None
    assert answer.summary == kb.header.emergency.patient and "emergency" in answer.summary.lower()
    assert answer.advice[0] == kb.header.emergency.patient
    assert not [a for a in answer.advice if says_wait(a)], answer.advice
    routine = {a.text for a in kb.header.general_advice} | {kb.header.dispositions["contact-clinician"].patient}
    assert not routine & set(answer.advice)


def test_the_knowledge_base_has_emergency_symptoms() -> None:
    assert EMERGENCY_SYMPTOMS


@pytest.mark.parametrize("symptom", EMERGENCY_SYMPTOMS)
@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("h", HOURS)
def test_every_emergency_symptom_gives_one_message(
    kb: KnowledgeBase, assessor: Assessor, symptom: str, severity: str, h: Any
) -> None:
    answer = assessor.assess([f"{symptom}:{severity}"], h)
    assert_one_emergency_message(kb, answer)
    assert {f.symptom for f in answer.findings} == {symptom}
    # a red flag is never also 'monitor' or 'expected' (the severity rule that says so needs a window)
    assert all(f.disposition is Disposition.CONTACT_CLINICIAN for f in answer.more_detail)


@pytest.mark.parametrize("symptom", EMERGENCY_SYMPTOMS)
def test_an_emergency_symptom_with_common_ones_calls_none_of_them_normal(
    assessor: Assessor, symptom: str, kb: KnowledgeBase
) -> None:
    common = [s for s, sym in kb.symptoms.items() if sym.window is not None and sym.window.expected_until][:3]
    answer = assessor.assess([symptom, *(f"{s}:severe" for s in common)], 1)
    assert_one_emergency_message(kb, answer)
    assert {f.symptom for f in answer.findings} == {symptom, *common}  # each symptom explained once
    assert all(f.disposition is not Disposition.CONTACT_CLINICIAN for f in answer.more_detail if f.symptom)


@pytest.mark.parametrize("symptom", EMERGENCY_SYMPTOMS)
def test_the_api_gives_one_message_too(client: Any, symptom: str, kb: KnowledgeBase) -> None:
    for body in ({"symptoms": [{"id": symptom, "severity": "severe"}], "hours": 1}, {"symptoms": [{"id": symptom}]}):
        r = client.post("/api/v1/assess", json=body)
        assert r.status_code == 200, r.get_json()
        data = r.get_json()
        assert data["emergency"] and data["recheck_in_hours"] is None
        assert {f["disposition"] for f in data["findings"]} == {"contact clinician"}
        assert data["summary"] == kb.header.emergency.patient
        assert not [a for a in data["advice"] if says_wait(a)]


@settings(max_examples=400, deadline=None)
@given(symptom_lists, hours, factor_lists, st.booleans())
def test_whenever_emergency_the_answer_says_one_thing(
    kb: KnowledgeBase, assessor: Assessor, symptoms: list[str], h: float | None, factors: list[str], worsening: bool
) -> None:
    try:
        answer = assessor.assess(symptoms, h, factors, worsening)
    except InvalidReport as exc:  # no hours, and the answer depends on them
        assert h is None and [p.field for p in exc.problems] == ["hours"]
        return
    if answer.emergency:
        assert_one_emergency_message(kb, answer)
    if answer.disposition is Disposition.CONTACT_CLINICIAN:
        assert not [a for a in answer.advice if "check again" in a.lower()]
    # one entry per symptom in "why"; nothing shown twice
    about = [f.symptom for f in answer.findings if f.symptom]
    assert len(about) == len(set(about))
    assert len(answer.advice) == len(set(answer.advice))
    # advice only from findings at the answer's urgency
    top = (answer.disposition.rank, answer.emergency)
    at_top = {f.advice for f in (*answer.findings, *answer.more_detail) if urgency(f) == top}
    for f in (*answer.findings, *answer.more_detail):
        if f.advice and urgency(f) < top and f.advice not in at_top:
            assert not [a for a in answer.advice if a in f.advice], (f.rule, answer.advice)


def test_same_advice_gives_one_wording_per_meaning(assessor: Assessor, kb: KnowledgeBase) -> None:
    group = next(g for g in kb.header.same_advice if "recheck" in g.advice)
    rule = next(r.partition(":")[2] for r in group.advice if r.startswith("rule:"))
    severity = kb.rules[rule].severity[0]
    symptom = next(s for s, sym in kb.symptoms.items() if sym.window and sym.window.expected_until)
    answer = assessor.assess([f"{symptom}:{severity}"], 1)
    assert rule in {f.rule for f in (*answer.findings, *answer.more_detail)}
    assert [a for a in answer.advice if a.startswith("Check again")] == [answer.advice[1]]  # the answer's own line
    assert kb.rules[rule].advice not in answer.advice


def test_a_repeated_sentence_is_said_once(assessor: Assessor, kb: KnowledgeBase) -> None:
    repeated = [
        (a, b)
        for a in EMERGENCY_SYMPTOMS
        for b in EMERGENCY_SYMPTOMS
        if a < b and (kb.symptoms[a].care in kb.symptoms[b].care or kb.symptoms[b].care in kb.symptoms[a].care)
    ]
    if not repeated:
        pytest.skip("no two emergency symptoms share care advice in this knowledge base")
    a, b = repeated[0]
    answer = assessor.assess([a, b], 1)
    shorter = min(kb.symptoms[a].care, kb.symptoms[b].care, key=len)
    assert sum(shorter in x for x in answer.advice) == 1


def test_without_hours_only_an_answer_that_no_hour_changes_is_given(assessor: Assessor, kb: KnowledgeBase) -> None:
    windowed = next(s for s, sym in kb.symptoms.items() if sym.window is not None)
    with pytest.raises(InvalidReport) as info:
        assessor.assess([windowed], None)
    assert [p.field for p in info.value.problems] == ["hours"] and "not given" in str(info.value)
    for symptom in EMERGENCY_SYMPTOMS:
        answer = assessor.assess([symptom, windowed], None)
        assert answer.emergency and answer.report.hours is None and answer.to_dict()["hours_since_treatment"] is None


def test_same_advice_must_name_advice_that_exists(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(default_dir(), kb_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = kb_dir / "kb.toml"
    path.write_text(
        path.read_text().replace('advice = ["recheck", "rule:severe-first-day"', 'advice = ["recheck", "rule:nope"')
    )
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_dir)
    assert "kb.toml" in info.value.file and "same_advice" in info.value.entry and "nope" in info.value.problem


def test_the_cds_hooks_card_of_an_emergency_without_hours(client: Any) -> None:
    r = client.post("/api/v1/assess/cds-hooks", json={"symptoms": [{"id": EMERGENCY_SYMPTOMS[0]}]})
    assert r.status_code == 200, r.get_json()
    (card,) = r.get_json()["cards"]
    assert card["indicator"] == "critical" and "EMERGENCY" in card["summary"] and "not given" in card["summary"]


def test_the_knowledge_endpoint_marks_the_emergency_signs(client: Any) -> None:
    listed = client.get("/api/v1/knowledge").get_json()["symptoms"]
    assert sorted(s["id"] for s in listed if s["emergency"]) == EMERGENCY_SYMPTOMS


def test_a_symptom_in_a_more_urgent_combination_is_shown_under_it_only(assessor: Assessor) -> None:
    """Policy v3 item 8: in "why", a symptom that a more urgent combination finding names is shown
    under that finding only; its own less urgent finding goes under "more detail" (as a person reads
    it: message.as_told; the JSON keeps each symptom's own finding in `findings`)."""

    def told(answer: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return message.as_told(answer.findings, answer.more_detail)

    answer = assessor.assess(["fever", "warmth:mild", "redness:mild"], 10)  # warmth expected on day 1
    assert "warmth" in {f.symptom for f in answer.findings}  # the JSON explains every symptom itself
    why, detail = told(answer)
    assert (None, "infection-fever-local-signs") in {(f.symptom, f.rule) for f in why}
    assert "warmth" not in {f.symptom for f in why}
    assert ("warmth", "warmth-expected") in {(f.symptom, f.rule) for f in detail}
    assert ("fever", "fever-always") in {(f.symptom, f.rule) for f in why}  # as urgent: still shown on its own
    assert ("redness", "redness-expected") in {(f.symptom, f.rule) for f in why}  # not named by the combination
    late_why, late_detail = told(assessor.assess(["redness:mild", "warmth:mild", "pain:mild"], 50))
    assert {f.symptom for f in late_why} == {None, "warmth"}  # warmth is contact past 48 h itself
    assert {"redness-monitor", "pain-monitor"} <= {f.rule for f in late_detail}
    spreading = assessor.assess(["fever", "spreading-redness", "pain:severe"], 30)  # an emergency combination
    s_why, s_detail = told(spreading)
    assert s_why[0].rule == "spreading-infection" and spreading.emergency
    assert not [f for f in s_why if f.symptom]  # each symptom is told under a combination
    assert {"fever-always", "spreading-redness-always"} <= {f.rule for f in s_detail}
    assert [message.urgency(f) for f in s_detail] == sorted((message.urgency(f) for f in s_detail), reverse=True)
