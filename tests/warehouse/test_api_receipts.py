"""POST /api/v1/receipts: vaccine received from the supplier, all lines or none, new lots only when confirmed."""
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import roles
from core.db import db
from core.tokens import create_token
from modules.lots.models import Lot
from modules.warehouse.models import Balance, Move
from tests.warehouse.helpers import build_tree, illustrative_gtin, receive_lot, user_at, vaccine_with_gtin

EXPIRY = date(2030, 6, 30)


@pytest.fixture
def world(app):
    """Lot VC001 of Vero Cell (1 dose per vial) and Vaxzevria (10) known; a manager of the national store."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        vaxzevria = vaccine_with_gtin("VAXZEVRIA")
        lot = receive_lot(tree.national, vero, "VC001", doses=10, expiry=EXPIRY)
        manager = user_at(roles.WAREHOUSE_MANAGER, tree.national, "kho.quocgia")
        province_manager = user_at(roles.WAREHOUSE_MANAGER, tree.province, "kho.hanoi")
        secrets = [create_token(user)[1] for user in (manager, province_manager)]
        db.session.commit()
        english = {"Accept-Language": "en"}  # messages are compared below
        return SimpleNamespace(headers={"Authorization": f"Bearer {secrets[0]}", **english},
                               province_headers={"Authorization": f"Bearer {secrets[1]}", **english},
                               lot_id=lot.id, vero=vero.gtins[0].gtin, vaxzevria=vaxzevria.gtins[0].gtin)


def gs1(gtin, lot, expiry=EXPIRY):
    return f"]d201{gtin}17{expiry:%y%m%d}10{lot}"


def receive(app, world, lines, location="KHO-QG", headers=None, **extra):
    return app.test_client().post("/api/v1/receipts", json={"location": location, "lines": lines, **extra},
                                  headers=headers or world.headers)


def written(app):
    """What the ledger holds: (moves, lots, total doses on the balances of physical locations)."""
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Move)),
                db.session.scalar(select(func.count()).select_from(Lot)),
                db.session.scalar(select(func.sum(Balance.doses)).where(Balance.doses > 0)))


def test_each_scanned_pack_is_received_as_one_vial(app, world):
    code = gs1(world.vero, "VC001")
    response = receive(app, world, [{"code": code}, {"code": code}], reference="PO-2026-17")
    assert response.status_code == 201, response.json
    moves = response.json["moves"]
    assert [(m["from"], m["to"], m["doses"], m["kind"]) for m in moves] == [("SUPPLIER", "KHO-QG", 1, "receipt")] * 2
    assert moves[0]["lot_id"] == world.lot_id and moves[0]["reference"] == "PO-2026-17"
    assert response.json["new_lots"] == []


def test_a_typed_line_is_received_in_vials(app, world):
    response = receive(app, world, [{"gtin": world.vaxzevria, "lot": "AZ77", "expiry": "2030-01-31", "vials": 12,
                                     "confirm_new_lot": True}])
    assert response.status_code == 201, response.json
    assert response.json["moves"][0]["doses"] == 120
    assert response.json["new_lots"] == [{"id": response.json["moves"][0]["lot_id"], "vaccine": "VAXZEVRIA",
                                          "lot": "AZ77", "expiry": "2030-01-31", "status": "available",
                                          "expired": False}]


def test_a_new_lot_needs_confirm_new_lot(app, world):
    before = written(app)
    response = receive(app, world, [{"code": gs1(world.vaxzevria, "AZ77")}])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "new_lot"
    assert response.json["error"]["field"] == "lines[0].confirm_new_lot"
    assert written(app) == before


def test_a_confirmed_new_lot_is_created_by_the_receipt(app, world):
    response = receive(app, world, [{"code": gs1(world.vaxzevria, "AZ77"), "confirm_new_lot": True}])
    assert response.status_code == 201
    assert [lot["lot"] for lot in response.json["new_lots"]] == ["AZ77"]
    assert response.json["moves"][0]["doses"] == 10


@pytest.mark.parametrize("bad_line, field, status", [
    ({"gtin": illustrative_gtin(99999), "lot": "X1", "expiry": "2030-01-31", "doses": 1}, "lines[1].gtin", 422),
    ({"gtin": "09506000134353", "lot": "X1", "expiry": "2030-01-31", "doses": 1}, "lines[1].gtin", 422),
    ({"code": "not a barcode"}, "lines[1].code", 422),
    ({"code": gs1("VERO", "VC001")}, "lines[1].code", 422),
    ({"code": gs1("{vero}", "VC001", date(2031, 1, 31))}, "lines[1].expiry", 409),
    ({"code": gs1("{vero}", "VC001"), "doses": 0}, "lines[1].doses", 422),
    ({"code": gs1("{vero}", "VC001"), "doses": -5}, "lines[1].doses", 422),
    ({"code": gs1("{vero}", "VC001"), "vials": 10**9}, "lines[1].vials", 422),
])
def test_a_bad_second_line_writes_nothing_and_names_the_line(app, world, bad_line, field, status):
    bad_line = {key: value.replace("{vero}", world.vero) if isinstance(value, str) else value
                for key, value in bad_line.items()}
    before = written(app)
    good_line = {"gtin": world.vaxzevria, "lot": "AZ77", "expiry": "2030-01-31", "vials": 1, "confirm_new_lot": True}
    response = receive(app, world, [good_line, bad_line])
    assert response.status_code == status, response.json
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"].startswith("Line 2:")
    assert written(app) == before


@pytest.mark.parametrize("line, field, code", [
    ({"code": "x", "dose": 5}, "lines[0].dose", "unknown_field"),
    ({"code": "x", "doses": 10.0}, "lines[0].doses", "not_an_integer"),
    ({"code": "x", "doses": "10"}, "lines[0].doses", "not_an_integer"),
    ({"code": "x", "vials": True}, "lines[0].vials", "not_an_integer"),
    ({"gtin": "x", "lot": "A", "expiry": "31/12/2030"}, "lines[0].expiry", "invalid_date"),
    ({"gtin": "x", "lot": "A", "expiry": "20301231"}, "lines[0].expiry", "invalid_date"),
    ({"gtin": "x", "lot": "A", "expiry": "2030-02-30"}, "lines[0].expiry", "invalid_date"),
    ({"gtin": 123, "lot": "A"}, "lines[0].gtin", "not_a_string"),
    ({"code": "x", "confirm_new_lot": "yes"}, "lines[0].confirm_new_lot", "not_a_boolean"),
    ({"code": "x", "gtin": "y"}, "lines[0].code", "scan_and_typed"),
    ("x", "lines[0]", "not_an_object"),
])
def test_a_malformed_line_is_refused_with_400_naming_the_field(app, world, line, field, code):
    before = written(app)
    response = receive(app, world, [{"code": gs1(world.vero, "VC001")}, line][1:])
    assert response.status_code == 400, response.json
    assert (response.json["error"]["field"], response.json["error"]["code"]) == (field, code)
    assert written(app) == before


@pytest.mark.parametrize("body, field", [
    ({"lines": []}, "location"),
    ({"location": "KHO-QG"}, "lines"),
    ({"location": "KHO-QG", "lines": {"code": "x"}}, "lines"),
    ({"location": "KHO-QG", "lines": [], "reference": 17}, "reference"),
    ({"location": "KHO-QG", "lines": [], "reference": "R" * 65}, "reference"),
    ({"location": "KHO-QG", "lines": [], "supplier": "AZ"}, "supplier"),
])
def test_a_malformed_receipt_is_refused_with_400_naming_the_field(app, world, body, field):
    response = app.test_client().post("/api/v1/receipts", json=body, headers=world.headers)
    assert response.status_code == 400 and response.json["error"]["field"] == field


def test_a_receipt_without_lines_is_refused(app, world):
    response = receive(app, world, [])
    assert response.status_code == 422 and response.json["error"]["field"] == "lines"


def test_a_receipt_into_a_location_outside_the_users_scope_is_refused_as_unknown(app, world):
    before = written(app)
    response = receive(app, world, [{"code": gs1(world.vero, "VC001")}], location="KHO-QG",
                       headers=world.province_headers)
    assert response.status_code == 404
    assert response.json["error"] == {"code": "unknown_location", "message": "Unknown location KHO-QG.",
                                      "field": "location"}
    assert written(app) == before


def test_a_blank_scan_is_refused_naming_the_line(app, world):
    response = receive(app, world, [{"code": gs1(world.vero, "VC001")}, {"code": " "}])
    assert response.status_code == 422
    assert (response.json["error"]["code"], response.json["error"]["field"]) == ("empty_scan", "lines[1].code")


def test_errors_are_in_the_callers_language(app, world):
    response = app.test_client().post("/api/v1/receipts", json={"lines": []},
                                      headers={**world.headers, "Accept-Language": "vi"})
    assert response.status_code == 400
    assert response.json["error"] == {"code": "required", "message": "Trường này là bắt buộc.", "field": "location"}
