"""Bad input is an error that names the bad value and the valid ones, never a reassurance."""

from __future__ import annotations

import math

import pytest

from triage import Disposition, InvalidReport, assess


@pytest.mark.parametrize(
    ("symptoms", "hours", "factors", "field", "names"),
    [
        (["glowing-skin"], 10, [], "symptoms[0]", ["'glowing-skin'", "redness", "breathing-difficulty"]),
        (["redness:extreme"], 10, [], "symptoms[0]", ["'extreme'", "mild, moderate, severe"]),
        (["redness"], 10, ["lucky"], "factors[0]", ["'lucky'", "darker-skin", "shared-equipment"]),
        ([], 10, [], "symptoms", ["at least one symptom", "redness"]),
        (["redness"], None, [], "hours", ["not given", "0 to 8760"]),
        (["redness"], -5, [], "hours", ["negative", "-5"]),
        (["redness"], math.nan, [], "hours", ["nan", "finite"]),
        (["redness"], math.inf, [], "hours", ["inf", "finite"]),
        (["redness"], 8760.5, [], "hours", ["8760.5", "at most 8760"]),
        (["redness"], "soon", [], "hours", ["'soon'", "number"]),
        (["redness"], True, [], "hours", ["True", "number"]),
        ([42], 10, [], "symptoms[0]", ["42", "string"]),
    ],
)
def test_bad_input_names_value_and_valid_ones(symptoms, hours, factors, field, names) -> None:
    with pytest.raises(InvalidReport) as info:
        assess(symptoms, hours, factors)
    err = info.value
    assert isinstance(err, ValueError)
    assert [p.field for p in err.problems] == [field]
    for name in names:
        assert name in str(err)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidReport) as info:
        assess(["glowing-skin", "redness:extreme"], -1, ["lucky"], worsening="yes")
    fields = [p.field for p in info.value.problems]
    assert fields == ["symptoms[0]", "symptoms[1]", "hours", "factors[0]", "worsening"]


def test_too_many_symptoms_is_refused() -> None:
    with pytest.raises(InvalidReport, match="at most 40 symptoms"):
        assess(["redness"] * 41, 10)


@pytest.mark.parametrize("hours", [0, 0.0, 8760, 12.5])
def test_hours_at_the_edges_are_accepted(hours: float) -> None:
    assert assess(["redness:mild"], hours).hours_since_treatment == float(hours)


def test_ids_ignore_case_and_surrounding_space() -> None:
    answer = assess([" Redness : Mild "], 6, [" PRP "])
    assert answer.report.symptoms == (("redness", "mild"),)
    assert answer.report.factors == ("prp",)


def test_default_severity_is_moderate() -> None:
    assert assess(["redness"], 6).findings[0].severity == "moderate"


def test_duplicate_symptom_keeps_the_most_severe_report() -> None:
    answer = assess(["pain:mild", "pain:severe", "pain"], 36)
    assert answer.report.symptoms == (("pain", "severe"),)
    assert answer.disposition is Disposition.CONTACT_CLINICIAN
    assert assess(["pain:severe", "pain:mild"], 36) == answer
