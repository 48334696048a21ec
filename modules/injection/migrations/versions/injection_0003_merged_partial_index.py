"""injection: the index on merged_into_id holds merged records only

Every registration asks for "same ID, or same name, birth date and phone and not merged". With a full
index on merged_into_id and stale statistics (a fresh or freshly imported table), PostgreSQL read every
unmerged person through that index for "merged_into_id IS NULL". A partial index cannot serve that
condition; it still finds the records merged into someone.

Revision ID: injection_0003
Revises: injection_0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "injection_0003"
down_revision = "injection_0002"
branch_labels = None
depends_on = None

MERGED = sa.text("merged_into_id IS NOT NULL")


def upgrade():
    op.drop_index("ix_injection_person_merged_into_id", table_name="injection_person")
    op.create_index("ix_injection_person_merged_into", "injection_person", ["merged_into_id"],
                    postgresql_where=MERGED, sqlite_where=MERGED)


def downgrade():
    op.drop_index("ix_injection_person_merged_into", table_name="injection_person")
    op.create_index("ix_injection_person_merged_into_id", "injection_person", ["merged_into_id"])
