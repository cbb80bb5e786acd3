"""Alembic environment: runs on the engine the app passes in (web.storage.database.Database).

On PostgreSQL an advisory lock held for the transaction makes concurrent starts migrate
once; on SQLite the BEGIN IMMEDIATE that web.storage.database issues does the same.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from web.storage.models import Base

MIGRATION_LOCK = 7_311_906_042  # any constant shared by every process of this app

engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
