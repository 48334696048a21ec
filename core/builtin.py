"""The core's own hook implementations: it plugs its pages, API, menu and tables in like any module."""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core import endpoints, views
from core.hookspecs import hookimpl
from core.menu import MenuItem

ADMIN_SECTION = _l("Administration")


@hookimpl
def web_blueprints():
    return [views.bp]


@hookimpl
def api_blueprints():
    return [endpoints.api]


@hookimpl
def menu_items():
    return [
        MenuItem(_l("Home"), "core.home", order=0),
        MenuItem(_l("Users"), "core.users", section=ADMIN_SECTION, order=900),
        MenuItem(_l("Modules and plugins"), "core.modules", section=ADMIN_SECTION, order=910),
        MenuItem(_l("Audit log"), "core.audit_log", section=ADMIN_SECTION, order=920),
    ]


@hookimpl
def migration_directory():
    return Path(__file__).resolve().parent / "migrations" / "versions"
