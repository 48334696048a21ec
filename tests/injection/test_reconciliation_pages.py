"""The reconciliation report at national scale: each table shows a bounded page of rows, with links to the
pages around it that keep the filters; the totals stay those of every row; and the number of statements a
page runs does not grow with the rows."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from core.db import db
from modules.injection import reconciliation_views, services
from modules.lots.models import Lot
from modules.warehouse.models import Location
from tests.conftest import log_in
from tests.injection.test_reconciliation import make_world
from tests.injection.test_register import person


@pytest.fixture
def world(app, monkeypatch):
    monkeypatch.setattr(reconciliation_views, "REPORT_PAGE", 1)
    return make_world(app)


def rows(html, table):
    body = re.search(rf'<table class="grid" id="{table}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return re.findall(r"<tr data-[^>]*>", body)


def next_link(html, pager):
    found = re.search(rf'<nav class="pager" id="{pager}".*?rel="next" href="([^"]+)"', html, re.S)
    return found.group(1).replace("&amp;", "&") if found else None


def test_each_table_shows_one_page_and_links_to_the_next_keeping_the_filters(client, world):
    log_in(client, "xem")
    since = (world.today - timedelta(days=6)).strftime("%d/%m/%Y")
    html = client.get("/reconciliation", query_string={"since": since, "level": "site"}).get_data(as_text=True)
    assert len(rows(html, "daily-rows")) == 1 and len(rows(html, "stock-rows")) == 1
    assert 'id="daily-total"' in html
    following = next_link(html, "daily-pages")
    assert "page=2" in following and "level=site" in following and "since=" in following
    second = client.get(following).get_data(as_text=True)
    assert len(rows(second, "daily-rows")) == 1 and rows(second, "daily-rows") != rows(html, "daily-rows")
    assert re.search(r'rel="prev"', second)


def test_a_page_out_of_range_shows_the_first(client, world):
    log_in(client, "xem")
    response = client.get("/reconciliation", query_string={"page": 999, "stock_page": -3})
    assert response.status_code == 200
    assert len(rows(response.get_data(as_text=True), "daily-rows")) == 1


def statements_for(app, client, path):
    with app.app_context():
        engine = db.engine
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_report_runs_the_same_statements_however_many_rows(app, client, world):
    log_in(client, "xem")
    before = statements_for(app, client, "/reconciliation?level=site")
    with app.app_context():
        lot, site = db.session.get(Lot, world.vc1), db.session.get(Location, world.site_a)
        for days_ago in range(3, 9):
            services.record_backlog(person(f"Sổ {days_ago}"), lot, site, world.today - timedelta(days=days_ago))
        db.session.commit()
    assert statements_for(app, client, "/reconciliation?level=site") == before
