"""Versions that cannot lie: the content digest beside the version, the loader's check, `triage release`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import DATA_KEY, MakeApp
from triage import Assessor, KnowledgeError, load_knowledge
from triage.cli.commands import main
from triage.knowledge.digest import RELEASED_DIR, changed_entries, read_files
from triage.knowledge.files import default_dir

REDNESS_WINDOW = "window = { expected_until = 48, monitor_until = 168 }"
WIDER_REDNESS = "window = { expected_until = 60, monitor_until = 168 }"


def test_shipped_knowledge_is_the_released_content() -> None:
    kb = load_knowledge(require_release=False)
    assert kb.unreleased is None, (
        "knowledge/ has changed since its last release. If the change has been reviewed, release it: "
        "`triage diff knowledge/released knowledge`, then `triage release NEW_VERSION` "
        "(it sets version and digest in kb.toml and writes knowledge/changes/NEW_VERSION.md; add --no-diff "
        "when this software cannot read the previous release, after a knowledge-format change). "
        f"Loader says: {kb.unreleased}"
    )
    released = default_dir() / RELEASED_DIR
    assert changed_entries(read_files(released), read_files(default_dir())) == [], "knowledge/released/ is stale"
    assert load_knowledge(released).version == kb.version
    assert (default_dir() / "changes" / f"{kb.version}.md").is_file()


def test_digest_ignores_comments_and_number_spelling_but_not_content(edit_kb: Callable[[str, str, str], Path]) -> None:
    shipped = load_knowledge()
    kb_copy = edit_kb("symptoms.toml", REDNESS_WINDOW, "window = { expected_until = 48.0, monitor_until = 168 }  # x")
    same = load_knowledge(kb_copy)
    assert same.digest == shipped.digest and same.unreleased is None

    edit_kb("symptoms.toml", "expected_until = 48.0,", "expected_until = 60,")
    edited = load_knowledge(kb_copy)
    assert edited.digest != shipped.digest and edited.digest.startswith("sha256:")
    assert edited.version == shipped.version
    assert "symptoms.toml: symptom 'redness' changed" in (edited.unreleased or "")
    assert "release NEW_VERSION" in (edited.unreleased or "")


def test_production_refuses_content_that_no_longer_matches_its_digest(
    edit_kb: Callable[[str, str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    kb_copy = edit_kb("symptoms.toml", REDNESS_WINDOW, WIDER_REDNESS)
    with pytest.raises(KnowledgeError) as refused:
        load_knowledge(kb_copy, require_release=True)
    assert refused.value.file == str(kb_copy / "kb.toml") and refused.value.entry == "digest"
    assert "symptom 'redness' changed" in refused.value.problem

    monkeypatch.setenv("TRIAGE_ENV", "production")
    with pytest.raises(KnowledgeError):
        load_knowledge(kb_copy)
    load_knowledge()  # the shipped content is released

    monkeypatch.setenv("TRIAGE_ENV", "development")
    kb = load_knowledge(kb_copy)
    answer = Assessor(kb).assess(["redness:mild"], 50)
    assert answer.kb_version == kb.version and answer.kb_digest == kb.digest != kb.header.digest
    assert answer.to_dict()["kb_digest"] == kb.digest


def test_production_app_will_not_start_on_unreleased_knowledge(
    edit_kb: Callable[[str, str, str], Path], monkeypatch: pytest.MonkeyPatch, make_app: MakeApp
) -> None:
    from web import create_app

    kb_copy = edit_kb("symptoms.toml", REDNESS_WINDOW, WIDER_REDNESS)
    monkeypatch.delenv("TRIAGE_ENV", raising=False)  # outside `flask run` the app is production
    with pytest.raises(KnowledgeError, match="digest"):
        create_app({"SECRET_KEY": "x" * 32, "DATA_KEY": DATA_KEY, "KNOWLEDGE_DIR": str(kb_copy)})
    app = make_app(KNOWLEDGE_DIR=str(kb_copy))
    assert app.test_client().get("/healthz").get_json()["kb_digest"] == load_knowledge(kb_copy).digest


def test_validate_says_what_changed_and_how_to_release(
    edit_kb: Callable[[str, str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate"]) == 0
    assert "released: digest sha256:" in capsys.readouterr().out

    kb_copy = edit_kb("symptoms.toml", REDNESS_WINDOW, WIDER_REDNESS)
    assert main(["validate", str(kb_copy)]) == 0
    out = capsys.readouterr().out
    assert "not released (production refuses it)" in out
    assert "symptoms.toml: symptom 'redness' changed" in out
    assert f"triage diff {kb_copy / RELEASED_DIR} {kb_copy}" in out and "release NEW_VERSION" in out

    assert main(["--kb", str(kb_copy), "check", "redness:mild", "--hours", "50", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["kb_digest"] == load_knowledge(kb_copy).digest
    assert err.startswith("triage: note: answering from unreleased content") and err.count("\n") == 1


def test_release_sets_version_and_digest_and_writes_the_change_report(
    edit_kb: Callable[[str, str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    previous = load_knowledge()
    kb_copy = edit_kb("symptoms.toml", REDNESS_WINDOW, WIDER_REDNESS)
    comments = (kb_copy / "kb.toml").read_text().count("#")

    assert main(["--kb", str(kb_copy), "release", "2099.01.01-1"]) == 0
    out = capsys.readouterr().out
    assert "released 2099.01.01-1" in out and f"previous: {previous.version}" in out

    kb = load_knowledge(kb_copy, require_release=True)
    assert kb.version == "2099.01.01-1" and kb.header.digest == kb.digest and kb.unreleased is None
    assert (kb_copy / "kb.toml").read_text().count("#") >= comments - 1  # only the old version's comment goes
    assert load_knowledge(kb_copy / RELEASED_DIR).digest == kb.digest

    report = (kb_copy / "changes" / "2099.01.01-1.md").read_text()
    assert f"{previous.version} -> 2099.01.01-1" in report
    assert "## redness:" in report and "SIGN-OFF (less urgent disposition)" in report
    assert "redness:mild at 48, 48.01, 59.99 h" in report

    # The same content cannot be released again, nor new content under the previous name.
    assert main(["--kb", str(kb_copy), "release", "2099.01.01-2"]) == 2
    assert "nothing to release" in capsys.readouterr().err
    path = kb_copy / "symptoms.toml"
    path.write_text(path.read_text().replace(WIDER_REDNESS, REDNESS_WINDOW, 1))
    assert main(["--kb", str(kb_copy), "release", "2099.01.01-1"]) == 2
    assert "names the previous release" in capsys.readouterr().err
    assert main(["--kb", str(kb_copy), "release", 'bad "version']) == 2
    assert "must be 1 to 40 letters" in capsys.readouterr().err


def test_release_after_a_knowledge_format_change_needs_no_diff(
    edit_kb: Callable[[str, str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kb_copy = edit_kb("symptoms.toml", REDNESS_WINDOW, WIDER_REDNESS)
    previous = kb_copy / RELEASED_DIR / "symptoms.toml"  # a format this software no longer reads
    previous.write_text(previous.read_text().replace(REDNESS_WINDOW, REDNESS_WINDOW + '\nonset = "later"', 1))

    assert main(["--kb", str(kb_copy), "release", "2099.02.01-1"]) == 2
    assert "cannot be read by this version of the software" in capsys.readouterr().err
    assert load_knowledge(kb_copy).unreleased  # nothing was changed

    assert main(["--kb", str(kb_copy), "release", "2099.02.01-1", "--no-diff"]) == 0
    assert "No comparison: the previous release cannot be read" in capsys.readouterr().out
    assert load_knowledge(kb_copy, require_release=True).version == "2099.02.01-1"
