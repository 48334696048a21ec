"""Webhooks: the bundled notifier that POSTs signed JSON events to the systems configured in
``VAXCHAIN_WEBHOOKS`` (injection registered, shipment dispatched and received, temperature excursion).

The event hooks only queue, in the event's own transaction (one INSERT, or nothing when no endpoint wants the
event); ``vaxchain webhooks deliver`` sends, retries and logs. It owns its tables (Alembic branch ``webhooks``),
its admin page and its Vietnamese catalog. See README.md.
"""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.builtin import ADMIN_SECTION
from core.hookspecs import hookimpl
from core.menu import MenuItem
from plugins.webhooks import cli, events, services, settings, views
from plugins.webhooks.settings import (
    INJECTION_REGISTERED,
    SHIPMENT_DISPATCHED,
    SHIPMENT_RECEIVED,
    TEMPERATURE_EXCURSION,
)

__version__ = "1.0.0"
HERE = Path(__file__).resolve().parent


@views.bp.record_once
def read_endpoints(state):
    """Read and check the endpoints once per app, while it is created: a bad setting stops the start-up."""
    state.app.extensions[services.EXTENSION] = settings.from_config(state.app.config)


@hookimpl
def web_blueprints():
    return [views.bp]


@hookimpl
def menu_items():
    return [MenuItem(_l("Webhook deliveries"), "webhooks.deliveries", section=ADMIN_SECTION, order=940)]


@hookimpl
def cli_commands():
    return [cli.webhooks_group]


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def translation_directory():
    return HERE / "translations"


@hookimpl
def injection_registered(injection):
    services.queue(INJECTION_REGISTERED, lambda: events.injection_registered(injection))


@hookimpl
def shipment_dispatched(shipment):
    services.queue(SHIPMENT_DISPATCHED, lambda: events.shipment_dispatched(shipment))


@hookimpl
def shipment_received(shipment):
    services.queue(SHIPMENT_RECEIVED, lambda: events.shipment_received(shipment))


@hookimpl
def temperature_excursion(shipment, report):
    services.queue(TEMPERATURE_EXCURSION, lambda: events.temperature_excursion(shipment, report))
