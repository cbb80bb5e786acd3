"""Clinical edge cases of the engine that the public vignettes do not reach."""

from __future__ import annotations

import pytest

from triage import Disposition, assess


def every_finding(answer):  # type: ignore[no-untyped-def]
    """ "Why" and "more detail": every finding the engine concluded."""
    return (*answer.findings, *answer.more_detail)


def rules(answer) -> list[tuple[str | None, str, str]]:
    return [(f.symptom, f.rule, f.disposition.value) for f in every_finding(answer)]


def test_severe_symptom_inside_its_expected_window_is_monitor_until_the_window_ends() -> None:
    answer = assess(["numbness:severe"], 2)  # numbing cream: expected until 3 h, then nerve injury
    assert answer.disposition is Disposition.MONITOR
    assert ("numbness", "numbness-expected-severe", "monitor") in rules(answer)
    assert answer.recheck_in_hours == 1  # at 3 h it becomes contact clinician, not in 12 h
    assert assess(["numbness:severe"], 3).disposition is Disposition.CONTACT_CLINICIAN


def test_severe_on_the_first_day_rechecks_within_12_hours() -> None:
    answer = assess(["redness:severe"], 4)
    assert answer.disposition is Disposition.MONITOR
    assert answer.recheck_in_hours == 12
    assert {"severe-first-day", "redness-expected-severe"} <= {f.rule for f in every_finding(answer)}


@pytest.mark.parametrize(("hours", "expected"), [(23.99, "monitor"), (24, "contact clinician")])
def test_severe_after_24_hours_includes_24(hours: float, expected: str) -> None:
    assert assess(["swelling:severe"], hours).disposition.value == expected


def test_recheck_is_rounded_down_and_never_below_one_hour() -> None:
    """Policy v3: a re-check is never less than 1 hour (kb.toml recheck_minimum)."""
    assert assess(["redness:mild"], 47.999).recheck_in_hours == 1
    assert assess(["swelling"], 47.7).recheck_in_hours == 1  # P56
    assert assess(["redness:mild"], 46.7).recheck_in_hours == 1.3  # 1.29999.. must not floor to 1.29
    assert assess(["redness:mild"], 46.999).recheck_in_hours == 1  # rounded down, not up to 1.01


def test_diabetes_brings_the_recheck_forward_to_48_hours() -> None:
    answer = assess(["bruising"], 30, ["diabetes"])  # monitor until 336 h, but contact from 48 h
    assert answer.disposition is Disposition.MONITOR
    assert answer.recheck_in_hours == 18
    assert assess(["bruising"], 48, ["diabetes"]).disposition is Disposition.CONTACT_CLINICIAN


def test_getting_worse_counts_from_24_hours_and_is_contact_from_48() -> None:
    """Policy v2: before 24 h it changes nothing (re-check when it starts to count); on day 2
    an immediate-onset symptom is monitor with a 12 h re-check; from 48 h contact clinician."""
    early = assess(["redness:mild"], 12, worsening=True)
    assert early.disposition is Disposition.EXPECTED and early.recheck_in_hours == 12
    day2 = assess(["redness"], 30, worsening=True)
    assert day2.disposition is Disposition.MONITOR and day2.recheck_in_hours == 12
    assert ("redness", "worsening-day-2", "monitor") in rules(day2)
    worse = assess(["redness"], 48, worsening=True)
    assert ("redness", "worsening-after-48h", "contact clinician") in rules(worse)


def test_getting_worse_spares_delayed_onset_symptoms_inside_their_window() -> None:
    inside = assess(["flaking"], 60, worsening=True)  # flaking builds from day 2 (P46)
    assert inside.disposition is Disposition.EXPECTED and inside.recheck_in_hours == 108
    day2 = assess(["itching"], 30, worsening=True)  # delayed onset: not monitor on day 2 either
    assert day2.disposition is Disposition.EXPECTED
    past = assess(["crusting"], 100, worsening=True)  # past its 72 h window: escalated
    assert ("crusting", "worsening-after-48h-delayed", "contact clinician") in rules(past)
    assert assess(["bruising"], 60, worsening=True).disposition is Disposition.CONTACT_CLINICIAN  # immediate
    # no expected window is never inside one (v3): a darker patch getting worse from 48 h is escalated
    dark = assess(["darkening"], 60, worsening=True)
    assert ("darkening", "worsening-after-48h-delayed", "contact clinician") in rules(dark)
    assert assess(["darkening"], 30, worsening=True).recheck_in_hours == 18  # delayed: not the day-2 rule


def test_onsets_follow_the_policy_table() -> None:
    """Policy v3 item 10: every symptom with a window has the onset the policy's table gives."""
    from triage.knowledge.loader import load_knowledge

    delayed = {"tightness", "itching", "flaking", "crusting", "breakout", "sensitivity", "darkening"}
    delayed |= {"lighter-patches", "swollen-glands"}
    windowed = {sid: s.onset for sid, s in load_knowledge().symptoms.items() if s.window is not None}
    assert windowed == {sid: "delayed" if sid in delayed else "immediate" for sid in windowed}


def test_bruising_getting_worse_on_day_2_rechecks_within_12_hours() -> None:
    """Bruising is immediate-onset (v3): getting worse on day 2 gives it the 12 h re-check."""
    answer = assess(["bruising"], 30, worsening=True)
    assert answer.disposition is Disposition.MONITOR and answer.recheck_in_hours == 12
    assert ("bruising", "worsening-day-2", "monitor") in rules(answer)


def test_combination_finding_names_what_it_looked_at() -> None:
    answer = assess(["fever", "pus", "redness:mild"], 30)
    (combo,) = [f for f in every_finding(answer) if f.rule == "infection-fever-local-signs"]
    assert combo.symptom is None and combo.symptoms == ("fever", "pus")
    assert "infection" in combo.advice


@pytest.mark.parametrize(
    ("symptoms", "factors", "rule"),
    [
        (["fever", "spreading-redness", "pain:severe"], [], "spreading-infection"),
        (["cold-sores", "fever"], [], "eczema-herpeticum"),
        (["fever"], ["immunosuppressed"], "immunosuppressed-fever"),
        (["hives", "lip-tongue-swelling"], [], "anaphylaxis-hives-airway"),
    ],
)
def test_emergency_combinations(symptoms: list[str], factors: list[str], rule: str) -> None:
    answer = assess(symptoms, 30, factors)
    assert answer.emergency and answer.disposition is Disposition.CONTACT_CLINICIAN
    assert any(f.rule == rule and f.emergency for f in every_finding(answer))
    assert answer.advice[0].startswith("Call your local emergency number now")


def test_spreading_infection_needs_severe_pain() -> None:
    answer = assess(["fever", "spreading-redness", "pain:moderate"], 30)
    assert answer.disposition is Disposition.CONTACT_CLINICIAN and not answer.emergency


def test_shared_equipment_is_contact_whatever_the_symptoms() -> None:
    answer = assess(["redness:mild"], 2, ["shared-equipment"])
    (finding,) = [f for f in every_finding(answer) if f.rule == "shared-equipment-pep"]
    assert finding.symptom is None and finding.factors == ("shared-equipment",)
    assert "HIV" in finding.advice and "hepatitis" in finding.advice
    assert "72 hours" in answer.summary and "PEP" in answer.summary and answer.summary == answer.advice[0]
    assert answer.recheck_in_hours is None


@pytest.mark.parametrize(
    ("hours", "rule", "words"),
    [
        (10, "shared-equipment-pep", "about 62 hours left"),
        (59.9, "shared-equipment-pep", "about 12 hours left"),
        (63, "shared-equipment-pep-now", "about 9 hours left"),
        (70.5, "shared-equipment-pep-now", "about 1 hour left"),
        (71.5, "shared-equipment-pep-last-hour", "1 hour or less is left"),
        (72, "shared-equipment-testing", "6 weeks"),
    ],
)
def test_shared_equipment_is_answered_without_symptoms(hours: float, rule: str, words: str) -> None:
    answer = assess([], hours, ["shared-equipment"])
    assert answer.disposition is Disposition.CONTACT_CLINICIAN and not answer.emergency
    (finding,) = answer.findings
    assert finding.rule == rule and words in answer.summary


@pytest.mark.parametrize("symptoms", [[], ["redness:mild"], ["pus"], ["breathing-difficulty"]])
@pytest.mark.parametrize("hours", [0, 30, 59.9, 60, 66.5, 71.5, 72, 200])
def test_shared_equipment_leads_with_where_to_go_not_the_clinic(symptoms: list[str], hours: float) -> None:
    """Policy v3 item 4: the PEP or testing instruction first, naming where to go (not back to the
    provider), with the whole hours left before 72 h; under 12 h left 'go now', not 'today'."""
    answer = assess(symptoms, hours, ["shared-equipment"])
    lead = answer.advice[1] if answer.emergency else answer.advice[0]
    assert "sexual health clinic" in lead and "not" in lead and "provider" in lead
    if not answer.emergency:
        assert answer.summary == lead  # not "contact your clinic today"
    if hours < 72:
        assert "PEP" in lead and ("Go now" in lead) is (hours >= 60) and ("Go today" in lead) is (hours < 60)
        if hours < 71:
            assert f"about {int(72 - hours)} hour" in lead
    else:
        assert "tests for HIV, hepatitis B and hepatitis C" in lead and "PEP" not in lead
    clinic_today = "Contact your clinic today."
    # the clinic follows only for a finding that needs it (pus; redness past its window), never instead
    others = [f for f in every_finding(answer) if f.disposition is Disposition.CONTACT_CLINICIAN and f.symptom]
    assert (clinic_today in answer.advice) is (bool(others) and not answer.emergency)
    if clinic_today in answer.advice:
        assert answer.advice.index(clinic_today) > answer.advice.index(lead)


def test_no_symptoms_without_such_a_factor_is_refused() -> None:
    from triage import InvalidReport

    with pytest.raises(InvalidReport, match=r"give at least one symptom .*shared-equipment"):
        assess([], 10, ["diabetes"])


def test_window_factors_combine_smallest_bound_then_scale() -> None:
    both = assess(["swelling"], 100, ["prp", "rf-microneedling"])  # 72 / 168
    assert both.disposition is Disposition.MONITOR and both.recheck_in_hours == 68
    assert "radiofrequency" in both.findings[0].reason and "PRP" in both.findings[0].reason
    thinned = assess(["bruising"], 400, ["blood-thinners"])  # 336 doubled
    assert thinned.disposition is Disposition.MONITOR and thinned.recheck_in_hours == 72  # capped (v2)
    assert thinned.findings[0].until_hours == 672


def test_isotretinoin_escalates_only_past_the_expected_window() -> None:
    assert assess(["redness"], 30, ["isotretinoin"]).disposition is Disposition.EXPECTED
    assert assess(["redness"], 60, ["isotretinoin"]).disposition is Disposition.CONTACT_CLINICIAN
    assert assess(["bruising"], 1, ["isotretinoin"]).disposition is Disposition.CONTACT_CLINICIAN


def test_cold_sore_history_turns_early_tingling_into_monitor_and_blisters_into_antiviral_advice() -> None:
    tingling = assess(["burning:mild"], 10, ["cold-sore-history"])
    assert tingling.disposition is Disposition.MONITOR and tingling.recheck_in_hours == 14
    blisters = assess(["blisters"], 10, ["cold-sore-history"])
    assert any("aciclovir" in a for a in blisters.advice)
    assert any("antiviral" in f.nurse_reason for f in blisters.findings)  # the clinical word is the nurse's


def test_a_symptom_a_record_shows_worse_gets_the_worsening_rule_and_only_it(assessor) -> None:
    """Records tell the engine which symptoms got worse; the tick box still covers all."""
    answer = assessor.assess(["redness:severe", "flaking:mild"], 60, worse=["redness"])
    by_rule = {(f.symptom, f.rule) for f in every_finding(answer)}
    assert ("redness", "worsening-after-48h") in by_rule
    assert ("flaking", "worsening-after-48h") not in by_rule
    assert answer.disposition.value == "contact clinician"
    assert answer.report.to_dict()["worse_symptoms"] == ["redness"]
    ticked = assessor.assess(["redness:severe", "flaking:mild"], 60, worsening=True)
    # the tick box covers every symptom, but flaking (delayed onset) is inside its window (v2)
    fired = {(f.symptom, f.rule) for f in every_finding(ticked)}
    assert {s for s, r in fired if r.startswith("worsening-")} == {"redness"}
    late = assessor.assess(["redness", "flaking:mild"], 200, worsening=True)
    assert {f.symptom for f in every_finding(late) if f.rule.startswith("worsening-after-48h")} == {
        "redness",
        "flaking",
    }


def test_worse_must_name_a_reported_symptom(assessor) -> None:
    from triage import InvalidReport

    with pytest.raises(InvalidReport) as err:
        assessor.assess(["redness"], 60, worse=["swelling"])
    assert "'swelling' cannot be getting worse" in str(err.value)
    assert err.value.problems[0].field == "worse[0]"


@pytest.mark.parametrize("hours", [0, 2, 10, 30, 60, 400])
def test_recent_filler_makes_pain_getting_worse_and_any_bruise_contact_at_any_hour(hours: float) -> None:
    """Policy v3 item 2 (P53, P54): a blocked blood vessel can start as pain that builds or a bruise."""
    pain = assess(["pain:mild"], hours, ["recent-filler"], worsening=True)
    assert ("pain", "recent-filler-pain-worse", "contact clinician") in rules(pain)
    assert pain.disposition is Disposition.CONTACT_CLINICIAN and not pain.emergency
    assert any("filler" in a for a in pain.advice)
    bruise = assess(["bruising:mild"], hours, ["recent-filler"])
    assert ("bruising", "recent-filler-bruising", "contact clinician") in rules(bruise)
    assert bruise.disposition is Disposition.CONTACT_CLINICIAN and bruise.recheck_in_hours is None
    assert assess(["pain:severe"], hours, ["recent-filler"]).disposition is Disposition.CONTACT_CLINICIAN


def test_recent_filler_needs_the_pain_to_be_getting_worse_and_the_factor() -> None:
    assert assess(["pain:mild"], 10, ["recent-filler"]).disposition is Disposition.EXPECTED
    assert assess(["pain"], 10, worsening=True).disposition is Disposition.EXPECTED  # P57
    assert assess(["bruising"], 30).disposition is Disposition.MONITOR  # P58
    # the record's per-symptom worsening counts too: only the symptom it marks
    from triage import default_assessor

    marked = default_assessor().assess(["pain:mild", "redness:mild"], 10, ["recent-filler"], worse=["pain"])
    assert ("pain", "recent-filler-pain-worse", "contact clinician") in rules(marked)
    unmarked = default_assessor().assess(["pain:mild", "redness:mild"], 10, ["recent-filler"], worse=["redness"])
    assert unmarked.disposition is Disposition.EXPECTED


def test_a_bruise_near_recent_filler_is_answered_without_hours() -> None:
    """Contact clinician at every hour by the same rule: the hours may be left out (policy v3)."""
    answer = assess(["bruising"], None, ["recent-filler"])
    assert answer.disposition is Disposition.CONTACT_CLINICIAN
    assert {f.rule for f in answer.findings} == {"recent-filler-bruising"}


@pytest.mark.parametrize("hours", [0, 6, 20, 100])
def test_severe_bleeding_on_blood_thinners_is_contact_at_any_hour(hours: float) -> None:
    """Policy v3 item 3 (P55): the doubled window does not make severe bleeding expected."""
    answer = assess(["pinpoint-bleeding:severe"], hours, ["blood-thinners"])
    assert ("pinpoint-bleeding", "blood-thinners-severe-bleeding", "contact clinician") in rules(answer)
    assert answer.disposition is Disposition.CONTACT_CLINICIAN
    assert assess(["pinpoint-bleeding:moderate"], 6, ["blood-thinners"]).disposition is Disposition.EXPECTED
    assert assess(["pinpoint-bleeding:severe"], 6).disposition is Disposition.MONITOR  # without the factor
