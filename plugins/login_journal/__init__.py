"""Login journal: the example plugin integrators copy.

It shows the whole pattern in a few lines: a table of its own (prefixed ``login_journal_``, with its
own Alembic branch), a page with an access rule, a menu item, its own Vietnamese catalog, and a
reaction to an event (``user_logged_in``). It is installed through the ``vaxchain.plugins`` entry
point in setup.cfg, exactly as a third-party package would be.
"""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.builtin import ADMIN_SECTION
from core.hookspecs import hookimpl
from core.menu import MenuItem
from plugins.login_journal import services, views

__version__ = "1.0.0"
HERE = Path(__file__).resolve().parent


@hookimpl
def web_blueprints():
    return [views.bp]


@hookimpl
def menu_items():
    return [MenuItem(_l("Login journal"), "login_journal.journal", section=ADMIN_SECTION, order=930)]


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def translation_directory():
    return HERE / "translations"


@hookimpl
def user_logged_in(user, remote_addr):
    services.note_login(user, remote_addr)
