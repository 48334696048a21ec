"""lots: the eight COVID-19 vaccine presentations used in Vietnam

Label facts as published by the manufacturers and WHO (doses per vial, storage range, use after
opening, primary series and minimum intervals). GTINs are not seeded: enter the GTINs printed on the
packs you receive (admin page "Vaccine catalogue"), so a scan is never matched on a guessed number.

Revision ID: lots_0002
Revises: lots_0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "lots_0002"
down_revision = "lots_0001"
branch_labels = None
depends_on = None

COLUMNS = ("code", "name", "manufacturer", "doses_per_vial", "storage_min_c", "storage_max_c",
           "freeze_sensitive", "hours_after_opening", "series_length", "min_interval_days")
CATALOGUE = [
    ("VAXZEVRIA", "Vaxzevria", "AstraZeneca", 10, 2, 8, True, 6, 2, [28]),
    ("COMIRNATY", "Comirnaty", "Pfizer-BioNTech", 6, -90, -60, False, 6, 2, [21]),
    ("SPIKEVAX", "Spikevax", "Moderna", 10, -25, -15, False, 19, 2, [28]),
    ("VEROCELL", "Vero Cell", "Sinopharm (BIBP)", 1, 2, 8, True, None, 2, [21]),
    ("SPUTNIKV", "Sputnik V", "Gamaleya", 5, -25, -18, False, 2, 2, [21]),
    ("HAYATVAX", "Hayat-Vax", "Sinopharm / Julphar", 1, 2, 8, True, None, 2, [21]),
    ("JANSSEN", "Janssen COVID-19 Vaccine", "Janssen (Johnson & Johnson)", 5, 2, 8, True, 6, 1, []),
    ("ABDALA", "Abdala", "CIGB", 10, 2, 8, True, 6, 3, [14, 14]),
]


def upgrade():
    plain = [sa.column(name) for name in COLUMNS + ("active",) if name != "min_interval_days"]
    presentation = sa.table("lots_presentation", *plain, sa.column("min_interval_days", sa.JSON))
    op.bulk_insert(presentation, [dict(zip(COLUMNS, row, strict=True), active=True) for row in CATALOGUE])


def downgrade():
    codes = ", ".join(f"'{row[0]}'" for row in CATALOGUE)
    op.execute(f"DELETE FROM lots_presentation WHERE code IN ({codes})")
