"""The bundled example plugin, loaded through its entry point like any third-party plugin."""
from importlib import metadata

from sqlalchemy import select

from core import roles
from core.db import db
from plugins.login_journal.models import LoginJournalEntry
from tests.conftest import log_in


def test_it_is_installed_through_the_entry_point():
    names = {ep.name: ep.value for ep in metadata.entry_points(group="vaxchain.plugins")}
    assert names.get("login_journal") == "plugins.login_journal"


def test_it_is_registered_as_a_plugin(app):
    kinds = {info.name: info.kind for info in app.extensions["vaxchain"].plugins()}
    assert kinds["login_journal"] == "plugin"


def test_a_login_is_written_to_the_journal(app, client, make_user):
    username = make_user(roles.SITE_STAFF)
    log_in(client, username)
    with app.app_context():
        entry = db.session.scalars(select(LoginJournalEntry)).one()
        assert entry.user.username == username and entry.remote_addr == "127.0.0.1"


def test_a_failed_login_writes_nothing(app, client, make_user):
    log_in(client, make_user(roles.SITE_STAFF), "wrong-password-1")
    with app.app_context():
        assert db.session.scalars(select(LoginJournalEntry)).first() is None


def test_admins_see_the_journal_page_in_vietnamese(client, login_as):
    username = login_as(roles.ADMIN)
    page = client.get("/login-journal").get_data(as_text=True)
    assert "Nhật ký đăng nhập" in page and username in page


def test_other_roles_do_not(client, login_as):
    login_as(roles.WAREHOUSE_MANAGER)
    assert client.get("/login-journal").status_code == 403
