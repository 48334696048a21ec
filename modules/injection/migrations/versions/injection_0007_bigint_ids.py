"""injection: injection ids and their moves' become BIGINT: at national scale they pass INTEGER's limit within months

Revision ID: injection_0007
Revises: injection_0006
Create Date: 2026-11-26
"""
from alembic import op

from core.db import widen_ids_to_bigint

revision = "injection_0007"
down_revision = "injection_0006"
branch_labels = None
depends_on = ("warehouse_0003",)  # its move_id refers to the widened move id


def upgrade():
    widen_ids_to_bigint(op, "injection_injection", ["id", "move_id", "reverses_id"])


def downgrade():
    pass  # narrowing could fail on the rows written since; the wider type is harmless
