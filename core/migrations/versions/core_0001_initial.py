"""core tables: users, login sessions, API tokens, audit log (append-only)

Revision ID: core_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None

# The audit log is append-only: the database itself refuses to change or remove an entry.
APPEND_ONLY = {
    "sqlite": [
        """CREATE TRIGGER core_audit_log_no_update BEFORE UPDATE ON core_audit_log
           BEGIN SELECT RAISE(ABORT, 'core_audit_log is append-only'); END""",
        """CREATE TRIGGER core_audit_log_no_delete BEFORE DELETE ON core_audit_log
           BEGIN SELECT RAISE(ABORT, 'core_audit_log is append-only'); END""",
    ],
    "postgresql": [
        """CREATE FUNCTION core_audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'core_audit_log is append-only'; END $$""",
        """CREATE TRIGGER core_audit_log_append_only BEFORE UPDATE OR DELETE ON core_audit_log
           FOR EACH ROW EXECUTE FUNCTION core_audit_log_refuse_change()""",
    ],
}


def upgrade():
    op.create_table(
        "core_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_user")),
        sa.UniqueConstraint("username", name=op.f("uq_core_user_username")),
    )
    op.create_table(
        "core_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["core_user.id"], name=op.f("fk_core_api_token_user_id_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_core_api_token_token_hash")),
    )
    op.create_index(op.f("ix_core_api_token_user_id"), "core_api_token", ["user_id"])
    op.create_table(
        "core_login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["core_user.id"],
                                name=op.f("fk_core_login_session_user_id_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_login_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_core_login_session_token_hash")),
    )
    op.create_index(op.f("ix_core_login_session_user_id"), "core_login_session", ["user_id"])
    op.create_table(
        "core_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["core_user.id"], name=op.f("fk_core_audit_log_user_id_core_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_audit_log")),
    )
    op.create_index(op.f("ix_core_audit_log_action"), "core_audit_log", ["action"])
    op.create_index(op.f("ix_core_audit_log_at"), "core_audit_log", ["at"])
    op.create_index("ix_core_audit_log_object", "core_audit_log", ["object_type", "object_id"])
    op.create_index(op.f("ix_core_audit_log_user_id"), "core_audit_log", ["user_id"])
    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER core_audit_log_append_only ON core_audit_log")
        op.execute("DROP FUNCTION core_audit_log_refuse_change()")
    op.drop_table("core_audit_log")
    op.drop_table("core_login_session")
    op.drop_table("core_api_token")
    op.drop_table("core_user")
