"""What several test modules need and no test module should import from another: the
repository path, the test nurse, skipping that turns into failing in CI, the web app in testing
mode, and the shipped knowledge base for what a module needs while it is collected."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, NoReturn

import pytest
from flask import Flask

from triage import KnowledgeBase, load_knowledge
from verification.vignettes import REPO

__all__ = [
    "DATA_KEY",
    "NURSE",
    "PROFILE",
    "REPO",
    "TESTING_CONFIG",
    "MakeApp",
    "build_app",
    "shipped_kb",
    "unavailable",
]

NURSE = ("nurse.jones", "correct horse battery")
# A clinic profile: its name, numbers and emergency number on the patient pages.
PROFILE = """\
name = "Clínica Piel Sana"
phone = "+34 910 123 456"
out_of_hours = "+34 600 123 456"
emergency_number = "112"
country = "ES"
timezone = "Europe/Madrid"
languages = ["en", "es"]
"""
# A valid Fernet key for the production apps the tests start (production refuses to start without one).
DATA_KEY = "A" * 43 + "="


def unavailable(reason: str) -> NoReturn:
    """Skip, saying why, on a developer's machine; fail in CI (CI=true), where every service and
    tool the tests need is installed and started by .ci/run, so a skip would hide a failure."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI=true: .ci/run provides this, so it must not be skipped)")
    pytest.skip(reason)


# What every test app is started with: testing mode, no rate limit unless a test turns it on, and
# request logging on (so every test that calls the app also runs the logging code).
TESTING_CONFIG: dict[str, Any] = {"TESTING": True, "RATELIMIT_ENABLED": False, "LOG_REQUESTS": True}

MakeApp = Callable[..., Flask]  # the make_app fixture: make_app(RATELIMIT_ENABLED=True) -> Flask


def build_app(**overrides: Any) -> Flask:
    """The web app with TESTING_CONFIG and `overrides`. Tests take the `make_app` fixture
    (tests/conftest.py: this, on a fresh records database, closed after the test); this is for an
    app shared by a whole module or session, which uses DATABASE_URL from the environment
    (the session's shared SQLite file) unless `overrides` names one."""
    from web import create_app

    return create_app(TESTING_CONFIG | overrides)


@functools.cache
def shipped_kb() -> KnowledgeBase:
    """The shipped knowledge base, loaded once per test process. It is the `kb` fixture; a module
    reads it directly only for what it needs while being collected (parametrize lists, hypothesis
    strategies), and its tests take `kb`."""
    return load_knowledge()
