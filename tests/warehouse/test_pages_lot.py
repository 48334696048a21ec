"""A lot's traceability page: facts, where it is, its moves, who received it, status changes, recall."""
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.db import db
from core.hookspecs import hookimpl
from modules.lots.models import Lot, StatusChange
from modules.warehouse import locations, services, views
from tests.conftest import csrf_token, log_in
from tests.warehouse.pages_world import make_world


@pytest.fixture
def world(app):
    return make_world(app)


def body_rows(table):
    return table.split("<tbody>")[1].count("<tr>")


def section(page, element_id):
    found = re.search(rf'id="{element_id}".*?</(table|p)>', page, re.S)
    return found.group(0) if found else ""


def spread_az_nat(app, world):
    """Send AZ-NAT doses from the national store to site B and the other province's site."""
    with app.app_context():
        lot = db.session.get(Lot, world.lots["AZ-NAT"])
        national = locations.by_code("KHO-QG")
        services.transfer(national, locations.by_code("DT-TB"), lot, 100)
        services.transfer(national, locations.by_code("DT-HC"), lot, 200)
        db.session.commit()


def status_of(app, lot_id):
    with app.app_context():
        return db.session.get(Lot, lot_id).status


def test_the_page_shows_the_lot_its_vaccine_gtin_and_expiry(client, world):
    log_in(client, "qg")
    response = client.get(f"/lots/{world.lots['AZ-NAT']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Vaxzevria" in page and world.astra_gtin in page
    assert world.expiry["AZ-NAT"].strftime("%d/%m/%Y") in page


def test_an_unknown_lot_is_not_found(client, world):
    log_in(client, "qg")
    assert client.get("/lots/99999").status_code == 404


def test_where_it_is_now_lists_only_locations_in_scope(app, client, world):
    spread_az_nat(app, world)
    log_in(client, "qg")
    holdings = section(client.get(f"/lots/{world.lots['AZ-NAT']}").get_data(as_text=True), "lot-holdings")
    assert "KHO-QG" in holdings and "DT-TB" in holdings and "DT-HC" in holdings
    client = app.test_client()
    log_in(client, "ptb")
    page = client.get(f"/lots/{world.lots['AZ-NAT']}").get_data(as_text=True)
    holdings = section(page, "lot-holdings")
    assert "DT-TB" in holdings and "KHO-QG" not in holdings and "DT-HC" not in holdings
    moves = section(page, "lot-moves")
    assert "Trạm Y tế Hải Châu" not in moves  # the transfer to another province is not theirs


def test_moves_of_the_lot_are_paged_by_keyset(app, client, world, monkeypatch):
    spread_az_nat(app, world)
    monkeypatch.setattr(views, "MOVES_PAGE", 2)
    log_in(client, "qg")
    page = client.get(f"/lots/{world.lots['AZ-NAT']}").get_data(as_text=True)
    assert body_rows(section(page, "lot-moves")) == 2
    link = re.search(r'href="(/lots/\d+\?before=\d+)"', page).group(1)
    older = client.get(link).get_data(as_text=True)
    assert body_rows(section(older, "lot-moves")) == 1  # the receipt


def test_nobody_answering_who_received_it_shows_no_data_yet(make_app):
    app = make_app(VAXCHAIN_MODULES="lots,warehouse")  # no injection module to answer
    world = make_world(app)
    client = app.test_client()
    log_in(client, "qg")
    page = client.get(f"/lots/{world.lots['AZ-NAT']}").get_data(as_text=True)
    assert '<p class="empty" id="lot-recipients">' in page
    assert 'id="lot-recall-list"' not in page


def test_a_recall_list_answer_shows_its_count_and_link(make_app):
    class RecallList:
        @hookimpl
        def lot_recall_list(self, lot, user):
            if user.username != "qg":
                return None
            return {"url": f"/recall/{lot.lot_number}", "injections": 1234, "people": 1200}

    app = make_app(plugins=[("recall", RecallList())], VAXCHAIN_MODULES="lots,warehouse")
    world = make_world(app)
    client = app.test_client()
    log_in(client, "qg")
    link = section(client.get(f"/lots/{world.lots['AZ-NAT']}").get_data(as_text=True), "lot-recall-list")
    assert 'data-injections="1234" data-people="1200"' in link and 'href="/recall/AZ-NAT"' in link
    assert "1.234" in link  # numbers in the page's (Vietnamese) format
    client = app.test_client()
    log_in(client, "ptb")
    assert 'id="lot-recall-list"' not in client.get(f"/lots/{world.lots['AZ-B1']}").get_data(as_text=True)


def test_a_lot_nobody_was_injected_from_says_so(client, world):
    log_in(client, "qg")
    page = client.get(f"/lots/{world.lots['AZ-NAT']}").get_data(as_text=True)
    assert '<table class="grid" id="lot-recipients">' in page and 'colspan="4" class="empty"' in page


RECIPIENT_ROWS = [
    {"person": "Nguyễn Thị Hoa", "injected_at": datetime(2026, 3, 1, 2, 30, tzinfo=UTC), "site": "DT-TB",
     "dose_number": 1},
    {"person": "Trần Văn Nam", "injected_at": datetime(2026, 3, 1, 2, 30, tzinfo=UTC), "site": "DT-HC",
     "dose_number": 2}]


def test_recipients_come_from_the_hook_asked_for_the_readers_locations(make_app):
    class Injections:
        def __init__(self):
            self.scopes = []

        @hookimpl
        def lot_recipients(self, lot, limit, scope):
            self.scopes.append(scope)
            return [row for row in RECIPIENT_ROWS if locations.by_code(row["site"]).id in scope]

    injections = Injections()
    app = make_app(plugins=[("injections", injections)])
    world = make_world(app)
    client = app.test_client()
    log_in(client, "ptb")
    table = section(client.get(f"/lots/{world.lots['AZ-B1']}").get_data(as_text=True), "lot-recipients")
    assert "Nguyễn Thị Hoa" in table and "Trần Văn Nam" not in table
    with app.app_context():
        assert injections.scopes == [frozenset({locations.by_code("DT-TB").id})]


def test_rows_of_an_implementation_ignoring_the_scope_stay_within_it(make_app):
    class Injections:  # written before the hook had ``scope``: it answers for the whole country
        @hookimpl
        def lot_recipients(self, lot, limit):
            return RECIPIENT_ROWS

    app = make_app(plugins=[("injections", Injections())])
    world = make_world(app)
    client = app.test_client()
    log_in(client, "ptb")
    table = section(client.get(f"/lots/{world.lots['AZ-B1']}").get_data(as_text=True), "lot-recipients")
    assert "Nguyễn Thị Hoa" in table and "Trần Văn Nam" not in table
    client = app.test_client()
    log_in(client, "qg")
    table = section(client.get(f"/lots/{world.lots['AZ-B1']}").get_data(as_text=True), "lot-recipients")
    assert "Nguyễn Thị Hoa" in table and "Trần Văn Nam" in table


def test_the_label_link_points_to_the_labels_pdf(client, world):
    log_in(client, "kho_a")
    page = client.get(f"/lots/{world.lots['AZ-A1']}").get_data(as_text=True)
    form = re.search(r'<form method="get" action="([^"]+)"[^>]*id="labels-form">(.*?)</form>', page, re.S)
    assert form.group(1) == f"/api/v1/lots/{world.lots['AZ-A1']}/labels.pdf"
    assert 'name="count"' in form.group(2) and 'value="a4"' in form.group(2) and 'value="thermal"' in form.group(2)
    assert client.get(form.group(1), query_string={"count": 1}).mimetype == "application/pdf"


def test_labels_are_not_offered_to_whom_cannot_print_them(client, world):
    log_in(client, "pxa")  # site staff: the labels' endpoint answers them 403
    page = client.get(f"/lots/{world.lots['AZ-A1']}").get_data(as_text=True)
    assert 'id="labels-form"' not in page
    assert client.get(f"/api/v1/lots/{world.lots['AZ-A1']}/labels.pdf").status_code == 403


def test_a_manager_quarantines_a_lot_with_a_reason(app, client, world):
    log_in(client, "kho_a")
    url = f"/lots/{world.lots['AZ-A1']}"
    response = client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "status": "quarantined",
                                                  "reason": "VVM stage 3 seen on two vials"})
    assert response.status_code == 302
    assert status_of(app, world.lots["AZ-A1"]) == "quarantined"
    history = section(client.get(url).get_data(as_text=True), "lot-history")
    assert "VVM stage 3 seen on two vials" in history and "kho_a" in history


def test_a_status_change_without_reason_is_refused_and_writes_nothing(app, client, world):
    log_in(client, "kho_a")
    url = f"/lots/{world.lots['AZ-A1']}"
    response = client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "status": "quarantined",
                                                  "reason": "  "})
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)
    assert status_of(app, world.lots["AZ-A1"]) == "available"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusChange)) == 1  # VC-A2's quarantine


def test_a_transition_the_machine_forbids_is_refused_next_to_the_status(app, client, world):
    log_in(client, "kho_a")
    url = f"/lots/{world.lots['AZ-A1']}"
    response = client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "status": "released",
                                                  "reason": "Looks fine"})
    assert response.status_code == 422 and 'id="status-error"' in response.get_data(as_text=True)
    assert status_of(app, world.lots["AZ-A1"]) == "available"


def test_a_recall_needs_a_reason_then_lists_every_location_holding_it(app, client, world):
    spread_az_nat(app, world)
    log_in(client, "qg")
    url = f"/lots/{world.lots['AZ-NAT']}"
    token = csrf_token(client, url)
    refused = client.post(f"{url}/recall", data={"csrf_token": token, "recall_reason": ""})
    assert refused.status_code == 422 and 'id="recall_reason-error"' in refused.get_data(as_text=True)
    assert status_of(app, world.lots["AZ-NAT"]) == "available"
    response = client.post(f"{url}/recall", data={"csrf_token": token,
                                                  "recall_reason": "Manufacturer recall notice 2026-14"})
    assert response.status_code == 302
    assert status_of(app, world.lots["AZ-NAT"]) == "recalled"
    page = client.get(url).get_data(as_text=True)
    holdings = section(page, "lot-holdings")
    assert all(code in holdings for code in ("KHO-QG", "DT-TB", "DT-HC"))
    assert 'id="recall"' not in page  # a recalled lot cannot be recalled again


def test_only_managers_change_a_status_or_recall(app, client, world):
    log_in(client, "pxa")
    url = f"/lots/{world.lots['AZ-A1']}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="recall"' not in page and 'id="status-change"' not in page
    token = csrf_token(client, url)
    assert client.post(f"{url}/recall", data={"csrf_token": token, "recall_reason": "No"}).status_code == 403
    assert client.post(f"{url}/status", data={"csrf_token": token, "status": "quarantined",
                                              "reason": "Because"}).status_code == 403
    assert status_of(app, world.lots["AZ-A1"]) == "available"


def test_a_post_without_csrf_token_is_refused(app, client, world):
    log_in(client, "kho_a")
    response = client.post(f"/lots/{world.lots['AZ-A1']}/recall", data={"recall_reason": "Manufacturer notice"})
    assert response.status_code == 400
    assert status_of(app, world.lots["AZ-A1"]) == "available"
