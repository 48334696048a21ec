"""injection: the doses that count per day, province (or site under no province), vaccine and dose number

Revision ID: injection_0008
Revises: injection_0007
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "injection_0008"
down_revision = "injection_0007"
branch_labels = None
depends_on = None

# The daily tally summed per area: the province whose path the site's path starts with, else the site itself
# (the same rule as modules.injection.tally.areas_of, in SQL both databases read).
FILL = """
INSERT INTO injection_area_tally (day, area_id, presentation_id, dose_number, doses)
SELECT daily.day, coalesce(province.id, site.id), daily.presentation_id, daily.dose_number, sum(daily.doses)
FROM injection_daily_tally AS daily
JOIN warehouse_location AS site ON site.id = daily.site_id
LEFT JOIN warehouse_location AS province
  ON province.kind = 'province' AND site.path LIKE province.path || '%'
GROUP BY daily.day, coalesce(province.id, site.id), daily.presentation_id, daily.dose_number
"""


def upgrade():
    op.create_table(
        "injection_area_tally",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("presentation_id", sa.Integer(), nullable=False),
        sa.Column("dose_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["warehouse_location.id"],
                                name=op.f("fk_injection_area_tally_area_id_warehouse_location")),
        sa.ForeignKeyConstraint(["presentation_id"], ["lots_presentation.id"],
                                name=op.f("fk_injection_area_tally_presentation_id_lots_presentation")),
        sa.PrimaryKeyConstraint("day", "area_id", "presentation_id", "dose_number",
                                name=op.f("pk_injection_area_tally")),
    )
    op.execute(FILL)


def downgrade():
    op.drop_table("injection_area_tally")
