"""What several test modules need and no test module should import from another: the
repository path, the test nurse, and skipping that turns into failing in CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from verification.vignettes import REPO

__all__ = ["NURSE", "REPO", "unavailable"]

NURSE = ("nurse.jones", "correct horse battery")


def unavailable(reason: str) -> NoReturn:
    """Skip, saying why, on a developer's machine; fail in CI (CI=true), where every service and
    tool the tests need is installed and started by .ci/run, so a skip would hide a failure."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI=true: .ci/run provides this, so it must not be skipped)")
    pytest.skip(reason)
