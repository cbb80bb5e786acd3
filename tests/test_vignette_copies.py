"""The repository's vignette copies match the clinical team's originals (when those are beside
the repository), so a policy update to the shared cases is never silently missed."""

from __future__ import annotations

import pytest

from verification.vignettes import REPO, VIGNETTE_DIR, VIGNETTE_FILES, load_vignettes

SHARED_VIGNETTES = REPO.parent / "shared" / "vignettes"


@pytest.mark.parametrize("name", VIGNETTE_FILES)
def test_copy_matches_the_shared_original(name: str) -> None:
    original = SHARED_VIGNETTES / name
    if not original.exists():
        pytest.skip(f"no {original}: a clone on its own has only the copies (the drift check needs ../shared)")
    assert (VIGNETTE_DIR / name).read_bytes() == original.read_bytes(), (
        f"triage/review/vignettes/{name} differs from {original}: copy the new version in and commit it"
    )


def test_copies_have_unique_case_ids() -> None:
    ids = [case["id"] for case in load_vignettes(*VIGNETTE_FILES)]
    assert len(ids) == len(set(ids)) >= 58
