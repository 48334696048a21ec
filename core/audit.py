"""The audit log: every write made through a service records who, when (UTC) and what.

``record()`` keeps the entry with the caller's session, so it commits or rolls back together with the
change it describes. Entries are written just before the commit, all in one statement: by then every
object they name has its id, and a registration (person, dose taken, injection) costs one insert of
audit rows instead of three. Once committed, they are sealed into a keyed hash chain (core/audit_chain.py)
so that ``vaxchain audit verify`` finds any entry altered or deleted afterwards.

A seal costs a short transaction of its own (6 round trips on PostgreSQL, as much as a third of a
registration), so each process seals at most once every ``VAXCHAIN_AUDIT_SEAL_MS`` (1 s by default): under
load one seal takes in every entry committed since the last, and after a quiet spell the first commit seals
at once. Entries committed just before writes stop wait for the next write, ``audit verify`` or a backup.
"""
import functools
import time

from flask import current_app, has_request_context
from flask_login import current_user
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import SQLAlchemyError

from core import audit_chain
from core.db import Prepared, db, utcnow
from core.models import AuditEntry, AuditPending

SYSTEM_ACTOR = "system"


def record(action, obj=None, *, object_type=None, object_id=None, details=None, user=None):
    """Add an audit entry for ``action`` (``"user.create"``, ``"lot.recall"``...) on ``obj``.

    ``user`` defaults to the logged-in user; outside a request (CLI, imports) the actor is "system"
    unless a user is given.
    """
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    row = {"at": utcnow(), "user_id": user.id if user is not None else None,
           "actor": user.username if user is not None else SYSTEM_ACTOR, "action": action,
           "object_type": object_type or "", "object_id": None if object_id is None else str(object_id),
           "details": details or {}}
    subject = obj if obj is not None and object_id is None else None  # its id comes with the flush
    db.session.info.setdefault(PENDING, []).append((row, subject))


PENDING = "audit.pending"
TO_SEAL = "audit.to_seal"
NEXT_SEAL = "vaxchain.audit.next_seal"  # this process's earliest time (time.monotonic) for the next seal
ENTRIES = AuditEntry.__table__
COLUMNS = ("at", "user_id", "actor", "action", "object_type", "object_id", "details")
ROWS_PER_INSERT = 1000


@functools.lru_cache(maxsize=64)
def insert_entries(dialect_name, count):
    """The INSERT of ``count`` entries (binds ``at_0``, ``actor_0``... ``details_{count-1}``), for the
    dialect: on PostgreSQL it also puts their ids on the pending list, in the same statement (a CTE);
    elsewhere it returns them, for :data:`INSERT_PENDING`."""
    statement = insert(ENTRIES).values([{name: bindparam(f"{name}_{n}", type_=ENTRIES.c[name].type)
                                         for name in COLUMNS} for n in range(count)])
    statement = statement.returning(ENTRIES.c.id)
    if dialect_name == "postgresql":
        entries = statement.cte("entries")
        statement = insert(AuditPending.__table__).from_select(["entry_id"], select(entries.c.id))
    return Prepared(statement)


INSERT_PENDING = Prepared(insert(AuditPending.__table__).values(entry_id=bindparam("entry_id")))


@event.listens_for(db.session, "before_commit")
def write_pending(session):
    """Write the transaction's entries in one multi-row INSERT on the session's connection (plain rows:
    no unit of work to run)."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    if any(subject is not None and subject.id is None for _row, subject in pending):
        session.flush()
    rows = [row if subject is None else {**row, "object_id": None if subject.id is None else str(subject.id)}
            for row, subject in pending]
    connection = session.connection()
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start:start + ROWS_PER_INSERT]
        statement = insert_entries(connection.dialect.name, len(chunk))
        values = {f"{name}_{n}": row[name] for n, row in enumerate(chunk) for name in COLUMNS}
        if connection.dialect.name == "postgresql":
            statement.run(values, connection)
        else:
            INSERT_PENDING.many([{"entry_id": entry_id} for (entry_id,) in statement.all(values, connection)],
                                connection)
    session.info[TO_SEAL] = True


@event.listens_for(db.session, "after_commit")
def seal_written(session):
    """Seal the entries just committed. The change is committed whatever happens here: a seal that
    fails is logged and made by the next one."""
    if not session.info.pop(TO_SEAL, False):
        return
    now = time.monotonic()
    if now < current_app.extensions.get(NEXT_SEAL, 0.0):
        return
    current_app.extensions[NEXT_SEAL] = now + current_app.config["VAXCHAIN_AUDIT_SEAL_MS"] / 1000
    try:
        audit_chain.seal(db.engine, audit_chain.chain_key(current_app.config))
    except SQLAlchemyError as error:
        current_app.logger.warning("audit entries left pending, to be sealed later: %s", type(error).__name__)


@event.listens_for(db.session, "after_transaction_end")
def forget_pending(session, transaction):
    if transaction.parent is None:  # committed (written above) or rolled back (lost with the change)
        session.info.pop(PENDING, None)
