"""GET /api/v1/stock, /moves and /lots: what is where, what moved, which lots exist."""
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from core import roles
from core.db import db
from core.tokens import create_token
from modules.lots import services as lots
from modules.warehouse import services
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin


@pytest.fixture
def world(app):
    """At district store KHO-BD: Vaxzevria AZ1 (120 doses, expiring in 10 days) and AZ2 (quarantined);
    at its site DT-PX: 30 doses of AZ1 sent from the district and Vero Cell VC1; a manager of KHO-BD."""
    with app.app_context():
        tree = build_tree()
        vaxzevria, vero = vaccine_with_gtin("VAXZEVRIA"), vaccine_with_gtin("VEROCELL")
        soon = receive_lot(tree.district, vaxzevria, "AZ1", doses=150, expiry=days_from_today(10))
        held = receive_lot(tree.district, vaxzevria, "AZ2", doses=40, expiry=date(2030, 6, 30))
        lots.change_status(held, "quarantined", "temperature excursion on receipt")
        services.transfer(tree.district, tree.site_a, soon, 30)
        vero_lot = receive_lot(tree.site_a, vero, "VC1", doses=7, expiry=date(2030, 1, 31))
        receive_lot(tree.other_site, vero, "VC-DN", doses=3, expiry=date(2030, 1, 31))
        manager = user_at(roles.WAREHOUSE_MANAGER, tree.district, "kho.badinh")
        _token, secret = create_token(manager)
        db.session.commit()
        return SimpleNamespace(headers={"Authorization": f"Bearer {secret}"}, soon=soon.id, held=held.id,
                               vero_lot=vero_lot.id, soon_expiry=soon.expiry.isoformat())


def get(app, world, url):
    response = app.test_client().get(url, headers=world.headers)
    assert response.status_code == 200, response.json
    return response.json


def test_stock_lists_each_lot_with_doses_vials_and_flags(app, world):
    body = get(app, world, "/api/v1/stock?location=KHO-BD")
    assert body["location"] == {"code": "KHO-BD", "name": "Kho quận Ba Đình", "kind": "district"}
    assert body["include_children"] is False
    assert body["lines"] == [
        {"vaccine": "VAXZEVRIA", "lot": "AZ1", "lot_id": world.soon, "expiry": world.soon_expiry,
         "status": "available", "doses": 120, "vials": 12, "expiring_soon": True, "held_doses": 0, "blocked": False},
        {"vaccine": "VAXZEVRIA", "lot": "AZ2", "lot_id": world.held, "expiry": "2030-06-30",
         "status": "quarantined", "doses": 40, "vials": 4, "expiring_soon": False, "held_doses": 0, "blocked": True},
    ]


def test_stock_with_children_sums_each_lot_over_the_subtree(app, world):
    lines = get(app, world, "/api/v1/stock?location=KHO-BD&include_children=1")["lines"]
    assert [(line["lot"], line["doses"]) for line in lines] == [("AZ1", 150), ("AZ2", 40), ("VC1", 7)]


def test_stock_can_be_narrowed_to_one_vaccine(app, world):
    lines = get(app, world, "/api/v1/stock?location=DT-PX&vaccine=VEROCELL")["lines"]
    assert [line["lot"] for line in lines] == ["VC1"]


@pytest.mark.parametrize("url, status, field", [
    ("/api/v1/stock", 400, "location"),
    ("/api/v1/stock?location=KHO-BD&include_children=yes", 400, "include_children"),
    ("/api/v1/stock?location=KHO-BD&vaccine=NOPE", 404, "vaccine"),
    ("/api/v1/moves?lot_id=abc", 400, "lot_id"),
    ("/api/v1/moves?lot_id=999999", 404, "lot_id"),
    ("/api/v1/moves?limit=0", 400, "limit"),
    ("/api/v1/lots?vaccine=NOPE", 404, "vaccine"),
    ("/api/v1/lots?cursor=%%%", 400, "cursor"),
])
def test_a_bad_query_parameter_is_named(app, world, url, status, field):
    response = app.test_client().get(url, headers=world.headers)
    assert (response.status_code, response.json["error"]["field"]) == (status, field)


def test_moves_of_a_location_are_newest_first(app, world):
    items = get(app, world, "/api/v1/moves?location=DT-PX")["items"]
    assert [(move["kind"], move["from"], move["to"], move["doses"]) for move in items] == [
        ("receipt", "SUPPLIER", "DT-PX", 7), ("transfer", "KHO-BD", "DT-PX", 30)]


def test_moves_can_be_filtered_by_lot_and_kind(app, world):
    by_lot = get(app, world, f"/api/v1/moves?lot_id={world.soon}")["items"]
    assert {move["lot"] for move in by_lot} == {"AZ1"} and len(by_lot) == 2
    transfers = get(app, world, "/api/v1/moves?kind=transfer")["items"]
    assert [(move["from"], move["to"]) for move in transfers] == [("KHO-BD", "DT-PX")]


def test_moves_are_paginated_by_cursor(app, world):
    first = get(app, world, "/api/v1/moves?location=KHO-BD&include_children=1&limit=2")
    rest = get(app, world, f"/api/v1/moves?location=KHO-BD&include_children=1&limit=2&cursor={first['next_cursor']}")
    ids = [move["id"] for move in first["items"] + rest["items"]]
    assert len(ids) == 4 and ids == sorted(ids, reverse=True) and rest["next_cursor"] is None


def test_lots_can_be_filtered_by_vaccine_and_location(app, world):
    assert [lot["lot"] for lot in get(app, world, "/api/v1/lots?vaccine=VAXZEVRIA")["items"]] == ["AZ2", "AZ1"]
    assert [lot["lot"] for lot in get(app, world, "/api/v1/lots?location=DT-PX")["items"]] == ["VC1", "AZ1"]
    assert [lot["lot"] for lot in get(app, world, "/api/v1/lots?location=KHO-BD&include_children=1"
                                                  "&vaccine=VEROCELL")["items"]] == ["VC1"]


def test_a_lot_says_whether_it_has_expired(app, world):
    with app.app_context():
        lot = db.session.get(lots.Lot, world.vero_lot)
        lot.expiry = days_from_today(-1)
        db.session.commit()
    item = next(lot for lot in get(app, world, "/api/v1/lots")["items"] if lot["id"] == world.vero_lot)
    assert item["expired"] is True and item["expiry"] == days_from_today(-1).isoformat()
    stock = get(app, world, "/api/v1/stock?location=DT-PX")["lines"]
    assert next(line for line in stock if line["lot"] == "VC1")["blocked"] is True


def test_lots_are_paginated_by_cursor(app, world):
    first = get(app, world, "/api/v1/lots?limit=3")
    rest = get(app, world, f"/api/v1/lots?limit=3&cursor={first['next_cursor']}")
    assert len(first["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None


def statement_count(app, url, headers):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert app.test_client().get(url, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


@pytest.mark.parametrize("url", ["/api/v1/stock?location=KHO-BD&include_children=1",
                                 "/api/v1/moves?location=KHO-BD&include_children=1", "/api/v1/lots"])
def test_a_list_costs_the_same_queries_for_ten_more_lots(app, world, url):
    app.test_client().get(url, headers=world.headers)  # the token's first use is recorded once
    before = statement_count(app, url, world.headers)
    with app.app_context():
        from modules.warehouse import locations
        vero = vaccine_with_gtin("VEROCELL")
        for number in range(10):
            receive_lot(locations.by_code("DT-TB"), vero, f"MORE{number}", doses=2, expiry=date(2030, 1, 31))
    assert statement_count(app, url, world.headers) == before
