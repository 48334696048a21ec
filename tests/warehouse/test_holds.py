"""Holds: doses of a lot kept back at one location (after a temperature excursion on the way there) are listed
to the people of that location, who check them and release the hold with a reason; nobody else sees them."""
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from core import roles
from core.db import db
from core.models import AuditEntry
from core.tokens import create_token
from modules.lots.models import Lot
from modules.warehouse import locations, services
from modules.warehouse.models import Hold
from tests.conftest import csrf_token, log_in
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin
from tests.warehouse.pages_world import make_world

EXPIRY = date(2030, 6, 30)
EXCURSION = "Temperature excursion during shipment VC-0042"


def bearer(user):
    _token, secret = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


# --- API ----------------------------------------------------------------------------------------------

@pytest.fixture
def world(app):
    """Lot PX1 held at site DT-PX, TB1 held at site DT-TB, HC1 held at the other province's site DT-HC;
    a manager of district KHO-BD (over DT-PX and DT-TB), a staff member of DT-HC, a viewer of KHO-BD."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        manager = user_at(roles.WAREHOUSE_MANAGER, tree.district, "kho.badinh")
        lots = {number: receive_lot(place, vero, number, doses=50, expiry=EXPIRY)
                for number, place in (("PX1", tree.site_a), ("TB1", tree.site_b), ("HC1", tree.other_site))}
        holds = {number: services.place_hold(place, lots[number], EXCURSION, reference="VC-0042", user=manager).id
                 for number, place in (("PX1", tree.site_a), ("TB1", tree.site_b), ("HC1", tree.other_site))}
        db.session.commit()
        return SimpleNamespace(
            manager=bearer(manager),
            foreign=bearer(user_at(roles.SITE_STAFF, tree.other_site, "tram.haichau")),
            viewer=bearer(user_at(roles.VIEWER, tree.district, "xem.badinh")),
            holds=holds, lots={number: lot.id for number, lot in lots.items()})


def get(app, headers, url):
    return app.test_client().get(url, headers=headers)


def release(app, headers, hold_id, body):
    return app.test_client().post(f"/api/v1/holds/{hold_id}/release", json=body, headers=headers)


def listed(app, headers, query=""):
    response = get(app, headers, f"/api/v1/holds{query}")
    assert response.status_code == 200, response.json
    return [(item["location"], item["lot"]) for item in response.json["items"]]


def test_the_list_gives_each_active_hold_with_the_doses_there(app, world):
    items = get(app, world.manager, "/api/v1/holds").json["items"]
    first = dict(items[0], created_at=None)
    assert first == {
        "id": world.holds["PX1"], "location": "DT-PX", "lot_id": world.lots["PX1"], "lot": "PX1",
        "vaccine": "VEROCELL", "on_hand_doses": 50, "reason": EXCURSION, "reference": "VC-0042",
        "created_at": None, "created_by": "kho.badinh", "released_at": None, "released_by": None,
        "release_reason": None}
    assert [item["id"] for item in items] == [world.holds["PX1"], world.holds["TB1"]]


def test_a_user_sees_only_the_holds_at_their_locations(app, world):
    assert listed(app, world.foreign) == [("DT-HC", "HC1")]
    assert listed(app, world.manager) == [("DT-PX", "PX1"), ("DT-TB", "TB1")]


def test_the_list_is_filtered_by_location_and_its_children_on_request(app, world):
    assert listed(app, world.manager, "?location=DT-TB") == [("DT-TB", "TB1")]
    assert listed(app, world.manager, "?location=KHO-BD") == []
    assert listed(app, world.manager, "?location=KHO-BD&include_children=1") == [("DT-PX", "PX1"),
                                                                                 ("DT-TB", "TB1")]


def test_a_location_outside_ones_own_is_unknown(app, world):
    response = get(app, world.manager, "/api/v1/holds?location=DT-HC")
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_location"


def test_the_list_costs_the_same_queries_however_many_holds(app, world):
    def statements():
        count = []
        with app.app_context():
            listener = lambda *args: count.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                items = get(app, world.manager, "/api/v1/holds").json["items"]
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
        return len(items), len(count)

    statements()  # warm up: what is loaded once per process is not the point here
    two, before = statements()
    with app.app_context():
        vero = vaccine_with_gtin("VEROCELL")
        site = locations.by_code("DT-PX")
        for number in ("PX2", "PX3", "PX4"):
            services.place_hold(site, receive_lot(site, vero, number, doses=10, expiry=EXPIRY), EXCURSION)
        db.session.commit()
    five, after = statements()
    assert (two, five) == (2, 5) and after == before


def test_a_released_hold_frees_the_lot_at_its_location(app, world):
    transfer = {"from": "DT-PX", "to": "DT-TB", "lot_id": world.lots["PX1"], "doses": 10}
    refused = app.test_client().post("/api/v1/transfers", json=transfer, headers=world.manager)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "lot_on_hold"
    response = release(app, world.manager, world.holds["PX1"], {"reason": "VVM stage 1, logger peak 9 °C"})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["id"], body["released_by"], body["release_reason"]) == (
        world.holds["PX1"], "kho.badinh", "VVM stage 1, logger peak 9 °C")
    assert body["released_at"] is not None and body["created_by"] == "kho.badinh"
    assert app.test_client().post("/api/v1/transfers", json=transfer, headers=world.manager).status_code == 201
    assert listed(app, world.manager) == [("DT-TB", "TB1")]


def test_a_release_is_audited_with_its_reason(app, world):
    release(app, world.manager, world.holds["PX1"], {"reason": "Checked the vials"})
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "stock.release")).one()
        assert (entry.object_id, entry.actor, entry.details) == (
            str(world.holds["PX1"]), "kho.badinh", {"reason": "Checked the vials"})


def test_a_hold_is_released_once(app, world):
    assert release(app, world.manager, world.holds["PX1"], {"reason": "Checked the vials"}).status_code == 200
    again = release(app, world.manager, world.holds["PX1"], {"reason": "Checked them twice"})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_released"


@pytest.mark.parametrize("body, status, code", [({}, 400, "required"), ({"reason": "  "}, 422, "reason_required"),
                                                ({"reason": 5}, 400, "not_a_string")])
def test_a_release_without_a_reason_is_refused_naming_it(app, world, body, status, code):
    response = release(app, world.manager, world.holds["PX1"], body)
    assert response.status_code == status
    assert (response.json["error"]["code"], response.json["error"]["field"]) == (code, "reason")
    assert listed(app, world.manager) == [("DT-PX", "PX1"), ("DT-TB", "TB1")]


@pytest.mark.parametrize("hold", ["HC1", None])
def test_a_hold_outside_ones_locations_is_unknown(app, world, hold):
    hold_id = world.holds[hold] if hold else 99999
    response = release(app, world.manager, hold_id, {"reason": "Checked the vials"})
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_hold"
    assert listed(app, world.foreign) == [("DT-HC", "HC1")]


def test_a_viewer_may_list_holds_but_not_release_them(app, world):
    assert listed(app, world.viewer) == [("DT-PX", "PX1"), ("DT-TB", "TB1")]
    assert release(app, world.viewer, world.holds["PX1"], {"reason": "Checked the vials"}).status_code == 403


# --- The lot page --------------------------------------------------------------------------------------

@pytest.fixture
def pages(app):
    """The pages world (see pages_world) with lot AZ-A1 held at site DT-PX."""
    made = make_world(app)
    with app.app_context():
        lot = db.session.get(Lot, made.lots["AZ-A1"])
        made.hold = services.place_hold(locations.by_code("DT-PX"), lot, EXCURSION, reference="VC-0042").id
        db.session.commit()
    made.url = f"/lots/{made.lots['AZ-A1']}"
    return made


def holds_table(page):
    return page.split('id="lot-holds"', 1)[1].split("</table>", 1)[0] if 'id="lot-holds"' in page else ""


def post_release(client, pages, reason):
    prefix = f"hold-{pages.hold}"
    return client.post(f"{pages.url}/holds/{pages.hold}/release",
                       data={f"{prefix}-csrf_token": csrf_token(client, pages.url), f"{prefix}-reason": reason})


def hold_state(app, pages):
    with app.app_context():
        hold = db.session.get(Hold, pages.hold)
        releases = db.session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.action == "stock.release"))
        return hold.released_at is not None, hold.release_reason, releases


def test_the_lot_page_lists_its_holds_with_a_release_form(client, pages):
    log_in(client, "pxa")
    table = holds_table(client.get(pages.url).get_data(as_text=True))
    assert "DT-PX" in table and EXCURSION in table and "VC-0042" in table
    assert f'action="{pages.url}/holds/{pages.hold}/release"' in table
    assert f'name="hold-{pages.hold}-reason"' in table


def test_a_viewer_sees_the_holds_without_a_release_form(client, pages):
    log_in(client, "xem")
    table = holds_table(client.get(pages.url).get_data(as_text=True))
    assert EXCURSION in table and "<form" not in table


def test_site_staff_release_a_hold_with_a_reason(app, client, pages):
    log_in(client, "pxa")
    response = post_release(client, pages, "VVM stage 1 on every vial")
    assert response.status_code == 302 and response.location.endswith(f"{pages.url}#holds")
    assert hold_state(app, pages) == (True, "VVM stage 1 on every vial", 1)
    page = client.get(pages.url).get_data(as_text=True)
    assert 'id="lot-holds"' not in page and "Đã bỏ tạm giữ lô" in page


def test_a_release_without_a_reason_shows_the_error_and_writes_nothing(app, client, pages):
    log_in(client, "pxa")
    for blank in ("", "ok"):  # empty for the form, too short for the service
        response = post_release(client, pages, blank)
        assert response.status_code == 422
        assert f'id="hold-{pages.hold}-reason-error"' in holds_table(response.get_data(as_text=True))
    assert hold_state(app, pages) == (False, None, 0)


def test_a_user_elsewhere_neither_sees_nor_releases_the_hold(app, client, pages):
    log_in(client, "ptb")
    assert 'id="lot-holds"' not in client.get(pages.url).get_data(as_text=True)
    assert post_release(client, pages, "Checked the vials").status_code == 404
    assert hold_state(app, pages) == (False, None, 0)


def test_a_viewer_cannot_release_a_hold(app, client, pages):
    log_in(client, "xem")
    assert post_release(client, pages, "Checked the vials").status_code == 403
    assert hold_state(app, pages) == (False, None, 0)


def test_the_stock_badge_links_to_the_holds_of_the_lot(client, pages):
    log_in(client, "pxa")
    page = client.get("/stock").get_data(as_text=True)
    assert f'data-held="1" href="{pages.url}#holds"' in page


# --- A hold ends with its doses -------------------------------------------------------------------------

def test_writing_off_the_last_doses_ends_the_hold_but_not_before(app):
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "END1", doses=50, expiry=EXPIRY)
        hold = services.place_hold(tree.site_a, lot, EXCURSION)
        services.adjust(tree.site_a, lot, -20, "temperature")
        assert hold.released_at is None
        services.adjust(tree.site_a, lot, -30, "temperature")
        assert hold.released_at is not None and hold.release_reason
        assert not services.is_held(tree.site_a, lot)


def test_counting_a_held_lot_to_zero_ends_the_hold(app):
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "END2", doses=50, expiry=EXPIRY)
        services.place_hold(tree.site_a, lot, EXCURSION)
        services.count(tree.site_a, {lot: 0})
        assert not services.is_held(tree.site_a, lot)
