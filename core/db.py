"""The SQLAlchemy handle, the declarative base and the column types every module shares."""
import functools
import random
import re
import time
from datetime import UTC, datetime

from flask import current_app, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, bindparam, event, insert, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import TypeDecorator

# Alembic needs named constraints (SQLite most of all, where batch mode recreates tables).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The ids of the tables that grow with every dose (audit entries, moves, injections, logger readings): a
# national campaign's 5 million injections a day would pass INTEGER's 2 147 483 647 within months. SQLite's
# INTEGER is already 64-bit (and only INTEGER makes a primary key the rowid), so it keeps that name there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A moment in time, stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def insert_rows(connection, table, columns, rows):
    """Insert plain ``rows`` (tuples in ``columns``' order) as one executemany on ``connection``, for bulk
    loads (a backlog import writes millions). Each column's bind conversion (dates to SQLite's text...)
    runs once per distinct value, not once per row as in ``connection.execute(insert(table), dicts)``."""
    if not rows:
        return
    dialect = connection.dialect
    compiled = insert(table).inline().compile(dialect=dialect, column_keys=list(columns))
    defaulted = set(compiled.binds) - set(columns)
    if defaulted:  # a column's Python default would be needed: give the value instead
        raise ValueError(f"insert_rows into {table.name} needs the columns {sorted(defaulted)}")
    converters = {}
    for index, name in enumerate(columns):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            converters[index] = (processor, {})
    if converters:
        rows = [converted(row, converters) for row in rows]
    if dialect.name == "postgresql":  # COPY: a fifth of the server's work of as many INSERTs
        copy_rows(connection, table, columns, rows)
        return
    if dialect.paramstyle == "qmark":
        order = [columns.index(name) for name in compiled.positiontup]
        parameters = rows if order == list(range(len(columns))) else [tuple(row[i] for i in order) for row in rows]
    else:
        parameters = [dict(zip(columns, row, strict=True)) for row in rows]
    connection.exec_driver_sql(str(compiled), parameters)


def copy_rows(connection, table, columns, rows):
    """PostgreSQL's COPY FROM STDIN on the connection's psycopg connection, in its transaction."""
    preparer = connection.dialect.identifier_preparer
    names = ", ".join(preparer.quote(name) for name in columns)
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def insert_rows_with_ids(connection, table, columns, rows):
    """:func:`insert_rows`, returning the rows' new ids in order. An ordered RETURNING would cost one
    statement per row (SQLAlchemy cannot batch it for a serial key), so the ids are known otherwise:
    PostgreSQL hands out the sequence's next values first; SQLite gives the rows of one write transaction
    consecutive ROWIDs after the largest, its writer holding the lock meanwhile."""
    if not rows:
        return []
    if connection.dialect.name == "postgresql":
        ids = connection.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                      "FROM generate_series(1, :count)"), {"count": len(rows)}).scalars().all()
        insert_rows(connection, table, ("id", *columns),
                    [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)])
        return ids
    insert_rows(connection, table, columns, rows)
    last = connection.exec_driver_sql("SELECT last_insert_rowid()").scalar()
    return list(range(last - len(rows) + 1, last + 1))


def converted(row, converters):
    row = list(row)
    for index, (processor, seen) in converters.items():
        value = row[index]
        try:
            row[index] = seen[value]
        except KeyError:
            row[index] = seen[value] = processor(value)
    return tuple(row)


PYFORMAT_BIND = re.compile(r"(?<!%)%\((\w+)\)s")


class Prepared:
    """A statement of a hot path (registration, scan), compiled once per dialect and sent on the session's
    DBAPI cursor, in its transaction: SQLAlchemy's execution (its context, result and ORM loading) cost three
    to five times the driver's own work for a one-row statement, and registering a dose sends fifteen. Values
    go through the columns' types both ways as in SQLAlchemy (dates to SQLite's text, UTC moments...); driver
    errors are raised as SQLAlchemy's (``IntegrityError``...), and ``before_cursor_execute`` listeners see
    the statement, so that statement counts stay true. No expanding IN parameters, and no Python column
    defaults: an INSERT names every value (see :func:`insert_now` for whole objects)."""

    def __init__(self, statement):
        self.statement = statement
        self.by_dialect = {}

    def run(self, params=None, connection=None):
        """Execute with ``params`` (a dict by bind name) on ``connection`` (default: the session's, flushed first
        as for the ORM's own statements); the driver's cursor and the result converters."""
        connection = connection or session_connection()
        sql, order, binds, constants, results = self.compiled_for(connection.dialect)
        params = self.bound(params, order, binds, constants)
        return self.sent(connection, sql, params, lambda driver: driver.execute(sql, params)), results

    def many(self, rows, connection=None):
        """Execute once per dict of ``rows`` (one executemany)."""
        if len(rows) == 1:
            self.run(rows[0], connection)
            return
        connection = connection or session_connection()
        sql, order, binds, constants, _results = self.compiled_for(connection.dialect)
        params = [self.bound(row, order, binds, constants) for row in rows]
        self.sent(connection, sql, params, lambda driver: driver.cursor().executemany(sql, params))

    @staticmethod
    def bound(params, order, binds, constants):
        params = {**constants, **params} if params else dict(constants)
        for name, processor in binds:
            params[name] = processor(params[name])
        return tuple(params[name] for name in order)

    @staticmethod
    def sent(connection, sql, params, send):
        dialect = connection.dialect
        connection.dispatch.before_cursor_execute(connection, None, sql, params, None, False)
        try:
            return send(connection.connection.driver_connection)
        except dialect.loaded_dbapi.Error as error:
            raise as_sqlalchemy_error(sql, params, error, dialect) from error

    def compiled_for(self, dialect):
        return self.by_dialect.get(dialect.name) or self.compile(dialect)

    def compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect)
        defaulted = [column.name for column in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if defaulted:
            raise ValueError(f"give the values of {defaulted}: a Prepared statement applies no Python default")
        sql, order = str(compiled), compiled.positiontup
        if dialect.paramstyle == "pyformat":  # psycopg: positional values cost it less than named ones
            order = []
            sql = PYFORMAT_BIND.sub(lambda bind: order.append(bind.group(1)) or "%s", sql)
        constants = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}  # LIMIT 1...
        binds = [(name, processor) for name, bind in compiled.binds.items()
                 if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None]
        results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                   for column in self.statement.exported_columns]
        found = self.by_dialect[dialect.name] = (sql, order, binds, constants, results)
        return found

    def all(self, params=None, connection=None):
        cursor, results = self.run(params, connection)
        rows = cursor.fetchall()
        if not any(results):
            return rows
        return [tuple(value if convert is None or value is None else convert(value)
                      for value, convert in zip(row, results, strict=True)) for row in rows]

    def first(self, params=None, connection=None):
        """The first row (as a tuple), or ``None``."""
        rows = self.all(params, connection)
        return rows[0] if rows else None

    def scalar(self, params=None, connection=None):
        row = self.first(params, connection)
        return None if row is None else row[0]

    def rowcount(self, params=None, connection=None):
        """Execute; the number of rows written."""
        return self.run(params, connection)[0].rowcount


@functools.cache
def column_keys(model):
    """The attribute names of ``model``'s columns, in the order :func:`entity_columns` selects them."""
    return tuple(attribute.key for attribute in inspect(model).column_attrs)


def entity_columns(model):
    """``model``'s columns, to select a whole object with a :class:`Prepared` statement (see :func:`as_loaded`)."""
    return [getattr(model, key) for key in column_keys(model)]


def as_sqlalchemy_error(sql, params, error, dialect):
    """The driver's ``error`` as SQLAlchemy raises it (``IntegrityError``...), for statements sent past it."""
    return DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect)


def session_connection():
    """The session's connection, after its autoflush (unless in ``no_autoflush``)."""
    session = db.session()
    if session.autoflush:
        session.flush()
    return current_connection(session)


def current_connection(session):
    return session.info.get(CONNECTION) or session.connection()


CONNECTION = "vaxchain.connection"  # the session's, remembered for its transaction: asking costs a tenth of a query


@event.listens_for(db.session, "after_begin")
def remember_connection(session, _transaction, connection):
    session.info[CONNECTION] = connection


@event.listens_for(db.session, "after_transaction_end")
def forget_connection(session, transaction):
    if transaction.parent is None:
        session.info.pop(CONNECTION, None)


def as_loaded(model, row, **related):
    """The ``model`` object whose :func:`entity_columns` were read as ``row``, as if the session had loaded it:
    the one already in the session if there is one, else a new one put there, with nothing to write and the
    ``related`` objects (``presentation=...``) as its relationships, loaded."""
    values = dict(zip(column_keys(model), row, strict=True))
    session = db.session
    found = session.identity_map.get(identity_key(model, values["id"]))
    if found is not None:
        return found
    obj = inspect(model).class_manager.new_instance()  # no constructor: its per-attribute events cost most
    obj.__dict__.update(values, **related)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def insert_now(obj):
    """Write the new object ``obj`` at once, with one prebuilt INSERT ... RETURNING its id, and keep it in the
    session as if it had been loaded: what a flush does for one row, without the unit of work (a flush cost
    four times its statement on registration's path). Foreign keys must be set as keys, not through
    relationships; columns left empty get their Python defaults, as in a flush. Anything else waiting in
    the session is flushed first, as ``obj`` may refer to it."""
    session = db.session
    if obj in session:
        session.expunge(obj)  # added but not flushed: written here instead
    session.flush()
    statement, columns = insert_statement(type(obj))
    given, values = obj.__dict__, {}
    for key, column in columns:
        value = given.get(key)
        if value is None and column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
            setattr(obj, key, value)
        values[column.key] = value
    obj.id = statement.scalar(values, current_connection(session))  # flushed above
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


@functools.cache
def insert_statement(model):
    """``(INSERT of every column but the id RETURNING the id, [(attribute, column)])`` of ``model``."""
    table = model.__table__
    columns = [(attribute.key, attribute.columns[0]) for attribute in inspect(model).column_attrs
               if attribute.columns[0] is not table.c.id]
    if any(column.server_default is not None for _key, column in columns):
        raise ValueError(f"insert_now cannot leave {table.name}'s server defaults to the server")
    values = {column.key: bindparam(column.key, type_=column.type) for _key, column in columns}
    return Prepared(insert(table).values(values).returning(table.c.id)), columns


READ_ONLY_METHODS = ("GET", "HEAD", "OPTIONS")


def tune_sqlite(engine):
    """WAL so readers never block the writer, a busy timeout so writers queue, foreign keys enforced.

    SQLite has one writer at a time, and a transaction that read before it writes cannot take the write
    lock once another writer has committed since its first read ("database is locked", at once). So a
    request that may write (not GET) reads first in a transaction of its own, and at its first write (or
    :func:`lock_for_transaction`) ends it and begins again with BEGIN IMMEDIATE, which waits its turn for the
    lock (busy timeout) and holds it to the commit: the lock is held for the writes alone, not for the
    request's authentication and look-ups (a registration's reads took half its time under it). What was
    read before the first write is as PostgreSQL's READ COMMITTED would have it: guarded by the
    conditional updates, unique constraints and :func:`lock_for_transaction`, as there.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below

    @event.listens_for(engine, "begin")
    def begin(connection):
        connection.info[READS_FIRST] = False
        connection.exec_driver_sql("BEGIN")
        connection.info[READS_FIRST] = not (has_request_context() and request.method in READ_ONLY_METHODS
                                            and not connection.get_execution_options().get("writes"))

    @event.listens_for(engine, "before_cursor_execute")
    def lock_before_writing(connection, _cursor, statement, *_args):
        if connection.info.get(READS_FIRST) and writes(statement):
            take_write_lock(connection)


READS_FIRST = "vaxchain.sqlite_reads_first"
WRITING = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b")


def writes(statement):
    """May this SQL statement write? (A SELECT or PRAGMA does not; a WITH does if it holds a DML verb.)"""
    head = statement.lstrip()[:6].upper()
    if head in ("SELECT", "PRAGMA"):
        return False
    return not head.startswith("WITH") or WRITING.search(statement) is not None


LOCK_WAIT_S = 15
LOCK_POLL_S = 0.001


def take_write_lock(connection):
    """End the reading transaction of a request that may write, and begin its writing one (see tune_sqlite).
    The wait for the lock is ours, a poll every millisecond: SQLite's own busy handler sleeps 1, 2, 5,
    10... up to 100 ms between tries, and writers queued that way left the lock free a third of the time."""
    connection.info[READS_FIRST] = False
    driver = connection.connection.driver_connection
    driver.execute("COMMIT")
    driver.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except connection.dialect.loaded_dbapi.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise as_sqlalchemy_error("BEGIN IMMEDIATE", (), error, connection.dialect) from error
                time.sleep(LOCK_POLL_S)
    finally:
        driver.execute(f"PRAGMA busy_timeout={LOCK_WAIT_S * 1000}")


# --- Transactions that lost a race for a lock ----------------------------------------------------------

RETRY_ATTEMPTS = 4
RETRY_SQLSTATES = {"40P01": "deadlock", "40001": "serialization failure"}


def transient_conflict(error):
    """What made the database give up on a transaction that may simply run again (``None``: another
    error): a PostgreSQL deadlock or serialization failure, or SQLite's lock wait timing out."""
    if not isinstance(error, DBAPIError):
        return None
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in RETRY_SQLSTATES:
        return RETRY_SQLSTATES[sqlstate]
    if "database is locked" in str(error.orig):
        return "database is locked"
    return None


def retry_transaction(work, refusal, attempts=RETRY_ATTEMPTS):
    """Decorate ``work`` (a request's whole transaction, commit included) to run again, after a short random
    pause, when the database cancels it for a deadlock or a lock it waited too long for: the database undid
    it all, so running it again is safe. After ``attempts`` tries ``refusal()`` is raised (a 409 for the
    API), so no database error reaches the user."""

    @functools.wraps(work)
    def attempt(*args, **kwargs):
        for number in range(1, attempts + 1):
            try:
                return work(*args, **kwargs)
            except DBAPIError as error:
                cause = transient_conflict(error)
                if cause is None:
                    raise
                db.session.rollback()
                if number == attempts:
                    current_app.logger.warning("transaction refused after %d attempts, the last ended by a %s (%s)",
                                               attempts, cause, work.__name__)
                    raise refusal() from error
                current_app.logger.warning("transaction retried after a %s (attempt %d, %s)", cause, number,
                                           work.__name__)
                time.sleep(random.uniform(0.01, 0.05) * number)  # apart, so they do not collide again
        raise AssertionError("unreachable")

    return attempt


def lock_for_transaction(name):
    """Make concurrent transactions that call this with the same ``name`` run one after another, till
    commit or rollback: a PostgreSQL advisory lock on the name's hash; on SQLite, whose writers run one at a
    time, the write lock, taken now (see :func:`tune_sqlite`)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})
    elif connection.info.get(READS_FIRST):
        take_write_lock(connection)


def widen_ids_to_bigint(operations, table, columns):
    """A migration's step: ``columns`` of ``table`` become BIGINT on PostgreSQL, with the id's sequence
    (SQLite's INTEGER is 64-bit already). PostgreSQL rewrites the table: minutes for hundreds of millions of
    rows, under an exclusive lock, so run upgrades in a maintenance window."""
    if operations.get_bind().dialect.name != "postgresql":
        return
    for column in columns:
        operations.alter_column(table, column, type_=BigInteger(), existing_type=Integer())
    operations.execute(f"ALTER SEQUENCE {table}_id_seq AS bigint")
