"""The due list at national scale: a bounded page of rows, with links to the pages around it that keep the
filters; the export still holds every row; and the number of statements a page runs does not grow with the
people due."""
import re

import pytest
from sqlalchemy import select

from core.db import db
from modules.injection import reminders_views
from modules.lots.models import Lot
from modules.warehouse.models import Location
from tests.injection.test_reconciliation_pages import next_link, statements_for
from tests.injection.test_reminders import days, doses, log_in_as, make_world, person, rows, workbook_rows


@pytest.fixture
def world(app, monkeypatch):
    monkeypatch.setattr(reminders_views, "DUE_PAGE", 2)
    return make_world(app)


def test_the_list_shows_one_page_and_links_to_the_next_keeping_the_filters(client, world):
    log_in_as(client, "tram")
    since = days(-40).strftime("%d/%m/%Y")
    html = client.get("/due", query_string={"site": "DT-PX", "since": since}).get_data(as_text=True)
    assert rows(html) == [world.ids["Em"], world.ids["Bình"]]
    following = next_link(html, "due-pages")
    assert "page=2" in following and "site=DT-PX" in following and "since=" in following
    second = client.get(following).get_data(as_text=True)
    assert rows(second) == [world.ids["Lan"]]
    assert re.search(r'rel="prev"', second) and next_link(second, "due-pages") is None
    assert "3 người" in second  # the count is of every row, not of the page


def test_a_page_out_of_range_shows_the_first(client, world):
    log_in_as(client, "tram")
    response = client.get("/due", query_string={"page": 99})
    assert response.status_code == 200 and rows(response.get_data(as_text=True)) == [world.ids["Em"],
                                                                                       world.ids["Bình"]]


def test_the_export_holds_every_row_not_one_page(client, world):
    log_in_as(client, "tram")
    header, *lines = workbook_rows(client.get("/due?format=xlsx&page=2"))
    assert len(lines) == 3


def test_the_page_runs_the_same_statements_however_many_people_are_due(app, client, world):
    log_in_as(client, "tram")
    before = statements_for(app, client, "/due")
    with app.app_context():
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == "AZ1"))
        site = db.session.get(Location, world.site_a)
        for number in range(6):
            doses(person(f"Mới {number}"), (lot, site, 20 + number))
        db.session.commit()
    assert statements_for(app, client, "/due") == before


def test_a_store_chosen_stands_for_the_sites_under_it(app, client, world, monkeypatch):
    monkeypatch.setattr(reminders_views, "DUE_PAGE", 200)
    log_in_as(client, "xem")
    listed = rows(client.get("/due", query_string={"site": "KHO-BD"}).get_data(as_text=True))
    assert set(listed) == {world.ids[name] for name in ("Em", "Bình", "Lan", "Hoa")}
    assert client.get("/due", query_string={"site": "KHO-DN"}).status_code == 200
    staff = app.test_client()
    log_in_as(staff, "tram")
    assert staff.get("/due", query_string={"site": "KHO-BD"}).status_code == 404  # above the user's site


def test_a_scope_of_too_many_locations_offers_its_stores_and_lists_once_one_is_chosen(client, world, monkeypatch):
    monkeypatch.setattr(reminders_views, "MAX_CHOICES", 3)
    log_in_as(client, "xem")
    html = client.get("/due").get_data(as_text=True)
    assert rows(html) == [] and 'id="due-choose"' in html
    assert 'value="KHO-BD"' in html and 'value="DT-PX"' not in html  # stores only: a nation has 10 000 sites
    chosen = client.get("/due", query_string={"site": "DT-TB"}).get_data(as_text=True)
    assert rows(chosen) == [world.ids["Hoa"]] and re.search(r'<option selected value="DT-TB"', chosen)
    assert 'id="due-choose"' not in chosen
    nation = client.get("/due", query_string={"site": "KHO-QG"}).get_data(as_text=True)
    assert rows(nation) == [] and 'id="due-choose"' in nation  # a store of too many locations: choose below it
    district = client.get("/due", query_string={"site": "KHO-BD"}).get_data(as_text=True)  # itself and 2 sites
    assert rows(district) == [world.ids["Em"], world.ids["Bình"]] and 'id="due-choose"' not in district


def test_a_viewers_page_runs_the_same_statements_however_many_people_are_due(app, client, world):
    log_in_as(client, "xem")
    before = [statements_for(app, client, path) for path in ("/due", "/due?site=KHO-BD")]
    with app.app_context():
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == "AZ1"))
        for number in range(6):
            site = db.session.get(Location, world.site_a if number % 2 else world.site_b)
            doses(person(f"Mới {number}"), (lot, site, 20 + number))
        db.session.commit()
    assert [statements_for(app, client, path) for path in ("/due", "/due?site=KHO-BD")] == before
