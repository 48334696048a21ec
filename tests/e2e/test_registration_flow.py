"""At the site's table: the nurse records a new person and their first dose by scanning the pack, then finds
the next person by name and scans again — typing little, the search field ready again after each save.

With ``VAXCHAIN_SCREENSHOTS=1`` the search results and the saved injection are saved to docs/screenshots/ for
the site staff's guide (docs/sites.md).
"""
from datetime import date

import pytest
from playwright.sync_api import expect

from core.db import db
from modules.injection import people
from modules.injection.models import Person
from modules.warehouse import ledger
from tests.e2e.conftest import log_in, save_screenshot
from tests.injection.test_pages import make_world

# Illustrative CCCD: birth province 001, digit 0 (born in the 1900s, a man), year 85, then six digits.
BINH = people.PersonData(full_name="Trần Văn Bình", gender="male", date_of_birth=date(1985, 3, 2),
                         national_id="001085012345", phone="0987654321")


@pytest.fixture
def world(app):
    world = make_world(app)
    with app.app_context():
        world.binh_id = people.create_person(BINH).id
        db.session.commit()
    return world


def focused(page):
    """The id of the element with the focus, once the page has given it (autofocus comes after loading)."""
    page.wait_for_function("() => document.readyState === 'complete' && document.activeElement !== document.body")
    return page.evaluate("document.activeElement.id")


def test_two_people_registered_in_a_few_keystrokes(app, page, world):
    log_in(page, "tram")
    page.goto("/register")
    assert focused(page) == "q"

    # A new person: searched by her CCCD, not found, recorded with the number already filled in.
    page.keyboard.type("001190123456")
    page.keyboard.press("Enter")
    expect(page.locator("#no-result")).to_be_visible()
    assert focused(page) == "new-person"
    page.keyboard.press("Enter")
    expect(page.locator("#national_id")).to_have_value("001190123456")
    assert focused(page) == "full_name"
    page.keyboard.type("Nguyễn Thị Lan")
    page.locator("#gender").select_option("female")
    page.locator("#date_of_birth").fill("17/05/1990")
    page.locator("#phone").fill("0912345678")
    page.keyboard.press("Enter")
    expect(page.locator("#next-dose")).to_contain_text("Nguyễn Thị Lan")
    assert focused(page) == "code"
    page.keyboard.type(world.az_scan)  # a keyboard-wedge scanner types the pack's barcode and Enter
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_contain_text("Nguyễn Thị Lan")
    expect(page.locator("#result-certificate .badge")).to_have_attribute("data-color", "yellow")
    assert focused(page) == "q"

    # The next person, found by the start of his name typed without accents.
    page.keyboard.type("tran van")
    page.keyboard.press("Enter")
    expect(page.locator("#results")).to_contain_text("Trần Văn Bình")
    expect(page.locator("#results")).to_contain_text("••••••••2345")
    assert focused(page) == f"choose-{world.binh_id}"  # the only one found is one Enter away
    save_screenshot(page, "register-search.png")
    page.keyboard.press("Enter")
    expect(page.locator("#next-dose")).to_contain_text("Trần Văn Bình")
    assert focused(page) == "code"
    page.keyboard.type(world.az_scan)
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_contain_text("Trần Văn Bình")
    expect(page.locator("#result-dose")).to_have_text("1")
    assert focused(page) == "q"
    save_screenshot(page, "register-done.png")

    with app.app_context():
        recorded = {person.full_name: person.phone for person in db.session.scalars(db.select(Person))}
        assert recorded == {"Nguyễn Thị Lan": "0912345678", "Trần Văn Bình": "0987654321"}
        assert ledger.on_hand(world.site_id, world.az_id) == 28
