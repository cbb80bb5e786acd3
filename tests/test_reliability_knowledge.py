"""Knowledge-file safety beyond tests/test_knowledge.py: hostile or damaged files.

tests/test_knowledge.py covers each kind of knowledge error the issue lists (bad TOML,
unknown key, missing field, window order, unknown reference, duplicate id, wrong type...).
This file adds damaged and hostile files (encoding, empty or wrong-shaped files, NaN and
huge numbers, format-string tricks in reason texts). Each must be refused at load with a
KnowledgeError naming the file, the entry and the problem, never loaded to fail later at
answer time and never another exception. The app-level "refuses to start" tests are in
tests/test_reliability_web.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from triage import Assessor, KnowledgeError, load_knowledge

REDNESS_WINDOW = "window = { expected_until = 48, monitor_until = 168 }"
REDNESS_REASON = "for the first {expected_until}."


def replace_in(file: str, old: str, new: str) -> Callable[[Path], None]:
    def change(directory: Path) -> None:
        path = directory / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))

    return change


def write(file: str, content: bytes) -> Callable[[Path], None]:
    return lambda directory: (directory / file).write_bytes(content)


def prepend(file: str, prefix: bytes) -> Callable[[Path], None]:
    return lambda directory: (directory / file).write_bytes(prefix + (directory / file).read_bytes())


def empty_version(directory: Path) -> None:
    path = directory / "kb.toml"
    path.write_text(re.sub(r'(?m)^version = "[^"]*"', 'version = ""', path.read_text(), count=1))


# (change, file, words the message must contain besides the file path)
REJECTED = {
    "empty file": (write("rules.toml", b""), "rules.toml", ["file", "[[rule]]"]),
    "table instead of array of tables": (write("factors.toml", b'[factor]\nid = "x"\n'), "factors.toml", ["file"]),
    "array of numbers": (write("factors.toml", b"factor = [1, 2]\n"), "factors.toml", ["factor entry 1"]),
    "byte order mark": (prepend("kb.toml", b"\xef\xbb\xbf"), "kb.toml", ["file", "not valid TOML"]),
    "NUL byte": (prepend("kb.toml", b"\x00"), "kb.toml", ["file", "not valid TOML"]),
    "NaN bound": (
        replace_in("symptoms.toml", REDNESS_WINDOW, "window = { expected_until = nan, monitor_until = 168 }"),
        "symptoms.toml",
        ["symptom 'redness'", "expected_until"],
    ),
    "infinite bound": (
        replace_in("symptoms.toml", REDNESS_WINDOW, "window = { expected_until = 48, monitor_until = inf }"),
        "symptoms.toml",
        ["symptom 'redness'", "monitor_until"],
    ),
    "bound beyond a year": (
        replace_in("symptoms.toml", REDNESS_WINDOW, "window = { expected_until = 48, monitor_until = 1e400 }"),
        "symptoms.toml",
        ["symptom 'redness'", "8760"],
    ),
    "zero bound": (
        replace_in("symptoms.toml", REDNESS_WINDOW, "window = { expected_until = 0, monitor_until = 168 }"),
        "symptoms.toml",
        ["symptom 'redness'", "greater than 0"],
    ),
    "id not in the id alphabet": (
        replace_in("symptoms.toml", 'id = "swelling"', 'id = "Swelling; rm -rf"'),
        "symptoms.toml",
        ["symptom 'Swelling; rm -rf'", "pattern"],
    ),
    "empty version": (empty_version, "kb.toml", ["header", "version"]),
    "attribute lookup in a reason": (
        replace_in("symptoms.toml", REDNESS_REASON, "for the first {expected_until.__class__}."),
        "symptoms.toml",
        ["symptom 'redness'", "unknown placeholder"],
    ),
    "index lookup in a reason": (
        replace_in("symptoms.toml", REDNESS_REASON, "for the first {name[0]}."),
        "symptoms.toml",
        ["symptom 'redness'", "unknown placeholder"],
    ),
    "unbalanced brace in a reason": (
        replace_in("symptoms.toml", REDNESS_REASON, "for the first {expected_until."),
        "symptoms.toml",
        ["symptom 'redness'", "bad placeholder"],
    ),
}


@pytest.mark.parametrize("case", list(REJECTED), ids=list(REJECTED))
def test_hostile_file_is_rejected_naming_file_entry_and_problem(case: str, kb_copy: Path) -> None:
    change, file, words = REJECTED[case]
    change(kb_copy)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    message = str(info.value)
    assert str(kb_copy / file) in message
    assert info.value.file.endswith(file) and info.value.entry and info.value.problem
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_empty_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"kb\.toml: file: not found"):
        load_knowledge(tmp_path)


def test_loaded_knowledge_cannot_be_changed_in_place(kb) -> None:
    """One knowledge base serves every thread: it must not be mutable by accident."""
    symptom = kb.symptoms["redness"]
    with pytest.raises((TypeError, ValueError, AttributeError)):
        symptom.window.monitor_until = 1  # type: ignore[misc,union-attr]
    with pytest.raises((AttributeError, TypeError)):
        kb.header = None  # type: ignore[misc]


# --- damaged files that once crashed with another exception, or loaded and failed later -----


@pytest.mark.parametrize("damage", [b"\xff\xfe", "R\xe9dness".encode("latin-1")], ids=["utf16-bom", "latin-1"])
def test_file_not_utf8_is_rejected(kb_copy: Path, damage: bytes) -> None:
    prepend("symptoms.toml", b"# " + damage + b"\n")(kb_copy)
    with pytest.raises(KnowledgeError, match=r"symptoms\.toml"):
        load_knowledge(kb_copy)


def test_unreadable_file_is_rejected(kb_copy: Path) -> None:
    (kb_copy / "rules.toml").unlink()
    (kb_copy / "rules.toml").mkdir()
    with pytest.raises(KnowledgeError, match=r"rules\.toml"):
        load_knowledge(kb_copy)


def test_format_spec_in_a_reason_is_rejected_at_load(kb_copy: Path) -> None:
    replace_in("symptoms.toml", REDNESS_REASON, "for the first {expected_until:d}.")(kb_copy)
    try:
        kb = load_knowledge(kb_copy)
    except KnowledgeError as exc:
        assert "symptom 'redness'" in str(exc)
        return
    # Loaded: it must then at least answer.
    Assessor(kb).assess(["redness:mild"], 1)
    pytest.fail("a reason text with a format spec was accepted")


def test_deeply_nested_toml_is_rejected(kb_copy: Path) -> None:
    path = kb_copy / "kb.toml"
    path.write_text(path.read_text() + "\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(KnowledgeError, match=r"kb\.toml"):
        load_knowledge(kb_copy)


def test_moving_a_rule_hour_bound_leaves_no_symptom_without_a_finding(kb_copy: Path) -> None:
    # Once a crash (found by test_reliability_kb_fuzz.py): a severe symptom inside its expected
    # window relied on rules.toml's severity rules. Its own window now covers it (monitor).
    replace_in("rules.toml", "after_hours = 24\ndisposition", "after_hours = 5000\ndisposition")(kb_copy)
    answer = Assessor(load_knowledge(kb_copy)).assess(["redness:severe"], 30)
    assert [(f.rule, f.disposition.value) for f in answer.findings] == [("redness-expected-severe", "monitor")]
