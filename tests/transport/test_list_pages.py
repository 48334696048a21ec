"""The shipments list at national scale: a bounded page, newest first, with a link to older shipments that
keeps the filters; the number of statements a page runs does not grow with the shipments."""
import re

import pytest

from modules.transport import views
from tests.conftest import log_in
from tests.injection.test_reconciliation_pages import statements_for
from tests.transport.test_pages import new_shipment
from tests.transport.test_pages import world as world  # noqa: F401 (the fixture)


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(views, "LIST_LIMIT", 2)


def shipment_ids(html):
    return [int(found) for found in re.findall(r'href="/shipments/(\d+)"', html)]


def next_link(html):
    found = re.search(r'<nav class="pager" id="shipments-pages".*?rel="next" href="([^"]+)"', html, re.S)
    return found.group(1).replace("&amp;", "&") if found else None


def make_shipments(client, world, n):
    for _ in range(n):
        assert new_shipment(client, world, line_0_vials="1").status_code == 302


def test_the_list_shows_a_page_and_links_to_older_shipments_keeping_the_filters(app, client, world):
    log_in(client, "lo")
    make_shipments(client, world, 3)
    first = client.get("/shipments", query_string={"state": "picked", "location": world.site}).get_data(as_text=True)
    newest = shipment_ids(first)
    assert len(newest) == 2 and newest == sorted(newest, reverse=True)
    following = next_link(first)
    assert "state=picked" in following and f"location={world.site}" in following
    older = client.get(following).get_data(as_text=True)
    assert shipment_ids(older) == [newest[-1] - 1] and next_link(older) is None


def test_the_list_runs_the_same_statements_however_many_shipments(app, client, world):
    log_in(client, "lo")
    make_shipments(client, world, 3)
    before = statements_for(app, client, "/shipments")
    make_shipments(client, world, 3)
    assert statements_for(app, client, "/shipments") == before
