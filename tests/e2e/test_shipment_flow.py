"""A logistics officer creates and dispatches a shipment; the site receives it by scanning the manifest's
barcode (typed the way a keyboard-wedge scanner does), rejecting one dose."""
import pytest
from playwright.sync_api import expect

from core.db import db
from modules.transport.models import PARTIALLY_RECEIVED, Shipment
from modules.warehouse import ledger, locations
from tests.e2e.conftest import log_in
from tests.transport.test_pages import make_world


@pytest.fixture
def world(app):
    return make_world(app)


def test_dispatch_then_receive_by_scanning(app, page, world):
    log_in(page, "lo")
    page.goto("/shipments/new")
    page.locator("#origin").select_option(world.national)
    page.locator("#destination").select_option(world.site)
    page.locator("#planned_date").fill("15/12/2026")
    page.locator("#vehicle").fill("29C-123.45")
    page.locator("#line_0_vaccine").select_option(world.vero_code)
    page.locator("#line_0_vials").fill("5")
    page.locator("#shipment-form button[type=submit]").click()
    expect(page.locator("#lines")).to_contain_text("VC-PAGES")
    page.locator("#dispatch").click()
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", "dispatched")
    number = page.locator("#shipment-number").inner_text()

    log_in(page, "site")
    page.goto("/receive")
    expect(page.locator("#number")).to_be_focused()
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    expect(page.locator("#receive-form")).to_be_visible()
    row = page.locator("#receive-lines tbody tr").first
    doses = 5 * world.per_vial
    expect(row.locator("input[id^=accepted_]")).to_have_value(str(doses))
    row.locator("input[id^=accepted_]").fill(str(doses - 1))
    row.locator("input[id^=rejected_]").fill("1")
    row.locator("select[id^=reason_]").select_option("damaged")
    page.locator("#confirm-receipt").click()
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", PARTIALLY_RECEIVED)
    expect(page.locator("#lines")).to_contain_text(str(doses - 1))

    with app.app_context():
        shipment = db.session.scalar(db.select(Shipment).where(Shipment.number == number))
        assert shipment.state == PARTIALLY_RECEIVED
        assert ledger.on_hand(locations.by_code(world.site).id, world.lot_id) == doses - 1
