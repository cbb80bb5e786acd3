"""`triage diff`: what an edit to the knowledge base changes, before any patient sees it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kb_samples import add_symptom
from triage import KnowledgeBase, load_knowledge
from triage.cli.commands import _cases, main
from triage.review.change_report import render_html, render_json, render_markdown, render_text, rows
from triage.review.diff import LESS_URGENT, MORE_URGENT, compare
from triage.review.probes import EPSILON, Probe, boundary_probes, default_case_files, load_cases
from triage.review.text_changes import wording_changes
from verification.vignettes import VIGNETTE_DIR

REDNESS_WINDOW = "window = { expected_until = 48, monitor_until = 168 }"
ECZEMA_HERPETICUM = 'symptoms_any = ["cold-sores", "blisters"]\ndisposition = "contact clinician"\nemergency = true\n'
HERPES_GROUPS = {"fever + cold-sores", "fever + blisters"}  # the rule's two symptom sets


def test_probes_visit_every_boundary_of_both_versions(kb: KnowledgeBase, kb_copy: Path) -> None:
    path = kb_copy / "symptoms.toml"
    path.write_text(path.read_text().replace(REDNESS_WINDOW, "window = { expected_until = 60, monitor_until = 168 }"))
    probes = set(boundary_probes(kb, load_knowledge(kb_copy)))
    hours = {(p.symptoms, p.factors, p.worsening): set() for p in probes}
    for p in probes:
        hours[(p.symptoms, p.factors, p.worsening)].add(p.hours)

    for bound in (48, 60, 168, 24):  # old window, new window, monitor bound, severity rule hour
        for severity in ("mild", "moderate", "severe"):
            assert {bound - EPSILON, bound, bound + EPSILON} <= hours[((f"redness:{severity}",), (), False)]
    # Factors that change the window, alone and together, at their own bounds (blood thinners double 336 h).
    assert {72, 168} <= hours[(("swelling:moderate",), ("prp", "rf-microneedling"), False)]
    assert {671.99, 672, 672.01} <= hours[(("bruising:mild",), ("blood-thinners",), False)]
    # Factors a rule names, the getting-worse flag where a rule reads it, and combinations.
    assert 72 - EPSILON in hours[(("itching:mild",), ("cold-sore-history",), False)]
    assert 48 in hours[(("redness:mild",), (), True)]
    assert 48 in hours[(("redness:mild", "warmth:mild", "pain:mild"), (), False)]
    assert Probe(("fever:severe", "spreading-redness:severe", "pain:severe"), 0.0) in probes
    assert Probe(("fever:moderate", "cold-sores:moderate"), 24.0) in probes
    assert Probe(("fever:moderate", "blisters:moderate"), 24.0) in probes
    assert Probe((), 0.0, ("shared-equipment",)) in probes


def test_widening_a_window_changes_exactly_the_reports_in_the_widened_band(kb: KnowledgeBase, kb_copy: Path) -> None:
    path = kb_copy / "symptoms.toml"
    path.write_text(path.read_text().replace(REDNESS_WINDOW, "window = { expected_until = 60, monitor_until = 168 }"))
    wider = load_knowledge(kb_copy)
    diff = compare(kb, wider)

    changed = {c.probe for c in diff.changes if "disposition" in c.changed()}
    # Mild or moderate redness alone, from 48 h up to 60 h, is now expected: unless a factor sets
    # its own redness window (RF) or makes every answer contact clinician (shared equipment), or
    # it is getting worse (contact clinician after 48 h either way).
    band = {
        p
        for p in boundary_probes(kb, wider)
        if p.symptoms in (("redness:mild",), ("redness:moderate",))
        and 48 <= p.hours < 60
        and not p.worsening
        and not {"rf-microneedling", "shared-equipment"} & set(p.factors)
    }
    assert changed == band and len(band) == 2 * 3 * 4  # 2 severities, 48/48.01/59.99, 4 factor sets
    for c in diff.changes:
        if c.probe in band:
            assert c.direction == LESS_URGENT and c.new.disposition == "expected"
            assert "less urgent disposition" in c.sign_off
        else:  # before the band the re-check is later; elsewhere only the rule that fired is renamed
            assert "disposition" not in c.changed() and "emergency" not in c.changed()
            assert c.probe.hours < 60 and any(s.startswith("redness") for s in c.probe.symptoms)
            assert c.sign_off == (("later re-check",) if c.direction == LESS_URGENT else ())
    assert not [c for c in diff.changes if c.direction == MORE_URGENT]
    assert diff.groups()["redness"][LESS_URGENT] > 0 and diff.wordings == ()
    assert diff.summary().startswith(f"{len(diff.changes)} of {diff.compared} reports changed")


def test_identical_knowledge_gives_an_empty_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "shipped", "shipped", "--format", "json", "--fail-on", "less-urgent"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["changes"] == [] and data["wordings"] == [] and data["groups"] == {}
    assert (
        data["reports_compared"] > 8000
        and data["cases_compared"] == sum(len(load_cases(f)) for f in default_case_files())
        and data["cases_compared"] > 0
    )
    assert data["summary"].startswith("No change:")


@pytest.fixture(scope="module")
def no_emergency_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from triage.knowledge.files import default_dir

    target = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(default_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    rules = target / "rules.toml"
    text = rules.read_text()
    assert ECZEMA_HERPETICUM in text
    rules.write_text(
        text.replace(ECZEMA_HERPETICUM, ECZEMA_HERPETICUM.replace("emergency = true\n", ""), 1)
    )  # the first: eczema-herpeticum
    return target


def test_removing_an_emergency_is_flagged_and_fails_the_check(no_emergency_dir: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    args = ["diff", "shipped", str(no_emergency_dir), "--format", "html", "-o", str(page)]
    assert main([*args, "--fail-on", "less-urgent"]) == 1
    text = page.read_text()
    assert "<script" not in text and "http" not in text and "<style>" in text  # one self-contained page
    assert text.index('class="summary"') < text.index("fever + cold-sores")  # the summary comes first
    assert "Sign-off: emergency removed." in text and "contact clinician, EMERGENCY" in text
    assert "A fever with cold sores can be" in text  # both answers with their wordings


def test_every_format_lists_the_sign_off(kb: KnowledgeBase, no_emergency_dir: Path) -> None:
    diff = compare(kb, load_knowledge(no_emergency_dir))
    assert diff.less_urgent and diff.changes and len(diff.sign_off) == len(diff.changes)
    for c in diff.changes:
        assert c.group in HERPES_GROUPS and c.sign_off == ("emergency removed",)
        assert c.old.emergency and not c.new.emergency and c.direction == LESS_URGENT
    assert {c.probe.hours for c in diff.changes} >= {0, 24, 48}
    text, markdown = render_text(diff), render_markdown(diff)
    for group in HERPES_GROUPS:
        n = len([c for c in diff.changes if c.group == group])
        assert n and f"{group}: {n} reports less urgent" in text
    assert "SIGN-OFF (emergency removed) less urgent: fever:mild + cold-sores:mild at" in text
    assert "**SIGN-OFF (emergency removed)** less urgent" in markdown
    assert text.rstrip().endswith(diff.summary()) and markdown.rstrip().endswith(diff.summary())
    assert render_html(diff).count("Sign-off: emergency removed.") == sum(len(rows(diff, g)) for g in HERPES_GROUPS)


def test_a_broken_new_knowledge_base_gives_the_validation_error(
    edit_kb: Callable[[str, str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = edit_kb("symptoms.toml", 'likelihood = "very common"', 'likelihood = "often"')
    assert main(["diff", "shipped", str(broken)]) == 3
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("triage: knowledge base error: ")
    assert re.search(r"symptoms\.toml:\d+: symptom 'redness' \(entry 1\)", err)  # file, line, entry
    assert main(["diff", "shipped", str(broken.parent / "missing")]) == 3
    assert "kb.toml: file: not found" in capsys.readouterr().err


def test_patient_wordings_are_compared_side_by_side(kb: KnowledgeBase, kb_copy: Path) -> None:
    path = kb_copy / "kb.toml"
    text = path.read_text()
    path.write_text(
        text.replace('patient = "Contact your clinic today."', 'patient = "Phone your clinic today."').replace(
            'nurse = "Same-day clinician review."', 'nurse = "Same-day review by a clinician."'
        )
    )
    changes = wording_changes(kb, load_knowledge(kb_copy))
    assert [(c.where, c.old, c.new) for c in changes] == [
        (
            "kb.toml: header: dispositions.contact-clinician.patient",
            "Contact your clinic today.",
            "Phone your clinic today.",
        )
    ]  # the nurse's wording is not a patient wording


def test_added_symptom_is_newly_answered_and_its_texts_are_listed(kb: KnowledgeBase, kb_copy: Path) -> None:
    add_symptom(kb_copy)
    added = load_knowledge(kb_copy)
    diff = compare(added, kb)  # the other way round: the symptom is removed
    assert {c.group for c in diff.changes} == {"puffy-eyes"}
    assert all(c.direction == LESS_URGENT and c.sign_off == ("no longer answered",) for c in diff.changes)
    assert all("unknown symptom 'puffy-eyes'" in (c.new.refused or "") for c in diff.changes)
    assert {w.entry for w in diff.wordings} == {"symptom 'puffy-eyes'"} and all(w.new is None for w in diff.wordings)


def test_vignettes_ship_with_the_package_and_a_missing_default_is_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = {p.name: p.read_bytes() for p in default_case_files()}
    assert set(shipped) == {"public.toml", "public-v2.toml", "public-v3.toml"}
    # the package's copies are the repository's one copy of the public vignettes
    assert {p.parent.resolve() for p in default_case_files()} == {VIGNETTE_DIR.resolve()}
    assert len(load_cases(default_case_files()[0])) == 37

    monkeypatch.setattr("triage.cli.commands.default_case_files", lambda: [])
    notes: list[str] = []
    assert _cases((), notes) == [] and "not found" in notes[0]


def test_bad_case_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "cases.toml"
    bad.write_text('[[case]]\nid = "X1"\nsymptoms = ["redness"]\n')
    assert main(["diff", "shipped", "shipped", "--cases", str(bad)]) == 2
    assert "X1: needs symptoms (a list) and hours" in capsys.readouterr().err
    assert main(["diff", "shipped", "shipped", "--cases", str(bad.parent / "none.toml")]) == 2
    assert "none.toml: cannot read the cases" in capsys.readouterr().err


HOSTILE_WORDING = "Phone <!-- hidden --> your | clinic `today` \u202eeno\u202c *now*\n  new: (none)"


def test_every_format_shows_knowledge_texts_as_text(kb: KnowledgeBase, kb_copy: Path) -> None:
    """Issue 34, finding 6: a knowledge text is shown as itself, never as markup, in every format."""
    path = kb_copy / "kb.toml"
    path.write_text(
        path.read_text().replace('patient = "Contact your clinic today."', f"patient = {json.dumps(HOSTILE_WORDING)}")
    )
    diff = compare(kb, load_knowledge(kb_copy))
    assert [w.new for w in diff.wordings] == [HOSTILE_WORDING]

    markdown = render_markdown(diff)
    row = next(line for line in markdown.splitlines() if "dispositions.contact-clinician.patient" in line)
    assert "<!--" not in markdown and "&lt;!-- hidden --&gt;" in row  # no comment to hide the rows after it
    assert r"your \| clinic \`today\`" in row and r"\*now\*" in row  # no extra cell, no code span, no emphasis
    assert row.count(" | ") == 2 and row.startswith("| ") and row.endswith(" |")  # one row, three cells
    assert "\u202e" not in markdown and r"\\u202e" in row and r"\\n  new: (none)" in row

    text = render_text(diff)
    assert "\u202e" not in text and "\\u202eeno" in text and "\\n  new: (none)" in text  # no forged line
    assert text.count("new: (none)") == 1

    page = render_html(diff)
    assert "<!-- hidden -->" not in page and "&lt;!-- hidden --&gt;" in page and "\u202e" not in page
    assert json.loads(render_json(diff))["wordings"][0]["new"] == HOSTILE_WORDING  # JSON keeps the exact text
