"""A real Redis server for the shared rate-limit tests: the one TRIAGE_TEST_REDIS_URL names, or
one started here from Debian's `redis-server` on a free loopback port (no disk, gone after the
session). Without either the tests skip and say why; under CI (CI=true) they fail instead,
because .ci/run installs redis-server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support import unavailable

REDIS_URL_ENV = "TRIAGE_TEST_REDIS_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_server_binary() -> str:
    """Where redis-server is; else skip saying why, or under CI (CI=true) fail."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable(
            f"no Redis server: redis-server is not installed (Debian: apt-get install redis-server) "
            f"and {REDIS_URL_ENV} is not set"
        )
    return binary


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get(REDIS_URL_ENV)
    if given:
        if not _answers(given):
            pytest.fail(f"{REDIS_URL_ENV}={given} does not answer PING")
        yield given
        return
    binary = redis_server_binary()
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    log = (folder / "redis.log").open("wb")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"redis-server did not start: {(folder / 'redis.log').read_text()[-500:]}")
        time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def fresh_prefix() -> str:
    """A key prefix of its own per test, so tests sharing a server never share counts."""
    return f"triage-test-{uuid.uuid4().hex[:12]}"
