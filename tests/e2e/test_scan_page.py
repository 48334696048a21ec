"""A warehouse manager receives packs on the scan page, typing scans the way a keyboard-wedge scanner does."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import db
from modules.lots.models import Lot
from modules.warehouse import ledger, locations
from tests.e2e.conftest import GS, gs1, log_in, scan
from tests.warehouse.pages_world import make_world

# Records the tones the page plays (the test cannot listen): window.vaxchainTones = [[frequency, ...], ...]
RECORD_TONES = """
(() => {
  const Real = window.AudioContext;
  window.vaxchainTones = [];
  window.AudioContext = function () {
    const context = new Real();
    const create = context.createOscillator.bind(context);
    context.createOscillator = () => {
      const oscillator = create();
      const start = oscillator.start.bind(oscillator);
      oscillator.start = (when) => { window.vaxchainTones.push(oscillator.frequency.value); start(when); };
      return oscillator;
    };
    return context;
  };
})();
"""


@pytest.fixture
def world(app):
    return make_world(app)


@pytest.fixture
def scan_page(page, world):
    page.add_init_script(RECORD_TONES)
    log_in(page, "qg")
    page.goto("/scan")
    page.locator("#scan-location").select_option("DT-PX")
    return page


def listed(page):
    """{lot: packs} of the running list."""
    rows = page.locator("#scan-list-body tr")
    return {rows.nth(i).locator("td").nth(1).inner_text().split()[0]: rows.nth(i).locator("td.packs").inner_text()
            for i in range(rows.count())}


def tones(page):
    return page.evaluate("window.vaxchainTones.splice(0)")


def on_hand(app, location_code, lot_number):
    with app.app_context():
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == lot_number))
        return ledger.on_hand(locations.by_code(location_code).id, lot.id) if lot else 0


def test_receiving_packs_by_scanning(app, scan_page, world):
    page = scan_page
    status = page.locator("#scan-status")
    field = page.locator("#scan-code")
    expect(field).to_be_focused()

    # a known usable lot, the scanner sending the ASCII GS between the lot and the serial: green
    scan(page, gs1(world.astra_gtin, "AZ-A1", world.expiry["AZ-A1"], GS))
    expect(status).to_have_attribute("data-state", "ok")
    expect(page.locator("#scan-list-body tr")).to_have_count(1)
    assert listed(page) == {"AZ-A1": "1"}
    expect(field).to_be_focused()
    ok_tones = tones(page)
    assert ok_tones

    # the same pack again, from a scanner that sends "~" instead of GS: counted per lot
    scan(page, gs1(world.astra_gtin, "AZ-A1", world.expiry["AZ-A1"], "~"))
    expect(page.locator("#scan-list-body td.packs")).to_have_text("2")
    expect(page.locator("#scan-total-doses")).to_have_text("20")
    expect(field).to_be_focused()

    # a lot the system does not know: amber, and it is listed only once the user confirms it
    scan(page, gs1(world.vero_gtin, "VC-NEW7", world.expiry["AZ-NAT"], "~"))
    expect(status).to_have_attribute("data-state", "new")
    confirm = page.locator("#scan-confirm")
    expect(confirm).to_be_visible()
    expect(page.locator("#confirm-lot")).to_have_text("VC-NEW7")
    expect(page.locator("#confirm-expiry")).to_have_value(world.expiry["AZ-NAT"].strftime("%d/%m/%Y"))
    expect(field).to_be_focused()
    assert listed(page) == {"AZ-A1": "2"}
    page.locator("#confirm-add").click()
    expect(page.locator("#confirm-checked-error")).to_be_visible()  # the box must be ticked
    assert listed(page) == {"AZ-A1": "2"}
    page.locator("#confirm-checked").check()
    page.locator("#confirm-add").click()
    expect(confirm).to_be_hidden()
    expect(page.locator("#scan-list-body tr")).to_have_count(2)
    expect(page.locator("#scan-list-body .badge.new")).to_have_count(1)
    expect(field).to_be_focused()
    tones(page)

    # garbage: red, a different sound, nothing added
    scan(page, "HELLO-WORLD")
    expect(status).to_have_attribute("data-state", "error")
    error_tones = tones(page)
    assert error_tones and set(error_tones).isdisjoint(ok_tones)
    expect(page.locator("#scan-list-body tr")).to_have_count(2)
    expect(field).to_be_focused()

    # a click on the page's background gives the focus back to the scan field
    page.locator("h1").click()
    expect(field).to_be_focused()

    page.locator("#scan-receive").click()
    expect(status).to_have_attribute("data-state", "ok")
    expect(status).to_contain_text("21")  # 2 packs of 10 doses + 1 of 1 dose
    expect(page.locator("#scan-list-body tr")).to_have_count(0)
    expect(page.locator("#scan-stock-link")).to_be_visible()
    expect(field).to_be_focused()
    assert on_hand(app, "DT-PX", "AZ-A1") == 40
    assert on_hand(app, "DT-PX", "VC-NEW7") == 1


def test_a_blocked_lot_is_red_and_never_listed(scan_page, world):
    page = scan_page
    scan(page, gs1(world.vero_gtin, "VC-A2", world.expiry["VC-A2"], "|"))
    expect(page.locator("#scan-status")).to_have_attribute("data-state", "error")
    expect(page.locator("#scan-status")).to_contain_text("VC-A2")
    expect(page.locator("#scan-empty")).to_be_visible()
    expect(page.locator("#scan-code")).to_be_focused()


def test_asking_the_quantity_of_each_scan(app, scan_page, world):
    page = scan_page
    page.locator("#scan-mode").select_option("ask")
    expect(page.locator("#scan-code")).to_be_focused()
    scan(page, gs1(world.astra_gtin, "AZ-A1", world.expiry["AZ-A1"], GS))
    quantity = page.locator("#scan-quantity")
    expect(quantity).to_be_focused()
    expect(page.locator("#scan-quantity-title")).to_contain_text("AZ-A1")
    quantity.fill("abc")
    quantity.press("Enter")
    expect(page.locator("#scan-quantity-error")).to_be_visible()
    expect(quantity).to_be_focused()  # the user is in the quantity field: focus stays there
    quantity.fill("12")
    quantity.press("Enter")
    expect(page.locator("#scan-list-body td.packs")).to_have_text("12")
    expect(page.locator("#scan-code")).to_be_focused()
    page.locator("#scan-receive").click()
    expect(page.locator("#scan-status")).to_have_attribute("data-state", "ok")
    assert on_hand(app, "DT-PX", "AZ-A1") == 140


def test_the_scan_page_fits_a_site_tablet(scan_page, world):
    page = scan_page
    page.set_viewport_size({"width": 768, "height": 1024})
    scan(page, gs1(world.astra_gtin, "AZ-A1", world.expiry["AZ-A1"], GS))
    expect(page.locator("#scan-status")).to_have_attribute("data-state", "ok")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    assert re.search(r"\d", page.locator("#scan-total-packs").inner_text())
