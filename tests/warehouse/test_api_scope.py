"""A user assigned to site A sees nothing of site B through the API: lists leave it out, and naming it
is answered exactly like naming a location that does not exist."""
from datetime import date
from types import SimpleNamespace

import pytest

from core import roles
from core.accounts import create_user
from core.db import db
from core.tokens import create_token
from modules.warehouse import services
from tests.conftest import PASSWORD
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

EXPIRY = date(2030, 6, 30)


def bearer(user):
    _token, secret = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(app):
    """Lot A1 at site A (DT-PX), B1 at site B (DT-TB), C1 in the other province's site, 5 doses of B1 sent to
    that site; a staff member of site A, one of nobody's location."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        receive_lot(tree.site_a, vero, "A1", doses=10, expiry=EXPIRY)
        lot_b = receive_lot(tree.site_b, vero, "B1", doses=20, expiry=EXPIRY)
        receive_lot(tree.other_site, vero, "C1", doses=30, expiry=EXPIRY)
        services.transfer(tree.site_b, tree.other_site, lot_b, 5)
        staff = user_at(roles.SITE_STAFF, tree.site_a, "tram.phucxa")
        unassigned = create_user("chua.phan.cong", PASSWORD, roles.WAREHOUSE_MANAGER)
        return SimpleNamespace(headers=bearer(staff), unassigned=bearer(unassigned), lot_b=lot_b.id)


def get(app, headers, url):
    return app.test_client().get(url, headers=headers)


def mentions(body, *codes):
    """Does the JSON text of ``body`` mention any of these location or lot codes?"""
    text = str(body)
    return [code for code in codes if code in text]


def test_locations_lists_only_the_users_own(app, world):
    items = get(app, world.headers, "/api/v1/locations").json["items"]
    assert items == [{"code": "DT-PX", "name": "Trạm Y tế phường Phúc Xá", "kind": "site", "parent": None,
                      "admin_unit": None}]


def test_stock_lists_only_the_users_own_lots(app, world):
    body = get(app, world.headers, "/api/v1/stock?location=DT-PX&include_children=1").json
    assert [line["lot"] for line in body["lines"]] == ["A1"]


def test_moves_list_only_moves_touching_the_users_locations(app, world):
    body = get(app, world.headers, "/api/v1/moves").json
    assert [(move["from"], move["to"], move["lot"]) for move in body["items"]] == [("SUPPLIER", "DT-PX", "A1")]
    assert mentions(body, "DT-TB", "DT-HC", "B1", "C1") == []


def test_moves_of_another_sites_lot_are_empty(app, world):
    body = get(app, world.headers, f"/api/v1/moves?lot_id={world.lot_b}").json
    assert body == {"items": [], "next_cursor": None}


def test_lots_at_the_users_location_are_only_those_it_holds(app, world):
    body = get(app, world.headers, "/api/v1/lots?location=DT-PX").json
    assert [lot["lot"] for lot in body["items"]] == ["A1"]


@pytest.mark.parametrize("url", ["/api/v1/stock?location={code}", "/api/v1/moves?location={code}",
                                 "/api/v1/lots?location={code}", "/api/v1/stock?location={code}&include_children=1"])
@pytest.mark.parametrize("code", ["DT-TB", "KHO-BD", "KHO-QG", "DT-HC"])
def test_a_foreign_location_is_answered_like_an_unknown_one(app, world, url, code):
    foreign = get(app, world.headers, url.format(code=code))
    unknown = get(app, world.headers, url.format(code="NO-SUCH-CODE"))
    assert foreign.status_code == unknown.status_code == 404
    assert unknown.json["error"]["code"] == "unknown_location"
    same_but_the_code = {**unknown.json["error"],
                         "message": unknown.json["error"]["message"].replace("NO-SUCH-CODE", code)}
    assert foreign.json["error"] == same_but_the_code


def test_a_user_assigned_nowhere_sees_no_location_and_no_move(app, world):
    assert get(app, world.unassigned, "/api/v1/locations").json == {"items": [], "next_cursor": None}
    assert get(app, world.unassigned, "/api/v1/moves").json == {"items": [], "next_cursor": None}
    assert get(app, world.unassigned, "/api/v1/stock?location=DT-PX").status_code == 404


def test_the_district_sees_its_sites_but_not_the_other_province(app, world):
    with app.app_context():
        from modules.warehouse import locations
        headers = bearer(user_at(roles.WAREHOUSE_MANAGER, locations.by_code("KHO-BD"), "kho.badinh"))
    items = get(app, headers, "/api/v1/locations").json["items"]
    assert items[0]["code"] == "KHO-BD"  # tree order: a parent before its children
    assert {item["code"]: item["parent"] for item in items} == {"KHO-BD": None, "DT-PX": "KHO-BD",
                                                                 "DT-TB": "KHO-BD"}
    moves = get(app, headers, "/api/v1/moves").json["items"]
    assert {(move["from"], move["to"]) for move in moves} == {("SUPPLIER", "DT-PX"), ("SUPPLIER", "DT-TB"),
                                                              ("DT-TB", "DT-HC")}


def test_an_admin_sees_every_location(app, world):
    with app.app_context():
        headers = bearer(create_user("quan.tri", PASSWORD, roles.ADMIN))
    codes = {item["code"] for item in get(app, headers, "/api/v1/locations").json["items"]}
    assert codes == {"KHO-QG", "KHO-HN", "KHO-BD", "DT-PX", "DT-TB", "KHO-DN", "DT-HC"}
