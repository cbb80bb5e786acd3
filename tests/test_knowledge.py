"""The knowledge base: a malformed file fails at load naming file, entry and problem;
a clinician's data-only edit changes the answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kb_samples import BROKEN, add_symptom
from tests.support import REPO
from triage import Assessor, Disposition, KnowledgeError, load_knowledge


def test_shipped_knowledge_base_loads(kb) -> None:
    assert kb.version
    assert len(kb.symptoms) == 33 and len(kb.factors) == 11
    assert all(kb.citation(s.source) for s in kb.symptoms.values())


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_file_is_rejected_naming_file_entry_and_problem(case: str, edit_kb) -> None:
    file, old, new, words = BROKEN[case]
    directory = edit_kb(file, old, new)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    message = str(info.value)
    assert str(directory / file) in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_missing_file_is_rejected(kb_copy: Path) -> None:
    (kb_copy / "factors.toml").unlink()
    with pytest.raises(KnowledgeError, match=r"factors\.toml: file: not found"):
        load_knowledge(kb_copy)


def test_changing_a_window_changes_the_answer(edit_kb) -> None:
    directory = edit_kb(
        "symptoms.toml",
        "window = { expected_until = 48, monitor_until = 168 }",
        "window = { expected_until = 72, monitor_until = 168 }",
    )
    shipped = Assessor(load_knowledge()).assess(["redness"], 60)
    edited = Assessor(load_knowledge(directory)).assess(["redness"], 60)
    assert shipped.disposition is Disposition.MONITOR
    assert edited.disposition is Disposition.EXPECTED
    assert edited.recheck_in_hours == 12
    assert "3 days (72 hours)" in edited.findings[0].reason


def test_adding_a_symptom_needs_data_only(kb_copy: Path) -> None:
    add_symptom(kb_copy)
    assessor = Assessor(load_knowledge(kb_copy))
    assert assessor.assess(["puffy-eyes:mild"], 12).disposition is Disposition.EXPECTED
    assert assessor.assess(["puffy-eyes"], 50).disposition is Disposition.MONITOR
    late = assessor.assess(["puffy-eyes"], 100)
    assert late.disposition is Disposition.CONTACT_CLINICIAN
    assert late.findings[0].rule == "puffy-eyes-contact"
    assert late.findings[0].source == "Chu 2021, Dermatol Surg"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_cli_follows_an_edited_knowledge_base(kb_copy: Path) -> None:
    add_symptom(kb_copy)
    via_option = _cli("--kb", str(kb_copy), "check", "puffy-eyes", "--hours", "50", "--json")
    via_env = _cli("check", "puffy-eyes", "--hours", "50", "--json", env={"TRIAGE_KNOWLEDGE_DIR": str(kb_copy)})
    for done in (via_option, via_env):
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["disposition"] == "monitor"
    shipped = _cli("check", "puffy-eyes", "--hours", "50", "--json")
    assert shipped.returncode == 2 and "unknown symptom 'puffy-eyes'" in shipped.stderr


def test_cli_validate_reports_a_broken_knowledge_base(edit_kb) -> None:
    directory = edit_kb("symptoms.toml", 'likelihood = "very common"', 'likelihood = "often"')
    done = _cli("validate", str(directory))
    assert done.returncode == 3 and done.stdout == ""
    line = (directory / "symptoms.toml").read_text().splitlines().index('likelihood = "often"') + 1
    assert f"symptoms.toml:{line}: symptom 'redness' (entry 1): likelihood" in done.stderr
    ok = _cli("validate")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: knowledge base ")


# (file, text to replace, replacement, the line the error must point at contains this)
BAD_VALUES = {
    "a window bound": (
        "symptoms.toml",
        "window = { expected_until = 48, monitor_until = 120 }",
        'window = { expected_until = "48", monitor_until = 120 }',
        'expected_until = "48"',
    ),
    "a reason placeholder": (
        "symptoms.toml",
        'nurse_reasons.monitor = "Oedema persisting beyond {expected_until}',
        'nurse_reasons.monitor = "Oedema persisting beyond {expected}',
        "{expected}",
    ),
    "an onset": ("symptoms.toml", 'onset = "delayed"', 'onset = "later"', 'onset = "later"'),
    "a rule's onset": ("rules.toml", 'onset = ["delayed"]', 'onset = ["late"]', 'onset = ["late"]'),
    "a reference": ("rules.toml", 'source = ["vascular-occlusion"]', 'source = ["vasc"]', 'source = ["vasc"]'),
    "a factor in a rule": ("rules.toml", 'factors = ["eczema"]', 'factors = ["eczma"]', 'factors = ["eczma"]'),
    "a likelihood band": ("kb.toml", '"rare" = "between', '"rar" = "between', "[likelihood]"),
    "{reported} without alternatives": (
        "rules.toml",
        'reason = "{name} that gets worse on the second day',
        'reason = "{reported} that gets worse on the second day',
        "{reported} that gets worse",
    ),
    "a cap": ("kb.toml", "monitor_recheck_within = 72", "monitor_recheck_within = -1", "monitor_recheck_within"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_a_bad_value_is_reported_with_its_line(case: str, edit_kb) -> None:
    """`triage validate` names the file, the entry and the line of a bad value."""
    file, old, new, on_line = BAD_VALUES[case]
    directory = edit_kb(file, old, new)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    line = info.value.line
    assert line is not None, str(info.value)
    assert on_line in (directory / file).read_text().splitlines()[line - 1], str(info.value)
    assert f"{file}:{line}: " in str(info.value)


def test_reports_without_symptoms_must_be_answered_at_every_hour(edit_kb) -> None:
    directory = edit_kb(
        "rules.toml",
        "after_hours = 72\nanswers_without_symptoms = true",
        "after_hours = 96\nanswers_without_symptoms = true",
    )
    with pytest.raises(KnowledgeError, match="leave hours from 72 unanswered"):
        load_knowledge(directory)
