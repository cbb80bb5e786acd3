"""The CLI: readable answers for a nurse, JSON for scripts, exit 2 and one line for bad input."""

from __future__ import annotations

import json

import pytest

from triage.cli.commands import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_readable_answer_puts_the_disposition_first(capsys) -> None:
    code, out, err = run(capsys, "check", "redness:mild", "warmth:mild", "pain:mild", "--hours", "60")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "CONTACT CLINICIAN"
    assert "(rule infection-redness-warmth-pain)" in out
    assert "source: General wound-care guidance" in out
    assert "Re-check: none; act now." in out
    assert lines[-1].startswith("Knowledge base: ")


def test_emergency_banner_comes_first(capsys) -> None:
    code, out, _ = run(capsys, "check", "hives", "breathing-difficulty", "--hours", "2")
    assert code == 0
    assert out.splitlines()[0].startswith("!!! EMERGENCY")


def test_readable_answer_gives_the_recheck_time(capsys) -> None:
    _, out, _ = run(capsys, "check", "redness:mild", "--hours", "6")
    assert out.splitlines()[0] == "EXPECTED"
    assert "Re-check: in 42 hours (at 2 days (48 hours) after the session)." in out
    assert "changes at 48 h (in 42 h)" in out
    assert "urgent if:" not in out  # the safety net says it, once
    net = out[out.index("Safety net (what would make it more urgent):") : out.index("Re-check:")]
    assert "  - contact the clinic [redness]: Contact the clinic if the redness spreads" in net
    assert "  - call now [redness]: Call your local emergency number now if your lips, tongue" in net
    assert "  - call now: Whatever your symptoms, call your local emergency number now" in net
    assert net.index("call now") < net.index("contact the clinic")


def test_readable_answer_gives_the_safety_net_of_a_contact_clinician_answer(capsys) -> None:
    _, out, _ = run(capsys, "check", "numbness", "--hours", "5")
    assert out.splitlines()[0] == "CONTACT CLINICIAN"
    net = out[out.index("Safety net (what would make it more urgent):") : out.index("Re-check:")]
    assert "  - call now [numbness]: Call your local emergency number now if one side of your face droops." in net
    assert "contact the clinic" not in net  # the answer already says to contact the clinic


def test_readable_emergency_has_no_safety_net(capsys) -> None:
    _, out, _ = run(capsys, "check", "hives", "breathing-difficulty", "--hours", "2")
    assert "Safety net" not in out


def test_json_answer_has_the_exact_keys(capsys) -> None:
    code, out, _ = run(capsys, "check", "swelling", "--hours", "60", "--factor", "prp", "--json")
    assert code == 0
    answer = json.loads(out)
    keys = {"disposition", "emergency", "hours_since_treatment", "findings", "advice", "recheck_in_hours", "kb_version"}
    assert keys <= set(answer)
    assert answer["disposition"] == "expected" and answer["recheck_in_hours"] == 12
    finding = answer["findings"][0]
    assert {"symptom", "severity", "disposition", "rule", "reason", "source"} <= set(finding)
    assert finding["factors"] == ["prp"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["check", "glowing-skin", "--hours", "10"], ["unknown symptom 'glowing-skin'", "redness"]),
        (["check", "redness", "--hours", "-5"], ["negative", "-5"]),
        (["check", "redness", "--hours", "soon"], ["'soon'", "number"]),
        (["check", "redness", "--hours", "nan"], ["nan", "finite"]),
        (["check", "redness", "--hours", "1e9"], ["at most 8760", "1e+09"]),
        (["check", "--hours", "10"], ["at least one symptom"]),
        (["check", "redness"], ["--hours is required"]),
        (["check", "redness:extreme", "--hours", "10"], ["'extreme'", "mild, moderate, severe"]),
        (["check", "redness", "--hours", "10", "--factor", "lucky"], ["'lucky'", "darker-skin"]),
        (["check", "redness", "--hours", "10", "--colour"], ["No such option"]),
        (["diagnose"], ["No such command"]),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_stdout(capsys, args: list[str], words: list[str]) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("triage: error: ")
    for word in words:
        assert word in err


def test_symptoms_lists_vocabulary_and_factors(capsys, kb) -> None:
    code, out, _ = run(capsys, "symptoms")
    assert code == 0
    for sid in kb.symptoms:
        assert f"  {sid} " in out
    for fid in kb.factors:
        assert f"  {fid} " in out
    code, out, _ = run(capsys, "symptoms", "--json")
    data = json.loads(out)
    assert [s["id"] for s in data["symptoms"]] == list(kb.symptoms)
    assert data["kb_version"] == kb.version


def test_help_exits_0(capsys) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "check" in out
