"""core: the audit log's ids become BIGINT: at national scale they pass INTEGER's limit within months

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-11-26
"""
from alembic import op

from core.db import widen_ids_to_bigint

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None


def upgrade():
    widen_ids_to_bigint(op, "core_audit_log", ["id"])


def downgrade():
    pass  # narrowing could fail on the rows written since; the wider type is harmless
