"""The knowledge base's content digest, and whether its content is the content that was released.

A version is a name a person chose; the digest is computed from what the files say. The digest
covers the parsed content of every knowledge file (so comments, spacing and key order do not
count, and `48` and `48.0` are the same number) except `version` and `digest` in kb.toml,
which name the content rather than being part of it. `triage release` records the digest
beside the version; the loader compares them (knowledge.load_knowledge).

The last release is kept, file for file, in the knowledge directory's `released/` folder: the
baseline for `triage release`'s change report and for saying what changed since.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from triage.knowledge.files import FILES, translation_files

DIGEST_PREFIX = "sha256:"
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
RELEASED_DIR = "released"  # inside a knowledge directory: the files of its last release
NAMING_KEYS = ("version", "digest")  # kb.toml keys that name the content and are not hashed
ENV_VAR = "TRIAGE_ENV"  # "production" makes the loader refuse unreleased content


class UnreleasedKnowledge(Exception):
    """The knowledge base's content does not match the digest recorded with its version."""


def production_requested(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process was told explicitly it is production ($TRIAGE_ENV=production).

    The web app decides from its own configuration instead (web.config), which treats a
    server started outside `flask run` as production.
    """
    env = os.environ if env is None else env
    return env.get(ENV_VAR, "").strip().lower() == "production"


def _normal(value: Any) -> Any:
    """A JSON-ready form in which equal TOML values are equal (48 == 48.0, dates as text)."""
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)  # TOML dates and times


def hashed_content(files: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The parsed files as the digest sees them: normalised, without the naming keys."""
    content = {name: _normal(data) for name, data in files.items()}
    if "kb.toml" in content:
        content["kb.toml"] = {k: v for k, v in content["kb.toml"].items() if k not in NAMING_KEYS}
    return content


def content_digest(files: Mapping[str, Mapping[str, Any]]) -> str:
    """'sha256:<hex>' of the parsed knowledge files (file name -> parsed TOML)."""
    text = json.dumps(hashed_content(files), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DIGEST_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_files(directory: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Parse the knowledge files of a directory that may not load (missing files are left out)."""
    out = {}
    for name in (*FILES, *translation_files(Path(directory))):
        path = Path(directory) / name
        if path.is_file():
            with path.open("rb") as fh:
                out[name] = tomllib.load(fh)
    return out


def short(digest: str) -> str:
    """The first 12 hex digits, for people: enough to tell releases apart."""
    return digest.removeprefix(DIGEST_PREFIX)[:12] if digest else "none"


# --- what changed -----------------------------------------------------------------------


def _entries(data: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """A file's entries, each named as a person finds it: `symptom 'redness'`, `dispositions`."""
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) and "id" in v for v in value):
            for v in value:
                yield f"{key} {v['id']!r}", v
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for i, v in enumerate(value, 1):
                yield f"{key} entry {i}", v
        else:
            yield key, value


def changed_entries(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Which entries differ between two parsed knowledge bases, e.g. "symptoms.toml: symptom 'redness' changed"."""
    old_c, new_c = hashed_content(old), hashed_content(new)
    lines = []
    for name in sorted(set(old_c) | set(new_c)):
        before, after = dict(_entries(old_c.get(name, {}))), dict(_entries(new_c.get(name, {})))
        for entry in [*before, *(e for e in after if e not in before)]:
            if entry not in after:
                lines.append(f"{name}: {entry} removed")
            elif entry not in before:
                lines.append(f"{name}: {entry} added")
            elif before[entry] != after[entry]:
                lines.append(f"{name}: {entry} changed")
    return lines


def release_problem(directory: str | os.PathLike[str], version: str, recorded: str | None, digest: str) -> str | None:
    """None when the content is what was released under `version`; else what changed and what to do."""
    if recorded == digest:
        return None
    released = Path(directory) / RELEASED_DIR
    if recorded is None:
        problem = f"knowledge base {version} has no digest: it was never released"
    else:
        problem = (
            f"the content of knowledge base {version} has changed since it was released "
            f"(digest {short(recorded)} recorded, {short(digest)} now)"
        )
    if released.is_dir():
        try:
            changes = changed_entries(read_files(released), read_files(directory))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            changes = []
        if changes:
            problem += "; changed since the last release: " + "; ".join(changes)
    baseline = released if released.is_dir() else "PREVIOUS_KNOWLEDGE_DIR"
    return (
        f"{problem}. Review the change with `triage diff {baseline} {directory}`, "
        f"then release it with `triage --kb {directory} release NEW_VERSION`"
    )
