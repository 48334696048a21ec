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
from sqlalchemy import func, literal_column, select, tuple_, union_all
from sqlalchemy.orm import aliased, joinedload

from core import audit
from core.clock import local_today
from core.db import db
from core.service_errors import ServiceError
from modules.injection import tally as dose_tally
from modules.injection.models import LIVE, DailyTally, DoseTally, Injection, Person
from modules.injection.services import effective_injections
from modules.lots.models import Lot, Presentation
from modules.warehouse.ledger import MAX_DOSES_PER_MOVE
from modules.warehouse.models import (
    ADJUSTMENT,
    CONSUMED,
    DISTRICT,
    PROVINCE,
    SITE,
    SUPPLIER,
    TRANSIT,
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


def daily_rows(location_ids, start, end):
    """Per site (among ``location_ids``) and day from ``start`` to ``end`` (inclusive): one
    :class:`DailyRow` for every site-day with a tally or an injection entered; site-days with neither
    are left out. Ordered by place in the tree, then day. Three queries."""
    sites = sites_among(location_ids)
    tallies = {(site_id, day): doses for site_id, day, doses in db.session.execute(
        select(DailyTally.site_id, DailyTally.day, DailyTally.doses)
        .where(DailyTally.site_id.in_(sites), DailyTally.day.between(start, end)))}
    dose_tally.write_pending(db.session)  # the doses entered, from the tally kept with them (this transaction's too)
    entered = {(site_id, day): count for site_id, day, count in db.session.execute(
        select(DoseTally.site_id, DoseTally.day, func.sum(DoseTally.doses))
        .where(DoseTally.site_id.in_(sites), DoseTally.day.between(start, end))
        .group_by(DoseTally.site_id, DoseTally.day).having(func.sum(DoseTally.doses) != 0))}
    keys = set(tallies) | set(entered)
    places = locations_by_id({site_id for site_id, _day in keys})
    rows = []
    for site_id, day in keys:
        tally, count = tallies.get((site_id, day)), entered.get((site_id, day), 0)
        rows.append(DailyRow(places[site_id], day, tally, count, None if tally is None else tally - count,
                             1 if tally is None else 0))
    return sorted(rows, key=lambda row: (row.place.path, row.day))


def rolled_up(rows, level):
    """``rows`` (per site) totalled per ``level`` ("site", "district" or "province") and day.

    A site counts towards the ancestor of that kind on its ``Location.path``; a site with none (the
    tree's depth varies: a site may hang right under a province) stays a row of its own, so no dose
    leaves the totals. One query (the ancestors)."""
    if level not in LEVELS:
        raise ServiceError(_("Choose a level: site, district or province."), "level", "unknown_level")
    if level == SITE:
        return list(rows)
    ancestor_ids = {int(part) for row in rows for part in row.place.path.strip("/").split("/")}
    ancestors = {place.id: place for place in db.session.scalars(
        select(Location).where(Location.id.in_(ancestor_ids), Location.kind == level))} if ancestor_ids else {}
    groups = {}
    for row in rows:
        path_ids = [int(part) for part in row.place.path.strip("/").split("/")]
        owner = next((ancestors[i] for i in reversed(path_ids) if i in ancestors), row.place)
        groups.setdefault((owner.id, row.day), (owner, []))[1].append(row)
    totals = [summed(owner, day, members) for (_owner_id, day), (owner, members) in groups.items()]
    return sorted(totals, key=lambda row: (row.place.path, row.day))


def summed(place, day, rows):
    """One :class:`DailyRow` for ``place`` and ``day`` (``None`` for a total over days) adding up ``rows``."""
    tallies = [row.tally for row in rows if row.tally is not None]
    backlogs = [row.backlog for row in rows if row.backlog is not None]
    return DailyRow(place, day, sum(tallies) if tallies else None, sum(row.entered for row in rows),
                    sum(backlogs) if backlogs else None, sum(row.untallied for row in rows))


# --- Per site and lot -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StockRow:
    """A lot at a site, from its first move to now (all in doses, every column net of reversals).

    * ``received``: moves into the site from the supplier, from transit (shipments) and from other
      stores or sites; less the reversals of such moves. Doses *found* (an adjustment "found", or a count
      above the books) are **not** received: they come from the virtual adjustment location.
    * ``sent_on``: moves out to other stores or sites, to transit (shipments dispatched) and back to the
      supplier; less their reversals.
    * ``injected``: the live injections of the lot recorded at the site that count (corrections
      excluded; backlog injections are history and took nothing from stock).
    * ``wasted``: moves to wastage (broken, expired, open vials discarded...), less their reversals.
    * ``on_hand``: the site's balance now.

    ``gap`` = received − sent on − injected − wasted − on hand. The ledger balances, so the gap is
    exactly the doses that left the site with no injection, transfer or wastage to show for them:
    adjustments "lost" and counts that found fewer doses than the books (less doses found), plus any
    dose consumed without an injection record. A positive gap of N means N doses are gone with no
    record — most often people injected and never entered; a negative gap means doses turned up that
    the books did not expect (an unrecorded receipt, or a count above the books).
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


RECEIVED, SENT_ON, WASTED, OTHER = "received", "sent_on", "wasted", "other"
ARRIVALS = (SUPPLIER, TRANSIT)  # virtual places doses really arrive from (besides physical locations)


def flow(direction, counterpart_kind):
    """Which column a move of the site's belongs to, by its direction ("in", "out") and the kind of
    location at its other end (before any reversal)."""
    if counterpart_kind in (CONSUMED, ADJUSTMENT):
        return OTHER  # consumption is counted from the injections; adjustments make the gap
    if counterpart_kind == WASTAGE:
        return WASTED if direction == "out" else OTHER
    return RECEIVED if direction == "in" else SENT_ON


def stock_rows(location_ids):
    """One :class:`StockRow` per site among ``location_ids`` and lot it ever held, by place in the tree,
    vaccine and lot number. Five queries (moves, injections, balances: grouped; sites; lots)."""
    sites = sites_among(location_ids)
    totals = {}  # (site id, lot id) → {column: doses}

    def add(key, column, doses):
        columns = totals.setdefault(key, {RECEIVED: 0, SENT_ON: 0, WASTED: 0, "injected": 0, "on_hand": 0})
        if column in columns:
            columns[column] += doses

    for site_id, lot_id, direction, kind, reversal, doses in site_moves(sites):
        if reversal:  # undoes a move the other way: it lowers the column of that original move
            original = "out" if direction == "in" else "in"
            add((site_id, lot_id), flow(original, kind), -doses)
        else:
            add((site_id, lot_id), flow(direction, kind), doses)
    for site_id, lot_id, count in db.session.execute(
            effective_injections()
            .with_only_columns(Injection.site_id, Injection.lot_id, func.count(Injection.id))
            .where(Injection.site_id.in_(sites), Injection.source == LIVE)
            .group_by(Injection.site_id, Injection.lot_id)):
        add((site_id, lot_id), "injected", count)
    for site_id, lot_id, doses in db.session.execute(
            select(Balance.location_id, Balance.lot_id, Balance.doses).where(Balance.location_id.in_(sites))):
        add((site_id, lot_id), "on_hand", doses)
    places = locations_by_id({site_id for site_id, _lot in totals})
    lots = {lot.id: lot for lot in db.session.scalars(
        select(Lot).options(joinedload(Lot.presentation)).where(Lot.id.in_({lot for _site, lot in totals})))} \
        if totals else {}
    rows = [StockRow(places[site_id], lots[lot_id], c[RECEIVED], c[SENT_ON], c["injected"], c[WASTED],
                     c["on_hand"]) for (site_id, lot_id), c in totals.items()]
    return sorted(rows, key=lambda row: (row.site.path, row.lot.presentation.name, row.lot.lot_number))


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
    """One :class:`WastageRow` per site among ``location_ids`` and vaccine it injected or wasted. Three
    grouped queries; a write-off that was reversed counts for nothing."""
    sites = sites_among(location_ids)
    totals = {}  # (site id, presentation id) → [injected, open vial, closed vial]
    for site_id, presentation_id, count in db.session.execute(
            effective_injections()
            .with_only_columns(Injection.site_id, Injection.presentation_id, func.count(Injection.id))
            .where(Injection.site_id.in_(sites), Injection.source == LIVE)
            .group_by(Injection.site_id, Injection.presentation_id)):
        totals.setdefault((site_id, presentation_id), [0, 0, 0])[0] += count
    wastage = aliased(Location)
    outward = (select(Move.from_location_id.label("site_id"), Move.lot_id, Move.reason, Move.doses)
               .join(wastage, wastage.id == Move.to_location_id)
               .where(wastage.kind == WASTAGE, Move.from_location_id.in_(sites)))
    back = (select(Move.to_location_id.label("site_id"), Move.lot_id, Move.reason, -Move.doses)
            .join(wastage, wastage.id == Move.from_location_id)
            .where(wastage.kind == WASTAGE, Move.to_location_id.in_(sites)))
    moves = union_all(outward, back).subquery()
    for site_id, presentation_id, reason, doses in db.session.execute(
            select(moves.c.site_id, Lot.presentation_id, moves.c.reason, func.sum(moves.c.doses))
            .join(Lot, Lot.id == moves.c.lot_id).group_by(moves.c.site_id, Lot.presentation_id, moves.c.reason)):
        totals.setdefault((site_id, presentation_id), [0, 0, 0])[1 if reason == "open_vial" else 2] += doses
    places = locations_by_id({site_id for site_id, _vaccine in totals})
    vaccines = {presentation.id: presentation for presentation in db.session.scalars(
        select(Presentation).where(Presentation.id.in_({vaccine for _site, vaccine in totals})))} if totals else {}
    rows = [WastageRow(places[site_id], vaccines[vaccine_id], *counts)
            for (site_id, vaccine_id), counts in totals.items() if any(counts)]
    return sorted(rows, key=lambda row: (row.site.path, row.vaccine.name))


def site_moves(sites):
    """``(site id, lot id, "in"/"out", kind of the other end, is a reversal, doses)`` summed, for the
    moves into and out of ``sites`` (a query of ids): one grouped query."""
    other = aliased(Location)
    reversal = Move.reverses_id.is_not(None)

    def side(direction, site_column, other_column):
        label = literal_column(f"'{direction}'")  # one of two constants of ours, never user input
        return (select(site_column, Move.lot_id, label, other.kind, reversal, func.sum(Move.doses))
                .join(other, other.id == other_column).where(site_column.in_(sites))
                .group_by(site_column, Move.lot_id, other.kind, reversal))

    query = union_all(side("in", Move.to_location_id, Move.from_location_id),
                      side("out", Move.from_location_id, Move.to_location_id))
    return [(site, lot, direction, kind, bool(rev), doses)
            for site, lot, direction, kind, rev, doses in db.session.execute(query)]


def stock_total(rows):
    """The columns of ``rows`` added up: ``{"received": ..., "gap": ...}``."""
    names = ("received", "sent_on", "injected", "wasted", "on_hand", "gap")
    return {name: sum(getattr(row, name) for row in rows) for name in names}


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
