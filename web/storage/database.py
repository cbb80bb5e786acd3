"""The database: SQLite in a file by default, PostgreSQL when DATABASE_URL says so.

Migrations (Alembic, in web/storage/migrations) run on start-up, under a lock, so the first start
creates the file with no manual step and several workers starting at once migrate once.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept the usual `postgres://`/`postgresql://` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_private_file(url: str) -> None:
    """Make a missing SQLite database file readable and writable by its owner only (0600):
    it holds health data. SQLite gives its -wal and -shm files the same mode."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    # Made before (or by another worker just now): its mode is the operator's.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def sqlite_files(url: str) -> list[Path]:
    """The files of an SQLite database at `url` (its journal, -wal and -shm beside it), or none
    for another backend or an in-memory database."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return []
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    return [Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def make_engine(url: str, **options: Any) -> Engine:
    """An engine with the settings each backend needs for safe concurrent writes."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **options)
    create_private_file(url)
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves; wait for a writer instead of failing; keep FKs honest.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock at the start, so two transactions that read then
        # write (two nurses adding to one record) queue instead of one failing mid-way.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


class Database:
    """One engine and session factory per process; sessions are per request or command."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **options)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together at the end, or not at all on an error."""
        with self.sessions.begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(alembic_config(self.engine), revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(alembic_config(self.engine), revision)

    def current(self) -> str | None:
        """The schema revision the database is at (None: empty database)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head(self) -> str | None:
        """The newest revision the migrations know."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(alembic_config(self.engine)).get_current_head()

    def tables(self) -> set[str]:
        return set(inspect(self.engine).get_table_names())

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def scratch_database(url: str) -> Iterator[Database]:
    """A Database in a new schema of its own on a PostgreSQL server, dropped on exit: tests and
    benchmarks share one server (CI's `test` database) without seeing each other's tables."""
    from sqlalchemy import text

    base = make_url(normalize_url(url))
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False))
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
