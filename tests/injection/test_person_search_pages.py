"""Finding people at national scale: the search's page and ``GET /api/v1/persons`` go through the matches a
page at a time (a link, a ``next_cursor``), keep the scoping rules on every page, and run the same number of
statements however many people match."""
import re

import pytest

from core.db import db
from modules.injection import people
from tests.injection.test_reconciliation_pages import statements_for
from tests.injection.test_reminders import log_in_as, make_world, person

NAMES = "Lan Bình Cường Dũng Hoa Khánh Em Giang".split()


@pytest.fixture
def world(app, monkeypatch):
    monkeypatch.setattr(people, "SEARCH_LIMIT", 3)
    return make_world(app)


def listed(html):
    return [int(found) for found in re.findall(r'href="/persons/(\d+)"', html)]


def next_link(html):
    found = re.search(r'<nav class="pager" id="persons-pages".*?rel="next" href="([^"]+)"', html, re.S)
    return found.group(1).replace("&amp;", "&") if found else None


def every_page(client, url):
    """The people listed on each page, following the next links."""
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(listed(html))
        url = next_link(html)
        assert url is None or "q=" in url
    return pages


def test_the_search_goes_through_every_match_a_page_at_a_time(client, world):
    log_in_as(client, "xem")
    pages = every_page(client, "/persons?q=Nguyễn Thị")
    assert [len(page) for page in pages] == [3, 3, 2]
    assert sorted(sum(pages, [])) == sorted(set(sum(pages, []))) and len(sum(pages, [])) == 8
    second = client.get("/persons?q=Nguyễn Thị&page=2").get_data(as_text=True)
    assert re.search(r'rel="prev" href="[^"]*page=1', second)


def test_no_page_lists_someone_out_of_reach(client, world):
    log_in_as(client, "tram")
    seen = sum(every_page(client, "/persons?q=Nguyễn Thị"), [])
    assert world.ids["Khánh"] not in seen and world.ids["Lan"] in seen and world.ids["Hoa"] in seen


def test_the_api_hands_a_cursor_to_the_next_page(client, world):
    log_in_as(client, "tram")
    seen, cursor, pages = [], None, 0
    while True:
        answer = client.get("/api/v1/persons", query_string={"q": "Nguyễn Thị", **({"cursor": cursor} if cursor
                                                                                  else {})})
        assert answer.status_code == 200
        seen += [item["id"] for item in answer.json["items"]]
        cursor, pages = answer.json["next_cursor"], pages + 1
        if cursor is None:
            break
    assert pages == 3 and world.ids["Khánh"] not in seen and world.ids["Lan"] in seen
    assert len(seen) == len(set(seen))
    assert client.get("/api/v1/persons?q=Nguy&cursor=bm9wZQ").status_code == 400


def test_a_search_page_runs_the_same_statements_however_many_match(app, client, world):
    log_in_as(client, "xem")
    before = statements_for(app, client, "/persons?q=Nguyễn Thị&page=2")
    with app.app_context():
        for number in range(5):
            person(f"Thêm {number}")
        db.session.commit()
    assert statements_for(app, client, "/persons?q=Nguyễn Thị&page=2") == before
