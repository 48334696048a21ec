"""warehouse: admin units, locations (with the virtual ones), assignments, moves and balances

Revision ID: warehouse_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "warehouse_0001"
down_revision = None
branch_labels = ("warehouse",)
depends_on = ("core_0001", "lots_0001")

VIRTUAL_LOCATIONS = [  # (code, name, kind): one of each, outside the physical tree
    ("SUPPLIER", "Nhà cung cấp", "supplier"),
    ("TRANSIT", "Đang vận chuyển", "transit"),
    ("CONSUMED", "Đã tiêm", "consumed"),
    ("WASTAGE", "Hao hụt, hủy", "wastage"),
    ("ADJUSTMENT", "Điều chỉnh", "adjustment"),
]


def upgrade():
    op.create_table(
        "warehouse_admin_unit",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["parent_code"], ["warehouse_admin_unit.code"],
                                name=op.f("fk_warehouse_admin_unit_parent_code_warehouse_admin_unit")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_warehouse_admin_unit")),
    )
    op.create_index(op.f("ix_warehouse_admin_unit_parent_code"), "warehouse_admin_unit", ["parent_code"])
    op.create_table(
        "warehouse_location",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("admin_unit_code", sa.String(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["admin_unit_code"], ["warehouse_admin_unit.code"],
                                name=op.f("fk_warehouse_location_admin_unit_code_warehouse_admin_unit")),
        sa.ForeignKeyConstraint(["parent_id"], ["warehouse_location.id"],
                                name=op.f("fk_warehouse_location_parent_id_warehouse_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_location")),
        sa.UniqueConstraint("code", name=op.f("uq_warehouse_location_code")),
    )
    op.create_index(op.f("ix_warehouse_location_parent_id"), "warehouse_location", ["parent_id"])
    op.create_index("ix_warehouse_location_path", "warehouse_location", ["path"],
                    postgresql_ops={"path": "varchar_pattern_ops"})
    op.create_table(
        "warehouse_user_location",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["warehouse_location.id"],
                                name=op.f("fk_warehouse_user_location_location_id_warehouse_location")),
        sa.ForeignKeyConstraint(["user_id"], ["core_user.id"],
                                name=op.f("fk_warehouse_user_location_user_id_core_user")),
        sa.PrimaryKeyConstraint("user_id", "location_id", name=op.f("pk_warehouse_user_location")),
    )
    op.create_index(op.f("ix_warehouse_user_location_location_id"), "warehouse_user_location", ["location_id"])
    op.create_table(
        "warehouse_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("from_location_id", sa.Integer(), nullable=False),
        sa.Column("to_location_id", sa.Integer(), nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("doses > 0", name=op.f("ck_warehouse_move_doses_positive")),
        sa.CheckConstraint("from_location_id <> to_location_id", name=op.f("ck_warehouse_move_two_locations")),
        sa.ForeignKeyConstraint(["from_location_id"], ["warehouse_location.id"],
                                name=op.f("fk_warehouse_move_from_location_id_warehouse_location")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots_lot.id"], name=op.f("fk_warehouse_move_lot_id_lots_lot")),
        sa.ForeignKeyConstraint(["reverses_id"], ["warehouse_move.id"],
                                name=op.f("fk_warehouse_move_reverses_id_warehouse_move")),
        sa.ForeignKeyConstraint(["to_location_id"], ["warehouse_location.id"],
                                name=op.f("fk_warehouse_move_to_location_id_warehouse_location")),
        sa.ForeignKeyConstraint(["user_id"], ["core_user.id"], name=op.f("fk_warehouse_move_user_id_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_move")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_warehouse_move_reverses_id")),
    )
    op.create_index(op.f("ix_warehouse_move_at"), "warehouse_move", ["at"])
    op.create_index(op.f("ix_warehouse_move_lot_id"), "warehouse_move", ["lot_id"])
    op.create_index(op.f("ix_warehouse_move_reference"), "warehouse_move", ["reference"])
    op.create_index("ix_warehouse_move_from", "warehouse_move", ["from_location_id", "lot_id"])
    op.create_index("ix_warehouse_move_to", "warehouse_move", ["to_location_id", "lot_id"])
    op.create_table(
        "warehouse_balance",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["warehouse_location.id"],
                                name=op.f("fk_warehouse_balance_location_id_warehouse_location")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots_lot.id"], name=op.f("fk_warehouse_balance_lot_id_lots_lot")),
        sa.PrimaryKeyConstraint("location_id", "lot_id", name=op.f("pk_warehouse_balance")),
    )
    op.create_index(op.f("ix_warehouse_balance_lot_id"), "warehouse_balance", ["lot_id"])
    location = sa.table("warehouse_location", sa.column("code"), sa.column("name"), sa.column("kind"),
                        sa.column("path"), sa.column("active"))
    op.bulk_insert(location, [{"code": code, "name": name, "kind": kind, "path": "", "active": True}
                              for code, name, kind in VIRTUAL_LOCATIONS])


def downgrade():
    for table in ("warehouse_balance", "warehouse_move", "warehouse_user_location", "warehouse_location",
                  "warehouse_admin_unit"):
        op.drop_table(table)
