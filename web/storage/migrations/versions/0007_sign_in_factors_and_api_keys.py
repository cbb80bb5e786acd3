"""Nurses' second factor (TOTP secret and recovery codes) and the API keys that may store records.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from web.storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN only on nurses (no table rebuilt, as in 0002), and two new tables.
    op.add_column("nurses", sa.Column("totp_secret", sa.Text(), nullable=True))
    op.add_column("nurses", sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("nurses", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("nurse_id", sa.Integer(), sa.ForeignKey("nurses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_recovery_codes_nurse_id", "recovery_codes", ["nurse_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_recovery_codes_nurse_id", "recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_column("nurses", "totp_last_step")
    op.drop_column("nurses", "totp_enabled")
    op.drop_column("nurses", "totp_secret")
