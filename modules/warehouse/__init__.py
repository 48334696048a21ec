"""Locations tree, double-entry stock ledger and balances, receipts, adjustments, counts, FEFO.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.builtin import ADMIN_SECTION
from core.hookspecs import hookimpl
from core.menu import MenuItem
from modules.warehouse import api, cli, demo, location_admin, locations, views

HERE = Path(__file__).resolve().parent
WAREHOUSE_SECTION = _l("Warehouse")


@hookimpl
def location_scope(user):
    return locations.scope_of(user)


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def web_blueprints():
    return [views.bp, location_admin.bp]


@hookimpl
def api_blueprints():
    return [api.api]


@hookimpl
def cli_commands():
    return [cli.stock_group, cli.admin_units_group]


@hookimpl
def demo_data(app):
    demo.create_demo_data()


@hookimpl
def menu_items():
    return [
        MenuItem(_l("Scan"), "warehouse.scan", section=WAREHOUSE_SECTION, order=100),
        MenuItem(_l("Stock on hand"), "warehouse.stock", section=WAREHOUSE_SECTION, order=110),
        MenuItem(_l("Stock moves"), "warehouse.moves", section=WAREHOUSE_SECTION, order=120),
        MenuItem(_l("Transfer"), "warehouse.transfer", section=WAREHOUSE_SECTION, order=130),
        MenuItem(_l("Adjustment and wastage"), "warehouse.adjust", section=WAREHOUSE_SECTION, order=140),
        MenuItem(_l("Stock count"), "warehouse.count_index", section=WAREHOUSE_SECTION, order=150),
        MenuItem(_l("Locations"), "warehouse_admin.tree", section=ADMIN_SECTION, order=905),
    ]
