"""transport: logger reading ids become BIGINT: at national scale they pass INTEGER's limit within months

Revision ID: transport_0003
Revises: transport_0002
Create Date: 2026-11-26
"""
from alembic import op

from core.db import widen_ids_to_bigint

revision = "transport_0003"
down_revision = "transport_0002"
branch_labels = None
depends_on = None


def upgrade():
    widen_ids_to_bigint(op, "transport_reading", ["id"])


def downgrade():
    pass  # narrowing could fail on the rows written since; the wider type is harmless
