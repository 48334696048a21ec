"""The plans list at national scale: a bounded page, newest first, with a link to older plans; the number of
statements a page runs does not grow with the plans."""
import re

import pytest

from modules.allocation import views
from tests.allocation.test_pages import logged_in, plan_form
from tests.allocation.test_pages import world as world  # noqa: F401 (the fixture)
from tests.injection.test_reconciliation_pages import statements_for


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(views, "LIST_LIMIT", 2)


def plan_ids(html):
    return [int(found) for found in re.findall(r'href="/allocations/(\d+)"', html)]


def next_link(html):
    found = re.search(r'<nav class="pager" id="plans-pages".*?rel="next" href="([^"]+)"', html, re.S)
    return found.group(1).replace("&amp;", "&") if found else None


def make_plans(client, world, n):
    for _ in range(n):
        assert client.post("/allocations/new", data=plan_form(client, world, ("KHO-HN", None))).status_code == 302


def test_the_list_shows_a_page_and_links_to_older_plans(app, world):
    client = logged_in(app, "lo")
    make_plans(client, world, 3)
    first = client.get("/allocations").get_data(as_text=True)
    newest = plan_ids(first)
    assert len(newest) == 2 and newest == sorted(newest, reverse=True)
    older = client.get(next_link(first)).get_data(as_text=True)
    assert plan_ids(older) == [newest[-1] - 1] and next_link(older) is None
    assert re.search(r'<nav class="pager" id="plans-pages"[^>]*>\s*<a class="button" href="/allocations">', older)


def test_the_list_runs_the_same_statements_however_many_plans(app, world):
    client = logged_in(app, "lo")
    make_plans(client, world, 3)
    before = statements_for(app, client, "/allocations")
    make_plans(client, world, 3)
    assert statements_for(app, client, "/allocations") == before
