"""Shipments from pick to receipt, as logistics officers and site staff meet them."""
import pytest

from core.db import db
from core.service_errors import ServiceError
from modules.transport import services
from modules.transport.models import CANCELLED, DISPATCHED, PARTIALLY_RECEIVED, PICKED, RECEIVED
from modules.transport.services import LineReceipt, Request
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from modules.warehouse.models import TRANSIT, WASTAGE
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, vaccine_with_gtin


@pytest.fixture
def world(app):
    """Vero Cell (2–8 °C) in two lots and Comirnaty (−90…−60 °C) at the national store."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        late = receive_lot(tree.national, vero, "VC-LATE", doses=100, expiry=days_from_today(300))
        soon = receive_lot(tree.national, vero, "VC-SOON", doses=40, expiry=days_from_today(30))
        comirnaty = vaccine_with_gtin("COMIRNATY")
        frozen = receive_lot(tree.national, comirnaty, "FK5618", doses=60)
        yield tree, vero, late, soon, frozen


def picked(tree, requests):
    shipment = services.create_shipment(tree.national, tree.site_a, requests, vehicle="29C-123.45")
    services.pick(shipment)
    db.session.commit()
    return shipment


def test_vaccine_lines_are_picked_earliest_expiry_first(world):
    tree, vero, late, soon, _frozen = world
    shipment = picked(tree, [Request(doses=50, presentation=vero)])
    assert shipment.state == PICKED and shipment.number.startswith("VC-")
    assert [(line.lot.lot_number, line.doses) for line in shipment.lines] == [("VC-SOON", 40), ("VC-LATE", 10)]
    assert (shipment.temperature_min, shipment.temperature_max) == (2, 8)


def test_a_shortage_at_the_origin_names_the_line(world):
    tree, vero, *_ = world
    shipment = services.create_shipment(tree.national, tree.site_a, [Request(doses=500, presentation=vero)])
    with pytest.raises(ServiceError) as refused:
        services.pick(shipment)
    assert (refused.value.code, refused.value.field) == ("shortage", "lines[0].doses")


def test_lots_that_cannot_share_a_temperature_cannot_share_a_shipment(world):
    tree, _vero, late, _soon, frozen = world
    shipment = services.create_shipment(tree.national, tree.site_a, [Request(doses=10, lot=late),
                                                                      Request(doses=6, lot=frozen)])
    with pytest.raises(ServiceError) as refused:
        services.pick(shipment)
    assert refused.value.code == "incompatible_temperatures"
    assert "VC-LATE" in refused.value.message and "FK5618" in refused.value.message


def test_dispatch_moves_the_doses_into_transit_once(world):
    tree, _vero, late, *_ = world
    shipment = picked(tree, [Request(doses=30, lot=late)])
    services.dispatch(shipment)
    db.session.commit()
    assert shipment.state == DISPATCHED and shipment.dispatched_at is not None
    assert ledger.on_hand(tree.national.id, late.id) == 70
    assert ledger.on_hand(locations.virtual(TRANSIT).id, late.id) == 30
    with pytest.raises(ServiceError) as refused:
        services.dispatch(shipment)
    assert refused.value.code == "wrong_state"


def test_dispatching_more_than_on_hand_is_refused_and_moves_nothing(world):
    tree, _vero, late, *_ = world
    shipment = picked(tree, [Request(doses=80, lot=late)])
    stock.transfer(tree.national, tree.site_b, late, 50)  # someone else took stock after the picking
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.dispatch(shipment)
    db.session.rollback()
    assert refused.value.code == "insufficient_stock"
    assert ledger.on_hand(tree.national.id, late.id) == 50 and shipment.state == PICKED


def test_receipt_splits_accepted_and_rejected_doses(world):
    tree, _vero, late, soon, _frozen = world
    shipment = picked(tree, [Request(doses=20, lot=late), Request(doses=10, lot=soon)])
    services.dispatch(shipment)
    first, second = shipment.lines
    services.receive(shipment, {first.id: LineReceipt(accepted=20),
                                second.id: LineReceipt(accepted=7, rejected=3, reason="vvm", vvm_stage=3)})
    db.session.commit()
    assert shipment.state == PARTIALLY_RECEIVED
    assert ledger.on_hand(tree.site_a.id, late.id) == 20 and ledger.on_hand(tree.site_a.id, soon.id) == 7
    assert ledger.on_hand(locations.virtual(WASTAGE).id, soon.id) == 3
    assert ledger.on_hand(locations.virtual(TRANSIT).id, late.id) == 0
    assert ledger.check() == []


def test_a_receipt_that_does_not_add_up_is_refused(world):
    tree, _vero, late, *_ = world
    shipment = picked(tree, [Request(doses=20, lot=late)])
    services.dispatch(shipment)
    line = shipment.lines[0]
    for result, code in [(LineReceipt(accepted=21), "does_not_add_up"),
                         (LineReceipt(accepted=15, rejected=5), "reason_required"),
                         (LineReceipt(accepted=20, vvm_stage=5), "bad_vvm_stage")]:
        with pytest.raises(ServiceError) as refused:
            services.receive(shipment, {line.id: result})
        assert refused.value.code == code
    services.receive(shipment, {line.id: LineReceipt(accepted=20)})
    assert shipment.state == RECEIVED
    with pytest.raises(ServiceError):
        services.receive(shipment, {line.id: LineReceipt(accepted=20)})


def test_a_shipment_is_cancelled_only_before_it_leaves(world):
    tree, _vero, late, *_ = world
    shipment = picked(tree, [Request(doses=20, lot=late)])
    services.cancel(shipment)
    assert shipment.state == CANCELLED and ledger.on_hand(tree.national.id, late.id) == 100
    other = picked(tree, [Request(doses=20, lot=late)])
    services.dispatch(other)
    with pytest.raises(ServiceError):
        services.cancel(other)


def test_lines_must_be_whole_vials_and_lots_usable(world):
    tree, _vero, _late, _soon, frozen = world
    with pytest.raises(ServiceError) as refused:
        services.create_shipment(tree.national, tree.site_a, [Request(doses=7, lot=frozen)])
    assert (refused.value.code, refused.value.field) == ("partial_vial", "lines[0].doses")
    with pytest.raises(ServiceError) as refused:
        services.create_shipment(tree.national, tree.national, [Request(doses=6, lot=frozen)])
    assert refused.value.field == "destination"


def readings_every_30_minutes(start, temperatures):
    from datetime import timedelta

    from modules.transport.temperature import Reading
    return [Reading(start + timedelta(minutes=30 * i), celsius) for i, celsius in enumerate(temperatures)]


def test_an_excursion_holds_the_lots_at_the_destination_until_released(world):
    from core.db import utcnow

    tree, _vero, late, *_ = world
    shipment = picked(tree, [Request(doses=20, lot=late)])
    services.dispatch(shipment)
    start = utcnow()
    report = services.record_temperatures(shipment, readings_every_30_minutes(start, [5, 5, 12, 13, 12, 11, 5]))
    assert report.has_excursion and report.minutes_above == 120
    services.receive(shipment, {shipment.lines[0].id: LineReceipt(accepted=20)})
    db.session.commit()
    assert stock.is_held(tree.site_a, late)
    with pytest.raises(ServiceError) as refused:
        stock.transfer(tree.site_a, tree.site_b, late, 1)
    assert refused.value.code == "lot_on_hold"
    stock.transfer(tree.national, tree.site_b, late, 1)  # still usable where nothing happened
    hold = stock.active_holds([tree.site_a.id])[0]
    stock.release_hold(hold, "Checked VVM: stage 1, usable")
    db.session.commit()
    stock.transfer(tree.site_a, tree.site_b, late, 1)


def test_a_short_door_opening_is_not_an_excursion(world):
    from core.db import utcnow

    tree, _vero, late, *_ = world
    shipment = picked(tree, [Request(doses=20, lot=late)])
    services.dispatch(shipment)
    report = services.record_temperatures(shipment, readings_every_30_minutes(utcnow(), [5, 9, 5, 5]))
    assert not report.has_excursion and report.minutes_above == 30
    services.receive(shipment, {shipment.lines[0].id: LineReceipt(accepted=20)})
    assert not stock.is_held(tree.site_a, late)


def test_readings_far_outside_any_physical_range_are_refused(world):
    from core.db import utcnow

    tree, _vero, late, *_ = world
    shipment = picked(tree, [Request(doses=20, lot=late)])
    with pytest.raises(ServiceError) as refused:
        services.record_temperatures(shipment, readings_every_30_minutes(utcnow(), [5, 500]))
    assert refused.value.field == "readings[1].celsius"


def test_dispatch_and_receipt_fire_their_hooks(make_app):
    from core.hookspecs import hookimpl

    seen = []

    class Listener:
        @hookimpl
        def shipment_dispatched(self, shipment):
            seen.append(("dispatched", shipment.number))

        @hookimpl
        def shipment_received(self, shipment):
            seen.append(("received", shipment.state))

    app = make_app(plugins=[("listener", Listener())])
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.national, vaccine_with_gtin("VEROCELL"), "VC-HOOK", doses=10)
        shipment = picked(tree, [Request(doses=10, lot=lot)])
        services.dispatch(shipment)
        services.receive(shipment, {shipment.lines[0].id: LineReceipt(accepted=10)})
        assert seen == [("dispatched", shipment.number), ("received", RECEIVED)]
