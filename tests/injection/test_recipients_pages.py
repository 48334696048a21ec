"""The recall list of a lot at national scale: its count joins only the merged records (a merged person still
counted once), its pages follow one another, and a page runs the same statements however many were injected."""
import re
from datetime import timedelta

import pytest

from core.db import db
from modules.injection import people, reconciliation_views, services
from modules.injection.models import Person
from modules.lots.models import Lot
from modules.warehouse.models import Location
from tests.conftest import log_in
from tests.injection.test_reconciliation import make_world, page
from tests.injection.test_reconciliation_pages import statements_for
from tests.injection.test_register import person


@pytest.fixture
def world(app, monkeypatch):
    monkeypatch.setattr(reconciliation_views, "RECIPIENTS_PAGE", 2)
    return make_world(app)


def give(app, world, *names):
    with app.app_context():
        lot, site = db.session.get(Lot, world.vc1), db.session.get(Location, world.site_a)
        given = [services.record_backlog(person(name), lot, site, world.today - timedelta(days=3 + number))
                 for number, name in enumerate(names)]
        db.session.commit()
        return [injection.person_id for injection in given]


def test_a_merged_person_is_counted_once(app, client, world):
    keep_id, duplicate_id = give(app, world, "Trùng Tên", "Trùng Tên Bản Sao")
    with app.app_context():
        people.merge(db.session.get(Person, keep_id), db.session.get(Person, duplicate_id))
        db.session.commit()
    log_in(client, "xem")
    assert 'data-injections="7" data-people="6"' in page(client.get(f"/lots/{world.vc1}/recipients"))


def test_the_pages_follow_one_another(client, world):
    log_in(client, "xem")
    first = page(client.get(f"/lots/{world.vc1}/recipients"))
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = page(client.get(following))
    listed = [re.findall(r'data-person="(\d+)"', html) for html in (first, second)]
    assert len(listed[0]) == 2 and len(listed[1]) == 2 and not set(listed[0]) & set(listed[1])


def test_a_page_runs_the_same_statements_however_many_were_injected(app, client, world):
    log_in(client, "xem")
    before = statements_for(app, client, f"/lots/{world.vc1}/recipients?page=2")
    give(app, world, *(f"Thêm {number}" for number in range(5)))
    assert statements_for(app, client, f"/lots/{world.vc1}/recipients?page=2") == before
