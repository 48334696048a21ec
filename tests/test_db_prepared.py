"""core.db's hot-path helpers: statements on the driver's cursor (``Prepared``), objects read that way
(``as_loaded``), and on SQLite the write lock taken at a request's first write, not at its first read."""
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError

from core import roles
from core.db import Prepared, as_loaded, db, entity_columns, insert_now, writes
from core.models import AuditEntry, User

ENTRY_BY_ID = Prepared(select(AuditEntry.at, AuditEntry.details).where(AuditEntry.id == bindparam("id")))
USER_BY_NAME = Prepared(select(*entity_columns(User)).where(User.username == bindparam("name")).limit(1))
NEW_USER = Prepared(insert(User).values(username=bindparam("username"), full_name="", password_hash="x",
                                        role=roles.VIEWER, active=True, created_at=bindparam("at")))


def test_values_go_through_the_column_types_both_ways(app):
    moment = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=UTC) + timedelta(hours=7)
    with app.app_context():
        entry = insert_now(AuditEntry(at=moment, actor="system", action="test.prepared", object_type="",
                                      details={"tên": "Nguyễn Văn An", "doses": [1, 2]}))
        at, details = ENTRY_BY_ID.first({"id": entry.id})
        assert at == moment and at.tzinfo is not None  # UTC moments, on SQLite's text too
        assert details == {"tên": "Nguyễn Văn An", "doses": [1, 2]}
        assert ENTRY_BY_ID.first({"id": entry.id + 1000}) is None
        db.session.rollback()


def test_a_driver_error_is_raised_as_sqlalchemys(app, make_user):
    make_user(roles.VIEWER, username="an")
    with app.app_context():
        with pytest.raises(IntegrityError):
            NEW_USER.rowcount({"username": "an", "at": datetime.now(UTC)})
        db.session.rollback()


def test_an_insert_must_name_the_values_of_python_defaults(app):
    with app.app_context():
        with pytest.raises(ValueError, match="created_at"):
            Prepared(insert(User).values(username=bindparam("username"), password_hash="x", role=roles.VIEWER,
                                         active=True, full_name="")).rowcount({"username": "em"})
        db.session.rollback()


def test_listeners_see_the_statements_and_pending_objects_are_flushed_first(app):
    with app.app_context():
        seen = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
        db.session.add(User(username="binh", password_hash="x", role=roles.VIEWER))  # not flushed yet
        row = USER_BY_NAME.first({"name": "binh"})
        assert row is not None
        assert any(statement.startswith("INSERT INTO core_user") for statement in seen)
        assert seen[-1].startswith("SELECT core_user.id")
        db.session.rollback()


def test_an_object_read_is_the_sessions_own_with_nothing_to_write(app, make_user):
    make_user(roles.VIEWER, username="chi")
    with app.app_context():
        user = as_loaded(User, USER_BY_NAME.first({"name": "chi"}))
        assert user in db.session and not db.session.dirty and user.username == "chi"
        assert as_loaded(User, USER_BY_NAME.first({"name": "chi"})) is user
        assert db.session.get(User, user.id) is user
        user.full_name = "Chi Lê"
        db.session.commit()
        assert db.session.scalar(select(User.full_name).where(User.username == "chi")) == "Chi Lê"


@pytest.mark.parametrize(("statement", "may_write"), [
    ("SELECT 1", False), ("  select id FROM x", False), ("PRAGMA foreign_keys", False),
    ("WITH RECURSIVE subtree(id) AS (SELECT 1) SELECT id FROM subtree", False),
    ("WITH t AS (SELECT 1) INSERT INTO x SELECT * FROM t", True), ("INSERT INTO x VALUES (1)", True),
    ("UPDATE x SET updated_at = 1", True), ("SAVEPOINT sa_savepoint_1", True), ("DELETE FROM x", True)])
def test_which_statements_may_write(statement, may_write):
    assert writes(statement) is may_write


def test_sqlite_a_write_request_holds_the_lock_from_its_first_write_only(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock")
        path = db.engine.url.database
    other = sqlite3.connect(path, timeout=0, isolation_level=None)

    def other_may_write():
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        other.execute("ROLLBACK")
        return True

    with app.test_request_context("/api/v1/injections", method="POST"):
        assert USER_BY_NAME.first({"name": "nobody"}) is None
        db.session.scalars(select(User)).all()
        assert other_may_write()  # reads leave the lock to other writers
        NEW_USER.rowcount({"username": "dung", "at": datetime.now(UTC)})
        assert not other_may_write()  # from the first write to the commit, it is this request's
        db.session.commit()
        assert other_may_write()
    other.close()
