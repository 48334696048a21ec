"""One story across the roles, through the real pages in Chromium, in Vietnamese: Hà Nội's province store
receives Vaxzevria by scanning the packs; its logistics officer plans to send Phúc Xá's health station its
share by target population, sees on the preview that stock falls short, approves the plan into a picked
shipment, fills in its vehicle, driver and cold box, dispatches it and prints its manifest; Phúc Xá opens the
receipt by scanning the barcode read off that PDF, accepts the doses and vaccinates two people; the province's
viewer sees them on the dashboard and in the reconciliation.

Each step is done by the user of that role, and checked on what that user sees and in the database, so the
story fails if any step silently did nothing. With ``VAXCHAIN_SCREENSHOTS=1`` each step is saved to
docs/screenshots/flow-*.png for the guides.
"""
import re
from types import SimpleNamespace

import pytest
import zxingcpp
from playwright.sync_api import expect
from sqlalchemy import select

from core import roles
from core.accounts import create_user
from core.db import db
from modules.allocation import services as allocation
from modules.injection.models import Injection
from modules.lots.models import Lot
from modules.transport.models import DISPATCHED, PICKED, RECEIVED
from modules.warehouse import ledger, locations
from modules.warehouse.models import AdminUnit
from tests.audit_coverage import assert_every_change_audited
from tests.conftest import PASSWORD
from tests.e2e.conftest import GS, SCREENSHOTS, gs1, log_in, save_screenshot, scan, screenshots_wanted
from tests.e2e.test_allocation_flow import fill_plan, open_new_plan, shares
from tests.e2e.test_registration_flow import focused
from tests.e2e.test_scan_page import listed
from tests.reports.test_manifest import decode_rows, pdf_text, render
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, vaccine_with_gtin

PHUC_XA = "Trạm Y tế phường Phúc Xá (DT-PX)"
KNOWN_LOT, NEW_LOT = "ABV5811", "ABW0427"  # illustrative Vaxzevria-style lot numbers
DELIVERY_NOTE = "PXK-0457/2026"
VEHICLE, DRIVER, COLD_BOX = "29C-482.17", "Nguyễn Văn Bình", "HL-03"
# Illustrative CCCD numbers: birth province 001 (Hà Nội), century/gender digit, year of birth, six digits.
PEOPLE = [
    {"national_id": "001190004512", "full_name": "Phạm Thị Hồng Nhung", "gender": "female",
     "date_of_birth": "22/08/1990", "phone": "0913456780"},
    {"national_id": "001078006237", "full_name": "Lê Văn Hùng", "gender": "male",
     "date_of_birth": "03/11/1978", "phone": "0982113457"},
]


def staff(role, location, username, full_name):
    """A user of ``role`` made as an administrator makes one, assigned to ``location``."""
    user = create_user(username, PASSWORD, role, full_name=full_name)
    db.session.flush()
    locations.assign(user, location)


def set_ward(tree):
    """Hà Nội, Ba Đình and Phúc Xá by their official codes; Phúc Xá's target population."""
    units = [("01", "Thành phố Hà Nội", "province", None, tree.province),
             ("001", "Quận Ba Đình", "district", "01", tree.district),
             ("00001", "Phường Phúc Xá", "ward", "001", tree.site_a)]
    for code, name, level, parent, location in units:
        db.session.add(AdminUnit(code=code, name=name, level=level, parent_code=parent))
        db.session.flush()
        location.admin_unit_code = code
    allocation.set_target("00001", 15_000)


@pytest.fixture
def world(app):
    """``build_tree()`` (national store → Hà Nội → Ba Đình → Phúc Xá, Trúc Bạch); Vaxzevria with its GTIN, of
    which lot ABV5811 is already known (the national store holds it); one user per role in Hà Nội."""
    with app.app_context():
        tree = build_tree()
        vaxzevria = vaccine_with_gtin("VAXZEVRIA")
        known = receive_lot(tree.national, vaxzevria, KNOWN_LOT, doses=2_000, expiry=days_from_today(150))
        set_ward(tree)
        staff(roles.WAREHOUSE_MANAGER, tree.province, "kho.hanoi", "Nguyễn Thị Thu Hà")
        staff(roles.LOGISTICS_OFFICER, tree.province, "dieuphoi.hanoi", "Trần Quốc Tuấn")
        staff(roles.SITE_STAFF, tree.site_a, "tram.phucxa", "Đỗ Thị Mai")
        staff(roles.VIEWER, tree.province, "xem.hanoi", "Vũ Minh Đức")
        db.session.commit()
        return SimpleNamespace(gtin=vaxzevria.gtins[0].gtin, expiry={KNOWN_LOT: known.expiry,
                                                                     NEW_LOT: days_from_today(300)})


def on_hand(app, location_code, lot_number):
    with app.app_context():
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == lot_number))
        return ledger.on_hand(locations.by_code(location_code).id, lot.id) if lot else 0


def stock_rows(page):
    """``{(location code, lot): doses}`` of the stock page."""
    rows = page.locator("#stock-lines tbody tr[data-lot]")
    return {(row.get_attribute("data-location"), row.get_attribute("data-lot")): row.locator("td").last.inner_text()
            for row in rows.all()}


def shipment_lines(page):
    """``{lot: (vials, doses)}`` of the shipment page's lines."""
    cells = [row.locator("td").all_inner_texts() for row in page.locator("#lines tbody tr").all()]
    return {lot: (vials, doses) for _vaccine, lot, _expiry, vials, doses, *_received in cells}


def open_from_menu(page, label):
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name=label, exact=True).click()


# --- 1. the province's warehouse manager -------------------------------------------------------------------

def receive_packs_by_scanning(page, world):
    """Three packs of the known lot, one of a new lot (confirmed): 40 doses into Hà Nội's store."""
    log_in(page, "kho.hanoi")
    open_from_menu(page, "Quét mã")
    page.locator("#scan-location").select_option("KHO-HN")
    page.locator("#scan-reference").fill(DELIVERY_NOTE)
    page.locator("#scan-reference").press("Enter")  # the delivery note's number typed: back to scanning
    expect(page.locator("#scan-code")).to_be_focused()
    for packs in range(1, 4):
        scan(page, gs1(world.gtin, KNOWN_LOT, world.expiry[KNOWN_LOT], GS))
        expect(page.locator("#scan-total-packs")).to_have_text(str(packs))
    scan(page, gs1(world.gtin, NEW_LOT, world.expiry[NEW_LOT], GS))
    expect(page.locator("#scan-status")).to_have_attribute("data-state", "new")
    expect(page.locator("#confirm-lot")).to_have_text(NEW_LOT)
    page.locator("#confirm-checked").check()
    page.locator("#confirm-add").click()
    expect(page.locator("#scan-confirm")).to_be_hidden()
    assert listed(page) == {KNOWN_LOT: "3", NEW_LOT: "1"}
    expect(page.locator("#scan-total-doses")).to_have_text("40")
    save_screenshot(page, "flow-1-warehouse-scan.png")

    page.locator("#scan-receive").click()
    expect(page.locator("#scan-status")).to_have_attribute("data-state", "ok")
    expect(page.locator("#scan-status")).to_contain_text("40")
    page.locator("#scan-stock-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tồn kho")
    assert stock_rows(page) == {("KHO-HN", KNOWN_LOT): "30", ("KHO-HN", NEW_LOT): "10"}
    save_screenshot(page, "flow-2-warehouse-stock.png")


# --- 2. the province's logistics officer -------------------------------------------------------------------

def allocate_to_the_site(page):
    """50 doses asked for Phúc Xá by target population: the 40 in stock are previewed, the shortage shown,
    the plan approved into a picked shipment, which is opened."""
    log_in(page, "dieuphoi.hanoi")
    open_new_plan(page)
    fill_plan(page, 50)
    page.get_by_label(PHUC_XA).check()
    page.get_by_role("button", name="Xem trước phương án phân bổ").click()
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "draft")
    assert shares(page) == {PHUC_XA: ["15.000", "50", "40", "4", "10"]}
    expect(page.locator("#allocated-total")).to_have_text("40")
    expect(page.locator("#shortage")).to_have_text("10 liều đề nghị không thể cấp: không đủ tồn kho sử dụng được.")
    save_screenshot(page, "flow-3-logistics-plan.png")

    page.get_by_role("button", name="Phê duyệt và soạn hàng các chuyến").click()
    expect(page.locator(".flash-success")).to_have_text(
        "Đã phê duyệt kế hoạch: 1 chuyến hàng đã được soạn, sẵn sàng xuất kho.")
    page.locator("#plan-lines tbody tr", has_text=PHUC_XA).get_by_role("link").click()
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", PICKED)


def fill_in_the_transport_details(page):
    """The plan made the shipment without its vehicle, driver and cold box: the officer fills them in."""
    form = page.locator("#details-form")
    form.get_by_label("Phương tiện").fill(VEHICLE)
    form.get_by_label("Lái xe").fill(DRIVER)
    form.get_by_label("Hòm lạnh hoặc xe lạnh").fill(COLD_BOX)
    form.get_by_role("button", name="Lưu chi tiết vận chuyển").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("main")).to_contain_text(DRIVER)


def dispatch_and_download_the_manifest(page):
    """Dispatches the open shipment; returns its number and its Vietnamese manifest as the link serves it."""
    assert shipment_lines(page) == {KNOWN_LOT: ("3", "30"), NEW_LOT: ("1", "10")}  # FEFO: earliest expiry first
    fill_in_the_transport_details(page)
    page.locator("#dispatch").click()
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", DISPATCHED)
    number = page.locator("#shipment-number").inner_text()
    expect(page.locator(".flash-success")).to_contain_text(number)
    save_screenshot(page, "flow-4-logistics-shipment.png")
    link = page.locator("#manifest").get_by_role("link", name="Tiếng Việt")
    response = page.request.get(link.get_attribute("href"))  # the browser's own session
    assert response.ok and response.headers["content-type"] == "application/pdf", response.status
    return number, response.body()


def read_the_manifest(pdf, world, number, tmp_path):
    """The manifest as a reader and a scanner see it: its text names the shipment, the places and the issuer,
    and has a row per lot with its vials and doses; page 1 carries one shipment barcode and a GS1-128 per
    line. Returns the shipment barcode's text."""
    text = pdf_text(pdf, tmp_path, layout=True)
    for expected in (number, "Kho tỉnh Hà Nội", "Trạm Y tế phường Phúc Xá", "2…8 °C", "Trần Quốc Tuấn",
                     VEHICLE, DRIVER, COLD_BOX):
        assert expected in text, expected
    for lot, vials, doses in ((KNOWN_LOT, 3, 30), (NEW_LOT, 1, 10)):  # a line: GTIN, lot, expiry, vials, doses
        line = rf"Vaxzevria\s+{world.gtin}\s+{lot}\s+{world.expiry[lot]:%d/%m/%Y}\s+{vials}\s+{doses}\n"
        assert re.search(line, text), line
    assert re.search(r"Tổng cộng: 2 dòng\s+4\s+40\n", text)
    [first_page] = render(pdf, tmp_path, page=1)
    shipment_codes = [code.text for code in zxingcpp.read_barcodes(first_page)
                      if code.content_type == zxingcpp.ContentType.Text]
    assert shipment_codes == [number]
    rows, _pages = decode_rows(pdf, tmp_path)
    assert [code.text for row in rows.values() for code in row] == [
        f"(01){world.gtin}(17){world.expiry[lot]:%y%m%d}(10){lot}" for lot in (KNOWN_LOT, NEW_LOT)]
    return shipment_codes[0]


def save_manifest_picture(pdf, tmp_path):
    """Page 1 of the manifest as docs/screenshots/flow-5-logistics-manifest.png, like the pages' screenshots."""
    if screenshots_wanted():
        [picture] = render(pdf, tmp_path, dpi=110, page=1)
        picture.save(SCREENSHOTS / "flow-5-logistics-manifest.png", optimize=True)


# --- 3. and 4. the site's staff ----------------------------------------------------------------------------

def receive_by_scanning_the_manifest(page, scanned):
    log_in(page, "tram.phucxa")
    open_from_menu(page, "Nhận hàng")
    expect(page.locator("#number")).to_be_focused()
    scan(page, scanned)
    expect(page.locator("#receive-form")).to_be_visible()
    rows = page.locator("#receive-lines tbody tr")
    expect(rows).to_have_count(2)
    for lot, doses in ((KNOWN_LOT, "30"), (NEW_LOT, "10")):  # all arrived in good order: accepted as shipped
        expect(rows.filter(has_text=lot).locator("input[id^=accepted_]")).to_have_value(doses)
    save_screenshot(page, "flow-6-site-receive.png")
    page.locator("#confirm-receipt").click()
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", RECEIVED)
    expect(page.locator(".flash-success")).to_contain_text("40")
    open_from_menu(page, "Tồn kho")
    assert stock_rows(page) == {("DT-PX", KNOWN_LOT): "30", ("DT-PX", NEW_LOT): "10"}


def register_new_person(page, person, pack):
    """Search by the CCCD, record the person not found, scan the pack, save: the search is ready again."""
    page.keyboard.type(person["national_id"])
    page.keyboard.press("Enter")
    expect(page.locator("#no-result")).to_be_visible()
    page.locator("#new-person").click()
    expect(page.locator("#national_id")).to_have_value(person["national_id"])
    page.locator("#full_name").fill(person["full_name"])
    page.locator("#gender").select_option(person["gender"])
    page.locator("#date_of_birth").fill(person["date_of_birth"])
    page.locator("#phone").fill(person["phone"])
    page.locator("#phone").press("Enter")
    expect(page.locator("#next-dose")).to_contain_text(person["full_name"])
    assert focused(page) == "code"
    scan(page, pack)
    expect(page.locator("#result")).to_contain_text(person["full_name"])
    expect(page.locator("#result-dose")).to_have_text("1")
    assert focused(page) == "q"


def vaccinate_two_people(page, world):
    open_from_menu(page, "Đăng ký tiêm")
    assert focused(page) == "q"
    pack = gs1(world.gtin, KNOWN_LOT, world.expiry[KNOWN_LOT], GS)
    for person in PEOPLE:
        register_new_person(page, person, pack)
    save_screenshot(page, "flow-7-site-register.png")


# --- 5. the province's viewer ------------------------------------------------------------------------------

def see_the_dashboard_and_the_reconciliation(page):
    log_in(page, "xem.hanoi")
    open_from_menu(page, "Bảng theo dõi tiêm chủng")
    totals = page.locator("#totals dd")
    expect(totals).to_have_text(["2", "2"])  # doses given; people vaccinated
    expect(page.locator("#per-vaccine")).to_contain_text("Vaxzevria")
    save_screenshot(page, "flow-8-viewer-dashboard.png")

    open_from_menu(page, "Đối soát")
    entered = page.locator("#daily-rows tr[data-place='DT-PX'] [data-col='entered']")
    expect(entered).to_have_text("2")
    expect(page.locator("#stock-rows tbody tr")).to_have_count(2)
    for lot, received, injected, on_hand_doses in ((KNOWN_LOT, "30", "2", "28"), (NEW_LOT, "10", "0", "10")):
        row = page.locator(f"#stock-rows tr[data-site='DT-PX'][data-lot='{lot}']")
        for column, doses in (("received", received), ("injected", injected), ("wasted", "0"),
                              ("on_hand", on_hand_doses), ("gap", "0")):
            expect(row.locator(f"[data-col='{column}']")).to_have_text(doses)
    save_screenshot(page, "flow-9-viewer-reconciliation.png")


def test_from_the_province_store_to_two_people_vaccinated_and_reconciled(app, page, world, tmp_path):
    receive_packs_by_scanning(page, world)
    assert (on_hand(app, "KHO-HN", KNOWN_LOT), on_hand(app, "KHO-HN", NEW_LOT)) == (30, 10)

    allocate_to_the_site(page)
    number, manifest = dispatch_and_download_the_manifest(page)
    scanned = read_the_manifest(manifest, world, number, tmp_path)
    save_manifest_picture(manifest, tmp_path)
    assert (on_hand(app, "KHO-HN", KNOWN_LOT), on_hand(app, "KHO-HN", NEW_LOT)) == (0, 0)

    receive_by_scanning_the_manifest(page, scanned)
    vaccinate_two_people(page, world)
    assert (on_hand(app, "DT-PX", KNOWN_LOT), on_hand(app, "DT-PX", NEW_LOT)) == (28, 10)

    see_the_dashboard_and_the_reconciliation(page)
    with app.app_context():
        injected = db.session.execute(select(Injection.dose_number, Lot.lot_number).join(Lot)).all()
        assert sorted(injected) == [(1, KNOWN_LOT), (1, KNOWN_LOT)]
        assert ledger.check() == []
        assert_every_change_audited()
