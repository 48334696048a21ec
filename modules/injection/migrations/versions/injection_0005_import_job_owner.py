"""injection: who runs an import job, and its last sign of life

Revision ID: injection_0005
Revises: injection_0004
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "injection_0005"
down_revision = "injection_0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("injection_import_job", sa.Column("owner", sa.String(length=255), nullable=True))
    op.add_column("injection_import_job", sa.Column("heartbeat_at", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("injection_import_job") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
