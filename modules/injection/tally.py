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

The same changes are summed per area (the site's province, or the site under no province) into
``injection_area_tally``, which national and province dashboards read: the daily tally holds a few rows a site
a day, millions over weeks nationally. Its rows are written after the daily tally's, in key order too, so the
order of locks stays the same in every transaction; a province's row is held from then to the commit.
"""
from functools import cache

from flask import current_app
from sqlalchemy import bindparam, delete, event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from core.db import Prepared, db
from modules.injection.models import AreaTally, DoseTally, Injection
from modules.warehouse.models import PROVINCE, Location

PENDING = "injection.tally_deltas"
TALLY = DoseTally.__table__
KEY = (TALLY.c.day, TALLY.c.site_id, TALLY.c.presentation_id, TALLY.c.dose_number)
AREAS = AreaTally.__table__
AREA_KEY = (AREAS.c.day, AREAS.c.area_id, AREAS.c.presentation_id, AREAS.c.dose_number)


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
    pending = {key: delta for key, delta in session.info.pop(PENDING, {}).items() if delta}
    if not pending:
        return
    rows = [{"day": day, "site_id": site_id, "presentation_id": presentation_id, "dose_number": number,
             "doses": delta} for (day, site_id, presentation_id, number), delta in sorted(pending.items())]
    area_of = areas_of(session, {site_id for _day, site_id, _presentation, _number in pending})
    per_area = {}
    for (day, site_id, presentation_id, number), delta in pending.items():
        key = day, area_of[site_id], presentation_id, number
        per_area[key] = per_area.get(key, 0) + delta
    area_rows = [{"day": day, "area_id": area_id, "presentation_id": presentation_id, "dose_number": number,
                  "doses": delta} for (day, area_id, presentation_id, number), delta in sorted(per_area.items())
                 if delta]
    connection = session.connection()
    upsert_statement(connection.dialect.name, TALLY, KEY).many(rows, connection)
    if area_rows:
        upsert_statement(connection.dialect.name, AREAS, AREA_KEY).many(area_rows, connection)


def areas_of(session, site_ids):
    """``{site id: area id}``: the province-level location whose path the site's starts with, else the site.
    A location never moves (its path is set once, at its creation), so each app looks a site up once: a
    registration's commit then costs one upsert more, not a query more."""
    known = current_app.extensions.setdefault("injection.site_areas", {})
    missing = sorted(site_id for site_id in site_ids if site_id not in known)
    if missing:
        province = aliased(Location)
        query = (select(Location.id, func.coalesce(province.id, Location.id))
                 .outerjoin(province, (province.kind == PROVINCE) & Location.path.startswith(province.path))
                 .where(Location.id.in_(missing)))
        known.update(session.execute(query).all())
    return {site_id: known[site_id] for site_id in site_ids}


@event.listens_for(db.session, "after_transaction_end")
def forget_pending(session, transaction):
    if transaction.parent is None:  # committed (written above) or rolled back (lost with the injections)
        session.info.pop(PENDING, None)


@cache
def upsert_statement(dialect_name, table, key):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table).values({column.name: bindparam(column.name) for column in (*key, table.c.doses)})
    return Prepared(statement.on_conflict_do_update(index_elements=list(key),
                                                    set_={"doses": table.c.doses + statement.excluded.doses}))


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


def fresh_area_counts():
    """The daily tally as stored, summed per area the way :func:`write_pending` does: ``{key: doses}``."""
    counts = stored_counts()
    area_of = areas_of(db.session, {site_id for _day, site_id, _presentation, _number in counts})
    per_area = {}
    for (day, site_id, presentation_id, number), doses in counts.items():
        key = day, area_of[site_id], presentation_id, number
        per_area[key] = per_area.get(key, 0) + doses
    return {key: doses for key, doses in per_area.items() if doses}


def stored_area_counts():
    """The area tally as stored, rows of no dose left out: ``{key: doses}``."""
    write_pending(db.session)
    rows = db.session.execute(select(*AREA_KEY, AREAS.c.doses).where(AREAS.c.doses != 0))
    return {tuple(row[:4]): row[4] for row in rows}


def rebuild():
    """Refill both tallies from the injections (the caller commits); returns the number of daily rows."""
    from modules.injection.services import effective_injections
    db.session.info.pop(PENDING, None)  # counted by the refill itself
    db.session.execute(delete(TALLY))
    db.session.execute(delete(AREAS))
    grouped = effective_injections().with_only_columns(
        Injection.injected_on, Injection.site_id, Injection.presentation_id, Injection.dose_number,
        func.count(Injection.id)).group_by(
        Injection.injected_on, Injection.site_id, Injection.presentation_id, Injection.dose_number)
    db.session.execute(insert(TALLY).from_select([*KEY, TALLY.c.doses], grouped))
    province = aliased(Location)
    area = func.coalesce(province.id, Location.id)
    per_area = (select(TALLY.c.day, area, TALLY.c.presentation_id, TALLY.c.dose_number, func.sum(TALLY.c.doses))
                .join(Location, Location.id == TALLY.c.site_id)
                .outerjoin(province, (province.kind == PROVINCE) & Location.path.startswith(province.path))
                .group_by(TALLY.c.day, area, TALLY.c.presentation_id, TALLY.c.dose_number))
    db.session.execute(insert(AREAS).from_select([*AREA_KEY, AREAS.c.doses], per_area))
    return db.session.scalar(select(func.count()).select_from(TALLY))
