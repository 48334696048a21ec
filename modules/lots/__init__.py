"""Vaccine presentations (GTINs), lots and lot status, GS1 scanning and lot labels.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.hookspecs import hookimpl
from core.menu import MenuItem
from modules.lots import api, gs1, views

HERE = Path(__file__).resolve().parent
CATALOGUE_SECTION = _l("Catalogue")


@hookimpl(trylast=True)
def parse_barcode(code):
    """GS1 in every form scanners send it; other formats come from plugins answering first."""
    return gs1.parse_gs1(code)


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def web_blueprints():
    return [views.bp]


@hookimpl
def api_blueprints():
    return [api.api]


@hookimpl
def menu_items():
    return [
        MenuItem(_l("Vaccine catalogue"), "lots.presentations", section=CATALOGUE_SECTION, order=600),
        MenuItem(_l("Lots"), "lots.lot_list", section=CATALOGUE_SECTION, order=610),
    ]
