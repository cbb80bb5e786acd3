"""gunicorn as a test server: started in the repository root (so it reads gunicorn.conf.py)
on a free loopback port, with production settings. What the gunicorn test modules share; a
gunicorn that does not start is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import DATA_KEY, REPO

ENV = {
    "TRIAGE_ENV": "production",
    "SECRET_KEY": "k" * 64,
    "DATA_KEY": DATA_KEY,
    "SESSION_COOKIE_SECURE": "false",
    "RATELIMIT_ENABLED": "false",
    # Production serves CDS Hooks only for trusted EHRs: one, whose public key (its private half
    # was never kept) is in tests/ehr_jwks.json, so the discovery document is served.
    "CDS_HOOKS_ISSUERS": json.dumps({"https://ehr.test": str(REPO / "tests" / "ehr_jwks.json")}),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_gunicorn(
    log: Path,
    extra_env: dict[str, str] | None = None,
    wait: float = 60,
    args: tuple[str, ...] = ("-w", "2", "--timeout", "60"),
) -> Server:
    """gunicorn in the repository root, so it reads gunicorn.conf.py; `args` override it."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if gunicorn is None:
        pytest.fail("gunicorn is not installed in this environment (it is a dependency of the app)")
    port = free_port()
    inherited = ("TRIAGE_", "RATELIMIT_", "LOG_", "WEB_CONCURRENCY", "REQUEST_BODY_TIMEOUT", "GUNICORN_CMD_ARGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update(ENV, PYTHONPATH=str(REPO), **(extra_env or {}))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [gunicorn, *args, "-b", f"127.0.0.1:{port}", "web:create_app()"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, port, log)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return server  # exited: the caller decides whether that was expected
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    server.stop()
    pytest.fail(f"gunicorn did not answer /healthz within {wait} s: {log.read_text()[-500:]}")


def worker_pids(master: int) -> list[int] | None:
    """The master's child processes (Linux), or None where /proc cannot tell."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else None
