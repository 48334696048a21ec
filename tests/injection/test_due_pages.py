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
