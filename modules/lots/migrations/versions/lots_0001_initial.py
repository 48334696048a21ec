"""lots: vaccine presentations, GTINs, lots and their status history

Revision ID: lots_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "lots_0001"
down_revision = None
branch_labels = ("lots",)
depends_on = ("core_0001",)


def upgrade():
    op.create_table(
        "lots_presentation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("manufacturer", sa.String(length=160), nullable=False),
        sa.Column("doses_per_vial", sa.Integer(), nullable=False),
        sa.Column("storage_min_c", sa.Integer(), nullable=False),
        sa.Column("storage_max_c", sa.Integer(), nullable=False),
        sa.Column("freeze_sensitive", sa.Boolean(), nullable=False),
        sa.Column("hours_after_opening", sa.Integer(), nullable=True),
        sa.Column("series_length", sa.Integer(), nullable=False),
        sa.Column("min_interval_days", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots_presentation")),
        sa.UniqueConstraint("code", name=op.f("uq_lots_presentation_code")),
    )
    op.create_table(
        "lots_gtin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("presentation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["presentation_id"], ["lots_presentation.id"],
                                name=op.f("fk_lots_gtin_presentation_id_lots_presentation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots_gtin")),
        sa.UniqueConstraint("gtin", name=op.f("uq_lots_gtin_gtin")),
    )
    op.create_index(op.f("ix_lots_gtin_presentation_id"), "lots_gtin", ["presentation_id"])
    op.create_table(
        "lots_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("presentation_id", sa.Integer(), nullable=False),
        sa.Column("lot_number", sa.String(length=40), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["presentation_id"], ["lots_presentation.id"],
                                name=op.f("fk_lots_lot_presentation_id_lots_presentation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots_lot")),
        sa.UniqueConstraint("presentation_id", "lot_number", name=op.f("uq_lots_lot_presentation_id_lot_number")),
    )
    op.create_index("ix_lots_lot_lot_number", "lots_lot", ["lot_number"])
    op.create_index("ix_lots_lot_expiry", "lots_lot", ["expiry"])
    op.create_table(
        "lots_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots_lot.id"], name=op.f("fk_lots_status_change_lot_id_lots_lot")),
        sa.ForeignKeyConstraint(["user_id"], ["core_user.id"],
                                name=op.f("fk_lots_status_change_user_id_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots_status_change")),
    )
    op.create_index(op.f("ix_lots_status_change_lot_id"), "lots_status_change", ["lot_id"])


def downgrade():
    op.drop_table("lots_status_change")
    op.drop_table("lots_lot")
    op.drop_table("lots_gtin")
    op.drop_table("lots_presentation")
