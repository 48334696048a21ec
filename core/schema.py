"""The schema, versioned with Alembic: one branch per module or plugin, labelled with its name.

Each module or plugin names its revisions folder through the ``migration_directory`` hook; its
first revision carries ``branch_labels = ("<name>",)`` and ``depends_on`` the revisions of the
modules whose tables it references. ``upgrade()`` runs ``alembic upgrade heads`` over all of them.
"""
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from core.db import db

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def alembic_config():
    """An Alembic config for the current app (call inside an app context)."""
    hook = current_app.extensions["vaxchain"].hook
    folders = [str(Path(folder)) for folder in hook.migration_directory() if folder]
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(folders))
    return config


def upgrade():
    """Bring the database to the newest revision of every branch."""
    command.upgrade(alembic_config(), "heads")


def current_heads():
    """The revisions the database is at, sorted."""
    with db.engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def expected_heads():
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def applied_revisions():
    """Every revision the database holds: its heads and all they stand on (down revisions, depends_on)."""
    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.iterate_revisions(current_heads(), "base")}


def is_up_to_date():
    # Alembic keeps only the heads nothing else applied depends on (core_0001 disappears from the
    # version table once login_journal_0001, which depends on it, is applied): compare revisions held.
    return set(expected_heads()) <= applied_revisions()
