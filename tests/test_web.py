"""The web shell: menus by role, the admin pages, headers, flash messages."""
import re

import pytest
from sqlalchemy import select

from core import roles
from core.db import db
from core.hookspecs import hookimpl
from core.menu import MenuItem
from core.models import AuditEntry, User
from tests.conftest import ALL_ROLES, csrf_token, log_in

ADMIN_MENU = ["Người dùng", "Phân hệ và phần mở rộng (plugin)", "Nhật ký hệ thống", "Nhật ký đăng nhập"]


def menu_labels(page):
    nav = re.search(r'<nav class="menu".*?</nav>', page, re.S).group(0)
    return re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', nav)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_menu_shows_only_what_the_role_may_open(client, login_as, role):
    login_as(role)
    labels = menu_labels(client.get("/").get_data(as_text=True))
    assert labels[0] == "Trang chủ"
    for label in ADMIN_MENU:
        assert (label in labels) == (role == roles.ADMIN), (role, label)


def test_a_module_menu_item_appears_for_its_roles(make_app, make_user):
    from flask import Blueprint

    from core.access import roles_required

    stock = Blueprint("stockdemo", __name__)

    @stock.route("/stock")
    @roles_required(roles.WAREHOUSE_MANAGER)
    def on_hand():
        return "stock"

    class Plugin:
        @hookimpl
        def web_blueprints(self):
            return [stock]

        @hookimpl
        def menu_items(self):
            return [MenuItem("Báo cáo kho lạnh", "stockdemo.on_hand", order=10)]

    app = make_app(plugins=[("stockdemo", Plugin())])
    for role, sees in [(roles.WAREHOUSE_MANAGER, True), (roles.SITE_STAFF, False)]:
        client = app.test_client()
        with app.app_context():
            from core.accounts import create_user
            create_user(role.replace("_", ""), "long-enough-pass-1", role)
            db.session.commit()
        log_in(client, role.replace("_", ""), "long-enough-pass-1")
        assert ("Báo cáo kho lạnh" in menu_labels(client.get("/").get_data(as_text=True))) == sees


def public_links(page, element_id="public-links"):
    """``[(href, label)]`` of the public links in the element ``element_id`` (the foot of the page by default)."""
    found = re.search(rf'id="{element_id}".*?</ul>', page, re.S)
    return re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', found.group(0)) if found else []


def test_the_login_page_and_the_foot_of_pages_link_to_the_public_certificate_pages(client):
    page = client.get("/login").get_data(as_text=True)
    expected = [("/lookup", "Tra cứu giấy chứng nhận tiêm chủng"), ("/verify", "Kiểm tra giấy chứng nhận tiêm chủng")]
    assert public_links(page, "login-public-links") == expected
    assert public_links(page) == expected
    assert public_links(client.get("/verify").get_data(as_text=True)) == expected  # a public page has them too
    assert client.get("/lookup").status_code == 200  # no login needed to follow them


def test_public_links_stay_out_of_the_main_menu_and_at_the_foot_of_its_pages(client, login_as):
    login_as(roles.SITE_STAFF)
    page = client.get("/").get_data(as_text=True)
    assert "Tra cứu giấy chứng nhận tiêm chủng" not in menu_labels(page)
    assert [href for href, _label in public_links(page)] == ["/lookup", "/verify"]


def test_no_module_with_public_pages_means_no_public_links(make_app):
    page = make_app(VAXCHAIN_MODULES="lots,warehouse").test_client().get("/login").get_data(as_text=True)
    assert 'id="public-links"' not in page and 'id="login-public-links"' not in page


def test_a_plugins_public_link_joins_them(make_app):
    from flask import Blueprint

    from core.access import public
    from core.menu import PUBLIC

    hotline = Blueprint("hotline", __name__)

    @hotline.route("/hotline")
    @public
    def number():
        return "1900 9095"

    class Plugin:
        @hookimpl
        def web_blueprints(self):
            return [hotline]

        @hookimpl
        def menu_items(self):
            return [MenuItem("Đường dây nóng", "hotline.number", order=470, place=PUBLIC)]

    page = make_app(plugins=[("hotline", Plugin())]).test_client().get("/login").get_data(as_text=True)
    assert ("/hotline", "Đường dây nóng") in public_links(page, "login-public-links")


@pytest.mark.parametrize("item, message", [
    (MenuItem("Người dùng", "core.users", place="public"), "not a public page"),
    (MenuItem("Trang chủ", "core.home", place="sidebar"), "unknown place 'sidebar'"),
])
def test_a_menu_item_that_cannot_be_shown_where_it_says_stops_start_up(make_app, item, message):
    from core.plugins import PluginError

    class Plugin:
        @hookimpl
        def menu_items(self):
            return [item]

    with pytest.raises(PluginError, match=message):
        make_app(plugins=[("wrong", Plugin())])


def test_pages_carry_security_headers(client):
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(client, login_as):
    login_as(roles.ADMIN)
    for url in ["/", "/account", "/admin/users", "/admin/modules", "/admin/audit", "/login-journal"]:
        page = client.get(url).get_data(as_text=True)
        assert "<script>" not in page and "style=" not in page and "<style" not in page, url


def test_admin_creates_a_user_from_the_users_page(app, client, login_as):
    login_as(roles.ADMIN)
    response = client.post("/admin/users", data={
        "csrf_token": csrf_token(client, "/admin/users"), "username": "Tiem.Q1",
        "full_name": "  Nguyễn   Thị  Hoa ", "role": roles.SITE_STAFF, "password": "mat-khau-dai-2026"})
    assert response.status_code == 302
    assert "tiem.q1" in client.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "tiem.q1")).one()
        assert user.full_name == "Nguyễn Thị Hoa" and user.role == roles.SITE_STAFF
        assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create",
                                                           AuditEntry.object_id == str(user.id))).one()


@pytest.mark.parametrize("field, value, message", [
    ("username", "x", "Tên đăng nhập"),
    ("password", "short", "ít nhất 10 ký tự"),
    ("role", "emperor", "Vai trò emperor không tồn tại"),
])
def test_bad_user_input_is_refused_with_the_field_named(app, client, login_as, field, value, message):
    login_as(roles.ADMIN)
    data = {"csrf_token": csrf_token(client, "/admin/users"), "username": "newuser", "full_name": "",
            "role": roles.VIEWER, "password": "mat-khau-dai-2026"}
    data[field] = value
    response = client.post("/admin/users", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(rf'<p class="error" id="{field}-error">([^<]+)</p>', page)
    assert error and message in error.group(1), page[-2000:]
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "newuser")).first() is None


def test_admin_deactivates_a_user_who_then_cannot_log_in(app, client, login_as, make_user):
    login_as(roles.ADMIN)
    victim = make_user(roles.VIEWER)
    with app.app_context():
        victim_id = db.session.scalars(select(User.id).where(User.username == victim)).one()
    client.post(f"/admin/users/{victim_id}/active", data={"csrf_token": csrf_token(client, "/admin/users")})
    assert log_in(app.test_client(), victim).status_code == 401


def test_deactivating_by_get_changes_nothing(client, login_as):
    login_as(roles.ADMIN)
    assert client.get("/admin/users/1/active").status_code == 405


def test_modules_page_lists_modules_in_order_and_plugins_with_hooks(client, login_as):
    login_as(roles.ADMIN)
    page = client.get("/admin/modules").get_data(as_text=True)
    positions = [page.index(f"<code>{name}</code>") for name in
                 ["lots", "warehouse", "injection", "transport", "allocation"]]
    assert positions == sorted(positions)
    assert "<code>login_journal</code>" in page and "user_logged_in" in page


def test_audit_page_shows_who_did_what(client, login_as):
    username = login_as(roles.ADMIN)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "auth.login" in page and username in page


def test_flash_message_after_logout(client, login_as):
    login_as(roles.VIEWER)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")}, follow_redirects=True)
    assert "Bạn đã đăng xuất" in response.get_data(as_text=True)
