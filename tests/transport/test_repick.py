"""Changing a picked shipment's lot by scanning the pack actually taken from the shelf: the scanned lot
replaces the same vaccine's latest-expiring lots, each vaccine's doses stay the same, and a refused change
changes nothing — through the service, the API and the shipment page."""
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import roles
from core.db import db
from core.models import AuditEntry
from core.service_errors import ServiceError
from core.tokens import create_token
from modules.lots import services as lots
from modules.transport import services
from modules.transport.models import PICKED, Shipment
from modules.transport.services import Request
from modules.warehouse import services as stock
from tests.conftest import csrf_token, log_in
from tests.transport.test_pages import error_of
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin


def gs1(lot):
    """What a scanner sends for a pack of ``lot``: symbology identifier, GTIN, expiry, then the lot."""
    return f"]d201{lot.presentation.gtins[0].gtin}17{lot.expiry:%y%m%d}10{lot.lot_number}"


def stock_world(tree):
    """At the national store, Vero Cell (1 dose a vial) in four lots by expiry — SOON, MID, LATE and
    FRONT, the box at the front of the shelf, expiring last — and Vaxzevria (10 doses a vial, 2–8 °C
    as well) in two."""
    vero = vaccine_with_gtin("VEROCELL")
    vaxzevria = vaccine_with_gtin("VAXZEVRIA")
    return SimpleNamespace(
        tree=tree, vero=vero, vaxzevria=vaxzevria,
        soon=receive_lot(tree.national, vero, "VC-SOON", doses=40, expiry=days_from_today(30)),
        mid=receive_lot(tree.national, vero, "VC-MID", doses=40, expiry=days_from_today(200)),
        late=receive_lot(tree.national, vero, "VC-LATE", doses=100, expiry=days_from_today(300)),
        front=receive_lot(tree.national, vero, "VC-FRONT", doses=60, expiry=days_from_today(360)),
        az=receive_lot(tree.national, vaxzevria, "AZ-EARLY", doses=100, expiry=days_from_today(200)),
        az_late=receive_lot(tree.national, vaxzevria, "AZ-LATE", doses=100, expiry=days_from_today(300)),
    )


def picked(world, requests, commit=True):
    shipment = services.create_shipment(world.tree.national, world.tree.site_a, requests)
    services.pick(shipment)
    if commit:
        db.session.commit()
    return shipment


def lines_of(shipment):
    return [(line.lot.lot_number, line.doses) for line in shipment.lines]


# --- The service -------------------------------------------------------------------------------------

@pytest.fixture
def world(app):
    with app.app_context():
        world = stock_world(build_tree())
        world.shipment = picked(world, [Request(doses=100, presentation=world.vero)])
        yield world


def test_the_scanned_lot_takes_doses_from_the_latest_expiring_lines_first(world):
    assert lines_of(world.shipment) == [("VC-SOON", 40), ("VC-MID", 40), ("VC-LATE", 20)]
    services.repick(world.shipment, world.front, 30)
    assert lines_of(world.shipment) == [("VC-SOON", 40), ("VC-MID", 30), ("VC-FRONT", 30)]
    assert world.shipment.state == PICKED


def test_a_lot_already_in_the_shipment_gets_the_doses_on_its_own_line(world):
    services.repick(world.shipment, world.late, 10)
    assert lines_of(world.shipment) == [("VC-SOON", 40), ("VC-MID", 30), ("VC-LATE", 30)]


def test_each_vaccine_keeps_its_doses(world):
    shipment = picked(world, [Request(doses=50, presentation=world.vero), Request(doses=20, lot=world.az)])
    services.repick(shipment, world.front, 50)
    assert lines_of(shipment) == [("AZ-EARLY", 20), ("VC-FRONT", 50)]
    services.repick(shipment, world.az_late, 10)
    assert lines_of(shipment) == [("AZ-EARLY", 10), ("VC-FRONT", 50), ("AZ-LATE", 10)]


def test_the_temperature_requirement_is_computed_again(world):
    world.shipment.temperature_min, world.shipment.temperature_max = None, None
    services.repick(world.shipment, world.front, 10)
    assert (world.shipment.temperature_min, world.shipment.temperature_max) == (2, 8)


def test_the_change_is_in_the_audit_log(world):
    services.repick(world.shipment, world.front, 30)
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "shipment.repick")).one()
    assert entry.object_id == str(world.shipment.id)
    assert entry.details["lot"] == "VC-FRONT" and entry.details["doses"] == 30
    assert entry.details["from"] == [["VC-LATE", 20], ["VC-MID", 10]]


def refused(world, lot, doses, shipment=None):
    """The error of a refused change, after checking that nothing changed."""
    shipment = shipment or world.shipment
    before = lines_of(shipment), shipment.temperature_min, shipment.temperature_max
    with pytest.raises(ServiceError) as error:
        services.repick(shipment, lot, doses)
    assert (lines_of(shipment), shipment.temperature_min, shipment.temperature_max) == before
    return error.value


def test_a_lot_of_a_vaccine_the_shipment_does_not_carry_is_refused_by_name(world):
    error = refused(world, world.az, 10)
    assert (error.code, error.field) == ("vaccine_not_in_shipment", "lot_id")
    assert "AZ-EARLY" in error.message and "Vaxzevria" in error.message


def test_an_expired_lot_is_refused(world):
    expired = receive_lot(world.tree.national, world.vero, "VC-OLD", doses=10, expiry=days_from_today(-1))
    error = refused(world, expired, 10)
    assert (error.code, error.field) == ("lot_expired", "lot_id")


def test_a_lot_held_at_the_origin_is_refused(world):
    stock.place_hold(world.tree.national, world.front, "Fridge failure, checking VVM")
    assert refused(world, world.front, 10).code == "lot_on_hold"


def test_a_quarantined_lot_is_refused(world):
    lots.change_status(world.front, "quarantined", "Suspected freezing")
    assert refused(world, world.front, 10).code == "lot_blocked"


def test_no_more_doses_than_the_shipment_carries_on_other_lots(world):
    error = refused(world, world.front, 101)
    assert (error.code, error.field) == ("too_many_doses", "doses")
    error = refused(world, world.late, 81)  # 20 of the 100 are on VC-LATE already
    assert (error.code, error.field) == ("too_many_doses", "doses") and "80" in error.message


def test_a_lot_that_already_carries_all_of_its_vaccine_is_refused(world):
    shipment = picked(world, [Request(doses=30, presentation=world.vero)])
    assert lines_of(shipment) == [("VC-LATE", 30)]  # VC-SOON and VC-MID are all picked for the first one
    assert refused(world, world.late, 10, shipment).code == "already_on_lot"


def test_doses_must_be_whole_vials(world):
    shipment = picked(world, [Request(doses=60, presentation=world.vaxzevria)])
    error = refused(world, world.az_late, 7, shipment)
    assert (error.code, error.field) == ("partial_vial", "doses")
    assert refused(world, world.az_late, 0, shipment).code == "not_positive"


def test_only_a_picked_shipment_can_change_its_lots(world):
    draft = services.create_shipment(world.tree.national, world.tree.site_a, [Request(doses=10, lot=world.soon)])
    assert refused(world, world.front, 10, draft).code == "wrong_state"
    services.dispatch(world.shipment)
    assert refused(world, world.front, 10).code == "wrong_state"


def test_a_lot_short_at_the_origin_is_refused(world):
    stock.transfer(world.tree.national, world.tree.site_b, world.front, 50)  # 10 doses of VC-FRONT are left
    db.session.commit()
    error = refused(world, world.front, 20)
    assert (error.code, error.field) == ("insufficient_stock", "doses")


def test_a_scan_is_matched_on_gtin_and_lot(world):
    assert lots.lot_from_scan(gs1(world.front)) == world.front
    for code, expected in [(f"]d201{world.vero.gtins[0].gtin}10NO-SUCH-LOT", "unknown_lot"),
                           (f"01{world.vero.gtins[0].gtin}", "no_lot"),
                           (gs1(world.front).replace(f"17{world.front.expiry:%y%m%d}", "17301231"),
                            "expiry_mismatch"),
                           ("hello", "invalid_scan")]:
        with pytest.raises(ServiceError) as error:
            lots.lot_from_scan(code)
        assert (error.value.code, error.value.field) == (expected, "code")


# --- The API -----------------------------------------------------------------------------------------

@pytest.fixture
def api_world(app):
    """The world above, a logistics officer at the national store and a manager at Đà Nẵng."""
    with app.app_context():
        world = stock_world(build_tree())
        shipment = picked(world, [Request(doses=100, presentation=world.vero)])
        headers = {}
        for name, location in [("officer", world.tree.national), ("danang", world.tree.other_province)]:
            _token, secret = create_token(user_at(roles.LOGISTICS_OFFICER, location, name))
            headers[name] = {"Authorization": f"Bearer {secret}"}
        db.session.commit()
        return SimpleNamespace(headers=headers, shipment=shipment.id, front=gs1(world.front), front_id=world.front.id,
                               late_id=world.late.id, az=gs1(world.az), az_id=world.az.id)


def repick_by_api(app, world, body, who="officer"):
    return app.test_client().post(f"/api/v1/shipments/{world.shipment}/repick", json=body,
                                  headers=world.headers[who])


def snapshot(app, world):
    """The shipment as the API shows it, and the number of audit entries."""
    with app.app_context():
        shown = app.test_client().get(f"/api/v1/shipments/{world.shipment}", headers=world.headers["officer"])
        return shown.json, db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_api_a_scanned_pack_changes_the_lot(app, api_world):
    response = repick_by_api(app, api_world, {"code": api_world.front, "doses": 30})
    assert response.status_code == 200, response.json
    assert [(line["lot"], line["doses"]) for line in response.json["lines"]] == [
        ("VC-SOON", 40), ("VC-MID", 30), ("VC-FRONT", 30)]
    assert snapshot(app, api_world)[0] == response.json


def test_api_a_lot_id_changes_the_lot(app, api_world):
    response = repick_by_api(app, api_world, {"lot_id": api_world.late_id, "doses": 10})
    assert response.status_code == 200, response.json
    assert [(line["lot"], line["doses"]) for line in response.json["lines"]] == [
        ("VC-SOON", 40), ("VC-MID", 30), ("VC-LATE", 30)]


def test_api_a_shipment_of_another_province_is_not_found(app, api_world):
    response = repick_by_api(app, api_world, {"code": api_world.front, "doses": 30}, who="danang")
    assert (response.status_code, response.json["error"]["code"]) == (404, "unknown_shipment")


@pytest.mark.parametrize("body, status, code, field", [
    (lambda w: {"code": w.az, "doses": 10}, 422, "vaccine_not_in_shipment", "code"),
    (lambda w: {"lot_id": w.az_id, "doses": 10}, 422, "vaccine_not_in_shipment", "lot_id"),
    (lambda w: {"code": w.front, "doses": 101}, 422, "too_many_doses", "doses"),
    (lambda w: {"code": "]d2hello", "doses": 10}, 422, "invalid_scan", "code"),
    (lambda w: {"lot_id": 999999, "doses": 10}, 404, "unknown_lot", "lot_id"),
    (lambda w: {"code": w.front}, 400, "required", "doses"),
    (lambda w: {"code": w.front, "lot_id": w.front_id, "doses": 10}, 400, "code_or_lot", "code"),
])
def test_api_a_refused_change_names_the_field_and_changes_nothing(app, api_world, body, status, code, field):
    before = snapshot(app, api_world)
    response = repick_by_api(app, api_world, body(api_world))
    error = response.json["error"]
    assert (response.status_code, error["code"], error["field"]) == (status, code, field), error
    assert snapshot(app, api_world) == before


# --- The page ----------------------------------------------------------------------------------------

@pytest.fixture
def page_world(app):
    """A shipment picked at the national store, its logistics officer logged in."""
    with app.app_context():
        world = stock_world(build_tree())
        shipment = picked(world, [Request(doses=100, presentation=world.vero)])
        user_at(roles.LOGISTICS_OFFICER, world.tree.national, "lo")
        return SimpleNamespace(shipment=shipment.id, front=gs1(world.front), az=gs1(world.az))


@pytest.fixture
def page_client(app, page_world):
    client = app.test_client()
    log_in(client, "lo")
    return client


def repick_on_page(client, world, **data):
    url = f"/shipments/{world.shipment}"
    return client.post(url + "/repick", data={"csrf_token": csrf_token(client, url), **data})


def page_lines(app, world):
    with app.app_context():
        return lines_of(db.session.get(Shipment, world.shipment))


def test_page_a_picked_shipment_offers_the_scan(app, page_world, page_client):
    page = page_client.get(f"/shipments/{page_world.shipment}").get_data(as_text=True)
    assert 'id="repick-form"' in page and 'name="code"' in page and 'name="doses"' in page


def test_page_a_scan_changes_the_lines(app, page_world, page_client):
    response = repick_on_page(page_client, page_world, code=page_world.front, doses="30")
    assert response.status_code == 302
    assert page_lines(app, page_world) == [("VC-SOON", 40), ("VC-MID", 30), ("VC-FRONT", 30)]
    page = page_client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'class="flash flash-success"[^>]*>[^<]*VC-FRONT', page)


@pytest.mark.parametrize("scanned, doses, field", [
    ("az", "10", "code"),          # a vaccine the shipment does not carry
    ("front", "101", "doses"),     # more than the shipment carries
    ("]d2hello", "10", "code"),    # not a barcode
    ("", "10", "code"),
    ("front", "", "doses"),
])
def test_page_a_refused_scan_shows_why_and_changes_nothing(app, page_world, page_client, scanned, doses, field):
    before = page_lines(app, page_world)
    code = {"front": page_world.front, "az": page_world.az}.get(scanned, scanned)
    response = repick_on_page(page_client, page_world, code=code, doses=doses)
    assert response.status_code == 422
    assert error_of(response, field), response.get_data(as_text=True)
    assert page_lines(app, page_world) == before


def test_page_a_dispatched_shipment_offers_no_scan(app, page_world, page_client):
    url = f"/shipments/{page_world.shipment}"
    assert page_client.post(url + "/dispatch", data={"csrf_token": csrf_token(page_client, url)}).status_code == 302
    assert 'id="repick-form"' not in page_client.get(url).get_data(as_text=True)
    response = repick_on_page(page_client, page_world, code=page_world.front, doses="10")
    assert response.status_code == 409 and 'class="flash flash-error"' in response.get_data(as_text=True)
