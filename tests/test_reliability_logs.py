"""Log hygiene: assessing reports writes no symptom, factor or answer text to any log.

Symptoms are health data. This captures everything a process could log while assessing:
a handler at DEBUG on the root logger and on every logger that exists (experta's included,
even though they do not propagate), plus the process's stdout/stderr file descriptors, and
in a separate interpreter with `logging.basicConfig(level=DEBUG)` set before triage is
imported. Then it looks for every symptom id, factor id and piece of answer text used.
The request-log side (method, path, status, time only) is in tests/test_reliability_web.py.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest

from tests.support import REPO
from triage import Assessor, InvalidReport, KnowledgeBase
from triage.cli.commands import main as cli_main

# Varied reports: red flags, emergencies, combinations, factors, worsening, invalid input.
REPORTS: list[dict[str, Any]] = [
    {"symptoms": ["redness:mild", "swelling"], "hours": 30, "factors": ["prp"]},
    {"symptoms": ["pain:severe"], "hours": 36, "factors": ["diabetes"], "worsening": True},
    {"symptoms": ["lip-tongue-swelling", "hives", "breathing-difficulty"], "hours": 0.5},
    {"symptoms": ["cold-sores", "fever"], "hours": 72, "factors": ["cold-sore-history", "immunosuppressed"]},
    {"symptoms": ["darkening", "bruising:severe"], "hours": 400, "factors": ["darker-skin", "isotretinoin"]},
    {"symptoms": ["pus", "spreading-redness", "warmth"], "hours": 60, "factors": ["shared-equipment"]},
    {"symptoms": ["lumps", "track-marks", "dent"], "hours": 2000, "factors": ["rf-microneedling"]},
    {"symptoms": ["numbness", "swollen-glands", "rash", "blisters"], "hours": 5, "factors": ["blood-thinners"]},
    {"symptoms": ["itching", "flaking", "tightness", "burning", "sensitivity", "breakout"], "hours": 100},
    {"symptoms": ["pinpoint-bleeding"], "hours": 1},
    # invalid: the error message names the bad value; it is raised, never logged
    {"symptoms": ["redness", "secret-symptom-xyz"], "hours": 1},
    {"symptoms": ["fever"], "hours": float("nan"), "factors": ["diabetes"]},
    {"symptoms": ["pain"], "hours": 1, "factors": ["hidden-factor-xyz"]},
]


def sensitive_words(kb: KnowledgeBase, answers: list[dict[str, Any]]) -> list[str]:
    """Every symptom and factor id, the invalid values above, and every text of the answers given."""
    words = set(kb.symptoms) | set(kb.factors) | {"secret-symptom-xyz", "hidden-factor-xyz"}
    words |= {kb.symptoms[s].name for s in kb.symptoms}
    for answer in answers:
        words |= set(answer["advice"]) | {answer["summary"]}
        words |= {f["reason"] for f in answer["findings"]} | {f["rule"] for f in answer["findings"]}
    return sorted(words)


def leaks(text: str, words: list[str]) -> list[str]:
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, flags=re.IGNORECASE)]


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def capture_all_logs() -> Iterator[Capture]:
    """A handler on the root logger at DEBUG and directly on every known logger (experta's too)."""
    handler = Capture()
    root = logging.getLogger()
    loggers = [root] + [
        logging.getLogger(name)
        for name, obj in logging.Logger.manager.loggerDict.items()
        if isinstance(obj, logging.Logger)
    ]
    old_level = root.level
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(old_level)


def assess_all(assessor: Assessor) -> list[dict[str, Any]]:
    answers = []
    for report in REPORTS:
        with suppress(InvalidReport):
            answers.append(assessor.assess(**report).to_dict())
    return answers


def test_capture_sees_a_canary() -> None:
    """The capture itself works: a debug record from a library logger is seen."""
    with capture_all_logs() as captured:
        logging.getLogger("some.library").debug("canary %s", "bird")
    assert any("canary" in line for line in captured.lines)


def test_assessing_logs_no_health_data(kb: KnowledgeBase, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    with capture_all_logs() as captured:
        answers = assess_all(Assessor(kb))  # a fresh engine: construction is captured too
    out, err = capfd.readouterr()
    assert len(answers) == 10
    words = sensitive_words(kb, answers)
    assert leaks("\n".join(captured.lines), words) == []
    assert leaks(out + err, words) == []


def test_cli_logs_nothing_besides_its_output(kb: KnowledgeBase, capfd: pytest.CaptureFixture[str]) -> None:
    """The CLI prints the answer on stdout (its job) and nothing at all through logging."""
    with capture_all_logs() as captured:
        assert cli_main(["check", "pus", "fever", "--hours", "60", "--factor", "diabetes", "--json"]) == 0
        assert cli_main(["check", "secret-symptom-xyz", "--hours", "1"]) == 2
    capfd.readouterr()
    assert captured.lines == []


def test_fresh_interpreter_with_debug_logging_configured_first_logs_nothing(kb: KnowledgeBase) -> None:
    """An operator who turns on DEBUG logging before importing triage still gets no health data."""
    code = textwrap.dedent(
        """
        import json, logging, sys, warnings
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(message)s %(args)s")
        warnings.simplefilter("always")
        from triage import InvalidReport, assess
        reports = json.loads(sys.argv[1])
        answers = []
        for r in reports:
            try:
                answers.append(assess(**r).to_dict())
            except InvalidReport:
                pass
        logging.getLogger("canary").debug("canary-line")
        sys.stdout.write(json.dumps(answers))
        """
    )
    reports = json.dumps([r for r in REPORTS if r["hours"] == r["hours"]])  # JSON has no NaN
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", code, reports], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "canary-line" in done.stderr  # logging was really on
    answers = json.loads(done.stdout)
    assert len(answers) == 10
    stderr = done.stderr.replace("canary canary-line ()", "")
    assert leaks(stderr, sensitive_words(kb, answers)) == []
