"""People, injections, dose rules, certificates, reminders, backlog import, reconciliation.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
from pathlib import Path

from core.hookspecs import hookimpl
from modules.injection import api, models  # noqa: F401  (models: tables known to the app and migrations)

HERE = Path(__file__).resolve().parent


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def api_blueprints():
    return [api.api]
