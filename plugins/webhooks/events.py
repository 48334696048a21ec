"""What each event says: the ``data`` of its JSON payload, built from the records of the change.

Fields are stable (README.md lists them); new ones may be added, none renamed or removed. An injection carries
ids, not who the person is: a receiver that needs more asks the API, which checks its token's reach.
"""
from sqlalchemy import select

from core.db import db


def moment(value):
    return value.isoformat() if value is not None else None


def place(location):
    return {"id": location.id, "code": location.code, "name": location.name}


def vaccine(presentation):
    return {"code": presentation.code, "name": presentation.name}


def lot(record):
    return {"number": record.lot_number, "expiry": record.expiry.isoformat()}


def injection_registered(injection):
    """Read from records the registration already holds in its session: no statement of its own."""
    return {"injection_id": injection.id, "person_id": injection.person_id, "site": place(injection.site),
            "vaccine": vaccine(injection.lot.presentation), "lot": lot(injection.lot),
            "dose_number": injection.dose_number, "injected_at": moment(injection.injected_at)}


def shipment_dispatched(shipment):
    return {**shipment_head(shipment), "dispatched_at": moment(shipment.dispatched_at),
            "lines": shipment_lines(shipment)}


def shipment_received(shipment):
    lines = shipment_lines(shipment)
    for line, record in zip(lines, shipment.lines, strict=True):
        line.update(accepted=record.accepted, rejected=record.rejected, reject_reason=record.reject_reason,
                    vvm_stage=record.vvm_stage)
    return {**shipment_head(shipment), "state": shipment.state, "dispatched_at": moment(shipment.dispatched_at),
            "received_at": moment(shipment.received_at), "lines": lines}


def temperature_excursion(shipment, report):
    return {**shipment_head(shipment), "minutes_above": round(report.minutes_above, 1),
            "minutes_below": round(report.minutes_below, 1), "minimum": report.minimum, "maximum": report.maximum,
            "excursions": [{"start": moment(excursion.start), "end": moment(excursion.end),
                            "direction": excursion.direction, "minutes": round(excursion.minutes, 1),
                            "extreme": excursion.extreme} for excursion in report.excursions],
            "lots": [{"vaccine": code, "number": number} for code, number in sorted(
                {(line.lot.presentation.code, line.lot.lot_number) for line in shipment.lines
                 if line.lot is not None and line.accepted})]}


def shipment_head(shipment):
    return {"shipment_id": shipment.id, "number": shipment.number, "origin": place(shipment.origin),
            "destination": place(shipment.destination),
            "temperature_range": {"min": shipment.temperature_min, "max": shipment.temperature_max}}


def shipment_lines(shipment):
    gtins = gtins_of({line.presentation_id for line in shipment.lines})
    return [{"vaccine": vaccine(line.presentation), "gtins": gtins.get(line.presentation_id, []),
             "lot": lot(line.lot) if line.lot is not None else None, "doses": line.doses, "vials": line.vials}
            for line in shipment.lines]


def gtins_of(presentation_ids):
    """``{presentation id: [GTIN, ...]}`` in one query."""
    from modules.lots.models import Gtin  # here: the plugin is loaded in apps that run without the lots module

    found = {}
    for presentation_id, gtin in db.session.execute(
            select(Gtin.presentation_id, Gtin.gtin).where(Gtin.presentation_id.in_(presentation_ids))
            .order_by(Gtin.gtin)):
        found.setdefault(presentation_id, []).append(gtin)
    return found
