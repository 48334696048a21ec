"""allocation: target populations, plans and their lines

Revision ID: allocation_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "allocation_0001"
down_revision = None
branch_labels = ("allocation",)
depends_on = ("core_0001", "lots_0001", "warehouse_0001", "transport_0001")


def upgrade():
    op.create_table(
        "allocation_target",
        sa.Column("admin_unit_code", sa.String(length=16), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["admin_unit_code"], ["warehouse_admin_unit.code"],
                                name=op.f("fk_allocation_target_admin_unit_code_warehouse_admin_unit")),
        sa.PrimaryKeyConstraint("admin_unit_code", name=op.f("pk_allocation_target")),
    )
    op.create_table(
        "allocation_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("presentation_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("total_doses", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["core_user.id"], name=op.f("fk_allocation_plan_created_by_core_user")),
        sa.ForeignKeyConstraint(["presentation_id"], ["lots_presentation.id"],
                                name=op.f("fk_allocation_plan_presentation_id_lots_presentation")),
        sa.ForeignKeyConstraint(["source_id"], ["warehouse_location.id"],
                                name=op.f("fk_allocation_plan_source_id_warehouse_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_plan")),
    )
    op.create_index(op.f("ix_allocation_plan_source_id"), "allocation_plan", ["source_id"])
    op.create_table(
        "allocation_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("requested_doses", sa.Integer(), nullable=False),
        sa.Column("allocated_doses", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["destination_id"], ["warehouse_location.id"],
                                name=op.f("fk_allocation_line_destination_id_warehouse_location")),
        sa.ForeignKeyConstraint(["plan_id"], ["allocation_plan.id"],
                                name=op.f("fk_allocation_line_plan_id_allocation_plan")),
        sa.ForeignKeyConstraint(["shipment_id"], ["transport_shipment.id"],
                                name=op.f("fk_allocation_line_shipment_id_transport_shipment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_line")),
    )
    op.create_index(op.f("ix_allocation_line_plan_id"), "allocation_line", ["plan_id"])


def downgrade():
    op.drop_table("allocation_line")
    op.drop_table("allocation_plan")
    op.drop_table("allocation_target")
