"""allocation: shares rounded to packs; usable stock when planned; who approved a plan

Revision ID: allocation_0002
Revises: allocation_0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "allocation_0002"
down_revision = "allocation_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("allocation_plan") as batch:
        batch.add_column(sa.Column("pack_vials", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("usable_doses", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("approved_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_allocation_plan_approved_by_core_user"), "core_user",
                                 ["approved_by"], ["id"])


def downgrade():
    with op.batch_alter_table("allocation_plan") as batch:
        batch.drop_constraint(op.f("fk_allocation_plan_approved_by_core_user"), type_="foreignkey")
        batch.drop_column("approved_by")
        batch.drop_column("usable_doses")
        batch.drop_column("pack_vials")
