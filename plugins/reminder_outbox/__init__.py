"""Reminder outbox: the bundled sender of dose reminders.

It implements ``doses_due`` by writing one Vietnamese SMS per person and dose to its own table,
``reminder_outbox_message``, which an SMS gateway reads and marks sent (see README.md). It owns its table
(Alembic branch ``reminder_outbox``) and its Vietnamese catalog (the SMS text), and is installed through the
``vaxchain.plugins`` entry point in setup.cfg like any third-party package.
"""
from pathlib import Path

from core.hookspecs import hookimpl
from plugins.reminder_outbox import services

__version__ = "1.0.0"
HERE = Path(__file__).resolve().parent


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def translation_directory():
    return HERE / "translations"


@hookimpl
def doses_due(reminders):
    services.queue(reminders)
