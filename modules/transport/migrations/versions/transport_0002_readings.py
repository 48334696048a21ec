"""transport: data-logger readings of a shipment

Revision ID: transport_0002
Revises: transport_0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "transport_0002"
down_revision = "transport_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "transport_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("celsius", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["shipment_id"], ["transport_shipment.id"],
                                name=op.f("fk_transport_reading_shipment_id_transport_shipment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transport_reading")),
    )
    op.create_index("ix_transport_reading_shipment_at", "transport_reading", ["shipment_id", "at"])


def downgrade():
    op.drop_table("transport_reading")
