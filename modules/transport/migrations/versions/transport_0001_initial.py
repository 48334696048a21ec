"""transport: shipments and their lines

Revision ID: transport_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "transport_0001"
down_revision = None
branch_labels = ("transport",)
depends_on = ("core_0001", "lots_0001", "warehouse_0001")


def upgrade():
    op.create_table(
        "transport_shipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("origin_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("vehicle", sa.String(length=64), nullable=False),
        sa.Column("driver", sa.String(length=120), nullable=False),
        sa.Column("cold_box", sa.String(length=64), nullable=False),
        sa.Column("temperature_min", sa.Integer(), nullable=True),
        sa.Column("temperature_max", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("dispatched_at", UTCDateTime(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["core_user.id"],
                                name=op.f("fk_transport_shipment_created_by_core_user")),
        sa.ForeignKeyConstraint(["destination_id"], ["warehouse_location.id"],
                                name=op.f("fk_transport_shipment_destination_id_warehouse_location")),
        sa.ForeignKeyConstraint(["origin_id"], ["warehouse_location.id"],
                                name=op.f("fk_transport_shipment_origin_id_warehouse_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transport_shipment")),
        sa.UniqueConstraint("number", name=op.f("uq_transport_shipment_number")),
    )
    op.create_index(op.f("ix_transport_shipment_origin_id"), "transport_shipment", ["origin_id"])
    op.create_index(op.f("ix_transport_shipment_destination_id"), "transport_shipment", ["destination_id"])
    op.create_index("ix_transport_shipment_state", "transport_shipment", ["state"])
    op.create_table(
        "transport_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("presentation_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=True),
        sa.Column("rejected", sa.Integer(), nullable=True),
        sa.Column("reject_reason", sa.String(length=16), nullable=True),
        sa.Column("vvm_stage", sa.Integer(), nullable=True),
        sa.CheckConstraint("doses > 0", name=op.f("ck_transport_line_doses_positive")),
        sa.CheckConstraint("vvm_stage IS NULL OR vvm_stage BETWEEN 1 AND 4",
                           name=op.f("ck_transport_line_vvm_stage_range")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots_lot.id"], name=op.f("fk_transport_line_lot_id_lots_lot")),
        sa.ForeignKeyConstraint(["presentation_id"], ["lots_presentation.id"],
                                name=op.f("fk_transport_line_presentation_id_lots_presentation")),
        sa.ForeignKeyConstraint(["shipment_id"], ["transport_shipment.id"],
                                name=op.f("fk_transport_line_shipment_id_transport_shipment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transport_line")),
    )
    op.create_index(op.f("ix_transport_line_shipment_id"), "transport_line", ["shipment_id"])
    op.create_index(op.f("ix_transport_line_lot_id"), "transport_line", ["lot_id"])


def downgrade():
    op.drop_table("transport_line")
    op.drop_table("transport_shipment")
