"""warehouse: a physical location's balance keeps the running totals of its moves (received, sent on, wasted,
injected), for the reconciliation

Revision ID: warehouse_0004
Revises: warehouse_0003
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "warehouse_0004"
down_revision = "warehouse_0003"
branch_labels = None
depends_on = None

FLOWS = ("received", "sent_on", "wasted", "injected")

# Each side of every move, put under the total it changes (the rule of modules.warehouse.ledger.flow, in SQL
# both databases read): a reversal takes its doses off the total of the move it undoes.
INTO = ("CASE WHEN other.kind IN ('adjustment', 'consumed', 'wastage') THEN NULL ELSE 'received' END")
OUT_TO = ("CASE other.kind WHEN 'consumed' THEN 'injected' WHEN 'wastage' THEN 'wasted' "
          "WHEN 'adjustment' THEN NULL ELSE 'sent_on' END")
SIGNED = "CASE WHEN m.reverses_id IS NULL THEN m.doses ELSE -m.doses END"
SIDES = f"""
SELECT m.to_location_id AS location_id, m.lot_id AS lot_id,
       CASE WHEN m.reverses_id IS NULL THEN {INTO} ELSE {OUT_TO} END AS flow, {SIGNED} AS doses
FROM warehouse_move AS m JOIN warehouse_location AS other ON other.id = m.from_location_id
UNION ALL
SELECT m.from_location_id, m.lot_id,
       CASE WHEN m.reverses_id IS NULL THEN {OUT_TO} ELSE {INTO} END, {SIGNED}
FROM warehouse_move AS m JOIN warehouse_location AS other ON other.id = m.to_location_id
"""
TOTALS = ", ".join(f"sum(CASE WHEN flow = '{name}' THEN doses ELSE 0 END) AS {name}" for name in FLOWS)
FILL = f"""
UPDATE warehouse_balance SET {", ".join(f"{name} = totals.{name}" for name in FLOWS)}
FROM (SELECT location_id, lot_id, {TOTALS} FROM ({SIDES}) AS sides GROUP BY location_id, lot_id) AS totals
WHERE warehouse_balance.location_id = totals.location_id AND warehouse_balance.lot_id = totals.lot_id
  AND warehouse_balance.location_id IN (SELECT id FROM warehouse_location
                                        WHERE kind IN ('national', 'regional', 'province', 'district', 'site'))
"""


def upgrade():
    for name in FLOWS:
        op.add_column("warehouse_balance", sa.Column(name, sa.BigInteger(), server_default="0", nullable=False))
    op.execute(FILL)


def downgrade():
    for name in FLOWS:
        op.drop_column("warehouse_balance", name)
