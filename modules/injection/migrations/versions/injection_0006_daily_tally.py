"""injection: the doses that count per day, site, vaccine and dose number, filled from the injections

Revision ID: injection_0006
Revises: injection_0005
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "injection_0006"
down_revision = "injection_0005"
branch_labels = None
depends_on = None

# The same rule as services.effective_injections, in SQL both databases read: live and backlog injections
# that no correction reverses (the migration must not depend on the models of a later version).
FILL = """
INSERT INTO injection_daily_tally (day, site_id, presentation_id, dose_number, doses)
SELECT injected_on, site_id, presentation_id, dose_number, count(*)
FROM injection_injection AS given
WHERE source IN ('live', 'backlog')
  AND NOT EXISTS (SELECT 1 FROM injection_injection AS correction WHERE correction.reverses_id = given.id)
GROUP BY injected_on, site_id, presentation_id, dose_number
"""


def upgrade():
    op.create_table(
        "injection_daily_tally",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("presentation_id", sa.Integer(), nullable=False),
        sa.Column("dose_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["presentation_id"], ["lots_presentation.id"],
                                name=op.f("fk_injection_daily_tally_presentation_id_lots_presentation")),
        sa.ForeignKeyConstraint(["site_id"], ["warehouse_location.id"],
                                name=op.f("fk_injection_daily_tally_site_id_warehouse_location")),
        sa.PrimaryKeyConstraint("day", "site_id", "presentation_id", "dose_number",
                                name=op.f("pk_injection_daily_tally")),
    )
    op.create_index("ix_injection_daily_tally_site_day", "injection_daily_tally", ["site_id", "day"])
    op.execute(FILL)


def downgrade():
    op.drop_index("ix_injection_daily_tally_site_day", table_name="injection_daily_tally")
    op.drop_table("injection_daily_tally")
