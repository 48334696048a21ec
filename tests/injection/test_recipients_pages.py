"""The recall list of a lot at national scale: no count on its pages (the lot's page counts, a merged person
once), pages that follow one another by the last row shown (``?before=``) and cover every recipient once, and a
page that runs the same statements however many were injected, first or deep."""
import re
from datetime import timedelta

import pytest

from core.db import db
from modules.injection import people, reconciliation, reconciliation_views, services
from modules.injection.models import Person
from modules.lots.models import Lot
from modules.warehouse.models import Location
from tests.conftest import log_in
from tests.injection.test_reconciliation import make_world, page, recall_link
from tests.injection.test_reconciliation_pages import statements_for
from tests.injection.test_register import person


@pytest.fixture
def world(app, monkeypatch):
    monkeypatch.setattr(reconciliation_views, "RECIPIENTS_PAGE", 2)
    return make_world(app)


def give(app, world, *names, days_ago=3):
    with app.app_context():
        lot, site = db.session.get(Lot, world.vc1), db.session.get(Location, world.site_a)
        given = [services.record_backlog(person(name), lot, site, world.today - timedelta(days=days_ago + number))
                 for number, name in enumerate(names)]
        db.session.commit()
        return [injection.person_id for injection in given]


def listed(html):
    return re.findall(r'data-person="(\d+)"', html)


def next_link(html):
    found = re.search(r'rel="next" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_a_merged_person_is_counted_once_on_the_lots_page(app, client, world):
    keep_id, duplicate_id = give(app, world, "Trùng Tên", "Trùng Tên Bản Sao")
    with app.app_context():
        people.merge(db.session.get(Person, keep_id), db.session.get(Person, duplicate_id))
        db.session.commit()
    log_in(client, "xem")
    assert recall_link(page(client.get(f"/lots/{world.vc1}")))[:2] == (7, 6)
    assert "data-injections" not in page(client.get(f"/lots/{world.vc1}/recipients"))  # the list counts nothing


def test_the_pages_follow_one_another_newest_first_and_list_everyone_once(app, client, world):
    give(app, world, "Cùng Ngày 1", "Cùng Ngày 2", days_ago=0)  # ties on the day are broken by the id
    log_in(client, "xem")
    html, pages = page(client.get(f"/lots/{world.vc1}/recipients")), []
    while True:
        pages.append(listed(html))
        following = next_link(html)
        if following is None:
            break
        assert "before=" in following
        html = page(client.get(following))
        assert "Mới nhất trước" in html  # a way back to the newest
    everyone = [person_id for rows in pages for person_id in rows]
    assert [len(rows) for rows in pages] == [2, 2, 2, 1] and len(set(everyone)) == 7


def test_the_service_pages_walk_the_lot_newest_first_to_the_end(app, world):
    give(app, world, "Cùng Ngày 1", "Cùng Ngày 2", days_ago=0)
    with app.app_context():
        lot, walked, before = db.session.get(Lot, world.vc1), [], None
        while True:
            rows, more = reconciliation.recipients(lot, [world.site_a, world.site_b], 2, before)
            walked += rows
            if not more:
                break
            before = rows[-1].injection_id
        every = list(reconciliation.each_recipient(lot, [world.site_a, world.site_b]))
    keys = [(row.day, row.injection_id) for row in walked]
    assert keys == sorted(keys, reverse=True) == [(row.day, row.injection_id) for row in every] and len(keys) == 7


def test_a_page_runs_the_same_statements_however_many_were_injected(app, client, world):
    log_in(client, "xem")
    deep = next_link(page(client.get(f"/lots/{world.vc1}/recipients")))
    before = [statements_for(app, client, path) for path in (f"/lots/{world.vc1}/recipients", deep)]
    give(app, world, *(f"Thêm {number}" for number in range(5)), days_ago=30)
    assert [statements_for(app, client, path) for path in (f"/lots/{world.vc1}/recipients", deep)] == before
