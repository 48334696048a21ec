"""The audit log is tamper-evident: `vaxchain audit verify` finds an altered, deleted or forged entry."""
import threading
import time

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from core import accounts, audit, audit_chain, roles
from core.cli import cli
from core.db import db, utcnow
from core.models import AuditEntry, AuditPending, AuditSeal


@pytest.fixture(autouse=True)
def seal_every_commit(app):
    """Tamper with sealed entries: every commit seals at once (the interval has its own test below)."""
    app.config["VAXCHAIN_AUDIT_SEAL_MS"] = 0


def write_entries(app, count, action="test.write"):
    with app.app_context():
        for number in range(count):
            audit.record(action, object_type="test", object_id=number, details={"name": "Nguyễn Văn An"})
            db.session.commit()


def verify(app, *args):
    return app.test_cli_runner().invoke(cli, ["audit", "verify", *args])


def tamper(app, statement):
    """Run ``statement`` around the append-only triggers, as someone with the database's keys could."""
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for table in ("core_audit_log", "core_audit_seal"):
                for action in ("update", "delete"):
                    connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        connection.execute(statement)


def entry_ids(app):
    with app.app_context():
        return db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()


def pending_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditPending))


def test_every_committed_entry_is_sealed_at_once_in_order_when_the_interval_is_zero(app):
    write_entries(app, 5)
    assert pending_count(app) == 0
    with app.app_context():
        seals = db.session.execute(select(AuditSeal.position, AuditSeal.entry_id).order_by(AuditSeal.position)).all()
    assert [position for position, _ in seals] == list(range(1, len(seals) + 1))
    assert [entry_id for _, entry_id in seals] == entry_ids(app)


def test_a_burst_of_commits_is_sealed_by_its_first_commit_then_by_the_next_after_the_interval(app):
    app.config["VAXCHAIN_AUDIT_SEAL_MS"] = 200
    app.extensions.pop(audit.NEXT_SEAL, None)
    write_entries(app, 5)
    assert pending_count(app) == 4  # the first commit sealed its entry (and any before it); the next 4 wait
    time.sleep(0.25)
    write_entries(app, 1)
    assert pending_count(app) == 0
    assert verify(app).exit_code == 0


def test_an_untouched_log_verifies_and_prints_its_head(app):
    write_entries(app, 3)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"Audit log intact: {len(entry_ids(app))} entries sealed." in result.output
    head = result.output.split("Head: ")[1].split()[0]
    assert verify(app, "--head", head).exit_code == 0


def test_an_altered_entry_is_found(app):
    write_entries(app, 3)
    victim = entry_ids(app)[1]
    tamper(app, update(AuditEntry).where(AuditEntry.id == victim).values(actor="someone-else"))
    result = verify(app)
    assert result.exit_code == 1
    assert f"entry {victim} (position 2) was altered after it was written" in result.output


def test_a_changed_detail_is_found_too(app):
    write_entries(app, 2)
    victim = entry_ids(app)[0]
    tamper(app, update(AuditEntry).where(AuditEntry.id == victim).values(details={"name": "Trần Văn Bình"}))
    assert f"entry {victim} (position 1) was altered" in verify(app).output


def test_a_deleted_entry_is_found(app):
    write_entries(app, 3)
    victim = entry_ids(app)[1]
    tamper(app, delete(AuditEntry).where(AuditEntry.id == victim))
    result = verify(app)
    assert result.exit_code == 1
    assert f"entry {victim} (position 2) was deleted" in result.output


def test_an_entry_deleted_with_its_seal_leaves_a_gap(app):
    write_entries(app, 4)
    victim = entry_ids(app)[1]
    tamper(app, delete(AuditSeal).where(AuditSeal.entry_id == victim))
    tamper(app, delete(AuditEntry).where(AuditEntry.id == victim))
    result = verify(app)
    assert result.exit_code == 1
    assert "positions 2 to 2 of the chain are missing" in result.output


def test_entries_cut_from_the_end_show_against_a_kept_head(app):
    write_entries(app, 3)
    head = verify(app).output.split("Head: ")[1].split()[0]
    last = entry_ids(app)[-1]
    tamper(app, delete(AuditSeal).where(AuditSeal.entry_id == last))
    tamper(app, delete(AuditEntry).where(AuditEntry.id == last))
    assert verify(app).exit_code == 0  # the chain alone cannot tell: that is what the kept head is for
    result = verify(app, "--head", head)
    assert result.exit_code == 1
    assert "the chain no longer holds the head given" in result.output


def test_an_entry_slipped_in_behind_the_application_is_found(app):
    write_entries(app, 1)
    with app.app_context(), db.engine.begin() as connection:
        forged = connection.execute(insert(AuditEntry).returning(AuditEntry.id), [{
            "at": utcnow(), "actor": "admin", "action": "stock.adjust", "object_type": "x", "details": {}}]).scalar()
    result = verify(app)
    assert result.exit_code == 1
    assert f"entry {forged} has no seal" in result.output


def test_the_chain_depends_on_the_key(app, make_app):
    write_entries(app, 2)
    other = make_app(VAXCHAIN_AUDIT_KEY="another-key-that-is-not-the-one-used")
    result = verify(other)
    assert result.exit_code == 1
    assert result.output.count("was altered") == len(entry_ids(app))


def test_a_bad_head_is_refused_with_its_format(app):
    result = verify(app, "--head", "12")
    assert result.exit_code == 2
    assert "POSITION:CHAIN" in result.output


def test_a_failed_seal_keeps_the_change_and_the_next_seal_makes_up_for_it(app, monkeypatch):
    def broken(engine, key):
        raise OperationalError("SELECT 1", {}, Exception("database went away"))

    monkeypatch.setattr(audit_chain, "seal", broken)
    with app.app_context():
        user = accounts.create_user("linh", "correct-horse-battery-9", roles.VIEWER)
        db.session.commit()
        assert db.session.get(type(user), user.id) is not None
        assert db.session.scalar(select(func.count()).select_from(AuditPending)) >= 1
    monkeypatch.undo()
    assert verify(app).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditPending)) == 0


def test_writers_at_the_same_time_make_one_unbroken_chain(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and ":memory:" in app.config[
            "SQLALCHEMY_DATABASE_URI"]:
        pytest.skip("needs a database shared between connections")
    # two writers, each with its seal's second connection, fit the pool (core/config.py: 2 + 3 overflow); six
    # waited out the pool's 30 s timeout at every seal
    writers = [threading.Thread(target=write_entries, args=(app, 30, f"test.writer{n}")) for n in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"{len(entry_ids(app))} entries sealed" in result.output
