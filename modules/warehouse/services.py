"""Warehouse operations: receipts, transfers, adjustments and wastage, counts, FEFO, stock on hand.

Each operation validates every line before it writes anything, names the line and field at fault,
then posts all its moves at once. The caller commits.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, func, select, tuple_
from sqlalchemy.orm import joinedload

from core import audit
from core.access import EVERYWHERE
from core.clock import local_today
from core.db import Prepared, db, utcnow
from core.service_errors import ConflictError, ServiceError
from modules.lots import services as lots
from modules.lots.models import USABLE_STATUSES, Lot, Presentation
from modules.warehouse import ledger, locations
from modules.warehouse.ledger import Transfer
from modules.warehouse.models import (
    ADJUSTMENT,
    PHYSICAL_KINDS,
    SUPPLIER,
    WASTAGE,
    Balance,
    Hold,
    Location,
    Move,
)

EXPIRING_SOON_DAYS = 30
MAX_REFERENCE = 64  # Move.reference

# Reasons for adjustments: where removed doses go, and whether doses may be added with them.
WASTAGE_REASONS = {
    "broken": _l("Broken vial"),
    "expired": _l("Expired"),
    "vvm": _l("VVM stage 3 or 4"),
    "temperature": _l("Temperature excursion"),
    "open_vial": _l("Open vial discarded"),
}
ADJUSTMENT_REASONS = {
    "lost": _l("Lost"),
    "found": _l("Found"),
}
REASONS = {**WASTAGE_REASONS, **ADJUSTMENT_REASONS}


class LineError(ServiceError):
    """A problem in line ``index`` (0-based) of a multi-line request; ``field`` reads ``lines[i].name``."""

    def __init__(self, index, error):
        super().__init__(_("Line %(n)d: %(message)s", n=index + 1, message=error.message),
                         f"lines[{index}].{error.field}" if error.field else f"lines[{index}]", error.code,
                         error.status)


# --- Receipts -------------------------------------------------------------------------------------

@dataclass
class ReceiptLine:
    """One received line: a scan, or GTIN + lot + expiry typed in; a quantity in doses or vials.

    ``confirm_new_lot`` says the user checked GTIN, lot and expiry of a lot the system does not know.
    """

    code: str | None = None
    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    doses: int | None = None
    vials: int | None = None
    confirm_new_lot: bool = False


@dataclass
class ReceiptResult:
    moves: list = field(default_factory=list)
    new_lots: list = field(default_factory=list)


def receive(location, lines, user=None, reference=None, note=""):
    """Receive vaccine from the supplier into ``location``: all lines or none."""
    if not lines:
        raise ServiceError(_("A receipt needs at least one line."), "lines", "no_lines")
    if reference is not None and len(reference) > MAX_REFERENCE:
        raise ServiceError(_("At most %(n)d characters.", n=MAX_REFERENCE), "reference", "too_long")
    result = ReceiptResult()
    transfers = []
    supplier = locations.virtual(SUPPLIER)
    for index, line in enumerate(lines):
        try:
            lot, created = receipt_lot(line, user)
            doses = receipt_doses(line, lot.presentation)
        except ServiceError as error:
            raise LineError(index, error) from None
        if created:
            result.new_lots.append(lot)
        transfers.append(Transfer(lot, supplier, location, doses))
    result.moves = ledger.post(transfers, "receipt", user=user, reference=reference, note=note)
    return result


def receipt_lot(line, user):
    """The lot a receipt line is about; a new lot only when the user confirmed its details."""
    if line.code:
        scan = lots.parse(line.code)
        gtin, lot_number, expiry = scan.gtin, scan.lot, scan.expiry
    else:
        gtin = lots.normalise_gtin_field(line.gtin or "", "gtin")
        lot_number, expiry = (line.lot or "").strip(), line.expiry
    presentation = lots.presentation_for_gtin(gtin)
    if presentation is None:
        raise ServiceError(_("GTIN %(gtin)s is not in the vaccine catalogue.", gtin=gtin), "gtin", "unknown_gtin")
    if not lot_number:
        raise ServiceError(_("The lot number is required."), "lot", "required")
    lot = lots.find_lot(presentation, lot_number)
    if lot is None:
        if not line.confirm_new_lot:
            raise ConflictError(_("Lot %(lot)s of %(vaccine)s is new: check GTIN, lot and expiry, then confirm.",
                                  lot=lot_number, vaccine=presentation.name), "confirm_new_lot", "new_lot")
        return lots.create_lot(presentation, lot_number, expiry, user), True
    if expiry is not None and expiry != lot.expiry:
        raise ConflictError(_("The pack says expiry %(scanned)s but lot %(lot)s is recorded with %(stored)s.",
                              scanned=expiry.strftime("%d/%m/%Y"), lot=lot_number,
                              stored=lot.expiry.strftime("%d/%m/%Y")), "expiry", "expiry_mismatch")
    if lot.status not in USABLE_STATUSES:
        raise ConflictError(_("Lot %(lot)s is %(status)s and cannot be received as usable.", lot=lot_number,
                              status=lots.status_label(lot.status)), "lot", "lot_blocked")
    return lot, False


def receipt_doses(line, presentation):
    """Doses from a line given in doses or in vials (not both; one vial when neither, as one scanned pack)."""
    if line.doses is not None and line.vials is not None:
        raise ServiceError(_("Give the quantity in doses or in vials, not both."), "doses", "both_quantities")
    if line.vials is not None:
        ledger.check_doses(line.vials, "vials")
        return line.vials * presentation.doses_per_vial
    if line.doses is not None:
        ledger.check_doses(line.doses)
        if line.doses % presentation.doses_per_vial:
            raise ServiceError(_("%(doses)d doses is not a whole number of vials of %(per)d doses.",
                                 doses=line.doses, per=presentation.doses_per_vial), "doses", "partial_vial")
        return line.doses
    return presentation.doses_per_vial


# --- Transfers, adjustments, counts ----------------------------------------------------------------

def usable_lot(lot, on=None, location=None):
    """Refuse a lot that may not be issued: blocked or expired on the day, or held at ``location``."""
    on = on or local_today()
    if location is not None and is_held(location, lot):
        raise ConflictError(_("Lot %(lot)s is held at %(location)s pending release.", lot=lot.lot_number,
                              location=location.name), "lot_id", "lot_on_hold")
    if lot.status not in USABLE_STATUSES:
        raise ConflictError(_("Lot %(lot)s is %(status)s and cannot be issued.", lot=lot.lot_number,
                              status=lots.status_label(lot.status)), "lot_id", "lot_blocked")
    if lot.is_expired(on):
        raise ConflictError(_("Lot %(lot)s expired on %(date)s.", lot=lot.lot_number,
                              date=lot.expiry.strftime("%d/%m/%Y")), "lot_id", "lot_expired")
    return lot


def transfer(source, destination, lot, doses, user=None, note=""):
    """Send doses of a usable lot from one store or site to another within the user's subtree."""
    usable_lot(lot, location=source)
    if source.id == destination.id:
        raise ServiceError(_("The source and the destination are the same."), "destination", "same_location")
    return ledger.post([Transfer(lot, source, destination, doses)], "transfer", user=user, note=note)


def transfer_lines(source, destination, lines, user=None, note=""):
    """Send several lots at once (``lines``: ``[(lot, doses)]``) from one location to another: all or none.
    A lot may appear once; errors name the line (``lines[i].lot_id``)."""
    if not lines:
        raise ServiceError(_("A transfer needs at least one line."), "lines", "no_lines")
    if source.id == destination.id:
        raise ServiceError(_("The source and the destination are the same."), "destination", "same_location")
    seen = set()
    for index, (lot, doses) in enumerate(lines):
        try:
            if lot.id in seen:
                raise ServiceError(_("This lot is already on another line."), "lot_id", "duplicate_lot")
            seen.add(lot.id)
            usable_lot(lot, location=source)
            ledger.check_doses(doses)
        except ServiceError as error:
            raise LineError(index, error) from None
    return ledger.post([Transfer(lot, source, destination, doses) for lot, doses in lines], "transfer", user=user,
                       note=note)


def adjust(location, lot, doses, reason, user=None, note=""):
    """Add (reason "found") or remove (any other reason) doses; wastage reasons send them to wastage."""
    if reason not in REASONS:
        raise ServiceError(_("Choose a reason for the adjustment."), "reason", "unknown_reason")
    if not isinstance(doses, int) or isinstance(doses, bool) or doses == 0:
        raise ServiceError(_("The quantity must be a whole number of doses other than zero."), "doses",
                           "not_a_number")
    if doses > 0 and reason != "found":
        raise ServiceError(_("Only doses that were found can be added; use a negative quantity to remove."),
                           "doses", "positive_not_found")
    if doses < 0 and reason == "found":
        raise ServiceError(_("Found doses are added: the quantity must be positive."), "doses", "negative_found")
    if doses > 0:
        line = Transfer(lot, locations.virtual(ADJUSTMENT), location, doses)
        kind = "adjustment"
    else:
        sink = WASTAGE if reason in WASTAGE_REASONS else ADJUSTMENT
        line = Transfer(lot, location, locations.virtual(sink), -doses)
        kind = "wastage" if sink == WASTAGE else "adjustment"
    moves = ledger.post([line], kind, user=user, reason=reason, note=note)
    end_holds_on_empty(location, [lot], user)
    return moves


def count(location, counted, user=None, note=""):
    """Record a physical count: ``counted`` maps lots to the doses found. Each difference from the
    books becomes a variance move to or from adjustment; lots counted at their book value move nothing."""
    transfers = []
    adjustment = locations.virtual(ADJUSTMENT)
    for index, (lot, doses) in enumerate(counted.items()):
        if not isinstance(doses, int) or isinstance(doses, bool) or doses < 0:
            raise LineError(index, ServiceError(_("The counted quantity must be a whole number, 0 or more."),
                                                "doses", "bad_count"))
        book = ledger.on_hand(location.id, lot.id)
        if doses > book:
            transfers.append(Transfer(lot, adjustment, location, doses - book))
        elif doses < book:
            transfers.append(Transfer(lot, location, adjustment, book - doses))
    if not transfers:
        return []
    moves = ledger.post(transfers, "count", user=user, reason="count", note=note)
    end_holds_on_empty(location, list(counted), user)
    return moves


# --- Reading stock -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StockLine:
    location: Location
    lot: Lot
    doses: int
    held_doses: int = 0  # of ``doses``, those on hold where they are (the lot may be usable elsewhere)

    @property
    def vials(self):
        return self.doses // self.lot.presentation.doses_per_vial

    def expiring_soon(self, today):
        return not self.lot.is_expired(today) and self.lot.expiry <= today + timedelta(days=EXPIRING_SOON_DAYS)

    @property
    def held(self):
        return self.held_doses > 0

    def blocked(self, today):
        """Nothing of it can be issued: the lot is unusable, or every dose of it is on hold."""
        return self.held_doses >= self.doses or not self.lot.is_usable(today)


def active_hold_pairs():
    """``(location_id, lot_id)`` of every active hold, as a subquery to outer-join balances on."""
    return select(Hold.location_id, Hold.lot_id).where(Hold.released_at.is_(None)).distinct().subquery()


def stock(location_ids, presentation=None, lot=None):
    """Stock on hand (doses > 0) at these locations, by location then earliest expiry; a line whose lot
    is on hold at its location has all its doses held."""
    holds = active_hold_pairs()
    query = (select(Balance, Location, Lot, holds.c.lot_id.is_not(None))
             .join(Location, Balance.location_id == Location.id)
             .join(Lot, Balance.lot_id == Lot.id).join(Presentation, Lot.presentation_id == Presentation.id)
             .outerjoin(holds, (holds.c.location_id == Balance.location_id) & (holds.c.lot_id == Balance.lot_id))
             .where(Balance.location_id.in_(location_ids), Balance.doses > 0)
             .order_by(Location.path, Presentation.name, Lot.expiry, Lot.lot_number))
    if presentation is not None:
        query = query.where(Lot.presentation_id == presentation.id)
    if lot is not None:
        query = query.where(Lot.id == lot.id)
    return [StockLine(location, lot_row, balance.doses, balance.doses if held else 0)
            for balance, location, lot_row, held in db.session.execute(query)]


def stock_by_lot(location_ids, presentation=None):
    """Stock on hand at these locations summed per lot (doses > 0), by vaccine then earliest expiry.

    ``location_ids``: ids, or a query of ids (a subtree, see ``locations.subtree_ids``). Lines carry no
    location (``None``): they are totals over all of them."""
    holds = active_hold_pairs()
    held = case((holds.c.lot_id.is_not(None), Balance.doses), else_=0)
    totals = (select(Balance.lot_id, func.sum(Balance.doses).label("doses"), func.sum(held).label("held"))
              .outerjoin(holds, (holds.c.location_id == Balance.location_id) & (holds.c.lot_id == Balance.lot_id))
              .where(Balance.location_id.in_(location_ids))
              .group_by(Balance.lot_id).having(func.sum(Balance.doses) > 0).subquery())
    query = (select(Lot, totals.c.doses, totals.c.held).join(totals, totals.c.lot_id == Lot.id)
             .join(Presentation, Lot.presentation_id == Presentation.id)
             .order_by(Presentation.name, Lot.expiry, Lot.lot_number))
    if presentation is not None:
        query = query.where(Lot.presentation_id == presentation.id)
    return [StockLine(None, lot, doses, held) for lot, doses, held in db.session.execute(query)]


def lots_query(presentation=None, location_ids=None):
    """The query of lots (of ``presentation``), only those with stock at these locations when given."""
    query = select(Lot)
    if presentation is not None:
        query = query.where(Lot.presentation_id == presentation.id)
    if location_ids is not None:
        query = query.where(select(Balance.lot_id).where(Balance.lot_id == Lot.id, Balance.doses > 0,
                                                         Balance.location_id.in_(location_ids)).exists())
    return query


def fefo(location, presentation, doses, on=None, min_expiry=None, reserved=None):
    """Which lots to issue ``doses`` from: usable ones not on hold there (expiring no earlier than
    ``min_expiry`` when given), earliest expiry first, leaving out ``reserved`` (``{lot id: doses}``
    promised elsewhere). Returns ``(picks, shortage)`` with picks as ``[(lot, doses)]``."""
    on = on or local_today()
    reserved = reserved or {}
    picks, wanted = [], doses
    for line in stock([location.id], presentation=presentation):
        if wanted <= 0:
            break
        if min_expiry is not None and line.lot.expiry < min_expiry:
            continue
        free = line.doses - reserved.get(line.lot.id, 0)
        if line.lot.is_usable(on) and not line.held and free > 0:
            take = min(wanted, free)
            picks.append((line.lot, take))
            wanted -= take
    return picks, max(wanted, 0)


def moves_query(location_ids=None, lot=None, kind=None):
    """The query of moves into or out of these locations (``None``: anywhere), unordered, for paging."""
    query = select(Move)
    if location_ids is not None:
        query = query.where(Move.from_location_id.in_(location_ids) | Move.to_location_id.in_(location_ids))
    if lot is not None:
        query = query.where(Move.lot_id == lot.id)
    if kind:
        query = query.where(Move.kind == kind)
    return query


def moves_at(location_ids, lot=None, kind=None, limit=100, before_id=None):
    """Moves into or out of these locations, newest first."""
    query = moves_query(location_ids, lot, kind)
    if before_id:
        query = query.where(Move.id < before_id)
    return db.session.scalars(query.order_by(Move.id.desc()).limit(limit)).all()


# --- Holds ------------------------------------------------------------------------------------------

def place_hold(location, lot, reason, reference=None, user=None):
    """Hold a lot's doses at one location (it stays usable elsewhere) until released."""
    if is_held(location, lot):
        return None
    hold = Hold(location_id=location.id, lot_id=lot.id, reason=reason, reference=reference,
                created_by=user.id if user else None)
    db.session.add(hold)
    db.session.flush()
    audit.record("stock.hold", hold, user=user, details={"location": location.code, "lot": lot.lot_number,
                                                        "reason": reason})
    return hold


def on_hand_at(pairs):
    """``{(location id, lot id): doses}`` for these pairs, in one query."""
    if not pairs:
        return {}
    rows = db.session.execute(select(Balance.location_id, Balance.lot_id, Balance.doses)
                              .where(tuple_(Balance.location_id, Balance.lot_id).in_(sorted(set(pairs)))))
    return {(location_id, lot_id): doses for location_id, lot_id, doses in rows}


def end_holds_on_empty(location, lot_list, user=None):
    """Release the holds at ``location`` of lots it no longer has a dose of (written off or counted to
    zero): a hold is about those doses, and must not block doses of the lot that arrive later."""
    lot_ids = {lot.id for lot in lot_list}
    on_hand = ledger.on_hand_of(location.id, lot_ids)
    for hold in active_holds([location.id]):
        if hold.lot_id in lot_ids and on_hand.get(hold.lot_id, 0) == 0:
            release_hold(hold, _("No dose of the lot is left here."), user=user)


def release_hold(hold, reason, user=None):
    reason = lots.required_reason(reason)
    if hold.released_at is not None:
        raise ConflictError(_("This hold has already been released."), "hold", "already_released")
    hold.released_at, hold.released_by, hold.release_reason = utcnow(), user.id if user else None, reason
    audit.record("stock.release", hold, user=user, details={"reason": reason})
    return hold


def active_holds(location_ids=None, lot=None):
    """The active holds at these locations (``None``: anywhere), of one ``lot`` if given, by id, with
    their location and lot loaded."""
    query = (select(Hold).options(joinedload(Hold.location), joinedload(Hold.lot).joinedload(Lot.presentation),
                                  joinedload(Hold.creator))
             .where(Hold.released_at.is_(None)).order_by(Hold.id))
    if location_ids is not None:
        query = query.where(Hold.location_id.in_(location_ids))
    if lot is not None:
        query = query.where(Hold.lot_id == lot.id)
    return db.session.scalars(query).all()


OPEN_HOLD = Prepared(select(Hold.id).where(Hold.location_id == bindparam("location_id"),
                                           Hold.lot_id == bindparam("lot_id"), Hold.released_at.is_(None)).limit(1))


def is_held(location, lot):
    return OPEN_HOLD.scalar({"location_id": location.id, "lot_id": lot.id}) is not None


def held_lot_ids(location):
    return set(db.session.scalars(select(Hold.lot_id).where(Hold.location_id == location.id,
                                                            Hold.released_at.is_(None))))


def lot_within(lot, scope):
    """Are all the stores and sites holding ``lot`` within ``scope`` (location ids, or ``EVERYWHERE``), and did
    the lot pass through one of them? A lot's status holds nationwide: a manager decides it (quarantine,
    discard, recall) only for doses that are all in their locations, not for another province's."""
    if scope is EVERYWHERE:
        return True
    holders = set(db.session.scalars(
        select(Balance.location_id).join(Location, Balance.location_id == Location.id)
        .where(Balance.lot_id == lot.id, Balance.doses > 0, Location.kind.in_(PHYSICAL_KINDS))))
    if not holders <= scope:
        return False
    ids = sorted(scope)
    passed = select(Move.id).where(Move.lot_id == lot.id, (Move.from_location_id.in_(ids)) |
                                   (Move.to_location_id.in_(ids))).limit(1)
    return db.session.scalar(passed) is not None
