"""The scan page and its two JSON views: checking a raw scan, and receiving the scanned packs."""
from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import db
from modules.lots.models import Lot
from modules.warehouse import ledger, locations
from modules.warehouse.models import Move
from tests.conftest import csrf_token, log_in
from tests.warehouse.helpers import days_from_today
from tests.warehouse.pages_world import make_world

GS = "\x1d"


@pytest.fixture
def world(app):
    return make_world(app)


@pytest.fixture
def scanner(client, world):
    """Site A's staff on the scan page: ``check(code)`` and ``receive(lines)`` post as the page does."""
    log_in(client, "pxa")
    token = csrf_token(client, "/scan")

    class Scanner:
        def check(self, code, location="DT-PX"):
            return client.post("/scan/check", json={"code": code, "location": location},
                               headers={"X-CSRFToken": token})

        def receive(self, lines, location="DT-PX", reference=""):
            return client.post("/scan/receive", json={"location": location, "lines": lines, "reference": reference},
                               headers={"X-CSRFToken": token})

    return Scanner()


def code(gtin, lot, expiry, separator=GS):
    return f"01{gtin}17{expiry:%y%m%d}10{lot}{separator}21SN0001"


def on_hand(app, location_code, lot_number):
    with app.app_context():
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == lot_number))
        return ledger.on_hand(locations.by_code(location_code).id, lot.id) if lot else None


def move_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Move))


def test_the_page_offers_the_users_locations_only(client, world):
    log_in(client, "pxa")
    page = client.get("/scan").get_data(as_text=True)
    assert 'id="scan-code"' in page and "autofocus" in page
    assert 'value="DT-PX"' in page and 'value="DT-TB"' not in page and 'value="KHO-QG"' not in page
    assert "<script>" not in page and "style=" not in page  # the Content-Security-Policy forbids them


def test_the_chosen_location_is_remembered(client, world):
    log_in(client, "qg")
    client.get("/scan?location=DT-TB")
    assert '<option value="DT-TB" selected>' in client.get("/scan").get_data(as_text=True)


def test_viewers_cannot_scan(client, world):
    log_in(client, "xem")
    assert client.get("/scan").status_code == 403


@pytest.mark.parametrize("separator", [GS, "~", "|", "<GS>"])
def test_a_known_usable_lot_is_green_whatever_the_scanner_sends_for_gs(scanner, world, separator):
    answer = scanner.check(code(world.astra_gtin, "AZ-A1", world.expiry["AZ-A1"], separator)).get_json()
    assert answer["state"] == "ok"
    assert (answer["lot"], answer["vaccine"], answer["doses_per_vial"]) == ("AZ-A1", "Vaxzevria", 10)
    assert answer["expiry_display"] == world.expiry["AZ-A1"].strftime("%d/%m/%Y")
    assert answer["on_hand_doses"] == 20 and answer["known"] is True


def test_a_symbology_prefix_and_the_scanners_enter_are_accepted(scanner, world):
    raw = "]d2" + code(world.astra_gtin, "AZ-A1", world.expiry["AZ-A1"]) + "\r\n"
    assert scanner.check(raw).get_json()["state"] == "ok"


def test_an_unknown_lot_of_a_known_vaccine_is_amber(scanner, world):
    answer = scanner.check(code(world.vero_gtin, "VC-NEW", date(2028, 5, 31))).get_json()
    assert answer["state"] == "new" and answer["known"] is False and answer["lot_id"] is None
    assert answer["expiry_display"] == "31/05/2028"


@pytest.mark.parametrize("raw", ["hello", "0102000000000016", ""])
def test_garbage_or_a_wrong_check_digit_is_red(scanner, world, raw):
    answer = scanner.check(raw).get_json()
    assert answer["state"] == "error" and answer["message"]


def test_a_quarantined_or_expired_lot_or_an_expiry_conflict_is_red(scanner, world):
    assert scanner.check(code(world.vero_gtin, "VC-A2", world.expiry["VC-A2"])).get_json()["state"] == "error"
    assert scanner.check(code(world.vero_gtin, "VC-OLD", date(2024, 1, 31))).get_json()["state"] == "error"
    conflict = scanner.check(code(world.astra_gtin, "AZ-A1", date(2030, 1, 31))).get_json()
    assert conflict["state"] == "error" and conflict["conflicts"]


def test_a_lot_of_another_vaccine_is_red(scanner, world):
    answer = scanner.check(code(world.vero_gtin, "AZ-A1", world.expiry["AZ-A1"])).get_json()
    assert answer["state"] == "error" and answer["conflicts"]


def test_a_foreign_or_missing_location_is_refused(scanner, world):
    raw = code(world.astra_gtin, "AZ-A1", world.expiry["AZ-A1"])
    foreign = scanner.check(raw, location="DT-TB")
    assert foreign.status_code == 404 and foreign.get_json()["field"] == "location"
    assert "on_hand_doses" not in foreign.get_json()
    assert scanner.check(raw, location="").status_code == 422


def test_a_check_without_the_csrf_header_is_refused(client, world):
    log_in(client, "pxa")
    response = client.post("/scan/check", json={"code": "x", "location": "DT-PX"})
    assert response.status_code == 400


def test_receiving_the_list_adds_the_stock(app, scanner, world):
    response = scanner.receive([{"gtin": world.astra_gtin, "lot": "AZ-A1",
                                 "expiry": world.expiry["AZ-A1"].strftime("%d/%m/%Y"), "vials": 3}],
                               reference="PX-2026-001")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["ok"] is True and response.get_json()["doses"] == 30
    assert on_hand(app, "DT-PX", "AZ-A1") == 50


def test_a_new_lot_is_received_only_once_confirmed(app, scanner, world):
    line = {"gtin": world.vero_gtin, "lot": "VC-NEW", "expiry": "31/05/2028", "vials": 12}
    before = move_count(app)
    refused = scanner.receive([line])
    assert refused.status_code == 409 and refused.get_json()["line"] == 0
    assert move_count(app) == before and on_hand(app, "DT-PX", "VC-NEW") is None
    accepted = scanner.receive([{**line, "confirm_new_lot": True}])
    assert accepted.status_code == 200 and accepted.get_json()["new_lots"]
    assert on_hand(app, "DT-PX", "VC-NEW") == 12
    with app.app_context():
        assert db.session.scalar(select(Lot.expiry).where(Lot.lot_number == "VC-NEW")) == date(2028, 5, 31)


def test_one_bad_line_receives_nothing(app, scanner, world):
    good = {"gtin": world.astra_gtin, "lot": "AZ-A1", "expiry": world.expiry["AZ-A1"].strftime("%d/%m/%Y"),
            "vials": 1}
    blocked = {"gtin": world.vero_gtin, "lot": "VC-A2", "expiry": world.expiry["VC-A2"].strftime("%d/%m/%Y"),
               "vials": 1}
    before = move_count(app)
    response = scanner.receive([good, blocked])
    assert response.status_code == 409 and response.get_json()["line"] == 1
    assert move_count(app) == before and on_hand(app, "DT-PX", "AZ-A1") == 20


@pytest.mark.parametrize("line, field", [
    ({"vials": 0}, "lines[0]"),
    ({"vials": "3"}, "lines[0]"),
    ({"expiry": "2028-05-31"}, "lines[0]"),
])
def test_malformed_lines_are_refused_naming_the_line(app, scanner, world, line, field):
    base = {"gtin": world.vero_gtin, "lot": "VC-NEW", "expiry": "31/05/2028", "vials": 2, "confirm_new_lot": True}
    response = scanner.receive([{**base, **line}])
    assert response.status_code == 422 and response.get_json()["field"] == field
    assert on_hand(app, "DT-PX", "VC-NEW") is None


def test_an_expired_lot_is_never_received_as_usable(app, scanner, world):
    expired = days_from_today(-1).strftime("%d/%m/%Y")
    response = scanner.receive([{"gtin": world.vero_gtin, "lot": "VC-OLD", "expiry": expired, "vials": 2,
                                 "confirm_new_lot": True}])
    assert response.status_code == 422 and response.get_json()["field"] == "lines[0].expiry"
    assert on_hand(app, "DT-PX", "VC-OLD") is None


def test_an_empty_list_or_a_foreign_location_receives_nothing(app, scanner, world):
    before = move_count(app)
    assert scanner.receive([]).status_code == 422
    line = {"gtin": world.astra_gtin, "lot": "AZ-B1", "expiry": world.expiry["AZ-B1"].strftime("%d/%m/%Y"),
            "vials": 1}
    assert scanner.receive([line], location="DT-TB").status_code == 404
    assert move_count(app) == before
