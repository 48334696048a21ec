"""Allocation plans to provinces and sites, approved into picked shipments.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.hookspecs import hookimpl
from core.menu import MenuItem
from modules.allocation import api, cli, demo, models, views  # noqa: F401  (models: tables known to the app)

HERE = Path(__file__).resolve().parent


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def api_blueprints():
    return [api.api]


@hookimpl
def web_blueprints():
    return [views.bp]


@hookimpl
def cli_commands():
    return [cli.targets_group]


@hookimpl
def demo_data(app):
    demo.create_demo_data()


@hookimpl
def menu_items():
    section = _l("Transport")
    return [
        MenuItem(_l("Allocation plans"), "allocation.plans", section=section, order=290),
        MenuItem(_l("Target populations"), "allocation.target_populations", section=section, order=295),
    ]
