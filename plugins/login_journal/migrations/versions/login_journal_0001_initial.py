"""login_journal: one row per successful login

Revision ID: login_journal_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "login_journal_0001"
down_revision = None
branch_labels = ("login_journal",)
depends_on = ("core_0001",)  # references core_user


def upgrade():
    op.create_table(
        "login_journal_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["core_user.id"],
                                name=op.f("fk_login_journal_entry_user_id_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_journal_entry")),
    )
    op.create_index(op.f("ix_login_journal_entry_user_id"), "login_journal_entry", ["user_id"])


def downgrade():
    op.drop_table("login_journal_entry")
