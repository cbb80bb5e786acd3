"""Records store timings: `python -m benchmarks.records [--postgres URL] [--n N]`.

Per backend (SQLite file always; PostgreSQL when a URL is given, in a scratch schema dropped
after): storing a new record (report + answer + audit, one transaction), adding a call-back
under the record lock, opening a 10-entry record with its timeline, exporting it as FHIR,
8 threads adding to one record at once, and purging. Prints one Markdown table; nothing is
asserted (figures go in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from triage import default_assessor
from triage.exports.fhir import ExportEntry, record_bundle
from web.storage import store
from web.storage.database import Database, scratch_database
from web.storage.models import Nurse, Record, utcnow

REPORTS = [(["redness:mild", "swelling"], 30.0), (["redness:severe"], 60.0), (["pus", "fever"], 50.0)]


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"{statistics.median(samples) * 1000:.2f} / {p95 * 1000:.2f}"


def _timed(n: int, work: Callable[[int], object]) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        work(i)
        out.append(time.perf_counter() - start)
    return out


def measure(db: Database, n: int) -> dict[str, str]:
    assessor = default_assessor()
    answers = [assessor.assess(s, h) for s, h in REPORTS]
    db.upgrade()
    with db.transaction() as s:
        nurse_id = store.create_nurse(s, "bench", "a long bench password").id

    codes: list[str] = []

    def create(i: int) -> None:
        with db.transaction() as s:
            codes.append(store.create_record(s, answers[i % 3], "patient-form").reference)

    def add(i: int) -> None:
        with db.transaction() as s:
            record = store.find_record(s, codes[0], "nurse:bench", audited_as="", entries=False)
            assert record is not None
            store.lock_record(s, record)
            report = answers[1].report
            store.worse_than_before(assessor.kb, store.latest_symptoms(s, record), report.symptoms, report.hours)
            store.add_entry(s, record, answers[i % 3], "nurse-console", s.get(Nurse, nurse_id))

    def open_ten(i: int) -> None:
        with db.transaction() as s:
            record = store.find_record(s, codes[1], "nurse:bench")
            assert record is not None
            store.timeline(record)

    def export(i: int) -> None:
        with db.transaction() as s:
            record = store.find_record(s, codes[1], "nurse:bench", audited_as="export-fhir")
            assert record is not None
            entries = [ExportEntry(e.seq, e.created_at, e.channel, e.answer) for e in record.entries]
        record_bundle(record.reference, entries, assessor.kb, utcnow())

    created = _timed(n, create)
    added = _timed(n, add)
    with db.transaction() as s:
        ten = s.scalar(select(Record).where(Record.reference == codes[1]))
        assert ten is not None
        for i in range(9):
            store.add_entry(s, ten, answers[i % 3], "api", None)
    opened = _timed(max(n // 4, 10), open_ten)
    exported = _timed(max(n // 4, 10), export)

    per_thread = max(n // 8, 5)
    barrier = threading.Barrier(8)

    def writer() -> None:
        barrier.wait()
        for i in range(per_thread):
            add(i)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent = time.perf_counter() - start
    stored, expected = _count_entries(db, codes[0]), 1 + n + 8 * per_thread

    with db.transaction() as s:
        for r in s.scalars(select(Record)):
            r.updated_at = utcnow() - timedelta(days=1000)
    start = time.perf_counter()
    with db.transaction() as s:
        purged = store.purge(s, utcnow() - timedelta(days=730))
    purge_s = time.perf_counter() - start
    return {
        "store a new record (p50 / p95 ms)": _ms(created),
        "add a call-back under the lock (p50 / p95 ms)": _ms(added),
        "open a 10-entry record + timeline (p50 / p95 ms)": _ms(opened),
        "export a 10-entry record as FHIR (p50 / p95 ms)": _ms(exported),
        "8 threads adding to one record": f"{8 * per_thread / concurrent:.0f} entries/s, {expected - stored} lost",
        "purge": f"{purged} records in {purge_s * 1000:.0f} ms",
    }


def _count_entries(db: Database, code: str) -> int:
    with db.transaction() as s:
        record = s.scalar(select(Record).where(Record.reference == code))
        return len(record.entries) if record is not None else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL, e.g. postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--n", type=int, default=200, help="operations per timing (default 200)")
    args = parser.parse_args()
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        results["SQLite (file, WAL)"] = measure(db, args.n)
        db.dispose()
    if args.postgres:
        with scratch_database(args.postgres) as pg:
            results["PostgreSQL 127.0.0.1"] = measure(pg, args.n)
    names = list(results)
    print("| measure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in next(iter(results.values())):
        print(f"| {key} | " + " | ".join(results[n][key] for n in names) + " |")


if __name__ == "__main__":
    main()
