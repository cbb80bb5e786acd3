"""Loose modes on what the app keeps health data in (issue 34, finding 7): at start-up the
instance folder is made 0700 and the SQLite database's files 0600, or the app refuses to start
and says which command fixes them."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.support import MakeApp
from web.config import ConfigError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose_instance(tmp_path: Path) -> Path:
    """An instance folder and database left by an older version: open to the group and others."""
    instance = tmp_path / "instance"
    instance.mkdir()
    database = instance / "triage.sqlite3"
    database.touch()
    Path(f"{database}-wal").touch()
    os.chmod(instance, 0o755)
    os.chmod(database, 0o644)
    os.chmod(f"{database}-wal", 0o666)
    return instance


def test_loose_instance_folder_and_database_are_tightened_at_start_up(tmp_path: Path, make_app: MakeApp) -> None:
    instance = loose_instance(tmp_path)
    make_app(DATABASE_URL=None, INSTANCE_PATH=str(instance))
    assert mode(instance) == 0o700
    assert mode(instance / "triage.sqlite3") == 0o600
    for side in instance.glob("triage.sqlite3-*"):
        assert mode(side) == 0o600, side


def test_a_loose_database_named_in_database_url_is_tightened(tmp_path: Path, make_app: MakeApp) -> None:
    database = tmp_path / "records.sqlite3"
    database.touch()
    os.chmod(database, 0o664)
    make_app(DATABASE_URL=f"sqlite:///{database}")
    assert mode(database) == 0o600


def test_modes_that_cannot_be_changed_stop_the_start_up_naming_the_command(
    tmp_path: Path, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's file (here: chmod refused) is not left open: the app does not start, and
    says which command fixes it."""
    instance = loose_instance(tmp_path)

    def refused(path: Any, new: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    monkeypatch.setattr(os, "chmod", refused)
    with pytest.raises(ConfigError) as refusal:
        make_app(DATABASE_URL=None, INSTANCE_PATH=str(instance))
    message = str(refusal.value)
    assert f"`chmod 700 {instance}`" in message
    assert "0755" in message and "Operation not permitted" in message
