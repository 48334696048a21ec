"""injection: a lot's injections by day and id, for the recall list's keyset pages

The recall list shows a lot's injections newest first (day, then id) and pages by the last row shown. On
(lot_id) alone PostgreSQL sorted the lot's every injection (~100 000 for a national lot) for each page, and
a deep OFFSET page read them all; on (lot_id, injected_on, id) a page reads its 200 rows off the index,
at any depth. It serves lookups by lot alone too, so it replaces the (lot_id) index.

Revision ID: injection_0009
Revises: injection_0008
Create Date: 2026-11-27
"""
from alembic import op

revision = "injection_0009"
down_revision = "injection_0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_injection_injection_lot_day", "injection_injection", ["lot_id", "injected_on", "id"])
    op.drop_index("ix_injection_injection_lot", table_name="injection_injection")


def downgrade():
    op.create_index("ix_injection_injection_lot", "injection_injection", ["lot_id"])
    op.drop_index("ix_injection_injection_lot_day", table_name="injection_injection")
