"""`triage release NEW_VERSION`: name reviewed content with a version and its digest.

It writes the change report against the previous release (kept in `<dir>/released/`) to
`<dir>/changes/<NEW_VERSION>.md`, sets `version` and `digest` in kb.toml (the rest of the file,
comments included, is kept as written), and copies the released files to `<dir>/released/`, so
the next edit is compared with this release.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.knowledge.base import KnowledgeBase
from triage.knowledge.digest import RELEASED_DIR, short
from triage.knowledge.files import FILES, translation_files
from triage.knowledge.loader import load_knowledge
from triage.knowledge.schema import KnowledgeError
from triage.review.change_report import render_markdown
from triage.review.diff import compare
from triage.review.probes import Case

CHANGES_DIR = "changes"
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$")
_VERSION_LINE = re.compile(r"^version\s*=.*$", re.MULTILINE)
_DIGEST_LINE = re.compile(r"^digest\s*=.*\n?", re.MULTILINE)


class ReleaseError(ValueError):
    """The release cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Released:
    version: str
    digest: str
    previous: str | None  # the previous release's version, None for the first
    report: Path
    summary: str


def _set_version(kb_toml: Path, version: str, digest: str) -> None:
    """Rewrite only the `version` line and the `digest` line (added right below version)."""
    text = kb_toml.read_text(encoding="utf-8")
    text = _DIGEST_LINE.sub("", text, count=1)
    if not _VERSION_LINE.search(text):
        raise ReleaseError(f"{kb_toml}: no top-level `version = ...` line to set")
    line = f'version = "{version}"\ndigest = "{digest}"  # of the content; set by `triage release`, do not edit'
    kb_toml.write_text(_VERSION_LINE.sub(lambda _: line, text, count=1), encoding="utf-8")


def _previous(baseline: Path, compare_with_it: bool) -> tuple[KnowledgeBase | None, str | None]:
    """The previous release, or None and why there is no comparison with it."""
    if not baseline.is_dir():
        return None, "First release: no previous release was kept to compare with."
    try:
        return load_knowledge(baseline, require_release=False), None
    except KnowledgeError as exc:
        if compare_with_it:
            raise ReleaseError(
                f"the previous release in {baseline} cannot be read by this version of the software ({exc}); "
                "if the knowledge format changed, review the change with the previous software, "
                "then release with --no-diff"
            ) from None
        return None, f"No comparison: the previous release cannot be read by this software ({exc})."


def release(directory: str | Path, version: str, cases: Sequence[Case] = (), *, diff: bool = True) -> Released:
    """Release the knowledge in `directory` as `version` (see the module docstring).

    `diff=False` releases without comparing with a previous release this software cannot read
    (a change of knowledge format); the report then says so.
    """
    d = Path(directory)
    if not VERSION_PATTERN.match(version):
        raise ReleaseError(
            f"version {version!r} must be 1 to 40 letters, digits, '.', '_', '+' or '-', e.g. 2026.12.01-1"
        )
    new = load_knowledge(d, require_release=False)
    baseline = d / RELEASED_DIR
    old, why_not = _previous(baseline, diff)
    if old is not None and old.digest == new.digest and new.unreleased is None:
        raise ReleaseError(f"nothing to release: the content is release {new.version} ({short(new.digest)})")
    if old is not None and version == old.version:
        raise ReleaseError(f"version {version} names the previous release; give the new content a new version")

    reports = d / CHANGES_DIR
    reports.mkdir(exist_ok=True)
    report = reports / f"{version}.md"
    if old is not None:
        changes = compare(old, new, cases)
        summary = changes.summary()
        text = render_markdown(changes)
    else:
        summary = why_not or ""
        text = f"# Knowledge-base release {version}\n\n{summary}\n"
    header = (
        f"<!-- Change report written by `triage release {version}`: "
        f"{old.version if old else 'no previous release'} -> {version} (digest {new.digest}). -->\n"
    )
    report.write_text(header + text, encoding="utf-8")

    _set_version(d / "kb.toml", version, new.digest)
    try:
        released = load_knowledge(d, require_release=True)
    except KnowledgeError as exc:  # pragma: no cover - the rewrite must keep the file valid
        raise ReleaseError(f"kb.toml did not load after setting the version: {exc}") from None
    baseline.mkdir(exist_ok=True)
    for name in (*FILES, *translation_files(d)):
        (baseline / name).parent.mkdir(exist_ok=True)
        shutil.copyfile(d / name, baseline / name)
    return Released(released.version, released.digest, old.version if old else None, report, summary)
