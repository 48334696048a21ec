"""reminder_outbox: the SMS outbox, one message per person and dose

Revision ID: reminder_outbox_0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "reminder_outbox_0001"
down_revision = None
branch_labels = ("reminder_outbox",)
depends_on = ("injection_0001",)  # references injection_person


def upgrade():
    op.create_table(
        "reminder_outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("text", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["injection_person.id"],
                                name=op.f("fk_reminder_outbox_message_person_id_injection_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_outbox_message")),
        sa.UniqueConstraint("person_id", "dose_number",
                            name=op.f("uq_reminder_outbox_message_person_id_dose_number")),
    )
    op.create_index("ix_reminder_outbox_message_status", "reminder_outbox_message", ["status", "id"])


def downgrade():
    op.drop_table("reminder_outbox_message")
