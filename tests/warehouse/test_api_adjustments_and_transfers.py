"""POST /api/v1/adjustments and /api/v1/transfers: stock changed within one's locations, never below zero."""
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import roles
from core.db import db
from core.tokens import create_token
from modules.warehouse import ledger, services
from modules.warehouse.models import Move
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin


@pytest.fixture
def world(app):
    """50 doses of Vero Cell lot VC001 at site DT-PX; a manager of district KHO-BD (with DT-PX and DT-TB)."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        lot = receive_lot(tree.site_a, vero, "VC001", doses=50, expiry=date(2030, 6, 30))
        expired = receive_lot(tree.site_a, vero, "VC-OLD", doses=5, expiry=date(2030, 6, 30))
        expired.expiry = date(2021, 1, 31)
        manager = user_at(roles.WAREHOUSE_MANAGER, tree.district, "kho.badinh")
        _token, secret = create_token(manager)
        db.session.commit()
        return SimpleNamespace(headers={"Authorization": f"Bearer {secret}"}, lot_id=lot.id, expired_id=expired.id,
                               site_a=tree.site_a.id)


def post(app, world, path, body):
    return app.test_client().post(path, json=body, headers=world.headers)


def adjust(app, world, doses, reason="broken", **extra):
    return post(app, world, "/api/v1/adjustments",
                {"location": "DT-PX", "lot_id": world.lot_id, "doses": doses, "reason": reason, **extra})


def on_hand(app, world, lot_id=None):
    with app.app_context():
        return ledger.on_hand(world.site_a, lot_id or world.lot_id)


def move_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Move))


@pytest.mark.parametrize("reason", list(services.WASTAGE_REASONS))
def test_wasted_doses_go_to_wastage_with_their_reason(app, world, reason):
    response = adjust(app, world, -3, reason, note="dropped")
    assert response.status_code == 201, response.json
    move = response.json
    assert (move["kind"], move["from"], move["to"], move["doses"], move["reason"], move["note"]) == (
        "wastage", "DT-PX", "WASTAGE", 3, reason, "dropped")
    assert on_hand(app, world) == 47


def test_lost_doses_go_to_adjustment(app, world):
    move = adjust(app, world, -2, "lost").json
    assert (move["kind"], move["to"], move["doses"]) == ("adjustment", "ADJUSTMENT", 2)


def test_found_doses_are_added(app, world):
    move = adjust(app, world, 4, "found").json
    assert (move["kind"], move["from"], move["to"]) == ("adjustment", "ADJUSTMENT", "DT-PX")
    assert on_hand(app, world) == 54


def test_an_expired_lot_can_be_wasted(app, world):
    response = adjust(app, world, -5, "expired", lot_id=world.expired_id)
    assert response.status_code == 201 and on_hand(app, world, world.expired_id) == 0


def test_removing_more_than_on_hand_is_refused_and_writes_nothing(app, world):
    before = move_count(app)
    response = adjust(app, world, -51)
    assert response.status_code == 409
    assert (response.json["error"]["code"], response.json["error"]["field"]) == ("insufficient_stock", "doses")
    assert on_hand(app, world) == 50 and move_count(app) == before


@pytest.mark.parametrize("changes, status, field", [
    ({"doses": -2.0}, 400, "doses"),
    ({"doses": "-2"}, 400, "doses"),
    ({"doses": False}, 400, "doses"),
    ({"doses": None}, 400, "doses"),
    ({"doses": 0}, 422, "doses"),
    ({"doses": 5}, 422, "doses"),
    ({"doses": -10**12}, 422, "doses"),
    ({"reason": "stolen"}, 422, "reason"),
    ({"reason": 3}, 400, "reason"),
    ({"lot_id": "1"}, 400, "lot_id"),
    ({"lot_id": 999999}, 404, "lot_id"),
    ({"location": "DT-HC"}, 404, "location"),
    ({"location": "WASTAGE"}, 404, "location"),
    ({"note": "x" * 1001}, 400, "note"),
    ({"reasons": "broken"}, 400, "reasons"),
])
def test_a_bad_adjustment_names_the_field_and_writes_nothing(app, world, changes, status, field):
    before = move_count(app)
    body = {"location": "DT-PX", "lot_id": world.lot_id, "doses": -2, "reason": "broken", **changes}
    response = post(app, world, "/api/v1/adjustments", body)
    assert (response.status_code, response.json["error"]["field"]) == (status, field), response.json
    assert move_count(app) == before


def transfer(app, world, **changes):
    return post(app, world, "/api/v1/transfers",
                {"from": "DT-PX", "to": "DT-TB", "lot_id": world.lot_id, "doses": 20, **changes})


def test_a_transfer_within_ones_locations_moves_the_doses(app, world):
    response = transfer(app, world)
    assert response.status_code == 201, response.json
    assert (response.json["kind"], response.json["from"], response.json["to"], response.json["doses"]) == (
        "transfer", "DT-PX", "DT-TB", 20)
    assert on_hand(app, world) == 30


@pytest.mark.parametrize("field, code", [("to", "KHO-HN"), ("to", "DT-HC"), ("from", "KHO-QG"), ("to", "NOWHERE")])
def test_a_transfer_touching_a_location_outside_the_scope_is_refused_as_unknown(app, world, field, code):
    before = move_count(app)
    response = transfer(app, world, **{field: code})
    assert response.status_code == 404
    assert (response.json["error"]["code"], response.json["error"]["field"]) == ("unknown_location", field)
    assert move_count(app) == before and on_hand(app, world) == 50


@pytest.mark.parametrize("changes, status, code, field", [
    ({"doses": 51}, 409, "insufficient_stock", "doses"),
    ({"to": "DT-PX"}, 422, "same_location", "to"),
    ({"doses": 0}, 422, "not_positive", "doses"),
    ({"doses": 1.5}, 400, "not_an_integer", "doses"),
    ({"lot_id": None}, 400, "required", "lot_id"),
])
def test_a_bad_transfer_names_the_field_and_writes_nothing(app, world, changes, status, code, field):
    before = move_count(app)
    response = transfer(app, world, **changes)
    assert (response.status_code, response.json["error"]["code"], response.json["error"]["field"]) == (
        status, code, field), response.json
    assert move_count(app) == before


def test_an_expired_lot_cannot_be_transferred(app, world):
    response = transfer(app, world, lot_id=world.expired_id, doses=1)
    assert response.status_code == 409 and response.json["error"]["code"] == "lot_expired"


def test_a_viewer_may_not_adjust(app, world):
    with app.app_context():
        from modules.warehouse import locations
        viewer = user_at(roles.VIEWER, locations.by_code("DT-PX"), "xem.px")
        _token, secret = create_token(viewer)
        db.session.commit()
    before = move_count(app)
    response = app.test_client().post("/api/v1/adjustments", headers={"Authorization": f"Bearer {secret}"},
                                      json={"location": "DT-PX", "lot_id": world.lot_id, "doses": -1,
                                            "reason": "broken"})
    assert response.status_code == 403 and move_count(app) == before
