"""The schema: `vaxchain init` builds it from the migrations, idempotently; tables carry their owner's
name; the models and the migrations agree; the audit log cannot be rewritten."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from core import audit, schema
from core.cli import cli
from core.db import db
from core.models import AuditEntry, User
from tests.conftest import PASSWORD

VERSION_TABLE = "alembic_version"


def table_names(app):
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def init(app):
    return app.test_cli_runner().invoke(cli, ["init", "--admin-password", PASSWORD])


def row_counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(User)),
                db.session.scalar(select(func.count()).select_from(AuditEntry)))


def add_audit_entry(app):
    with app.app_context():
        audit.record("probe.append_only", object_type="probe", object_id="1")
        db.session.commit()
        return db.session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.action == "probe.append_only"))


# --- vaxchain init ------------------------------------------------------------------------------

def test_init_creates_every_table_the_models_declare(empty_app):
    assert table_names(empty_app) == set()

    result = init(empty_app)

    assert result.exit_code == 0, result.output
    assert table_names(empty_app) == set(db.metadata.tables) | {VERSION_TABLE}


def test_empty_database_is_not_up_to_date(empty_app):
    with empty_app.app_context():
        assert not schema.is_up_to_date()


def test_init_brings_every_branch_to_its_newest_revision(empty_app):
    init(empty_app)

    with empty_app.app_context():
        assert schema.is_up_to_date()
        assert schema.applied_revisions() >= {"core_0001", "login_journal_0001"}


def test_init_run_again_changes_nothing(empty_app):
    init(empty_app)
    tables, counts = table_names(empty_app), row_counts(empty_app)
    with empty_app.app_context():
        heads = schema.current_heads()

    again = init(empty_app)

    assert again.exit_code == 0, again.output
    assert "already exists" in again.output
    assert table_names(empty_app) == tables
    assert row_counts(empty_app) == counts == (1, 1)
    with empty_app.app_context():
        assert schema.current_heads() == heads


# --- Table ownership ----------------------------------------------------------------------------

def test_every_table_carries_the_name_of_its_owner(app):
    owners = {info.name for info in app.extensions["vaxchain"].plugins()}
    assert {"core", "lots", "login_journal"} <= owners

    tables = table_names(app) - {VERSION_TABLE}

    assert "login_journal_entry" in tables  # plugins' tables are there too
    unowned = sorted(t for t in tables if not any(t.startswith(owner + "_") for owner in owners))
    assert unowned == []


def test_every_model_table_carries_the_name_of_its_owner(app):
    owners = {info.name for info in app.extensions["vaxchain"].plugins()}

    unowned = sorted(t for t in db.metadata.tables if not any(t.startswith(owner + "_") for owner in owners))

    assert unowned == []


# --- Models and migrations agree ----------------------------------------------------------------

def test_models_match_the_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)

    assert differences == []


# --- The audit log is append-only ---------------------------------------------------------------

def test_audit_log_accepts_new_entries(app):
    entry_id = add_audit_entry(app)

    with app.app_context():
        assert db.session.get(AuditEntry, entry_id).action == "probe.append_only"


def test_audit_log_refuses_an_update_at_the_database(app):
    entry_id = add_audit_entry(app)

    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(text("UPDATE core_audit_log SET action = 'probe.rewritten'"))
        assert db.session.get(AuditEntry, entry_id).action == "probe.append_only"


def test_audit_log_refuses_a_delete_at_the_database(app):
    entry_id = add_audit_entry(app)

    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(text("DELETE FROM core_audit_log"))
        assert db.session.get(AuditEntry, entry_id) is not None


def test_audit_log_refuses_an_update_through_the_orm(app):
    entry_id = add_audit_entry(app)

    with app.app_context():
        db.session.get(AuditEntry, entry_id).actor = "someone else"
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditEntry, entry_id).actor == audit.SYSTEM_ACTOR
