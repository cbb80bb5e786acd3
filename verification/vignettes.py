"""The public clinical vignettes, read from the repository's one copy: triage/review/vignettes/.

That folder ships with the package (`triage diff` asks about its cases). The copies come from
the clinical team's shared folder (`../shared/vignettes/`); the origin
is noted in triage/review/vignettes/README.md and tests/test_vignette_copies.py fails when a copy
drifts from its source while that folder sits beside the repository."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VIGNETTE_DIR = REPO / "triage" / "review" / "vignettes"
VIGNETTE_FILES = ("public.toml", "public-v2.toml", "public-v3.toml")


def load_vignettes(*names: str) -> list[dict[str, Any]]:
    """The cases of the named files (default: every policy version, 58 cases), in file order."""
    cases: list[dict[str, Any]] = []
    for name in names or VIGNETTE_FILES:
        with (VIGNETTE_DIR / name).open("rb") as fh:
            cases += tomllib.load(fh)["case"]
    return cases
