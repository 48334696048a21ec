"""Shipments: draft → picked (FEFO; a lot changed by scanning the packs taken) → dispatched (origin →
transit) → received (transit → destination, rejected doses to wastage) → closed; cancelled before dispatch.
The caller commits."""
from dataclasses import dataclass
from itertools import islice

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select

from core import audit, plugins
from core.clock import local_today
from core.db import db, utcnow
from core.service_errors import ConflictError, ServiceError
from modules.transport import temperature
from modules.transport.labels import STATE_LABELS
from modules.transport.models import (
    CANCELLED,
    CLOSED,
    DISPATCHED,
    DRAFT,
    PARTIALLY_RECEIVED,
    PICKED,
    RECEIVED,
    REJECTION_REASONS,
    Reading,
    Shipment,
    ShipmentLine,
)
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from modules.warehouse.ledger import Transfer
from modules.warehouse.models import TRANSIT, WASTAGE


@dataclass(frozen=True)
class Request:
    """One thing to send: ``doses`` of a given ``lot``, or of a ``presentation`` to be picked FEFO."""

    doses: int
    lot: object = None
    presentation: object = None


@dataclass(frozen=True)
class LineReceipt:
    """What the destination found for one shipped line."""

    accepted: int
    rejected: int = 0
    reason: str | None = None
    vvm_stage: int | None = None


def create_shipment(origin, destination, requests, planned_date=None, vehicle="", driver="", cold_box="",
                    note="", user=None):
    """A draft shipment; nothing moves until it is dispatched."""
    if origin.id == destination.id:
        raise ServiceError(_("The origin and the destination are the same."), "destination", "same_location")
    if not requests:
        raise ServiceError(_("A shipment needs at least one line."), "lines", "no_lines")
    transport = checked_transport(vehicle=vehicle, driver=driver, cold_box=cold_box)
    shipment = Shipment(origin_id=origin.id, destination_id=destination.id, state=DRAFT,
                        planned_date=planned_date or local_today(), note=note,
                        created_by=user.id if user else None, number="", **transport)
    for index, request in enumerate(requests):
        try:
            shipment.lines.append(requested_line(request))
        except ServiceError as error:
            raise stock.LineError(index, error) from None
    db.session.add(shipment)
    db.session.flush()
    shipment.number = f"VC-{shipment.created_at:%Y}-{shipment.id:06d}"
    audit.record("shipment.create", shipment, user=user, details={
        "number": shipment.number, "origin": origin.code, "destination": destination.code})
    return shipment


TRANSPORT_FIELDS = ("vehicle", "driver", "cold_box")


def checked_transport(**given):
    """``given`` transport texts (vehicle, driver, cold box) stripped, each within its column's length."""
    checked = {}
    for name, text in given.items():
        longest = Shipment.__table__.c[name].type.length
        checked[name] = text.strip()
        if len(checked[name]) > longest:
            raise ServiceError(_("At most %(n)d characters.", n=longest), name, "too_long")
    return checked


def update_transport_details(shipment, *, planned_date=None, vehicle=None, driver=None, cold_box=None, user=None):
    """Fill in or correct how a shipment will travel, until it leaves (draft or picked): the fields given
    (``None`` keeps a field as it is) are checked as at creation; the audit entry keeps the old and new values."""
    require_state(shipment, DRAFT, PICKED)
    given = {name: text for name, text in zip(TRANSPORT_FIELDS, (vehicle, driver, cold_box), strict=True)
             if text is not None}
    changes = checked_transport(**given)
    if planned_date is not None:
        changes["planned_date"] = planned_date
    changed = {name: [str(getattr(shipment, name)), str(value)] for name, value in changes.items()
               if getattr(shipment, name) != value}
    if changed:  # the same values saved again change nothing, and leave no entry
        for name, value in changes.items():
            setattr(shipment, name, value)
        audit.record("shipment.details", shipment, user=user, details={"number": shipment.number, "changes": changed})
    return shipment


def requested_line(request):
    presentation = request.lot.presentation if request.lot is not None else request.presentation
    if presentation is None:
        raise ServiceError(_("Give a lot or a vaccine."), "lot_id", "required")
    check_whole_vials(request.doses, presentation)
    if request.lot is not None:
        stock.usable_lot(request.lot)
    return ShipmentLine(presentation_id=presentation.id, presentation=presentation,
                        lot_id=request.lot.id if request.lot else None, lot=request.lot, doses=request.doses)


def check_whole_vials(doses, presentation):
    ledger.check_doses(doses)
    if doses % presentation.doses_per_vial:
        raise ServiceError(_("%(doses)d doses is not a whole number of vials of %(per)d doses.",
                             doses=doses, per=presentation.doses_per_vial), "doses", "partial_vial")


def pick(shipment, user=None, min_expiry=None):
    """Choose lots for the lines that name only a vaccine (earliest usable expiry first, none expiring
    before ``min_expiry``, none already promised to another picked shipment), check the stock and the
    temperature the lots can share; the shipment becomes "picked"."""
    require_state(shipment, DRAFT)
    reserved = reserved_at(shipment.origin, excluding=shipment)
    taken = dict(reserved)  # what other shipments and this one's earlier lines already hold
    for line in shipment.lines:
        if line.lot_id is not None:
            taken[line.lot_id] = taken.get(line.lot_id, 0) + line.doses
    picked = []
    for index, line in enumerate(list(shipment.lines)):
        if line.lot_id is not None:
            picked.append(line)
            continue
        picks, shortage = stock.fefo(shipment.origin, line.presentation, line.doses, min_expiry=min_expiry,
                                     reserved=taken)
        if shortage:
            raise stock.LineError(index, ConflictError(_(
                "%(missing)d doses of %(vaccine)s are missing at %(origin)s to fill this line.",
                missing=shortage, vaccine=line.presentation.name, origin=shipment.origin.name),
                "doses", "shortage"))
        shipment.lines.remove(line)
        for lot, doses in picks:
            taken[lot.id] = taken.get(lot.id, 0) + doses
            picked.append(ShipmentLine(presentation_id=line.presentation_id, presentation=line.presentation,
                                       lot_id=lot.id, lot=lot, doses=doses))
    check_on_hand(shipment.origin, picked, reserved)
    shipment.temperature_min, shipment.temperature_max = shared_temperature([line.lot for line in picked])
    shipment.lines = picked
    shipment.state = PICKED
    db.session.flush()
    audit.record("shipment.pick", shipment, user=user, details={
        "lots": [(line.lot.lot_number, line.doses) for line in picked]})
    return shipment


def reserved_at(origin, excluding=None):
    """``{lot id: doses}`` promised by the picked (not yet dispatched) shipments leaving ``origin``,
    but for ``excluding``: the stock they will take is no longer free to pick or allocate."""
    query = (select(ShipmentLine.lot_id, func.sum(ShipmentLine.doses)).join(Shipment)
             .where(Shipment.origin_id == origin.id, Shipment.state == PICKED).group_by(ShipmentLine.lot_id))
    if excluding is not None and excluding.id is not None:
        query = query.where(Shipment.id != excluding.id)
    return dict(db.session.execute(query).all())


def check_on_hand(origin, lines, reserved):
    """Each lot's doses in ``lines`` are on hand at ``origin`` beyond what is ``reserved`` for others."""
    wanted = {}
    for line in lines:
        wanted[line.lot] = wanted.get(line.lot, 0) + line.doses
    on_hand = ledger.on_hand_of(origin.id, [lot.id for lot in wanted])
    for lot, doses in wanted.items():
        held_for_others = reserved.get(lot.id, 0)
        free = on_hand.get(lot.id, 0) - held_for_others
        if free >= doses:
            continue
        if not held_for_others:
            raise ledger.InsufficientStock(origin, lot, doses, on_hand.get(lot.id, 0))
        raise ConflictError(_("Only %(free)d doses of lot %(lot)s at %(location)s are free (%(reserved)d are picked "
                              "for other shipments); %(wanted)d requested.", free=max(free, 0), lot=lot.lot_number,
                              location=origin.name, reserved=held_for_others, wanted=doses),
                            "doses", "insufficient_stock")


def shared_temperature(lot_list):
    """The storage range every lot accepts: the intersection of their ranges, or an error naming them."""
    low = max(lot.presentation.storage_min_c for lot in lot_list)
    high = min(lot.presentation.storage_max_c for lot in lot_list)
    if low > high:
        names = ", ".join(sorted({f"{lot.lot_number} ({lot.presentation.name} {lot.presentation.storage_range})"
                                  for lot in lot_list}))
        raise ConflictError(_("These lots cannot travel at the same temperature: %(lots)s.", lots=names),
                            "lines", "incompatible_temperatures")
    return low, high


# --- Changing the pick: the packs the warehouse actually took ----------------------------------------

@dataclass(frozen=True)
class Planned:
    """A line as it would be after a change, for the checks made before anything is changed."""

    lot: object
    doses: int


def repick(shipment, lot, doses, user=None):
    """Put ``doses`` of ``lot`` on a picked shipment in place of other lots of the same vaccine: the
    packs taken from the shelf were not the ones picked. The doses come off the latest-expiring lines
    first, so what is left of the pick stays FEFO; each vaccine's total does not change. Everything is
    checked before anything changes."""
    require_state(shipment, PICKED)
    vaccine = lot.presentation
    same = [line for line in shipment.lines if line.presentation_id == vaccine.id]
    if not same:
        raise ServiceError(_("Lot %(lot)s is %(vaccine)s, which shipment %(number)s does not carry.",
                             lot=lot.lot_number, vaccine=vaccine.name, number=shipment.number),
                           "lot_id", "vaccine_not_in_shipment")
    check_whole_vials(doses, vaccine)
    others = [line for line in same if line.lot_id != lot.id]
    check_movable(others, lot, doses)
    stock.usable_lot(lot, local_today(), location=shipment.origin)
    target = next((line for line in same if line.lot_id == lot.id), None)
    given = doses_given_up(others, doses)
    after = {line: line.doses - given.get(line, 0) + (doses if line is target else 0) for line in shipment.lines}
    planned = [Planned(line.lot, left) for line, left in after.items() if left]
    if target is None:
        planned.append(Planned(lot, doses))
    check_on_hand(shipment.origin, planned, reserved_at(shipment.origin, excluding=shipment))
    # one vaccine's lots share its range, so this does not change; computed all the same, like pick()
    shipment.temperature_min, shipment.temperature_max = shared_temperature([item.lot for item in planned])
    for line, left in after.items():
        if left:
            line.doses = left
        else:
            shipment.lines.remove(line)
    if target is None:
        shipment.lines.append(ShipmentLine(presentation_id=vaccine.id, presentation=vaccine, lot_id=lot.id,
                                           lot=lot, doses=doses))
    db.session.flush()
    audit.record("shipment.repick", shipment, user=user, details={
        "lot": lot.lot_number, "lot_id": lot.id, "doses": doses,
        "from": [(line.lot.lot_number, taken) for line, taken in given.items()]})
    return shipment


def check_movable(others, lot, doses):
    """Only doses the shipment carries on the vaccine's other lots can move to ``lot``."""
    movable = sum(line.doses for line in others)
    if not movable:
        raise ServiceError(_("All the %(vaccine)s of this shipment is already on lot %(lot)s.",
                             vaccine=lot.presentation.name, lot=lot.lot_number), "lot_id", "already_on_lot")
    if doses > movable:
        raise ServiceError(_("At most %(movable)d doses of %(vaccine)s in this shipment can move to lot %(lot)s.",
                             movable=movable, vaccine=lot.presentation.name, lot=lot.lot_number),
                           "doses", "too_many_doses")


def doses_given_up(lines, doses):
    """``{line: doses}`` taken from ``lines`` to make up ``doses``, latest expiry first."""
    given = {}
    for line in sorted(lines, key=lambda line: (line.lot.expiry, line.id), reverse=True):
        if doses <= 0:
            break
        given[line] = min(line.doses, doses)
        doses -= given[line]
    return given


def dispatch(shipment, user=None):
    """Move every line from the origin into transit, in one transaction."""
    require_state(shipment, PICKED)
    today = local_today()
    for line in shipment.lines:
        stock.usable_lot(line.lot, today, location=shipment.origin)
    transit = locations.virtual(TRANSIT)
    ledger.post([Transfer(line.lot, shipment.origin, transit, line.doses) for line in shipment.lines],
                "dispatch", user=user, reference=shipment.number)
    shipment.state = DISPATCHED
    shipment.dispatched_at = utcnow()
    audit.record("shipment.dispatch", shipment, user=user, details={"number": shipment.number})
    plugins.hook().shipment_dispatched(shipment=shipment)
    return shipment


def receive(shipment, results, user=None):
    """Record what arrived: ``results`` maps each line id to a :class:`LineReceipt`. Accepted doses go
    from transit to the destination; rejected ones, with their reason, to wastage."""
    require_state(shipment, DISPATCHED)
    missing = [line.id for line in shipment.lines if line.id not in results]
    unknown = sorted(set(results) - {line.id for line in shipment.lines})
    if missing or unknown:
        raise ServiceError(_("Report every line of the shipment, and only those."), "lines", "lines_mismatch")
    transit, wastage = locations.virtual(TRANSIT), locations.virtual(WASTAGE)
    accepted, rejected = [], []
    for index, line in enumerate(shipment.lines):
        result = results[line.id]
        try:
            check_line_receipt(line, result)
        except ServiceError as error:
            raise stock.LineError(index, error) from None
        line.accepted, line.rejected = result.accepted, result.rejected
        line.reject_reason, line.vvm_stage = result.reason, result.vvm_stage
        if result.accepted:
            accepted.append(Transfer(line.lot, transit, shipment.destination, result.accepted))
        if result.rejected:
            rejected.append((Transfer(line.lot, transit, wastage, result.rejected), result.reason))
    if accepted:
        ledger.post(accepted, "shipment_receipt", user=user, reference=shipment.number)
    for transfer, reason in rejected:
        ledger.post([transfer], "rejection", user=user, reason=reason, reference=shipment.number)
    shipment.state = PARTIALLY_RECEIVED if rejected else RECEIVED
    shipment.received_at = utcnow()
    audit.record("shipment.receive", shipment, user=user, details={
        "accepted": sum(line.accepted for line in shipment.lines),
        "rejected": sum(line.rejected for line in shipment.lines)})
    report = temperature_report(shipment)
    if report.has_excursion:
        hold_after_excursion(shipment, report, user)
    plugins.hook().shipment_received(shipment=shipment)
    return shipment


def hold_after_excursion(shipment, report, user):
    """Hold the accepted doses at the destination until someone checks them and releases the hold."""
    reason = _("Temperature excursion during shipment %(number)s: %(above)d min above, %(below)d min below "
               "%(low)d…%(high)d °C.", number=shipment.number, above=round(report.minutes_above),
               below=round(report.minutes_below), low=shipment.temperature_min, high=shipment.temperature_max)
    for lot in {line.lot for line in shipment.lines if line.accepted}:
        stock.place_hold(shipment.destination, lot, reason, reference=shipment.number, user=user)
    plugins.hook().temperature_excursion(shipment=shipment, report=report)


# --- Temperatures -----------------------------------------------------------------------------------

def record_temperatures(shipment, readings, user=None):
    """Keep a shipment's data-logger readings (a new upload replaces the previous one)."""
    require_logging_state(shipment)
    temperature.check_readings(readings)
    db.session.execute(delete(Reading).where(Reading.shipment_id == shipment.id))
    db.session.execute(insert(Reading), [{"shipment_id": shipment.id, "at": r.at, "celsius": r.celsius}
                                         for r in readings])
    report = temperature_report(shipment)
    audit.record("shipment.temperatures", shipment, user=user, details={
        "readings": len(readings), "excursions": len(report.excursions)})
    if report.has_excursion and shipment.state in (RECEIVED, PARTIALLY_RECEIVED):
        hold_after_excursion(shipment, report, user)  # the logger was read after the goods were put away
    return report


def record_logger_file(shipment, data, filename="", user=None):
    """Keep the readings of an uploaded data-logger file, in whatever format a ``parse_temperature_log``
    implementation reads (CSV when no plugin recognises it). Raises ``LoggerFileError`` (field ``file``) for a
    file that cannot be read or whose readings cannot be a shipment's log."""
    require_logging_state(shipment)  # before reading the file: its state is the first thing to tell
    readings = read_logger_file(data, filename)
    try:
        return record_temperatures(shipment, readings, user=user)
    except ServiceError as error:
        if error.field is None or not error.field.startswith("readings"):
            raise
        raise temperature.LoggerFileError(error.message) from None  # the file's fault: field "file"


def require_logging_state(shipment):
    if shipment.state not in (PICKED, DISPATCHED, RECEIVED, PARTIALLY_RECEIVED):
        require_state(shipment, DISPATCHED)


def read_logger_file(data, filename=""):
    """The readings of a logger file through the ``parse_temperature_log`` hook, unchecked."""
    readings = plugins.hook().parse_temperature_log(data=data, filename=filename or "")
    if readings is None:  # only when the transport module's CSV reader is not registered
        raise temperature.LoggerFileError(_("No installed reader recognises this data-logger file."))
    return list(islice(readings, temperature.MAX_READINGS + 1))  # one more than allowed: the check refuses it


def readings_of(shipment):
    rows = db.session.execute(select(Reading.at, Reading.celsius).where(Reading.shipment_id == shipment.id)
                              .order_by(Reading.at))
    return [temperature.Reading(at, celsius) for at, celsius in rows]


def temperature_report(shipment):
    tolerance = current_app.config["VAXCHAIN_EXCURSION_MINUTES"]
    return temperature.analyse(readings_of(shipment), shipment.temperature_min, shipment.temperature_max,
                               tolerance_minutes=tolerance)


def check_line_receipt(line, result):
    for name in ("accepted", "rejected"):
        value = getattr(result, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ServiceError(_("Enter a whole number of doses, 0 or more."), name, "not_a_number")
    if result.accepted + result.rejected != line.doses:
        raise ServiceError(_("Accepted and rejected doses must add up to the %(doses)d shipped.", doses=line.doses),
                           "accepted", "does_not_add_up")
    if result.rejected and result.reason not in REJECTION_REASONS:
        raise ServiceError(_("Give the reason for the rejected doses."), "reason", "reason_required")
    if result.vvm_stage is not None and result.vvm_stage not in (1, 2, 3, 4):
        raise ServiceError(_("The VVM stage is 1, 2, 3 or 4."), "vvm_stage", "bad_vvm_stage")


def cancel(shipment, user=None):
    """Give up a shipment that has not left: nothing had moved, so nothing moves back."""
    require_state(shipment, DRAFT, PICKED)
    shipment.state = CANCELLED
    audit.record("shipment.cancel", shipment, user=user, details={"number": shipment.number})
    return shipment


def close(shipment, user=None):
    require_state(shipment, RECEIVED, PARTIALLY_RECEIVED)
    shipment.state = CLOSED
    audit.record("shipment.close", shipment, user=user, details={"number": shipment.number})
    return shipment


def require_state(shipment, *states):
    if shipment.state not in states:
        raise ConflictError(_("Shipment %(number)s is %(state)s: this cannot be done now.",
                              number=shipment.number, state=STATE_LABELS.get(shipment.state, shipment.state)),
                            "state", "wrong_state")


def by_number(number):
    return db.session.scalar(select(Shipment).where(Shipment.number == (number or "").strip().upper()))

