"""core: rate-limit counters (public lookups, logins), shared by every worker

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "core_rate_limit",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_core_rate_limit")),
    )


def downgrade():
    op.drop_table("core_rate_limit")
