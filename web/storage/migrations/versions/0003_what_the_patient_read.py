"""What the patient read with each entry: the language and the clinic's numbers at the time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases, nullable: entries stored before say nothing of it.
    op.add_column("entries", sa.Column("language", sa.String(16), nullable=True))
    op.add_column("entries", sa.Column("emergency_number", sa.String(40), nullable=True))
    op.add_column("entries", sa.Column("clinic_phone", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("entries", "clinic_phone")
    op.drop_column("entries", "emergency_number")
    op.drop_column("entries", "language")
