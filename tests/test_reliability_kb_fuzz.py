"""Fuzzing the knowledge files: a random edit to a value, a deleted line or a duplicated line.

Every edited knowledge base must either be refused at load with a KnowledgeError naming the
file, the entry and the problem, or load and then answer every report (or raise
InvalidReport). Another exception at load or at answer time means a broken file could start
the app and fail (or mislead) later.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage import Assessment, Assessor, InvalidReport, KnowledgeBase, KnowledgeError, load_knowledge
from triage.knowledge.files import FILES, default_dir

SHIPPED = default_dir()
TEXTS = {name: (SHIPPED / name).read_text() for name in FILES}
ASSIGNMENT = re.compile(r"^(\s*[A-Za-z0-9_.\-\"]+\s*=\s*)(.+)$")
LINES = {
    name: [i for i, line in enumerate(text.splitlines()) if ASSIGNMENT.match(line)] for name, text in TEXTS.items()
}

Raw = tuple[list[str], float, list[str]]


@pytest.fixture(scope="module")
def reports(kb: KnowledgeBase) -> list[Raw]:
    """Reports touching every symptom and factor, at hours on both sides of the usual window ends."""
    found: list[Raw] = [
        ([f"{sid}:{sev}"], hours, []) for sid in kb.symptoms for sev in ("mild", "severe") for hours in (1, 30, 100)
    ]
    found += [(["redness", "swelling", "pain"], hours, [fid]) for fid in kb.factors for hours in (2, 50, 200)]
    found += [(list(kb.symptoms)[:10], 12, list(kb.factors))]
    return found


# TOML values to put in place of a value.
LITERALS = st.sampled_from(
    [
        '"{hours:d}"',
        '"{name!r}"',
        '"{name.upper}"',
        "0",
        "-1",
        "0.0001",
        "1",
        "8760",
        "8761",
        "1e400",
        "nan",
        "inf",
        "-inf",
        "true",
        "false",
        '""',
        '"x"',
        '"{name}"',
        '"{hours} and {expected_until} and {monitor_until}"',
        '"{unknown}"',
        '"{"',
        '"}"',
        '"contact clinician"',
        '"monitor"',
        '"expected"',
        '"redness"',
        '"chu-2021"',
        "[]",
        '["chu-2021"]',
        '["redness", "fever"]',
        '["nope"]',
        "{}",
        "{ monitor_until = 5 }",
        "{ expected_until = 10, monitor_until = 5 }",
        "1979-05-27",
        '"' + "x" * 700 + '"',
    ]
)


@st.composite
def edit(draw: st.DrawFn) -> tuple[str, str]:
    """One file and its edited text."""
    name = draw(st.sampled_from(FILES))
    lines = TEXTS[name].splitlines()
    index = draw(st.sampled_from(LINES[name]))
    action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate"]))
    if action == "replace":
        match = ASSIGNMENT.match(lines[index])
        assert match is not None
        prefix, value = match.groups()
        if re.fullmatch(r"[0-9.]+", value.strip()) and draw(st.booleans()):
            # A plausible number: the file often still loads, and the engine must cope with it.
            lines[index] = prefix + repr(draw(st.floats(min_value=0.01, max_value=8760)))
        elif value.startswith('"') and draw(st.booleans()):
            words = st.sampled_from(["{name}", "{hours}", "{expected_until}", "{monitor_until}", "text", "é", "\\n"])
            lines[index] = prefix + '"' + " ".join(draw(st.lists(words, min_size=1, max_size=5))) + '"'
        else:
            lines[index] = prefix + draw(LITERALS)
    elif action == "delete":
        del lines[index]
    else:
        lines.insert(index, lines[index])
    return name, "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=edit())
def test_an_edited_knowledge_base_is_refused_or_answers_everything(reports: list[Raw], change: tuple[str, str]) -> None:
    name, text = change
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "knowledge"
        shutil.copytree(SHIPPED, directory, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        (directory / name).write_text(text)
        try:
            kb = load_knowledge(directory)
        except KnowledgeError as exc:
            assert exc.file.startswith(f"{directory}/")  # a file of the edited knowledge base
            assert exc.entry and exc.problem
            return
        assessor = Assessor(kb, cache_size=0)
        for symptoms, hours, factors in reports:
            try:
                answer = assessor.assess(symptoms, hours, factors)
            except InvalidReport:
                continue  # the edit removed or renamed an id the report uses
            assert isinstance(answer, Assessment) and answer.findings
