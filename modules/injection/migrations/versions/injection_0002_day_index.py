"""injection: an index by day first, for dashboards and reports over every site

Revision ID: injection_0002
Revises: injection_0001
Create Date: 2026-11-26
"""
from alembic import op

revision = "injection_0002"
down_revision = "injection_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_injection_injection_day_site", "injection_injection", ["injected_on", "site_id"])


def downgrade():
    op.drop_index("ix_injection_injection_day_site", table_name="injection_injection")
