"""Which files make up a knowledge directory, and where the shipped one is.

Read by the loader, the digest and the release tool alike, so each of them lists the same files.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

FILES = ("kb.toml", "symptoms.toml", "factors.toml", "rules.toml")
KNOWLEDGE_DIR_ENV = "TRIAGE_KNOWLEDGE_DIR"
TRANSLATION_DIR = "i18n"  # inside a knowledge directory: one <lang>.toml per language


def default_dir() -> Path:
    """The knowledge directory: $TRIAGE_KNOWLEDGE_DIR, else the one shipped with the package."""
    if env := os.environ.get(KNOWLEDGE_DIR_ENV):
        return Path(env)
    return Path(str(resources.files("knowledge")))


def translation_files(directory: Path) -> list[str]:
    """The translation files of a knowledge directory, as names relative to it ("i18n/es.toml")."""
    folder = directory / TRANSLATION_DIR
    if not folder.is_dir():
        return []
    return [f"{TRANSLATION_DIR}/{p.name}" for p in sorted(folder.glob("*.toml"))]
