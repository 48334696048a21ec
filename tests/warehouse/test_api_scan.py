"""POST /api/v1/scan: a GS1 scan matched on (GTIN, lot), never creating anything, and cheap to answer."""
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from core import roles
from core.db import db
from core.tokens import create_token
from modules.lots.models import Lot
from tests.warehouse.helpers import build_tree, illustrative_gtin, receive_lot, user_at, vaccine_with_gtin

EXPIRY = date(2030, 6, 30)
GS = "\x1d"


@pytest.fixture
def world(app):
    """Lot VC001 of Vero Cell (100 doses) at the Hà Nội province store; a manager of that store."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        hayat = vaccine_with_gtin("HAYATVAX")
        lot = receive_lot(tree.province, vero, "VC001", doses=100, expiry=EXPIRY)
        manager = user_at(roles.WAREHOUSE_MANAGER, tree.province, "kho.hanoi")
        _token, secret = create_token(manager)
        db.session.commit()
        return SimpleNamespace(headers={"Authorization": f"Bearer {secret}"}, lot_id=lot.id,
                               gtin=vero.gtins[0].gtin, hayat_gtin=hayat.gtins[0].gtin,
                               store="KHO-HN", site="DT-PX", foreign="KHO-DN")


def gs1(gtin, lot, expiry=EXPIRY, prefix="]d2"):
    """What a scanner sends for a pack: symbology identifier, GTIN, expiry, then the lot (no GS needed)."""
    return f"{prefix}01{gtin}17{expiry:%y%m%d}10{lot}"


def scan(app, world, code, **extra):
    return app.test_client().post("/api/v1/scan", json={"code": code, **extra}, headers=world.headers)


def lot_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Lot))


def test_a_known_lot_is_recognised_with_its_status(app, world):
    response = scan(app, world, gs1(world.gtin, "VC001"))
    assert response.status_code == 200
    assert response.json == {
        "gtin": world.gtin, "lot": "VC001", "expiry": "2030-06-30", "serial": None, "vaccine": "VEROCELL",
        "lot_id": world.lot_id, "known": True, "status": "available", "expired": False, "conflicts": [],
        "on_hand_doses": None,
    }


def test_a_scan_at_a_location_gives_the_doses_on_hand_there(app, world):
    assert scan(app, world, gs1(world.gtin, "VC001"), location=world.store).json["on_hand_doses"] == 100
    assert scan(app, world, gs1(world.gtin, "VC001"), location=world.site).json["on_hand_doses"] == 0


def test_an_unknown_lot_of_a_known_vaccine_is_reported_and_not_created(app, world):
    body = scan(app, world, gs1(world.gtin, "NEW42"), location=world.store).json
    assert body["known"] is False and body["vaccine"] == "VEROCELL" and body["lot_id"] is None
    assert body["conflicts"] == [] and body["on_hand_doses"] == 0
    assert lot_count(app) == 1


def test_an_unknown_gtin_is_a_conflict(app, world):
    body = scan(app, world, gs1(illustrative_gtin(99999), "VC001")).json
    assert body["known"] is False and body["vaccine"] is None
    assert [c["code"] for c in body["conflicts"]] == ["unknown_gtin"]


def test_an_expiry_that_contradicts_the_stored_one_is_a_conflict(app, world):
    body = scan(app, world, gs1(world.gtin, "VC001", expiry=date(2031, 1, 31))).json
    assert body["known"] is True and body["expiry"] == "2031-01-31"
    assert [c["code"] for c in body["conflicts"]] == ["expiry_mismatch"]


def test_a_lot_number_registered_for_another_vaccine_is_a_conflict(app, world):
    body = scan(app, world, gs1(world.hayat_gtin, "VC001")).json
    assert body["known"] is False and body["vaccine"] == "HAYATVAX" and body["lot_id"] is None
    assert [c["code"] for c in body["conflicts"]] == ["lot_of_another_vaccine"]


@pytest.mark.parametrize("separator", [GS, "<GS>", "~", "|"])
def test_a_scan_with_gs_or_its_substitute_is_read(app, world, separator):
    code = f"]C101{world.gtin}10VC001{separator}21SN123{separator}17{EXPIRY:%y%m%d}"
    body = scan(app, world, code).json
    assert (body["lot_id"], body["serial"], body["conflicts"]) == (world.lot_id, "SN123", [])


def test_a_wrong_check_digit_is_refused_with_422(app, world):
    wrong = world.gtin[:13] + str((int(world.gtin[13]) + 1) % 10)
    response = scan(app, world, gs1(wrong, "VC001"))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "bad_check_digit" and response.json["error"]["field"] == "code"


@pytest.mark.parametrize("code", ["hello world", "]d2", "(01)123(17)xx"])
def test_garbage_is_refused_with_422_naming_the_code(app, world, code):
    response = scan(app, world, code)
    assert response.status_code == 422 and response.json["error"]["field"] == "code"


@pytest.mark.parametrize("body, field", [({}, "code"), ({"code": 42}, "code"),
                                         ({"code": "x", "location": 7}, "location"),
                                         ({"code": "x", "lot": "VC001"}, "lot")])
def test_a_malformed_body_is_refused_with_400_naming_the_field(app, world, body, field):
    response = app.test_client().post("/api/v1/scan", json=body, headers=world.headers)
    assert response.status_code == 400 and response.json["error"]["field"] == field


@pytest.mark.parametrize("location", ["KHO-DN", "NO-SUCH-PLACE", "SUPPLIER"])
def test_a_location_outside_the_users_scope_is_unknown(app, world, location):
    response = scan(app, world, gs1(world.gtin, "VC001"), location=location)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_location" and response.json["error"]["field"] == "location"


def test_a_viewer_may_not_scan(app, world, make_user):
    with app.app_context():
        from core.accounts import find_user
        _token, secret = create_token(find_user(make_user(roles.VIEWER)))
        db.session.commit()
    response = app.test_client().post("/api/v1/scan", json={"code": gs1(world.gtin, "VC001")},
                                      headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403


def statements_per_request(app, send):
    """How many SQL statements the app runs while answering ``send()``."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = send()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.json
    return statements


@pytest.mark.parametrize("lot", ["VC001", "NEW42"])
def test_a_scan_at_a_location_runs_a_small_fixed_number_of_queries(app, world, lot):
    client = app.test_client()

    def send():
        return client.post("/api/v1/scan", json={"code": gs1(world.gtin, lot), "location": world.store},
                           headers=world.headers)

    send()  # the first use of a token records when it was used; that write is not the scan's
    statements = statements_per_request(app, send)
    assert len(statements) <= 8, "\n".join(statements)


def test_a_scan_without_a_location_does_not_look_at_locations(app, world):
    client = app.test_client()

    def send():
        return client.post("/api/v1/scan", json={"code": gs1(world.gtin, "VC001")}, headers=world.headers)

    send()
    statements = statements_per_request(app, send)
    assert len(statements) <= 4 and not any("warehouse_" in statement for statement in statements), statements
