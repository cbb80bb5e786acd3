"""experta imports on this Python, and neither it nor the engine logs health data."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap


def test_import_in_a_fresh_interpreter_leaves_root_logging_alone() -> None:
    code = textwrap.dedent(
        """
        import logging
        from triage import assess
        assert assess(["redness:mild"], 6).disposition.value == "expected"
        print(len(logging.getLogger().handlers))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"  # experta's import-time basicConfig() handler was removed
    assert done.stderr == ""


def test_experta_watchers_are_silenced() -> None:
    from triage.engine import _compat

    watchers = _compat.experta.watchers

    for name in watchers.ALL:
        logger = getattr(watchers, name)
        assert not logger.isEnabledFor(logging.CRITICAL)
        assert logger.propagate is False


def test_assessing_logs_nothing(caplog) -> None:
    from triage import assess

    with caplog.at_level(logging.DEBUG):
        assess(["fever", "pus", "redness:severe"], 30, ["diabetes"], worsening=True)
    assert caplog.records == []
