"""The follow-up loop at a large clinic group's scale (issue 31):
`python -m benchmarks.worklist --postgres URL [--records 1000000] [--open 10000] [--n 300]`.

In a scratch schema (dropped after) on PostgreSQL: RECORDS records, each with one entry and a
private link, loaded with COPY; OPEN open worklist items (a third of them call-back requests with
an encrypted number) and nine times as many closed ones; two photos (bytes the size of a
thumbnail and a small JPEG, stored out of line as real ones are) on every fourth record with an
item, so the worklist's photo count per row reads a real table. Then, through the app (Flask test
client, a signed-in nurse): the worklist JSON view, and the patient's link page; and the
link look-up alone (the store's query). Prints p50/p95 and the plans PostgreSQL chose for the
queries the requests actually sent (EXPLAIN ANALYZE), so "no scan" is shown, not assumed.
Nothing is asserted; the figures go in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import event

from benchmarks.records import _ms, _timed
from web import create_app
from web.storage import followups, store
from web.storage.codes import ALPHABET
from web.storage.database import Database, scratch_database

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
PASSWORD = "a long worklist timing password"  # not holding the username (web.storage.passwords)
REPORT = json.dumps({"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30.0, "factors": []})
ANSWERS = {
    "expected": json.dumps({"disposition": "expected", "emergency": False, "recheck_in_hours": 24.0, "findings": []}),
    "contact clinician": json.dumps(
        {"disposition": "contact clinician", "emergency": False, "recheck_in_hours": None, "findings": []}
    ),
}


def token(i: int) -> str:
    return f"bench-link-token-{i:09d}-abcdefghijklmnop"


def code(i: int) -> str:
    digits = []
    for _ in range(6):
        i, r = divmod(i, len(ALPHABET))
        digits.append(ALPHABET[r])
    return "".join(digits[:3]) + "-" + "".join(digits[3:])


def _copy(db: Database, table: str, columns: str, rows: Iterator[str]) -> None:
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            buffer = io.StringIO()
            for n, row in enumerate(rows, 1):
                buffer.write(row)
                if n % 50_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def load(db: Database, records: int, open_items: int) -> float:
    """Bulk-load the scratch schema; seconds taken."""
    start = time.perf_counter()
    at = NOW - timedelta(days=30)
    stamp = at.isoformat()

    def record_rows() -> Iterator[str]:
        for i in range(1, records + 1):
            yield f"{i}\t{code(i)}\t{stamp}\t{stamp}\t{followups.hash_token(token(i))}\n"

    _copy(db, "records", "id, reference, created_at, updated_at, link_hash", record_rows())
    flagged = set(range(1, 10 * open_items + 1))  # these records' answers said `contact clinician`

    def entry_rows() -> Iterator[str]:
        for i in range(1, records + 1):
            disposition = "contact clinician" if i in flagged else "expected"
            answer = ANSWERS[disposition].replace("\\", "\\\\")
            yield (f"{i}\t{i}\t1\t{stamp}\tpatient-form\t30\t{REPORT}\t{answer}\t{disposition}\tf\tbench\ten\n")

    _copy(
        db,
        "entries",
        "id, record_id, seq, created_at, channel, hours, report, answer, disposition, emergency, kb_version, language",
        entry_rows(),
    )
    cipher = Fernet(Fernet.generate_key()).encrypt(b"+34612345678").decode()
    rng = random.Random(31)

    def item_rows() -> Iterator[str]:
        for n, i in enumerate(sorted(flagged), 1):
            is_open = n <= open_items
            created = NOW - timedelta(minutes=rng.randrange(1, 60 * 70 if is_open else 60 * 24 * 60))
            requested = n % 3 == 0
            urgency = 0 if n % 50 == 0 else (1 if n % 7 else 2)
            closed = "\\N" if is_open else (created + timedelta(hours=2)).isoformat()
            yield (
                "\t".join(
                    [
                        str(n),
                        str(i),
                        "1",
                        created.isoformat(),
                        str(urgency),
                        "contact clinician",
                        "t" if urgency == 0 else "f",
                        created.isoformat() if requested else "\\N",
                        cipher if requested and is_open else "\\N",
                        "morning" if requested else "\\N",
                        "0",
                        closed,
                    ]
                )
                + "\n"
            )

    _copy(
        db,
        "follow_ups",
        "id, record_id, entry_seq, created_at, urgency, disposition, emergency, requested_at, phone_cipher, "
        "time_window, attempts, closed_at",
        item_rows(),
    )
    jpeg, thumbnail = "\\\\x" + "ab" * 6_000, "\\\\x" + "cd" * 2_500  # COPY text: a backslash doubled

    def photo_rows() -> Iterator[str]:
        n = 0
        for i in sorted(flagged):
            if i % 4 == 0:
                for _ in range(2):
                    n += 1
                    yield f"{n}\t{i}\t{stamp}\tIMG_{n}.jpg\t1536\t2048\t{jpeg}\t{thumbnail}\n"

    _copy(db, "photos", "id, entry_id, created_at, file_name, width, height, jpeg, thumbnail", photo_rows())
    with db.engine.begin() as c:
        for table in ("records", "entries", "follow_ups", "photos"):
            c.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            c.exec_driver_sql(f"ANALYZE {table}")
    return time.perf_counter() - start


def _sign_in(client: Any) -> None:
    page = client.get("/nurse/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    r = client.post("/nurse/login", data={"csrf_token": found.group(1), "username": "bench", "password": PASSWORD})
    assert r.status_code == 302, r.status_code


def _plans(db: Database, run: Callable[[], object], wanted: tuple[str, ...]) -> list[str]:
    """EXPLAIN ANALYZE of the SELECTs `run` sends that mention `wanted`, with their own parameters."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and any(w in statement for w in wanted):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            for statement, parameters in sent:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                plans.append(" ".join(statement.split())[:160] + "\n" + plan)
        raw.rollback()
    finally:
        raw.close()
    return plans


def measure(url: str, records: int, open_items: int, n: int) -> None:
    with scratch_database(url) as db:
        db.upgrade()
        seconds = load(db, records, open_items)
        print(
            f"loaded {records:,} records (one entry each), {10 * open_items:,} worklist items "
            f"({open_items:,} open) in {seconds:.0f} s"
        )
        with db.transaction() as s:
            store.create_nurse(s, "bench", PASSWORD)
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": db.url,
                "RATELIMIT_ENABLED": False,
                "LOG_REQUESTS": False,
                "NOW": lambda: NOW,
            }
        )
        nurse = app.test_client()
        _sign_in(nurse)
        patient = app.test_client()
        rng = random.Random(7)
        picks = [rng.randrange(1, records + 1) for _ in range(n)]
        first = nurse.get("/nurse/worklist.json").get_json()
        assert first["count"] == open_items, first["count"]
        for _ in range(10):  # warm-up: templates compiled, connections opened
            nurse.get("/nurse/worklist.json")
            patient.get(f"/c/{token(picks[0])}")

        rows = {
            "worklist JSON view (count + the 50 most urgent rows, audited)": _timed(
                n, lambda i: nurse.get("/nurse/worklist.json")
            ),
            "worklist queries alone (followups.open_count + open_items)": _timed(n, lambda i: _worklist_queries(db)),
            "private link page (look-up, course, prefilled form)": _timed(
                n, lambda i: patient.get(f"/c/{token(picks[i])}")
            ),
            "private link look-up alone (store.record_for_link)": _timed(n, lambda i: _lookup(db, token(picks[i]))),
            "wrong link (random token)": _timed(n, lambda i: patient.get(f"/c/{token(records + 1 + i)}")),
        }
        print(f"\n| {records:,} records, {open_items:,} open items, {n} requests each | ms p50 / p95 |")
        print("|---|---:|")
        for name, samples in rows.items():
            print(f"| {name} | {_ms(samples)} |")
        print("\nPlans (EXPLAIN ANALYZE of the statements the requests sent):\n")
        served: Database = app.extensions["triage_db"]
        for plan in _plans(served, lambda: nurse.get("/nurse/worklist.json"), ("follow_ups", "photos")):
            print(plan + "\n")
        for plan in _plans(served, lambda: patient.get(f"/c/{token(picks[1])}"), ("link_hash",)):
            print(plan + "\n")
        app.extensions["triage_db"].dispose()


def _worklist_queries(db: Database) -> None:
    with db.transaction() as s:
        followups.open_count(s, NOW, 72)
        followups.open_items(s, NOW, 72, 50)


def _lookup(db: Database, value: str) -> None:
    with db.transaction() as s:
        assert followups.record_for_link(s, value) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL URL (a scratch schema is made and dropped)")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    measure(args.postgres, args.records, args.open, args.n)


if __name__ == "__main__":
    main()
