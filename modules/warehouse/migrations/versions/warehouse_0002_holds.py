"""warehouse: holds of a lot at one location (quarantine at the destination after an excursion)

Revision ID: warehouse_0002
Revises: warehouse_0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "warehouse_0002"
down_revision = "warehouse_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "warehouse_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["core_user.id"], name=op.f("fk_warehouse_hold_created_by_core_user")),
        sa.ForeignKeyConstraint(["location_id"], ["warehouse_location.id"],
                                name=op.f("fk_warehouse_hold_location_id_warehouse_location")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots_lot.id"], name=op.f("fk_warehouse_hold_lot_id_lots_lot")),
        sa.ForeignKeyConstraint(["released_by"], ["core_user.id"],
                                name=op.f("fk_warehouse_hold_released_by_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_hold")),
    )
    op.create_index("ix_warehouse_hold_location_lot", "warehouse_hold", ["location_id", "lot_id"])


def downgrade():
    op.drop_table("warehouse_hold")
