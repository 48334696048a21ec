"""core: the audit log's seals (a keyed hash chain) and the entries waiting for one

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None

# Like the log itself, seals are append-only in the database (the chain shows it if that is bypassed).
APPEND_ONLY = {
    "sqlite": [
        """CREATE TRIGGER core_audit_seal_no_update BEFORE UPDATE ON core_audit_seal
           BEGIN SELECT RAISE(ABORT, 'core_audit_seal is append-only'); END""",
        """CREATE TRIGGER core_audit_seal_no_delete BEFORE DELETE ON core_audit_seal
           BEGIN SELECT RAISE(ABORT, 'core_audit_seal is append-only'); END""",
    ],
    "postgresql": [
        """CREATE FUNCTION core_audit_seal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'core_audit_seal is append-only'; END $$""",
        """CREATE TRIGGER core_audit_seal_append_only BEFORE UPDATE OR DELETE ON core_audit_seal
           FOR EACH ROW EXECUTE FUNCTION core_audit_seal_refuse_change()""",
    ],
}


def upgrade():
    op.create_table(
        "core_audit_pending",
        sa.Column("entry_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_core_audit_pending")),
    )
    op.create_table(
        "core_audit_seal",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_core_audit_seal")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_core_audit_seal_entry_id")),
    )
    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    # entries written before this revision are sealed by the first seal (or `vaxchain audit verify`)
    op.execute("INSERT INTO core_audit_pending (entry_id) SELECT id FROM core_audit_log")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER core_audit_seal_append_only ON core_audit_seal")
        op.execute("DROP FUNCTION core_audit_seal_refuse_change()")
    op.drop_table("core_audit_seal")
    op.drop_table("core_audit_pending")
