"""The doses that count, tallied per day, site, vaccine and dose number (``injection_daily_tally``), kept in the
same transaction as the injections: the dashboards read it instead of counting millions of injections.

Every write that changes which injections count calls this module: a live registration or a backlog record
adds one dose (:func:`add`), a backlog import's chunk adds its doses at once (:func:`add_all`), a correction
takes the reversed dose away (:func:`remove`). Merging two people changes no dose, so no tally.

Many desks at one site register at once, and they all touch the same row of the day: updating it at each
registration would queue them behind one row lock held until their commits. So the changes are summed in the
session and written once, just before the transaction commits, as ``modules.warehouse.ledger`` does for the
balances of virtual locations; keys are written in order, so concurrent commits cannot deadlock. A rolled
back transaction forgets them with its injections.
"""
from functools import cache

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from core.db import db
from modules.injection.models import DoseTally, Injection

PENDING = "injection.tally_deltas"
TALLY = DoseTally.__table__
KEY = (TALLY.c.day, TALLY.c.site_id, TALLY.c.presentation_id, TALLY.c.dose_number)


def add(injection):
    """Count ``injection`` (a live or backlog one just written) when the transaction commits."""
    add_all([key_of(injection)])


def remove(injection):
    """Stop counting ``injection`` (a correction reverses it) when the transaction commits."""
    add_all([key_of(injection)], -1)


def add_all(keys, sign=1):
    """Count one dose for each ``(day, site id, presentation id, dose number)`` of ``keys``."""
    pending = db.session.info.setdefault(PENDING, {})
    for key in keys:
        pending[key] = pending.get(key, 0) + sign


def key_of(injection):
    return injection.injected_on, injection.site_id, injection.presentation_id, injection.dose_number


@event.listens_for(db.session, "before_commit")
def write_pending(session):
    """Write the session's changes: one upsert per (day, site, vaccine, dose number), in key order. Also
    called by readers that must see their own transaction's doses."""
    pending = session.info.pop(PENDING, None)
    rows = [{"day": day, "site_id": site_id, "presentation_id": presentation_id, "dose_number": number,
             "doses": delta} for (day, site_id, presentation_id, number), delta in sorted((pending or {}).items())
            if delta]
    if rows:
        connection = session.connection()
        connection.execute(upsert_statement(connection.dialect.name), rows)


@event.listens_for(db.session, "after_transaction_end")
def forget_pending(session, transaction):
    if transaction.parent is None:  # committed (written above) or rolled back (lost with the injections)
        session.info.pop(PENDING, None)


@cache
def upsert_statement(dialect_name):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(TALLY)
    return statement.on_conflict_do_update(index_elements=list(KEY),
                                           set_={"doses": TALLY.c.doses + statement.excluded.doses})


# --- Checking and rebuilding ---------------------------------------------------------------------------

def fresh_counts():
    """The grouped count the tally stands for, straight from the injections: ``{key: doses}``."""
    from modules.injection.services import effective_injections  # services calls this module
    query = effective_injections().with_only_columns(
        Injection.injected_on, Injection.site_id, Injection.presentation_id, Injection.dose_number,
        func.count(Injection.id)).group_by(
        Injection.injected_on, Injection.site_id, Injection.presentation_id, Injection.dose_number)
    return {tuple(row[:4]): row[4] for row in db.session.execute(query)}


def stored_counts():
    """The tally as stored, rows of no dose left out: ``{key: doses}``."""
    write_pending(db.session)
    rows = db.session.execute(select(*KEY, TALLY.c.doses).where(TALLY.c.doses != 0))
    return {tuple(row[:4]): row[4] for row in rows}


def rebuild():
    """Refill the tally from the injections (the caller commits); returns the number of rows."""
    from modules.injection.services import effective_injections
    db.session.info.pop(PENDING, None)  # counted by the refill itself
    db.session.execute(delete(TALLY))
    grouped = effective_injections().with_only_columns(
        Injection.injected_on, Injection.site_id, Injection.presentation_id, Injection.dose_number,
        func.count(Injection.id)).group_by(
        Injection.injected_on, Injection.site_id, Injection.presentation_id, Injection.dose_number)
    db.session.execute(insert(TALLY).from_select([*KEY, TALLY.c.doses], grouped))
    return db.session.scalar(select(func.count()).select_from(TALLY))
