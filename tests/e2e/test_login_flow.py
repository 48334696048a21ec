"""Each demo user opens the site in a browser, logs in, finds the menu of their role, and logs out."""
import pytest
from playwright.sync_api import expect

from core.db import db
from core.demo import DEMO_USERS, FULL_NAMES, create_demo_users


@pytest.fixture
def demo_users(app):
    with app.app_context():
        create_demo_users()
        db.session.commit()


def log_in(page, username, password):
    page.goto("/")
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.mark.parametrize("username, password, role", DEMO_USERS, ids=[u[0] for u in DEMO_USERS])
def test_demo_user_logs_in_and_sees_the_menu_of_their_role(page, demo_users, username, password, role):
    log_in(page, username, password)
    expect(page.get_by_role("heading", name=f"Xin chào, {FULL_NAMES[username]}")).to_be_visible()
    menu = page.get_by_role("navigation", name="Menu chính")
    expect(menu.get_by_role("link", name="Trang chủ")).to_be_visible()
    admin_link = menu.get_by_role("link", name="Người dùng")
    if role == "admin":
        expect(admin_link).to_be_visible()
        admin_link.click()
        expect(page.get_by_role("heading", name="Người dùng", exact=True)).to_be_visible()
    else:
        expect(admin_link).to_have_count(0)
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_text("Bạn đã đăng xuất")).to_be_visible()


def test_a_wrong_password_keeps_the_user_on_the_login_page(page, demo_users):
    log_in(page, "warehouse", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    expect(page.get_by_label("Tên đăng nhập")).to_be_focused()


def test_switching_language_to_english_and_back(page, demo_users):
    log_in(page, "site", "diemtiem-demo-2026")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name=f"Hello, {FULL_NAMES['site']}")).to_be_visible()
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", name=f"Xin chào, {FULL_NAMES['site']}")).to_be_visible()


def test_the_layout_fits_a_site_tablet(page, demo_users):
    page.set_viewport_size({"width": 768, "height": 1024})
    log_in(page, "site", "diemtiem-demo-2026")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768
    expect(page.get_by_role("navigation", name="Menu chính")).to_be_visible()
