"""How many slow clients a server survives: `python -m benchmarks.slow_clients` (RESULTS.md).

gunicorn with gunicorn.conf.py as shipped (or `--worker-class gthread` for the threaded workers
it shipped before issue 34) on 127.0.0.1, rate limits on (memory://; the API budget raised so the
probes are never refused). Slow clients from one
address send one byte every 2 s, half of them trickling a request head, half a body; one the
server cuts off (its deadline) opens again at once. For each number of slow clients, doubling,
/healthz and a real report (POST /api/v1/assess) are timed every half second for `--seconds`:
the server survives while /healthz always answers within 1 s and the report within 2 s (the
targets of issue 34). A benchmark, not a test: the figures go in RESULTS.md with the machine and
date (tests/test_slow_clients.py checks 200 in CI).
"""

from __future__ import annotations

import argparse
import http.client
import json
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.http import free_port, server_env, wait_healthy

REPO = Path(__file__).resolve().parent.parent
BYTE_EVERY = 2.0  # seconds between two bytes of one slow client
REPORT = json.dumps({"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30}).encode()
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "  # then one byte at a time, never ending
SLOW_BODY = b"POST /api/v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"


class SlowClients:
    """`count` connections, half trickling a head and half a body, one byte each every
    BYTE_EVERY seconds; one the server closes is opened again. Counts what the server did."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.selector = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.opened_at = [0.0] * count
        self.lifetimes: dict[str, list[float]] = {"head": [], "body": []}  # of connections the server closed
        self.fewest_open = count
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, slot: int) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(SLOW_HEAD if slot % 2 == 0 else SLOW_BODY)
        s.setblocking(False)
        self.opened_at[slot] = time.monotonic()
        self.selector.register(s, selectors.EVENT_READ, slot)
        return s

    def _run(self) -> None:
        try:
            sockets = [self._open(i) for i in range(self.count)]
            pause = BYTE_EVERY / self.count
            while not self.stop.is_set():
                for slot in range(self.count):
                    if self.stop.is_set():
                        break
                    for key, _ in self.selector.select(timeout=0):
                        self._closed_by_server(key.fileobj, sockets, key.data)  # type: ignore[arg-type]
                    try:
                        sockets[slot].send(b"a" if slot % 2 == 0 else b" ")
                    except OSError:
                        self._closed_by_server(sockets[slot], sockets, slot)
                    time.sleep(pause)
                self.fewest_open = min(self.fewest_open, len(self.selector.get_map()))
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            for key in list(self.selector.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]

    def _closed_by_server(self, s: socket.socket, sockets: list[socket.socket], slot: int) -> None:
        """The server answered (a 408, often lost to the reset its close causes) or closed:
        note how long it held the connection, and take the slot's place again."""
        self.lifetimes["head" if slot % 2 == 0 else "body"].append(time.monotonic() - self.opened_at[slot])
        self.selector.unregister(s)
        s.close()
        sockets[slot] = self._open(slot)


def timed(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, float]:
    """One request on a new connection: its status and how long it took."""
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - began
    finally:
        conn.close()


def probe(port: int, seconds: float) -> tuple[float, float, int]:
    """/healthz and a report, every half second for `seconds`: the slowest of each, and failures
    (an error, a status other than 200, or a wait over 10 s)."""
    health = reports = 0.0
    failed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for method, path, body in (("GET", "/healthz", None), ("POST", "/api/v1/assess", REPORT)):
            try:
                status, took = timed(port, method, path, body)
            except OSError:
                status, took = 0, 10.0
            failed += status != 200
            if path == "/healthz":
                health = max(health, took)
            else:
                reports = max(reports, took)
        time.sleep(0.5)
    return health, reports, failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker-class", default=None, help="gunicorn -k (default: gunicorn.conf.py's)")
    ap.add_argument("--threads", type=int, default=32, help="threads per worker with gthread")
    ap.add_argument("--seconds", type=float, default=12, help="seconds of probes at each number")
    ap.add_argument("--start", type=int, default=200)
    ap.add_argument("--most", type=int, default=3200)
    o = ap.parse_args()
    port = free_port()
    env = server_env(RATELIMIT_ENABLED="true", TRIAGE_ENV="production", SESSION_COOKIE_SECURE="false")
    env["RATELIMIT_API"] = "100000 per minute"  # the probes are not limited
    args = ["-k", o.worker_class, "--threads", str(o.threads)] if o.worker_class else []
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "gunicorn.log", "wb") as log:
        env["INSTANCE_PATH"] = tmp
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *args, "-b", f"127.0.0.1:{port}", "web:create_app()"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}")
            print("| slow clients | slowest /healthz (s) | slowest report (s) | failed | survived |")
            print("|---:|---:|---:|---:|---|")
            count, survived = o.start, 0
            while count <= o.most:
                clients = SlowClients(port, count)
                clients.thread.start()
                try:
                    time.sleep(2 * BYTE_EVERY)
                    health, report, failed = probe(port, o.seconds)
                finally:
                    clients.stop.set()
                    clients.thread.join(timeout=60)
                ok = not failed and not clients.errors and health < 1 and report < 2
                note = "yes" if ok else "no" + (f" ({clients.errors[0]!r})" if clients.errors else "")
                print(f"| {count} | {health:.2f} | {report:.2f} | {failed} | {note} |", flush=True)
                if not ok:
                    break
                survived = count
                count *= 2
                time.sleep(BYTE_EVERY * 5)  # the server closes what is left of them
            print(f"\nmost slow clients survived: {survived} (of those tried: {o.start} doubling to {o.most})")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
