"""injection: backlog import jobs

Revision ID: injection_0004
Revises: injection_0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "injection_0004"
down_revision = "injection_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "injection_import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("site_code", sa.String(length=32), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stored_as", sa.String(length=255), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("injections_added", sa.Integer(), nullable=False),
        sa.Column("people_added", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["core_user.id"],
                                name=op.f("fk_injection_import_job_created_by_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_injection_import_job")),
    )
    op.create_index("ix_injection_import_job_file", "injection_import_job", ["file_sha256"])


def downgrade():
    op.drop_index("ix_injection_import_job_file", table_name="injection_import_job")
    op.drop_table("injection_import_job")
