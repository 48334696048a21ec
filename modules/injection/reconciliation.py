"""The Ministry's reconciliation: what sites say they gave, what was entered, and where the doses went.

Two views of the same sites:

* **per site and day** — the site's own count of doses given (its daily tally), the injections entered
  for that day, and the backlog still to enter (tally − entered);
* **per site and lot** — doses received, sent on, injected (recorded), wasted and on hand, whose *gap*
  points at doses gone with no record (see :class:`StockRow`).

And the recall list: everyone injected from a lot. Every reader takes location ids (a list, or a query
of ids) and answers with grouped queries only. The caller commits.
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import aliased, contains_eager

from core import audit
from core.clock import local_today
from core.db import db
from core.service_errors import ServiceError
from modules.injection import tally as dose_tally
from modules.injection.models import DailyTally, DoseTally, Injection, Person
from modules.injection.services import effective_injections
from modules.lots.models import Lot, Presentation
from modules.warehouse import ledger, locations
from modules.warehouse.ledger import MAX_DOSES_PER_MOVE
from modules.warehouse.models import (
    DISTRICT,
    PROVINCE,
    SITE,
    WASTAGE,
    Balance,
    Location,
    Move,
)

LEVELS = (SITE, DISTRICT, PROVINCE)
MAX_TALLY = MAX_DOSES_PER_MOVE  # a tally beyond what a national store holds of one lot is a typo


# --- The daily tally --------------------------------------------------------------------------------

def set_tally(site, day, doses, user=None):
    """Record (or replace) the doses ``site`` says it gave on ``day``; returns the :class:`DailyTally`."""
    if site is None or site.kind != SITE:
        name = site.name if site is not None else ""
        raise ServiceError(_("%(location)s is not a vaccination site.", location=name), "site", "not_a_site")
    if not isinstance(day, date):
        raise ServiceError(_("Enter the date as dd/mm/yyyy, for example 31/12/2025."), "day", "bad_day")
    if day > local_today():
        raise ServiceError(_("The day of a tally cannot be in the future."), "day", "in_the_future")
    if not isinstance(doses, int) or isinstance(doses, bool) or doses < 0:
        raise ServiceError(_("The doses given must be a whole number, 0 or more."), "doses", "bad_doses")
    if doses > MAX_TALLY:
        raise ServiceError(_("%(doses)d doses is not a plausible quantity.", doses=doses), "doses",
                           "absurd_quantity")
    tally = db.session.scalar(select(DailyTally).where(DailyTally.site_id == site.id, DailyTally.day == day))
    previous = tally.doses if tally is not None else None
    if tally is None:
        tally = DailyTally(site_id=site.id, day=day, doses=doses)
        db.session.add(tally)
    tally.doses, tally.reported_by = doses, user.id if user is not None else None
    db.session.flush()
    audit.record("injection.tally", tally, user=user, details={
        "site": site.code, "day": day.isoformat(), "doses": doses, "previous": previous})
    return tally


# --- Per site and day -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DailyRow:
    """One place (a site, or a district / province totalling its sites) on one day.

    ``tally``: doses the site(s) reported given (``None``: no site reported); ``entered``: injections
    entered for the day (live and backlog that count); ``backlog``: tally − entered, summed over the
    sites that reported (``None`` when none did); ``untallied``: site-days in the row with injections
    entered but no tally, whose entries are in ``entered`` but in no backlog.
    """

    place: Location
    day: date
    tally: int | None
    entered: int
    backlog: int | None
    untallied: int = 0


def sites_among(location_ids):
    """The query of the ids of the vaccination sites among ``location_ids`` (ids or a query of ids)."""
    return select(Location.id).where(Location.id.in_(location_ids), Location.kind == SITE)


def daily_rows(location_ids, start, end, level=SITE):
    """One :class:`DailyRow` per place of ``level`` ("site", "district" or "province") and day from ``start`` to
    ``end`` (inclusive), for the sites among ``location_ids``, by place in the tree, then day."""
    return daily_rows_of(daily_keys(location_ids, start, end, level))


def daily_keys(location_ids, start, end, level=SITE):
    """``(place id, day, tally, entered, backlog, untallied)`` (see :class:`DailyRow`) per place of ``level`` and
    day, by place in the tree, then day: one grouped query of short rows (a nation's week is 70 000 site-days; a
    page makes :class:`DailyRow` of its own with :func:`daily_rows_of`).

    Every site-day with a tally or an injection entered counts; site-days with neither are left out. A site
    counts towards the ancestor of the level's kind on its ``Location.path``; a site with none (the tree's depth
    varies: a site may hang right under a province) stays a place of its own, so no dose leaves the totals."""
    if level not in LEVELS:
        raise ServiceError(_("Choose a level: site, district or province."), "level", "unknown_level")
    dose_tally.write_pending(db.session)  # the doses entered, from the tally kept with them (this transaction's too)
    sites = sites_among(location_ids)
    paper = (select(DailyTally.site_id.label("site_id"), DailyTally.day.label("day"), DailyTally.doses.label("tally"),
                    literal(1).label("reported"), literal(0).label("entered"))
             .where(DailyTally.site_id.in_(sites), DailyTally.day.between(start, end)))
    entered = (select(DoseTally.site_id, DoseTally.day, literal(0), literal(0), DoseTally.doses)
               .where(DoseTally.site_id.in_(sites), DoseTally.day.between(start, end)))
    both = union_all(paper, entered).subquery()
    per_site = (select(both.c.site_id, both.c.day, func.sum(both.c.tally).label("tally"),
                       func.max(both.c.reported).label("reported"), func.sum(both.c.entered).label("entered"))
                .group_by(both.c.site_id, both.c.day)
                .having(or_(func.max(both.c.reported) == 1, func.sum(both.c.entered) != 0)).subquery())
    reported = per_site.c.reported == 1
    query = select(per_site.c.site_id.label("place_id"), per_site.c.day,
                   func.sum(case((reported, per_site.c.tally))).label("tally"),
                   func.sum(per_site.c.entered).label("entered"),
                   func.sum(case((reported, per_site.c.tally - per_site.c.entered))).label("backlog"),
                   func.sum(case((reported, 0), else_=1)).label("untallied"))
    if level == SITE:
        query = query.group_by(per_site.c.site_id, per_site.c.day)
    else:
        site, owner = aliased(Location), aliased(Location)
        place_id = func.coalesce(owner.id, site.id)
        query = (query.with_only_columns(place_id.label("place_id"), *list(query.selected_columns)[1:])
                 .join(site, site.id == per_site.c.site_id)
                 .outerjoin(owner, and_(owner.kind == level, site.path.startswith(owner.path)))
                 .group_by(place_id, per_site.c.day))
    totals = query.subquery()
    ordered = (select(*totals.c).join(Location, Location.id == totals.c.place_id)
               .order_by(Location.path, totals.c.day))  # grouped on ids, then ordered by path
    return [(place_id, day, *(None if value is None else int(value) for value in counts))
            for place_id, day, *counts in db.session.execute(ordered)]


def daily_rows_of(keys):
    """:class:`DailyRow` of ``keys`` (from :func:`daily_keys`), in their order: one query (the places)."""
    places = locations_by_id({key[0] for key in keys})
    return [DailyRow(places[place_id], *columns) for place_id, *columns in keys]


def daily_total(keys):
    """One :class:`DailyRow` adding up ``keys`` (from :func:`daily_keys`), with no place and no day."""
    return summed(None, None, [DailyRow(None, *columns) for _place, *columns in keys])


def summed(place, day, rows):
    """One :class:`DailyRow` for ``place`` and ``day`` (``None`` for a total over days) adding up ``rows``."""
    tallies = [row.tally for row in rows if row.tally is not None]
    backlogs = [row.backlog for row in rows if row.backlog is not None]
    return DailyRow(place, day, sum(tallies) if tallies else None, sum(row.entered for row in rows),
                    sum(backlogs) if backlogs else None, sum(row.untallied for row in rows))


# --- Per site and lot -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StockRow:
    """A lot at a site, from its first move to now (all in doses, every column net of reversals), as the
    site's balance row keeps it (see ``modules.warehouse.ledger.flow``):

    * ``received``: moves into the site from the supplier, from transit (shipments) and from other
      stores or sites. Doses *found* (an adjustment "found", or a count above the books) are **not**
      received: they come from the virtual adjustment location.
    * ``sent_on``: moves out to other stores or sites, to transit (shipments dispatched) and back to the
      supplier.
    * ``injected``: the doses the site's live injections took from stock, less those their corrections
      gave back: the live injections that count (backlog injections are history and took nothing).
    * ``wasted``: moves to wastage (broken, expired, open vials discarded...).
    * ``on_hand``: the site's balance now.

    ``gap`` = received − sent on − injected − wasted − on hand. The ledger balances, so the gap is
    exactly the doses that left the site with no injection, transfer or wastage to show for them:
    adjustments "lost" and counts that found fewer doses than the books, less doses found. A positive gap
    of N means N doses are gone with no record — most often people injected and never entered, then written
    off at a count; a negative gap means doses turned up that the books did not expect (an unrecorded
    receipt, or a count above the books).
    """

    site: Location
    lot: Lot
    received: int
    sent_on: int
    injected: int
    wasted: int
    on_hand: int

    @property
    def gap(self):
        return self.received - self.sent_on - self.injected - self.wasted - self.on_hand


STOCK_TOTALS = {"received": Balance.received, "sent_on": Balance.sent_on, "injected": Balance.injected,
                "wasted": Balance.wasted, "on_hand": Balance.doses}  # a StockRow's columns, from its balance


def site_balances(location_ids):
    """The query of the balance rows of the sites among ``location_ids`` (ids or a query of ids), with the site
    and the lot joined: one row per site and lot it ever held."""
    return (select(Balance, Location, Lot).join(Location, Location.id == Balance.location_id)
            .join(Lot, Lot.id == Balance.lot_id).join(Presentation, Presentation.id == Lot.presentation_id)
            .where(Location.id.in_(location_ids), Location.kind == SITE))


def stock_rows(location_ids, offset=0, limit=None):
    """:class:`StockRow` per site among ``location_ids`` and lot it ever held, by place in the tree, vaccine and
    lot number: all of them, or ``limit`` from ``offset``. One query, ordered and paged by the database (a
    nation has a million sites and lots)."""
    ledger.take_now(db.session)  # the doses this transaction's injections take at its commit count too
    query = (site_balances(location_ids).options(contains_eager(Lot.presentation))
             .order_by(Location.path, Presentation.name, Lot.lot_number, Lot.id).offset(offset).limit(limit))
    return [StockRow(site, lot, balance.received, balance.sent_on, balance.injected, balance.wasted, balance.doses)
            for balance, site, lot in db.session.execute(query)]


def stock_total(location_ids):
    """``(rows, totals)``: how many :class:`StockRow` the sites among ``location_ids`` have, and their columns
    added up (``{"received": ..., "gap": ...}``). One query."""
    ledger.take_now(db.session)
    query = site_balances(location_ids).with_only_columns(
        func.count(), *(func.coalesce(func.sum(column), 0) for column in STOCK_TOTALS.values()))
    count, *sums = db.session.execute(query).one()
    totals = dict(zip(STOCK_TOTALS, (int(value) for value in sums), strict=True))
    return count, {**totals, "gap": StockRow(None, None, **totals).gap}


@dataclass(frozen=True)
class WastageRow:
    """One site and vaccine: doses injected and wasted, the wasted ones split into open vials (left in a
    vial past its hours after opening, or at the end of a session) and closed ones (broken, expired, VVM,
    temperature...). Rates are of the doses used up (injected + wasted), as WHO counts them."""

    site: Location
    vaccine: object
    injected: int
    open_vial: int
    closed_vial: int

    @property
    def used(self):
        return self.injected + self.open_vial + self.closed_vial

    def rate(self, wasted):
        return wasted / self.used if self.used else None

    @property
    def open_rate(self):
        return self.rate(self.open_vial)

    @property
    def closed_rate(self):
        return self.rate(self.closed_vial)


def wastage_rows(location_ids):
    """One :class:`WastageRow` per site among ``location_ids`` and vaccine it injected or wasted, by place in the
    tree, then vaccine."""
    return wastage_rows_of(wastage_keys(location_ids))


def wastage_keys(location_ids):
    """``(site id, presentation id, injected, open vial, closed vial)`` per site among ``location_ids`` and vaccine
    it injected or wasted, by place in the tree, then vaccine: one grouped query of short rows (a nation has tens
    of thousands; a page makes :class:`WastageRow` of its own with :func:`wastage_rows_of`). The doses injected
    come from the balances, the wasted ones from the moves to and from the wastage location (a write-off that was
    reversed counts for nothing)."""
    ledger.take_now(db.session)
    sites, wastage_id = sites_among(location_ids), locations.virtual(WASTAGE).id
    open_vial = Move.reason == "open_vial"

    def wasted(site_column, wastage_column, doses):
        return (select(site_column, Lot.presentation_id, literal(0), case((open_vial, doses), else_=0),
                       case((open_vial, 0), else_=doses))
                .join(Lot, Lot.id == Move.lot_id).where(wastage_column == wastage_id, site_column.in_(sites)))

    injected = site_balances(location_ids).with_only_columns(
        Location.id.label("site_id"), Lot.presentation_id.label("vaccine_id"), Balance.injected.label("injected"),
        literal(0).label("open_vial"), literal(0).label("closed_vial"))
    flows = union_all(injected, wasted(Move.from_location_id, Move.to_location_id, Move.doses),
                      wasted(Move.to_location_id, Move.from_location_id, -Move.doses)).subquery()
    sums = [func.sum(flows.c[name]).label(name) for name in ("injected", "open_vial", "closed_vial")]
    # Grouped on ids first, then ordered: sorting every balance row by path and name cost seconds nationally.
    totals = (select(flows.c.site_id, flows.c.vaccine_id, *sums).group_by(flows.c.site_id, flows.c.vaccine_id)
              .having(or_(*(total != 0 for total in sums))).subquery())
    query = (select(*totals.c)
             .join(Location, Location.id == totals.c.site_id).join(Presentation, Presentation.id == totals.c.vaccine_id)
             .order_by(Location.path, Presentation.name))
    return [tuple(int(value) for value in row) for row in db.session.execute(query)]


def wastage_rows_of(keys):
    """:class:`WastageRow` of ``keys`` (from :func:`wastage_keys`), in their order: two queries."""
    places = locations_by_id({site_id for site_id, *_counts in keys})
    vaccines = {presentation.id: presentation for presentation in db.session.scalars(
        select(Presentation).where(Presentation.id.in_({key[1] for key in keys})))} if keys else {}
    return [WastageRow(places[site_id], vaccines[vaccine_id], *counts) for site_id, vaccine_id, *counts in keys]


def locations_by_id(ids):
    if not ids:
        return {}
    return {place.id: place for place in db.session.scalars(select(Location).where(Location.id.in_(ids)))}


# --- Recall: everyone injected from a lot -----------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    person: Person  # the surviving record when the person was merged into another
    day: date
    dose_number: int
    site: Location
    source: str
    injection_id: int  # the place of the row in the list: the next page starts before it


def recipients_query(lot, location_ids, before=None):
    """The query of ``(injection, person, surviving person or None, site)`` for the injections from
    ``lot`` that count, at the sites among ``location_ids``, newest first (day, then id); with ``before``
    (an injection id), only those after that injection in this order. The order is the (lot_id,
    injected_on, id) index's, read backwards, so a page of it costs the same at any depth."""
    kept = aliased(Person)
    query = (effective_injections()
             .add_columns(Person, kept, Location)
             .join(Person, Person.id == Injection.person_id)
             .outerjoin(kept, kept.id == Person.merged_into_id)
             .join(Location, Location.id == Injection.site_id)
             .where(Injection.lot_id == lot.id, Injection.site_id.in_(sites_among(location_ids)))
             .order_by(Injection.injected_on.desc(), Injection.id.desc()))
    if before is not None:
        shown = aliased(Injection)
        query = query.where(tuple_(Injection.injected_on, Injection.id) < select(shown.injected_on, shown.id)
                            .where(shown.id == before).scalar_subquery())
    return query


def recipients(lot, location_ids, limit, before=None):
    """``(rows, more)``: the page of ``limit`` :class:`Recipient` rows of the lot at these sites that follows
    the injection ``before`` (``None``: the newest), and whether more follow. Nothing is counted: a national
    lot has 100 000 recipients, and counting them cost more than the page."""
    rows = list(each_recipient(lot, location_ids, limit + 1, before))
    return rows[:limit], len(rows) > limit


def each_recipient(lot, location_ids, limit=None, before=None):
    """The lot's :class:`Recipient` rows at these sites, newest first, fetched in batches (an export of
    every recipient of a national lot stays small in memory)."""
    query = recipients_query(lot, location_ids, before)
    if limit is not None:
        query = query.limit(limit)
    for injection, person, kept, site in db.session.execute(query.execution_options(yield_per=500)):
        yield Recipient(kept or person, injection.injected_on, injection.dose_number, site, injection.source,
                        injection.id)


def recipient_counts(lot, location_ids):
    """``(injections, people)`` from the lot at these sites that count, a merged person counted once. Only
    the merged records are joined (few, through their partial index): joining every person made the count
    hash the whole person table."""
    merged = select(Person.id, Person.merged_into_id).where(Person.merged_into_id.is_not(None)).subquery()
    query = (effective_injections()
             .with_only_columns(func.count(Injection.id),
                                func.count(func.distinct(func.coalesce(merged.c.merged_into_id,
                                                                       Injection.person_id))))
             .outerjoin(merged, merged.c.id == Injection.person_id)
             .where(Injection.lot_id == lot.id, Injection.site_id.in_(sites_among(location_ids))))
    injections, persons = db.session.execute(query).one()
    return injections, persons
