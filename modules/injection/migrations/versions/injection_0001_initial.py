"""injection: people, injections, open vials and sites' daily tallies

Revision ID: injection_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "injection_0001"
down_revision = None
branch_labels = ("injection",)
depends_on = ("core_0001", "lots_0001", "warehouse_0001")


def upgrade():
    op.create_table("injection_person",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("national_id", sa.String(length=12), nullable=True),
    sa.Column("id_kind", sa.String(length=8), nullable=True),
    sa.Column("full_name", sa.String(length=120), nullable=False),
    sa.Column("name_key", sa.String(length=120), nullable=False),
    sa.Column("gender", sa.String(length=8), nullable=False),
    sa.Column("date_of_birth", sa.Date(), nullable=False),
    sa.Column("phone", sa.String(length=10), nullable=True),
    sa.Column("insurance_number", sa.String(length=15), nullable=True),
    sa.Column("ethnicity", sa.String(length=40), nullable=False),
    sa.Column("nationality", sa.String(length=40), nullable=False),
    sa.Column("admin_unit_code", sa.String(length=16), nullable=True),
    sa.Column("address", sa.Text(), nullable=False),
    sa.Column("merged_into_id", sa.Integer(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["admin_unit_code"], ["warehouse_admin_unit.code"],
                            name=op.f("fk_injection_person_admin_unit_code_warehouse_admin_unit")),
    sa.ForeignKeyConstraint(["created_by"], ["core_user.id"], name=op.f("fk_injection_person_created_by_core_user")),
    sa.ForeignKeyConstraint(["merged_into_id"], ["injection_person.id"],
                            name=op.f("fk_injection_person_merged_into_id_injection_person")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_injection_person")),
    sa.UniqueConstraint("national_id", name=op.f("uq_injection_person_national_id"))
    )
    op.create_index(op.f("ix_injection_person_merged_into_id"), "injection_person", ["merged_into_id"])
    op.create_index("ix_injection_person_name_key_birth", "injection_person", ["name_key", "date_of_birth"],
                    postgresql_ops={"name_key": "varchar_pattern_ops"})
    op.create_index(op.f("ix_injection_person_phone"), "injection_person", ["phone"])
    op.create_table("injection_open_vial",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("site_id", sa.Integer(), nullable=False),
    sa.Column("lot_id", sa.Integer(), nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("usable_until", UTCDateTime(), nullable=False),
    sa.Column("doses_left", sa.Integer(), nullable=False),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("close_reason", sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(["lot_id"], ["lots_lot.id"], name=op.f("fk_injection_open_vial_lot_id_lots_lot")),
    sa.ForeignKeyConstraint(["site_id"], ["warehouse_location.id"],
                            name=op.f("fk_injection_open_vial_site_id_warehouse_location")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_injection_open_vial"))
    )
    op.create_index("ix_injection_open_vial_site_lot", "injection_open_vial", ["site_id", "lot_id", "closed_at"])
    op.create_table("injection_tally",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("site_id", sa.Integer(), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("doses", sa.Integer(), nullable=False),
    sa.Column("reported_at", UTCDateTime(), nullable=False),
    sa.Column("reported_by", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["reported_by"], ["core_user.id"], name=op.f("fk_injection_tally_reported_by_core_user")),
    sa.ForeignKeyConstraint(["site_id"], ["warehouse_location.id"],
                            name=op.f("fk_injection_tally_site_id_warehouse_location")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_injection_tally")),
    sa.UniqueConstraint("site_id", "day", name=op.f("uq_injection_tally_site_id_day"))
    )
    op.create_table("injection_injection",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("person_id", sa.Integer(), nullable=False),
    sa.Column("presentation_id", sa.Integer(), nullable=False),
    sa.Column("lot_id", sa.Integer(), nullable=False),
    sa.Column("site_id", sa.Integer(), nullable=False),
    sa.Column("injected_at", UTCDateTime(), nullable=False),
    sa.Column("injected_on", sa.Date(), nullable=False),
    sa.Column("dose_number", sa.Integer(), nullable=False),
    sa.Column("source", sa.String(length=16), nullable=False),
    sa.Column("move_id", sa.Integer(), nullable=True),
    sa.Column("open_vial_id", sa.Integer(), nullable=True),
    sa.Column("reverses_id", sa.Integer(), nullable=True),
    sa.Column("idempotency_key", sa.String(length=80), nullable=True),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["created_by"], ["core_user.id"], name=op.f("fk_injection_injection_created_by_core_user")),
    sa.ForeignKeyConstraint(["lot_id"], ["lots_lot.id"], name=op.f("fk_injection_injection_lot_id_lots_lot")),
    sa.ForeignKeyConstraint(["move_id"], ["warehouse_move.id"],
                            name=op.f("fk_injection_injection_move_id_warehouse_move")),
    sa.ForeignKeyConstraint(["open_vial_id"], ["injection_open_vial.id"],
                            name=op.f("fk_injection_injection_open_vial_id_injection_open_vial")),
    sa.ForeignKeyConstraint(["person_id"], ["injection_person.id"],
                            name=op.f("fk_injection_injection_person_id_injection_person")),
    sa.ForeignKeyConstraint(["presentation_id"], ["lots_presentation.id"],
                            name=op.f("fk_injection_injection_presentation_id_lots_presentation")),
    sa.ForeignKeyConstraint(["reverses_id"], ["injection_injection.id"],
                            name=op.f("fk_injection_injection_reverses_id_injection_injection")),
    sa.ForeignKeyConstraint(["site_id"], ["warehouse_location.id"],
                            name=op.f("fk_injection_injection_site_id_warehouse_location")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_injection_injection")),
    sa.UniqueConstraint("idempotency_key", name=op.f("uq_injection_injection_idempotency_key")),
    sa.UniqueConstraint("reverses_id", name=op.f("uq_injection_injection_reverses_id"))
    )
    op.create_index("ix_injection_injection_lot", "injection_injection", ["lot_id"])
    op.create_index("ix_injection_injection_person", "injection_injection", ["person_id", "injected_on"])
    op.create_index("ix_injection_injection_site_day", "injection_injection", ["site_id", "injected_on"])


def downgrade():
    op.drop_index("ix_injection_injection_site_day", table_name="injection_injection")
    op.drop_index("ix_injection_injection_person", table_name="injection_injection")
    op.drop_index("ix_injection_injection_lot", table_name="injection_injection")
    op.drop_table("injection_injection")
    op.drop_table("injection_tally")
    op.drop_index("ix_injection_open_vial_site_lot", table_name="injection_open_vial")
    op.drop_table("injection_open_vial")
    op.drop_index(op.f("ix_injection_person_phone"), table_name="injection_person")
    op.drop_index("ix_injection_person_name_key_birth", table_name="injection_person")
    op.drop_index(op.f("ix_injection_person_merged_into_id"), table_name="injection_person")
    op.drop_table("injection_person")
