"""Nurses' session version (server-side sign-out) and the client address in the audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: no table is rebuilt, so the audit trail's append-only
    # triggers and every foreign key stay as they are.
    op.add_column("nurses", sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("audit_events", sa.Column("client", sa.String(64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+ too), again without rebuilding a table.
    op.drop_column("audit_events", "client")
    op.drop_column("nurses", "session_version")
