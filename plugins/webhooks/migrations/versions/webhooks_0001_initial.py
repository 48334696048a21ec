"""webhooks: the outbox of deliveries and the log of their attempts

Revision ID: webhooks_0001
Revises:
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from core.db import BigId, UTCDateTime

revision = "webhooks_0001"
down_revision = None
branch_labels = ("webhooks",)
depends_on = ("core_0001",)  # references no other table; ordered after the core's for tidiness


def upgrade():
    op.create_table(
        "webhooks_delivery",
        sa.Column("id", BigId, nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks_delivery")),
    )
    op.create_index("ix_webhooks_delivery_url_status", "webhooks_delivery", ["url", "status", "id"])
    op.create_index("ix_webhooks_delivery_status", "webhooks_delivery", ["status", "id"])
    op.create_table(
        "webhooks_attempt",
        sa.Column("id", BigId, nullable=False),
        sa.Column("delivery_id", BigId, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhooks_delivery.id"],
                                name=op.f("fk_webhooks_attempt_delivery_id_webhooks_delivery")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks_attempt")),
    )
    op.create_index(op.f("ix_webhooks_attempt_delivery_id"), "webhooks_attempt", ["delivery_id"])


def downgrade():
    op.drop_table("webhooks_attempt")
    op.drop_table("webhooks_delivery")
