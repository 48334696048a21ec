"""The double-entry stock ledger: every change of stock is a move from one location to another.

Balances are updated in the same transaction as the move. A physical location's balance is lowered
by a conditional UPDATE (``... WHERE doses >= n``), so two requests racing for the last doses cannot
both succeed, on PostgreSQL (row lock, re-checked after the first commits) and on SQLite (one writer
at a time, see core.db). Moves are never edited or deleted: a correction is a reversing move.

Virtual locations (supplier, transit, consumed, wastage, adjustment) are shared by every site, so their
balance rows are the most contended in the database: every injection of a lot in the country adds to
one row. Their changes are summed during the transaction and written last, just before the commit, so
that row's lock is held for the commit alone instead of for the whole request.

A physical location's balance row also keeps running totals of its moves by where the doses went or came
from (:func:`flow`), written by the same statements as its doses: the reconciliation reads them instead of
adding up every move of a nation's sites since the start.

A site's balance of a lot is just as contended when many desks inject from one lot (the "hot lot"): a
registration asks for its dose to be taken at the commit too (``take_at_commit``), after the rows it
writes, so the requests queue only behind each other's commits.
"""
from dataclasses import dataclass
from functools import cache

from flask_babel import gettext as _
from sqlalchemy import bindparam, event, func, literal_column, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from core import audit, plugins
from core.db import Prepared, db, insert_now
from core.service_errors import ConflictError, ServiceError
from modules.lots.models import Lot
from modules.warehouse.models import (
    ADJUSTMENT,
    CONSUMED,
    FLOWS,
    INJECTED,
    PHYSICAL_KINDS,
    RECEIVED,
    SENT_ON,
    WASTAGE,
    WASTED,
    Balance,
    Location,
    Move,
)

MAX_DOSES_PER_MOVE = 10_000_000  # more than a national store ever holds of one lot
IN, OUT = "in", "out"


class InsufficientStock(ConflictError):
    def __init__(self, location, lot, wanted, on_hand_doses):
        super().__init__(_("Only %(on_hand)d doses of lot %(lot)s are at %(location)s; %(wanted)d requested.",
                           on_hand=on_hand_doses, lot=lot.lot_number, location=location.name, wanted=wanted),
                         "doses", "insufficient_stock")
        self.on_hand = on_hand_doses


@dataclass(frozen=True)
class Transfer:
    """One line of an operation: ``doses`` of ``lot`` from ``source`` to ``destination``."""

    lot: object
    source: Location
    destination: Location
    doses: int


def check_doses(doses, field="doses"):
    if not isinstance(doses, int) or isinstance(doses, bool):
        raise ServiceError(_("The quantity must be a whole number of doses."), field, "not_a_number")
    if doses <= 0:
        raise ServiceError(_("The quantity must be greater than zero."), field, "not_positive")
    if doses > MAX_DOSES_PER_MOVE:
        raise ServiceError(_("%(doses)d doses is not a plausible quantity.", doses=doses), field, "absurd_quantity")


def post(transfers, kind, user=None, reason=None, note="", reference=None, reverses=None, take_at_commit=None):
    """Record ``transfers`` as moves of ``kind`` and update the balances; all or nothing.

    With ``take_at_commit`` (a function returning the error to raise when the doses are not there),
    the doses are taken from the sources just before the commit, which then raises that error; only for
    transfers to virtual locations (their balances are written at the commit too).

    Every balance is written in (location, lot) order over all the lines, sources and destinations
    alike, so two operations touching the same balances lock them in the same order and cannot deadlock
    (A→B and B→A at once: both lock A's row first). Raises :class:`InsufficientStock` for the first
    balance that would go below zero; the caller's transaction must then be rolled back.
    """
    lines = sorted(transfers, key=lambda t: (t.source.id, t.lot.id, t.destination.id))
    for line in lines:
        check_doses(line.doses)
        if line.source.id == line.destination.id:
            raise ServiceError(_("The source and the destination are the same."), "destination", "same_location")
    reversal = reverses is not None
    if take_at_commit is None:
        apply_to_balances(lines, reversal)
    else:
        assert all(line.destination.is_virtual and not line.source.is_virtual for line in lines), lines
        for line in lines:
            take_later(line.source, line.lot, line.doses, take_at_commit,
                       flows_of(OUT, line.destination.kind, line.doses, reversal))
            add_later(line.destination.id, line.lot.id, line.doses)
    moves = [insert_now(Move(lot_id=line.lot.id, from_location_id=line.source.id,
                             to_location_id=line.destination.id, doses=line.doses, kind=kind, reason=reason,
                             note=note, reference=reference, reverses_id=reverses.id if reverses is not None else None,
                             user_id=user.id if user is not None else None)) for line in lines]
    for move in moves:
        audit.record(f"stock.{kind}", move, user=user, details={
            "lot": move.lot_id, "from": move.from_location_id, "to": move.to_location_id,
            "doses": move.doses, "reason": reason})
    plugins.hook().stock_moved(moves=moves)
    return moves


def apply_to_balances(lines, reversal):
    """Take from each line's source and give to its destination, one balance after another in
    (location, lot) order; at the same balance takes come first, so a line cannot live on doses that
    another line of the operation only brings."""
    changes = [((line.source.id, line.lot.id, 0), take, line.source, line,
                flows_of(OUT, line.destination.kind, line.doses, reversal)) for line in lines]
    changes += [((line.destination.id, line.lot.id, 1), give, line.destination, line,
                 flows_of(IN, line.source.kind, line.doses, reversal)) for line in lines]
    for _order, change, location, line, flows in sorted(changes, key=lambda c: c[0]):
        change(location, line.lot, line.doses, flows)


def flow(direction, counterpart_kind):
    """Which running total of a physical location (one of ``FLOWS``, or ``None``) a move changes, by its
    direction (``IN``, ``OUT``) and the kind of location at its other end, before any reversal:

    * ``received``: in from the supplier, from transit (shipments) or from another store or site. Doses
      *found* (from the adjustment location) are not received;
    * ``sent_on``: out to another store or site, to transit or back to the supplier;
    * ``wasted``: out to wastage; ``injected``: out to "consumed" (each live injection takes its dose so);
    * none: to or from the adjustment location (counts, doses lost or found), which the reconciliation's
      gap shows, and moves back in from wastage or consumed, which only reversals make.
    """
    if counterpart_kind == ADJUSTMENT:
        return None
    if direction == IN:
        return None if counterpart_kind in (CONSUMED, WASTAGE) else RECEIVED
    return {CONSUMED: INJECTED, WASTAGE: WASTED}.get(counterpart_kind, SENT_ON)


def flows_of(direction, counterpart_kind, doses, reversal):
    """``{flow: doses}`` that one side of a move adds to its location's totals: a reversal undoes a move the
    other way, so it takes its doses off the total of that original move."""
    if reversal:
        column, doses = flow(OUT if direction == IN else IN, counterpart_kind), -doses
    else:
        column = flow(direction, counterpart_kind)
    return {column: doses} if column else {}


def flow_values(flows):
    return {name: flows.get(name, 0) for name in FLOWS}


# The guard ``doses >= :taken`` in the same statement is what keeps a balance from going negative, also
# under concurrent requests: the row lock serialises them and the loser updates nothing. Balances are
# written with plain statements on the session's connection: the ORM has nothing to track in them.
BALANCE = Balance.__table__
TAKE = Prepared(update(BALANCE)
                .where(BALANCE.c.location_id == bindparam("at"), BALANCE.c.lot_id == bindparam("of_lot"),
                       BALANCE.c.doses >= bindparam("taken"))
                .values(doses=BALANCE.c.doses - bindparam("taken"),
                        **{name: BALANCE.c[name] + bindparam(name) for name in FLOWS}))


def take(location, lot, doses, flows):
    if location.is_virtual:
        add_later(location.id, lot.id, -doses)  # a virtual location may go below zero (the supplier does)
        return
    if TAKE.rowcount({"at": location.id, "of_lot": lot.id, "taken": doses, **flow_values(flows)}) != 1:
        raise InsufficientStock(location, lot, doses, on_hand(location.id, lot.id))


def give(location, lot, doses, flows):
    if location.is_virtual:
        add_later(location.id, lot.id, doses)
    else:
        add_to_balance(db.session.connection(), location.id, lot.id, doses, flows)


def add_to_balance(connection, location_id, lot_id, delta, flows=None):
    """Insert the balance or add to it, in one statement (no read-modify-write race)."""
    upsert_statement(connection.dialect.name).run(
        {"location_id": location_id, "lot_id": lot_id, "doses": delta, **flow_values(flows or {})}, connection)


VIRTUAL_DELTAS = "ledger.virtual_deltas"
TAKES_AT_COMMIT = "ledger.takes_at_commit"


def take_later(location, lot, doses, when_short, flows):
    db.session.info.setdefault(TAKES_AT_COMMIT, []).append((location.id, lot.id, doses, when_short, flows))


def add_later(location_id, lot_id, delta):
    """Add ``delta`` to a virtual location's balance when the transaction commits (see the module's doc)."""
    deltas = db.session.info.setdefault(VIRTUAL_DELTAS, {})
    deltas[location_id, lot_id] = deltas.get((location_id, lot_id), 0) + delta


def take_now(session):
    """Take the doses asked for at the commit now: before the commit, and before this transaction reads a
    balance (it sees its own takes, as it sees its own moves)."""
    takes = session.info.pop(TAKES_AT_COMMIT, None)
    if takes:
        connection = session.connection()
        for location_id, lot_id, doses, when_short, flows in sorted(takes, key=lambda take: take[:2]):
            if TAKE.rowcount({"at": location_id, "of_lot": lot_id, "taken": doses, **flow_values(flows)},
                             connection) != 1:
                raise when_short()


@event.listens_for(db.session, "before_commit")
def write_balances_at_commit(session):
    """The takes asked for at the commit, then the virtual balances, each in (location, lot) order as every
    other balance write (physical locations before virtual ones): concurrent commits cannot deadlock."""
    take_now(session)
    deltas = session.info.pop(VIRTUAL_DELTAS, None)
    if deltas:
        connection = session.connection()
        for (location_id, lot_id), delta in sorted(deltas.items()):
            if delta:
                add_to_balance(connection, location_id, lot_id, delta)


@event.listens_for(db.session, "after_transaction_end")
def forget_virtual_deltas(session, transaction):
    if transaction.parent is None:  # committed (written above) or rolled back (lost with the moves)
        session.info.pop(VIRTUAL_DELTAS, None)
        session.info.pop(TAKES_AT_COMMIT, None)


@cache
def upsert_statement(dialect_name):
    """Built once per dialect: building it cost as much as running it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    added = ("doses", *FLOWS)
    statement = dialect.insert(BALANCE).values(location_id=bindparam("location_id"), lot_id=bindparam("lot_id"),
                                               **{name: bindparam(name) for name in added})
    return Prepared(statement.on_conflict_do_update(
        index_elements=[BALANCE.c.location_id, BALANCE.c.lot_id],
        set_={name: BALANCE.c[name] + statement.excluded[name] for name in added}))


def reverse(move, user=None, note=""):
    """Undo ``move`` with the opposite move (which needs the doses to still be at its destination)."""
    if move.reverses_id is not None:
        raise ConflictError(_("A reversal cannot itself be reversed; record a new move instead."),
                            "move", "reversal_of_reversal")
    already = db.session.scalar(select(Move.id).where(Move.reverses_id == move.id))
    if already is not None:
        raise ConflictError(_("This move has already been reversed."), "move", "already_reversed")
    line = Transfer(move.lot, move.to_location, move.from_location, move.doses)
    return post([line], "reversal", user=user, reason=move.reason, note=note, reference=move.reference,
                reverses=move)[0]


def on_hand(location_id, lot_id):
    take_now(db.session)
    doses = db.session.scalar(select(Balance.doses).where(Balance.location_id == location_id,
                                                          Balance.lot_id == lot_id))
    return doses or 0


def on_hand_of(location_id, lot_ids):
    """Doses at a location for several lots in one query: ``{lot_id: doses}`` (missing lots hold 0)."""
    take_now(db.session)
    rows = db.session.execute(select(Balance.lot_id, Balance.doses).where(
        Balance.location_id == location_id, Balance.lot_id.in_(list(lot_ids))))
    return dict(rows.all())


def check():
    """Problems in the ledger, as sentences: balances that differ from the sum of moves, lots that do not net
    to zero over all locations, and running totals (see :func:`flow`) that differ from the moves'. An empty list
    means the books are right."""
    write_balances_at_commit(db.session)  # this transaction's own moves count too
    incoming = select(Move.to_location_id.label("location_id"), Move.lot_id, Move.doses.label("doses"))
    outgoing = select(Move.from_location_id.label("location_id"), Move.lot_id, (-Move.doses).label("doses"))
    lines = incoming.union_all(outgoing).subquery()
    ledger = dict(((row.location_id, row.lot_id), row.total) for row in db.session.execute(
        select(lines.c.location_id, lines.c.lot_id, func.sum(lines.c.doses).label("total"))
        .group_by(lines.c.location_id, lines.c.lot_id)))
    balances = {(row.location_id, row.lot_id): row.doses for row in db.session.execute(
        select(Balance.location_id, Balance.lot_id, Balance.doses))}
    problems = []
    for key in sorted(set(ledger) | set(balances)):
        expected, actual = ledger.get(key, 0), balances.get(key, 0)
        if expected != actual:
            problems.append(f"location {key[0]}, lot {key[1]}: balance {actual} but the moves add up to {expected}"
                            f" ({described(*key)})")
        if actual < 0 and not is_virtual_location(key[0]):
            problems.append(f"location {key[0]}, lot {key[1]}: negative stock {actual} ({described(*key)})")
    stored = (select(Balance.location_id, Balance.lot_id, *(BALANCE.c[name] for name in FLOWS))
              .join(Location, Location.id == Balance.location_id).where(Location.kind.in_(PHYSICAL_KINDS)))
    kept = {(location_id, lot_id): dict(zip(FLOWS, totals, strict=True))
            for location_id, lot_id, *totals in db.session.execute(stored)}
    moved = flows_from_moves()
    nothing = dict.fromkeys(FLOWS, 0)
    for key in sorted(set(kept) | set(moved)):
        if kept.get(key, nothing) != moved.get(key, nothing):
            problems.append(f"location {key[0]}, lot {key[1]}: running totals {kept.get(key, nothing)} but the moves"
                            f" add up to {moved.get(key, nothing)} ({described(*key)})")
    for lot_id, total in db.session.execute(
            select(Balance.lot_id, func.sum(Balance.doses)).group_by(Balance.lot_id)
            .having(func.sum(Balance.doses) != 0)):
        problems.append(f"lot {lot_id}: balances over all locations add up to {total}, not 0"
                        f" ({described_lot(lot_id)})")
    return problems


def flows_from_moves():
    """``{(location id, lot id): {flow: doses}}`` for the physical locations, added up from the moves themselves:
    what their balances' running totals must be. One grouped query over the whole ledger (a check, not a page)."""
    here, there = aliased(Location), aliased(Location)
    reversal = Move.reverses_id.is_not(None)

    def side(direction, own_column, other_column):
        label = literal_column(f"'{direction}'")  # one of two constants of ours, never user input
        return (select(own_column, Move.lot_id, label, there.kind, reversal, func.sum(Move.doses))
                .join(here, here.id == own_column).join(there, there.id == other_column)
                .where(here.kind.in_(PHYSICAL_KINDS)).group_by(own_column, Move.lot_id, there.kind, reversal))

    totals = {}
    moves = union_all(side(IN, Move.to_location_id, Move.from_location_id),
                      side(OUT, Move.from_location_id, Move.to_location_id))
    for location_id, lot_id, direction, kind, reversed_, doses in db.session.execute(moves):
        for name, delta in flows_of(direction, kind, doses, bool(reversed_)).items():
            totals.setdefault((location_id, lot_id), dict.fromkeys(FLOWS, 0))[name] += delta
    return totals


def is_virtual_location(location_id):
    location = db.session.get(Location, location_id)
    return location is not None and location.is_virtual


def described(location_id, lot_id):
    """What an operator recognises: "KHO-QG Kho vắc xin quốc gia, lot VC001 of Vero Cell"."""
    location = db.session.get(Location, location_id)
    place = f"{location.code} {location.name}" if location is not None else "unknown location"
    return f"{place}, {described_lot(lot_id)}"


def described_lot(lot_id):
    lot = db.session.get(Lot, lot_id)
    return f"lot {lot.lot_number} of {lot.presentation.name}" if lot is not None else "unknown lot"
