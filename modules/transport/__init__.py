"""Cold-chain shipments: picking, dispatch, temperature logs, proof of delivery, manifests.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.hookspecs import hookimpl
from core.menu import MenuItem
from modules.transport import api, models, temperature, views  # noqa: F401  (models: tables known to the app and migrations)

HERE = Path(__file__).resolve().parent


@hookimpl(trylast=True)
def parse_temperature_log(data):
    """CSV exports of any logger; other formats come from plugins answering first."""
    return temperature.parse_logger_csv(data)


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
def menu_items():
    section = _l("Transport")
    return [
        MenuItem(_l("Shipments"), "transport.shipments", section=section, order=300),
        MenuItem(_l("Receive a shipment"), "transport.receive_scan", section=section, order=310),
    ]
