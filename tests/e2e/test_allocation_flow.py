"""A logistics officer at the national store splits Vaxzevria between two provinces by target population,
sees on the preview that stock falls short, approves the plan and finds one picked shipment per province.

With ``VAXCHAIN_SCREENSHOTS=1`` the new-plan form and the preview are saved to docs/screenshots/ for the
documentation.
"""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from core import roles
from core.db import db
from modules.allocation.models import APPROVED, Plan
from modules.transport.models import PICKED, Shipment
from tests.allocation.conftest import stocked_tree
from tests.e2e.conftest import log_in, save_screenshot
from tests.warehouse.helpers import user_at

HA_NOI, DA_NANG = "Kho tỉnh Hà Nội (KHO-HN)", "Kho tỉnh Đà Nẵng (KHO-DN)"


@pytest.fixture
def world(app):
    """``stocked_tree()``: 500 doses usable at the national store (200 more expire within the 30 lead
    days); Hà Nội 3 000 people to vaccinate, Đà Nẵng 1 000. "lo" is the national store's logistics officer."""
    with app.app_context():
        tree, _vaxzevria = stocked_tree()
        user_at(roles.LOGISTICS_OFFICER, tree.national, "lo")


def open_new_plan(page):
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Kế hoạch phân bổ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kế hoạch phân bổ")
    page.get_by_role("link", name="Lập kế hoạch phân bổ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lập kế hoạch phân bổ")


def fill_plan(page, doses):
    page.locator("#vaccine").select_option("VAXZEVRIA")
    page.locator("#doses").fill(str(doses))
    expect(page.locator("#strategy option:checked")).to_have_text("Theo số đối tượng cần tiêm")


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def shares(page):
    """``{destination: [weight, asked, allocated, vials, shortage]}`` as the preview table shows them."""
    rows = [[text.strip() for text in row.locator("td").all_inner_texts()]
            for row in page.locator("#plan-lines tbody tr").all()]
    return {row[0]: row[1:] for row in rows}


def test_a_plan_by_target_population_is_previewed_then_approved_into_picked_shipments(app, page, world):
    log_in(page, "lo")
    open_new_plan(page)
    fill_plan(page, 600)
    page.get_by_label(HA_NOI).check()
    page.get_by_label(DA_NANG).check()
    save_screenshot(page, "allocation-new.png")
    page.get_by_role("button", name="Xem trước phương án phân bổ").click()

    expect(page.locator("#plan-state")).to_have_attribute("data-state", "draft")
    expect(page.locator(".flash-success")).to_contain_text("kiểm tra phương án phân bổ rồi phê duyệt")
    expect(page.locator("#plan-lines tbody tr")).to_have_count(2)
    # 600 asked 3:1 is 450 and 150; the 500 usable doses (50 vials) split 3:1 by largest remainder: 380 and 120
    assert shares(page) == {HA_NOI: ["3.000", "450", "380", "38", "70"],
                            DA_NANG: ["1.000", "150", "120", "12", "30"]}
    expect(page.locator("#allocated-total")).to_have_text("500")
    expect(page.locator("#shortage-total")).to_have_text("100")
    expect(page.locator("#shortage")).to_have_text(
        "100 liều đề nghị không thể cấp: không đủ tồn kho sử dụng được.")
    save_screenshot(page, "allocation-preview.png")
    assert count(app, Shipment) == 0

    page.get_by_role("button", name="Phê duyệt và soạn hàng các chuyến").click()

    expect(page.locator(".flash-success")).to_have_text(
        "Đã phê duyệt kế hoạch: 2 chuyến hàng đã được soạn, sẵn sàng xuất kho.")
    expect(page.locator("#plan-state")).to_have_attribute("data-state", APPROVED)
    links = page.locator("#plan-lines tbody a[href^='/shipments/']")
    expect(links).to_have_count(2)
    expect(page.get_by_role("button", name="Phê duyệt và soạn hàng các chuyến")).to_have_count(0)
    number = links.first.inner_text()

    links.first.click()

    expect(page).to_have_url(re.compile(r"/shipments/\d+$"))
    expect(page.locator("#shipment-number")).to_have_text(number)
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", PICKED)
    with app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        shipments = {s.id: s for s in db.session.scalars(select(Shipment))}
        assert plan.state == APPROVED
        sent = {line.destination.code: shipments[line.shipment_id] for line in plan.lines}
        assert {code: (shipment.destination.code, shipment.state, sum(item.doses for item in shipment.lines))
                for code, shipment in sent.items()} == {"KHO-HN": ("KHO-HN", PICKED, 380),
                                                        "KHO-DN": ("KHO-DN", PICKED, 120)}
        assert len(shipments) == 2


def test_a_plan_without_a_destination_is_refused_and_nothing_is_written(app, page, world):
    log_in(page, "lo")
    open_new_plan(page)
    fill_plan(page, 400)

    page.get_by_role("button", name="Xem trước phương án phân bổ").click()

    expect(page.locator("#destinations-error")).to_have_text("Vui lòng chọn ít nhất một nơi nhận.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lập kế hoạch phân bổ")
    expect(page.locator("#doses")).to_have_value("400")
    expect(page.get_by_label(HA_NOI)).not_to_be_checked()
    assert count(app, Plan) == 0
    assert count(app, Shipment) == 0
