"""Importing a backlog file: its rows checked (:mod:`.checking`), then against the database, then
written as history in chunks, each chunk one transaction with the job's counts.

A row is one person with up to four doses. It is imported (at least one new dose), skipped (every dose
is already recorded: importing a file twice adds nothing) or rejected with every problem found, each
naming the column as the file calls it. Nothing is written on a dry run.

A job whose process vanished is found and marked "interrupted" (see :class:`ImportJob` for the rule);
one that stopped on an error is marked "failed" by whoever caught it (:func:`record_failure`).
"""
import contextlib
import hashlib
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from core import audit
from core.collector import fewer_collections
from core.db import db, utcnow
from core.service_errors import ServiceError
from modules.injection import people, rules, services
from modules.injection.backlog import template
from modules.injection.backlog.checking import context_for
from modules.injection.backlog.worker import checked_chunks
from modules.injection.models import ImportJob, Person
from modules.lots.models import Presentation

MAX_NOTES = 1000  # repairs listed in the report; all are counted


# --- Against the database, and writing -------------------------------------------------------------------

@dataclass
class Summary:
    rows_read: int = 0
    rows_imported: int = 0
    rows_skipped: int = 0
    rows_rejected: int = 0
    injections_added: int = 0
    people_added: int = 0
    notes: int = 0
    repaired: list = field(default_factory=list)  # (row number, note), the first MAX_NOTES of them
    headers: list = field(default_factory=list)   # the file's header row, for the error file
    rejected: list = field(default_factory=list)  # Rows, for the report and the error file


def plan(rows, vaccines):
    """Each row's recorded person (``None``: a new one) and its doses not recorded yet, checked by the dose
    rules after what the person already has; or errors on the row. Reads only: the chunk's people in
    two queries and their histories in two. ``vaccines``: Presentation by id."""
    good = [row for row in rows if not row.errors]
    found = people.recorded_all([row.person for row in good])
    histories = services.histories([person for person in found if isinstance(person, Person)])
    for row, person in zip(good, found, strict=True):
        if isinstance(person, ServiceError):
            row.errors.append((None, person.message))
            continue
        row.recorded = person
        known = services.doses_of(histories[person.id]) if person is not None else []
        row.new = new_doses(row, known, vaccines)


def new_doses(row, known, vaccines):
    """The row's doses not recorded yet, after the ``known`` ones; none, and an error, if one breaks the rules."""
    new = []
    for dose in row.doses:
        same = [existing for existing in known if existing.day == dose.day or existing.dose_number == dose.number]
        if any(existing.day == dose.day and existing.dose_number == dose.number for existing in same):
            continue  # imported before
        if same:
            row.errors.append((None, _("Dose %(n)d: the record holds dose %(recorded)d on %(day)s; the file says "
                                       "dose %(n)d on %(file_day)s.", n=dose.number, recorded=same[0].dose_number,
                                       day=same[0].day.strftime("%d/%m/%Y"),
                                       file_day=dose.day.strftime("%d/%m/%Y"))))
            return []
        try:
            rules.check_next_dose(known, vaccines[dose.vaccine_id], dose.day, dose.number)
        except ServiceError as error:
            row.errors.append((None, _("Dose %(n)d: %(reason)s", n=dose.number, reason=error.message)))
            return []
        known = [*known, rules.Dose(dose.day, vaccines[dose.vaccine_id], dose.number)]
        new.append(dose)
    return new


@dataclass
class Chunk:
    """What one chunk writes, as plain values."""
    first_row: int
    last_row: int
    people: list   # (row number, cleaned PersonData, ID kind) of the people not recorded yet
    doses: list    # (row number, recorded person id or None, LotRef, site id, day, dose number)


def chunk_of(rows):
    written = [row for row in rows if row.new and not row.errors]
    return Chunk(rows[0].number, rows[-1].number,
                 [(row.number, row.person, row.id_kind) for row in written if row.recorded is None],
                 [(row.number, row.recorded.id if row.recorded is not None else None, dose.lot, dose.site_id,
                   dose.day, dose.number) for row in written for dose in row.new])


def write(chunk, job, user):
    """The chunk's new people and doses, in two multi-row statements, and one audit entry naming them."""
    ids = people.insert_all([person for _number, person, _kind in chunk.people],
                            [kind for _number, _person, kind in chunk.people], user)
    person_ids = dict(zip((number for number, _person, _kind in chunk.people), ids, strict=True))
    note = _("Imported from row %(row)s of import %(job)s.", row="{row}", job=job.id)  # formatted per row below
    services.record_backlog_all([
        (person_id or person_ids[number], lot, site_id, day, dose_number, note.format(row=number))
        for number, person_id, lot, site_id, day, dose_number in chunk.doses], user=user)
    audit.record("injection.backlog_import", job, user=user, details={
        "rows": [chunk.first_row, chunk.last_row], "people": ids, "injections": len(chunk.doses)})


def run(path, filename, scope, *, user=None, site_code=None, dry_run=False, progress=None, job=None,
        before_done=None):
    """Import (or on a dry run, only check) the file at ``path``. Returns ``(job or None, Summary)``.

    ``before_done(summary)`` is called once every row is in, before the job is marked done: what a finished
    job offers (the file of rejected rows) must be there when its status says so.

    ``job``: the record to count into (the web page made it); else an import makes one and a dry run
    none. The job stays claimed by this process (see :class:`ImportJob`) until its final status is
    committed, or, when the caller claimed it first, until the caller says how it ended: no page may find
    it "interrupted" in between."""
    context = context_for(scope, site_code)
    vaccines = {item.id: item for item in db.session.scalars(select(Presentation))}
    callers = job is not None and job.id in RUNNING_HERE
    chunks = checked_chunks(path, filename, context)
    claimed = None  # the job's id, read once: after a lost connection the job's attributes cannot be loaded
    try:
        header = next(chunks)
        if job is None and not dry_run:
            job = start_job(path, filename, context.site_code, user)
        dry_run = dry_run or (job is not None and job.dry_run)
        if job is not None:
            claimed = claim(job)
            job.rows_total = header.row_count
            db.session.commit()
        summary = Summary(headers=header.headers)
        with fewer_collections(), PageCache() as page_cache:
            for rows in chunks:
                page_cache.cover(db.session.connection())
                plan(rows, vaccines)
                count(rows, summary)
                if job is not None:
                    chunk = chunk_of(rows)
                    if chunk.doses and not dry_run:
                        write(chunk, job, user)
                    count_into(job, summary)
                db.session.commit()  # also ends a dry run's reads: a long read would hold back SQLite's WAL
                if progress:
                    progress(summary)
        if before_done:
            before_done(summary)
        if job is not None:
            job.status, job.finished_at = "done", utcnow()
            db.session.commit()
    finally:
        chunks.close()  # stops the checking process if the import stopped
        if not callers:
            RUNNING_HERE.discard(claimed)
    if progress:
        progress(summary)
    return job, summary


# SQLite's page cache for the import (its default: 2 MB). The import's memory (512 MB for both processes) is
# what bounds it. 1 000 000 rows in chunks of 10 000: the importer peaked at 507 MB with 128 MB of cache, 384 MB
# with 64 (85.0 s), 316 MB with 32 (80.6 s) and 281 MB with 16 (82.3 s): the time within the noise.
IMPORT_PAGE_CACHE_KIB = 16 * 1024


class PageCache:
    """On SQLite, a larger page cache for the import's connections, set back as it was at the end. Each new
    person and dose goes into indexes (ID, phone, name, site and day...) at places all over them: with 2 MB
    of cache their pages were read again from the OS chunk after chunk (200 000 rows: the importer's CPU
    20.0 s → 17.9 s, its kernel's share 5.6 s → 3.0 s)."""

    def __enter__(self):
        self.before = {}  # DBAPI connection → its cache_size before
        return self

    def cover(self, connection):
        if connection.dialect.name != "sqlite":
            return
        raw = connection.connection.dbapi_connection
        if raw not in self.before:
            self.before[raw] = raw.execute("PRAGMA cache_size").fetchone()[0]
            raw.execute(f"PRAGMA cache_size = -{IMPORT_PAGE_CACHE_KIB}")

    def __exit__(self, *_exception):
        for raw, size in self.before.items():
            with contextlib.suppress(sqlite3.Error):  # a connection lost meanwhile has no cache to give back
                raw.execute(f"PRAGMA cache_size = {int(size)}")


def count(rows, summary):
    for row in rows:
        summary.rows_read += 1
        summary.notes += len(row.notes)
        if row.notes and len(summary.repaired) < MAX_NOTES:
            summary.repaired.extend((row.number, note) for note in row.notes[:MAX_NOTES - len(summary.repaired)])
        if row.errors:
            summary.rows_rejected += 1
            summary.rejected.append(row)
        elif not row.new:
            summary.rows_skipped += 1
        else:
            summary.rows_imported += 1
            summary.injections_added += len(row.new)
            summary.people_added += row.recorded is None


def write_error_file(summary, stream):
    """The rejected rows as the user typed them, with what is wrong, to fix and import again."""
    template.write_error_file(stream, summary.headers, [row.values for row in summary.rejected],
                              [row.errors for row in summary.rejected])


def start_job(path, filename, site_code, user):
    digest = sha256_of(path)
    # an earlier import of the file that a crash or a restart ended: its chunks are in, the rest is in this one
    settle_interrupted(db.session.scalars(select(ImportJob).where(ImportJob.status == "running")).all())
    job = ImportJob(filename=filename, file_sha256=digest, site_code=site_code,
                    created_by=user.id if user is not None else None)
    db.session.add(job)
    db.session.flush()
    claim(job)
    db.session.commit()
    return job


def count_into(job, summary):
    for name in ("rows_read", "rows_imported", "rows_skipped", "rows_rejected", "injections_added", "people_added"):
        setattr(job, name, getattr(summary, name))
    job.heartbeat_at = utcnow()


# --- Jobs whose process is gone (the rule is in ImportJob's docstring) ------------------------------------

STALE_AFTER = timedelta(minutes=10)  # a chunk takes seconds: ten minutes without one is a dead process
RUNNING_HERE = set()  # ids of the jobs this process is importing now
FAILURE_RETRY_SECONDS = 30  # how long a failure is retried on a database coming back (a restart)


def this_process():
    return f"{socket.gethostname()}:{os.getpid()}"[:255]


def claim(job):
    """Record this process as the one running ``job`` (the caller commits); returns its id."""
    job.owner, job.heartbeat_at = this_process(), utcnow()
    RUNNING_HERE.add(job.id)
    return job.id


def owner_gone(job, now):
    """Whether the process running ``job`` is gone (see :class:`ImportJob`)."""
    last_sign = job.heartbeat_at or job.created_at
    silent = last_sign is None or now - last_sign > STALE_AFTER
    host, _colon, pid = (job.owner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return job.id not in RUNNING_HERE
        # A live process with the pid is not proof: a container restarted under the same hostname reuses pids.
        return silent or not process_alive(int(pid))
    return silent


def process_alive(pid):
    """A process with this pid runs here (a zombie, killed but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def interrupted_message():
    return _("The import stopped before the end: the process running it ended (a restart or a crash). What was "
             "imported is kept: import the same file again to finish it.")


def settle_interrupted(jobs):
    """Store as "interrupted" the running ``jobs`` whose process is gone, in a transaction of its own
    (committing the caller's first: on SQLite a transaction that has read cannot write once another
    writer committed meanwhile). ``jobs`` read afterwards show their new status."""
    now = utcnow()
    stale = [job.id for job in jobs if job.status == "running" and owner_gone(job, now)]
    if not stale:
        return
    db.session.commit()
    db.session.execute(update(ImportJob).where(ImportJob.id.in_(stale), ImportJob.status == "running")
                       .values(status="interrupted", finished_at=now, message=interrupted_message()))
    db.session.commit()


def record_failure(message, job_id=None):
    """Store ``job_id`` (default: every job this process still runs) as "failed" with ``message``. The
    database may be what failed: its connection is dropped and the write tried again for a while, as a
    restarted server takes seconds to come back. Returns whether it was stored."""
    deadline = time.monotonic() + FAILURE_RETRY_SECONDS
    query = update(ImportJob).where(ImportJob.status == "running")
    query = query.where(ImportJob.id == job_id) if job_id is not None else query.where(
        ImportJob.owner == this_process())
    while True:
        try:
            db.session.rollback()
            db.session.execute(query.values(status="failed", message=message, finished_at=utcnow()))
            db.session.commit()
            return True
        except DBAPIError:
            if time.monotonic() > deadline:
                db.session.rollback()
                return False
            time.sleep(1)


def database_lost_message():
    return _("The import stopped: the connection to the database was lost. What was imported is kept: import the "
             "same file again to finish it.")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
