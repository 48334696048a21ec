"""The move history page: filters, strict dd/mm/yyyy dates, keyset pages newest first, scope."""
import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import local_today
from core.db import db
from modules.lots.models import Lot
from modules.warehouse import locations, services, views
from tests.conftest import log_in
from tests.warehouse.pages_world import make_world


@pytest.fixture
def world(app):
    return make_world(app)


def lots_listed(page):
    return re.findall(r'<a href="/lots/\d+">([^<]+)</a>', re.search(r'id="moves".*?</table>', page, re.S).group(0))


def moves(client, url):
    response = client.get(url)
    return response.status_code, lots_listed(response.get_data(as_text=True))


def test_a_national_manager_sees_every_move_newest_first(client, world):
    log_in(client, "qg")
    status, listed = moves(client, "/moves")
    assert status == 200
    assert listed == ["VC-HC", "AZ-B1", "VC-A2", "AZ-A1", "AZ-NAT"]


def test_site_staff_never_see_moves_of_another_site(client, world):
    log_in(client, "pxa")
    status, listed = moves(client, "/moves")
    assert listed == ["VC-A2", "AZ-A1"]
    page = client.get("/moves?lot=AZ-B1").get_data(as_text=True)
    assert lots_listed(page) == [] and "AZ-B1</a>" not in page


def test_filters_by_location_lot_and_kind(app, client, world):
    with app.app_context():
        lot = db.session.get(Lot, world.lots["AZ-NAT"])
        services.transfer(locations.by_code("KHO-QG"), locations.by_code("DT-TB"), lot, 100)
        db.session.commit()
    log_in(client, "qg")
    assert moves(client, "/moves?location=DT-TB")[1] == ["AZ-NAT", "AZ-B1"]
    assert moves(client, "/moves?lot=AZ-NAT")[1] == ["AZ-NAT", "AZ-NAT"]
    assert moves(client, "/moves?kind=transfer")[1] == ["AZ-NAT"]
    assert moves(client, "/moves?kind=receipt&location=KHO-DN")[1] == ["VC-HC"]


def test_filters_by_a_date_range_in_local_days(client, world):
    log_in(client, "qg")
    today = local_today()
    assert len(moves(client, f"/moves?since={today:%d/%m/%Y}&until={today:%d/%m/%Y}")[1]) == 5
    assert moves(client, f"/moves?until={today - timedelta(days=1):%d/%m/%Y}")[1] == []
    assert moves(client, f"/moves?since={today + timedelta(days=1):%d/%m/%Y}")[1] == []


@pytest.mark.parametrize("field, value", [
    ("since", "2025-01-31"),      # ISO, not dd/mm/yyyy
    ("since", "31/02/2025"),      # no such day
    ("until", "12/31/2025"),      # month and day swapped
    ("until", "hôm qua"),
])
def test_a_date_not_written_dd_mm_yyyy_is_refused_next_to_its_field(client, world, field, value):
    log_in(client, "qg")
    response = client.get(f"/moves?{field}={value}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page
    assert "dd/mm/yyyy" in re.search(rf'id="{field}-error">([^<]+)<', page).group(1)
    assert lots_listed(page) == []


def test_an_end_before_the_start_is_refused(client, world):
    log_in(client, "qg")
    response = client.get("/moves?since=10/01/2026&until=09/01/2026")
    assert response.status_code == 422 and 'id="until-error"' in response.get_data(as_text=True)


def test_a_foreign_location_filter_is_not_found(client, world):
    log_in(client, "pxa")
    assert client.get("/moves?location=DT-TB").status_code == 404


def test_pages_go_back_in_time_by_keyset(app, client, world, monkeypatch):
    monkeypatch.setattr(views, "MOVES_PAGE", 2)
    log_in(client, "qg")
    first = client.get("/moves").get_data(as_text=True)
    assert lots_listed(first) == ["VC-HC", "AZ-B1"]
    older = re.search(r'href="(/moves\?before=\d+[^"]*)"', first).group(1)
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert lots_listed(second) == ["VC-A2", "AZ-A1"]
    third_link = re.search(r'href="(/moves\?before=\d+[^"]*)"', second).group(1)
    third = client.get(third_link.replace("&amp;", "&")).get_data(as_text=True)
    assert lots_listed(third) == ["AZ-NAT"]
    assert "before=" not in third.split('id="moves"')[1]


def test_the_next_page_keeps_the_filters(client, world, monkeypatch):
    monkeypatch.setattr(views, "MOVES_PAGE", 1)
    log_in(client, "qg")
    page = client.get("/moves?kind=receipt&lot=AZ-NAT").get_data(as_text=True)
    assert "before=" not in page.split('id="moves"')[1]  # only one move matches
    page = client.get("/moves?kind=receipt").get_data(as_text=True)
    link = re.search(r'href="(/moves\?before=\d+[^"]*)"', page).group(1)
    assert "kind=receipt" in link


def kinds_posted():
    """The kinds of operation the modules' code posts to the ledger: ``ledger.post(moves, "kind", ...)``."""
    kinds = set()
    for path in (Path(__file__).resolve().parents[2] / "modules").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "post"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "ledger"
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)):
                kinds.add(node.args[1].value)
    return kinds


def test_every_kind_of_move_has_a_label_and_a_filter_option(client, world):
    posted = kinds_posted()
    assert {"receipt", "dispatch", "shipment_receipt", "rejection", "injection"} <= posted
    assert posted - set(views.KIND_LABELS) == set()

    log_in(client, "qg")
    page = client.get("/moves").get_data(as_text=True)
    for kind in ("dispatch", "shipment_receipt", "rejection", "injection"):
        assert f'<option value="{kind}">' in page
