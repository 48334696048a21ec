"""Backups of the whole database, and their restore into a fresh one.

SQLite is copied with its online backup API (a consistent copy while the app keeps writing).
PostgreSQL is dumped by ``pg_dump`` in its custom format (one consistent snapshot) and restored by
``pg_restore`` in one transaction, so a restore that fails leaves the target database empty. The
client tools must be of the server's major version or newer; they are looked for on the ``PATH``,
then in Debian's ``/usr/lib/postgresql/<version>/bin``.

A backup holds the data, not the keys: keep ``VAXCHAIN_SECRET_KEY`` (or the instance folder's
``secret_key``) and ``VAXCHAIN_AUDIT_KEY`` with it, or the restored audit log cannot be verified and
issued certificates cannot be checked.
"""
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from glob import glob
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore cannot be made; the message says why and what to do."""


def backup(engine, target):
    """Write a backup of ``engine``'s database to the file ``target`` (which must not exist)."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name")
    if engine.dialect.name == "sqlite":
        with closing(sqlite3.connect(engine.url.database)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
    else:
        run_client("pg_dump", engine.url, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}")


def restore(engine, source):
    """Load the backup file ``source`` into ``engine``'s database, which must have no tables yet."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if inspect(engine).get_table_names():
        raise BackupError("the database to restore into already has tables: restore into a new, empty database")
    magic = source.read_bytes()[:16]
    if engine.dialect.name == "sqlite":
        if magic != SQLITE_MAGIC:
            raise BackupError(f"{source} is not a backup of a SQLite database")
        engine.dispose()
        with closing(sqlite3.connect(source)) as backup_file, closing(sqlite3.connect(engine.url.database)) as copy:
            backup_file.backup(copy)
    else:
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a PostgreSQL backup made by `vaxchain backup` (pg_dump -Fc)")
        run_client("pg_restore", engine.url, "--no-owner", "--no-privileges", "--exit-on-error",
                   "--single-transaction", str(source))


def run_client(program, url, *arguments):
    """Run a PostgreSQL client program on ``url``'s database; the password goes by environment, not argv."""
    url = make_url(url)
    environment = {**os.environ, "PGHOST": url.host or "", "PGPORT": str(url.port or 5432),
                   "PGUSER": url.username or ""}
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    completed = subprocess.run([client_program(program), *arguments, f"--dbname={url.database}"],
                               env=environment, capture_output=True, text=True)
    if completed.returncode != 0:
        raise BackupError(f"{program} failed: {completed.stderr.strip() or completed.returncode}")


def client_program(name):
    found = shutil.which(name)
    if found:
        return found
    installed = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(path.split("/")[4]))
    if not installed:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools (Debian: postgresql-client)")
    return installed[-1]
