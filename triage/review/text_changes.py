"""Which patient-facing wordings differ between two knowledge bases, old and new side by side.

Every text of the knowledge base is visited as plain data (so new kinds of text are compared
without a change here); texts only nurses or developers read are left out: anything under a
key starting with `nurse`, notes, labels, citations, codes and identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from triage.knowledge.base import KnowledgeBase

NOT_FOR_PATIENTS = {
    "id", "source", "note", "label", "reference", "snomed", "kind", "for_each", "finding", "disposition",
    "severity", "group", "likelihood", "always", "version", "digest", "symptom", "symptoms",
    "symptoms_all", "symptoms_any", "factors",
}  # fmt: skip
_IDENTIFIER = re.compile(r"^[a-z0-9:-]*$")


@dataclass(frozen=True)
class WordingChange:
    """One patient-facing text that was added, removed or reworded."""

    file: str
    entry: str  # "symptom 'redness'"
    field: str  # "reasons.monitor"
    old: str | None  # None: added
    new: str | None  # None: removed

    @property
    def where(self) -> str:
        return f"{self.file}: {self.entry}: {self.field}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "entry": self.entry, "field": self.field, "old": self.old, "new": self.new}


def _texts(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            key = str(k)
            if key in NOT_FOR_PATIENTS or key.startswith("nurse"):
                continue
            yield from _texts(v, f"{path}.{key}" if path else key)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value, 1):
            yield from _texts(v, f"{path}[{i}]")
    elif isinstance(value, str) and not _IDENTIFIER.match(value):
        yield path, value


def _entries(kb: KnowledgeBase) -> dict[tuple[str, str], dict[str, str]]:
    """(file, entry) -> {field: text} for every patient-facing text."""
    entries: dict[tuple[str, str], dict[str, Any]] = {("kb.toml", "header"): kb.header.model_dump()}
    entries |= {("symptoms.toml", f"symptom {k!r}"): v.model_dump() for k, v in kb.symptoms.items()}
    entries |= {("factors.toml", f"factor {k!r}"): v.model_dump() for k, v in kb.factors.items()}
    entries |= {("rules.toml", f"rule {k!r}"): v.model_dump() for k, v in kb.rules.items()}
    return {key: dict(_texts(data)) for key, data in entries.items()}


def wording_changes(old: KnowledgeBase, new: KnowledgeBase) -> list[WordingChange]:
    """Every patient-facing text that differs, in file and entry order."""
    before, after = _entries(old), _entries(new)
    out = []
    for key in [*before, *(k for k in after if k not in before)]:
        a, b = before.get(key, {}), after.get(key, {})
        for name in [*a, *(f for f in b if f not in a)]:
            if a.get(name) != b.get(name):
                out.append(WordingChange(key[0], key[1], name, a.get(name), b.get(name)))
    return out
