"""Allocation plans to provinces and sites, approved into picked shipments.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
from pathlib import Path

from core.hookspecs import hookimpl
from modules.allocation import models  # noqa: F401  (tables known to the app and to migrations)

HERE = Path(__file__).resolve().parent


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"
