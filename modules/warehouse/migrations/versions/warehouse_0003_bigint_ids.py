"""warehouse: the ledger's move ids become BIGINT: at national scale they pass INTEGER's limit within months

Revision ID: warehouse_0003
Revises: warehouse_0002
Create Date: 2026-11-26
"""
from alembic import op

from core.db import widen_ids_to_bigint

revision = "warehouse_0003"
down_revision = "warehouse_0002"
branch_labels = None
depends_on = None


def upgrade():
    widen_ids_to_bigint(op, "warehouse_move", ["id", "reverses_id"])


def downgrade():
    pass  # narrowing could fail on the rows written since; the wider type is harmless
