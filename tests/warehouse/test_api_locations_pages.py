"""GET /api/v1/locations a page at a time: a nation has ~11 000 stores and sites. The pages follow one another
in tree order by ``next_cursor`` and hold every location of the caller once, each naming its parent even when
the parent was on an earlier page; old callers still read ``items`` (a default page holds a province's tree);
bad parameters are refused naming them; and a page runs the same statements however many locations exist."""
import base64

import pytest
from sqlalchemy import event

from core import roles
from core.db import db
from modules.warehouse import api as warehouse_api
from modules.warehouse import locations
from modules.warehouse.models import SITE
from tests.warehouse.helpers import build_tree, user_at
from tests.warehouse.test_api_scope import bearer

EVERY = {"KHO-QG": None, "KHO-HN": "KHO-QG", "KHO-BD": "KHO-HN", "DT-PX": "KHO-BD", "DT-TB": "KHO-BD",
         "KHO-DN": "KHO-QG", "DT-HC": "KHO-DN"}


@pytest.fixture
def world(app):
    with app.app_context():
        tree = build_tree()
        national = user_at(roles.VIEWER, tree.national, "xem.quocgia")
        district = user_at(roles.WAREHOUSE_MANAGER, tree.district, "kho.badinh")
        return {"national": bearer(national), "district": bearer(district)}


def walk(client, headers, limit):
    """Every page's items, following next_cursor; and how many pages it took."""
    items, cursor, pages = [], None, 0
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/locations", query_string=query, headers=headers).json
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_the_pages_follow_one_another_in_tree_order_and_hold_everyone_once(client, world):
    items, pages = walk(client, world["national"], 2)
    assert pages == 4 and {item["code"]: item["parent"] for item in items} == EVERY and len(items) == 7
    codes = [item["code"] for item in items]
    assert all(codes.index(parent) < codes.index(code) for code, parent in EVERY.items() if parent)


def test_a_default_page_holds_a_small_tree_whole_for_old_callers(client, world):
    body = client.get("/api/v1/locations", headers=world["district"]).json
    assert {item["code"]: item["parent"] for item in body["items"]} == {"KHO-BD": None, "DT-PX": "KHO-BD",
                                                                         "DT-TB": "KHO-BD"}
    assert body["next_cursor"] is None


@pytest.mark.parametrize("query, field", [({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"),
                                          ({"cursor": "not-a-cursor"}, "cursor"),
                                          ({"cursor": base64.urlsafe_b64encode(b"' OR 1=1").decode()}, "cursor")])
def test_bad_parameters_are_refused_naming_them(client, world, query, field):
    response = client.get("/api/v1/locations", query_string=query, headers=world["national"])
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_parameter" and response.json["error"]["field"] == field


def test_the_schema_documents_the_page_parameters(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/locations"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"limit", "cursor"}
    assert "next_cursor" in str(operation["responses"])


def statements(app, client, headers, query):
    with app.app_context():
        engine = db.engine
    seen = []
    listener = lambda *args: seen.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get("/api/v1/locations", query_string=query, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def test_a_page_runs_the_same_statements_however_many_locations_exist(app, client, world):
    cursor = client.get("/api/v1/locations", query_string={"limit": 2}, headers=world["national"]).json[
        "next_cursor"]
    before = [statements(app, client, world["national"], query) for query in ({"limit": 2},
                                                                             {"limit": 2, "cursor": cursor})]
    with app.app_context():
        district = locations.by_code("KHO-BD")
        for number in range(8):
            locations.create_location(f"DT-N{number}", f"Điểm tiêm mới {number}", SITE, district)
        db.session.commit()
    after = [statements(app, client, world["national"], query) for query in ({"limit": 2},
                                                                            {"limit": 2, "cursor": cursor})]
    assert after == before
    assert len(walk(client, world["national"], 500)[0]) == 15


def test_the_default_page_size_is_the_modules(monkeypatch, client, world):
    monkeypatch.setattr(warehouse_api, "LOCATIONS_PAGE", 3)
    body = client.get("/api/v1/locations", headers=world["national"]).json
    assert len(body["items"]) == 3 and body["next_cursor"]
