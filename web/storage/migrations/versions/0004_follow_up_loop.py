"""The follow-up loop: the patient's private link (its hash) and the nurse's worklist items.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from web.storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain nullable column, then its unique index (SQLite cannot add a UNIQUE column).
    op.add_column("records", sa.Column("link_hash", sa.String(64), nullable=True))
    op.create_index("uq_records_link_hash", "records", ["link_hash"], unique=True)
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("entry_seq", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("urgency", sa.Integer, nullable=False),
        sa.Column("disposition", sa.String(32), nullable=False),
        sa.Column("emergency", sa.Boolean, nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=True),
        sa.Column("phone_cipher", sa.Text, nullable=True),
        sa.Column("time_window", sa.String(16), nullable=True),
        sa.Column("claimed_by_id", sa.Integer, sa.ForeignKey("nurses.id"), nullable=True),
        sa.Column("claimed_at", UTCDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("closed_by_id", sa.Integer, sa.ForeignKey("nurses.id"), nullable=True),
        sa.UniqueConstraint("record_id", "entry_seq", name="uq_follow_ups_record_entry"),
    )
    op.create_index("ix_follow_ups_record_id", "follow_ups", ["record_id"])
    op.create_index(
        "ix_follow_ups_open",
        "follow_ups",
        ["urgency", "created_at", "id"],
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_follow_ups_open", table_name="follow_ups")
    op.drop_index("ix_follow_ups_record_id", table_name="follow_ups")
    op.drop_table("follow_ups")
    op.drop_index("uq_records_link_hash", table_name="records")
    op.drop_column("records", "link_hash")
