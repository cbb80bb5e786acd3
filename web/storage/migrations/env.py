"""Alembic environment: runs on the engine the app passes in (web.storage.database.Database).

Every migration of a run, and the read of the version they start from, share one transaction,
begun before that read and holding the database's lock to the end: on PostgreSQL an advisory
lock taken first, on SQLite the BEGIN IMMEDIATE that web.storage.database issues. So workers
starting at once on a new database migrate once; the others wait, then find it at head. (Left
to itself, Alembic commits each SQLite migration apart: a second process could read the
version between two of them and replay the next migration the first had already planned.)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from web.storage.models import Base

MIGRATION_LOCK = 7_311_906_042  # any constant shared by every process of this app

engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection, connection.begin():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    # Configured inside our transaction, Alembic opens none of its own.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
