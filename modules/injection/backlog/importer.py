"""Importing a backlog file: every row checked on its own, against the other rows and against the
database, then written as history in chunks, each chunk one transaction with the job's counts.

A row is one person with up to four doses. It is imported (at least one new dose), skipped (every dose
is already recorded: importing a file twice adds nothing) or rejected with every problem found, each
naming the column as the file calls it. Nothing is written on a dry run.
"""
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.clock import local_today
from core.db import db, utcnow
from core.models import User
from core.service_errors import ServiceError
from modules.injection import identity, people, rules, services
from modules.injection.backlog import cells, template
from modules.injection.backlog.columns import BY_KEY, DOSES, match_headers, missing_required
from modules.injection.backlog.reader import FileRefused, open_sheet
from modules.injection.models import ImportJob, Person
from modules.lots.models import Lot, Presentation
from modules.warehouse.models import SITE, Location

CAMPAIGN_START = date(2021, 3, 8)  # Vietnam's first COVID-19 dose: no injection of these vaccines is older
OLDEST_BIRTH = date(1900, 1, 1)
CHUNK_ROWS = 2000  # rows per transaction: its people and doses are read and written together
MAX_NOTES = 1000  # repairs listed in the report; all are counted


# --- What the database knows, read once per import ------------------------------------------------------

@dataclass
class Context:
    catalogue: dict            # code → active Presentation
    vaccine_names: object      # cells.VaccineNames of the catalogue
    lots: dict                 # (presentation id, LOT NUMBER) → LotRef
    sites: dict                # CODE → id of a site the user may import for
    site_code: str | None      # the site of rows that name none (--site)
    today: date
    epoch_1904: bool = False


class LotRef(NamedTuple):
    id: int
    presentation_id: int


def context_for(scope, site_code=None, epoch_1904=False):
    """``scope``: location ids the importing user may act on (or ``EVERYWHERE``)."""
    catalogue = {item.code: item for item in db.session.scalars(select(Presentation).where(Presentation.active))}
    lots = {(lot.presentation_id, lot.lot_number.upper()): LotRef(lot.id, lot.presentation_id)
            for lot in db.session.execute(select(Lot.id, Lot.presentation_id, Lot.lot_number))}
    sites = {site.code: site.id for site in db.session.execute(select(Location.id, Location.code).where(
        Location.kind == SITE)) if site.id in scope}
    code = (site_code or "").strip().upper() or None
    if code is not None and code not in sites:
        raise ServiceError(_("Unknown site %(code)s.", code=site_code), "site", "unknown_site")
    return Context(catalogue, cells.vaccine_names(catalogue.values()), lots, sites, code, local_today(), epoch_1904)


# --- One cell ----------------------------------------------------------------------------------------------

MAX_OUTCOMES = 50_000  # remembered outcomes per column
UNREPEATED = frozenset({"national_id", "phone", "insurance_number", "address"})  # one value per person


def converters(context):
    """Each column's ``convert(typed value, notes) → value`` for one import (its dates' bounds, its
    catalogue); a refusal is a :class:`ServiceError`, a repair a note appended."""
    epoch_1904, today = context.epoch_1904, context.today

    def birth_date(value, notes):
        return cells.date(value, "date_of_birth", notes, epoch_1904=epoch_1904, earliest=OLDEST_BIRTH, latest=today)

    def text(value, _notes):
        return cells.text(value)

    table = {"full_name": lambda value, _notes: cells.name(value), "gender": lambda value, _notes: cells.gender(value),
             "date_of_birth": birth_date, "national_id": cells.national_id, "phone": cells.phone,
             "insurance_number": cells.insurance_number,
             **dict.fromkeys(("ethnicity", "nationality", "address", "ward", "district", "province"), text)}
    for number in range(1, DOSES + 1):
        table[f"vaccine_{number}"] = vaccine_converter(context, f"vaccine_{number}")
        table[f"date_{number}"] = dose_date_converter(context, f"date_{number}")
        table[f"lot_{number}"] = text
        table[f"site_{number}"] = lambda value, _notes: cells.text(value).upper()
    return table


def vaccine_converter(context, key):
    def vaccine(value, _notes):
        code = cells.vaccine(value, key, context.vaccine_names)
        return None if code is None else context.catalogue[code]
    return vaccine


def dose_date_converter(context, key):
    def dose_date(value, notes):
        return cells.date(value, key, notes, epoch_1904=context.epoch_1904, earliest=CAMPAIGN_START,
                          latest=context.today)
    return dose_date


# --- One row ------------------------------------------------------------------------------------------

@dataclass
class Dose:
    number: int
    vaccine: Presentation
    day: date
    lot: LotRef
    site_id: int


@dataclass
class Row:
    number: int                              # as the spreadsheet shows it
    values: list                             # as read, for the error file
    person: people.PersonData | None = None
    doses: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (column index or None, message naming the column)
    id_kind: str | None = None               # CCCD, CMND...: what the ID number is
    recorded: Person | None = None           # the person already in the database, if any
    new: list = field(default_factory=list)  # the doses to write: those not recorded yet


class RowChecker:
    """Checks rows of one file: its header map, the database's facts, and the people already seen."""

    def __init__(self, headers, header_map, context):
        self.headers, self.map, self.context = headers, header_map, context
        self.converters = converters(context)
        # A column's outcome per value typed, for columns of few values (vaccines, lots, sites, dates...):
        # most rows repeat them, and converting is most of a row's checking.
        self.outcomes = {key: {} for key in self.converters if key not in UNREPEATED}
        self.seen = {}  # hash of a person's keys → the row that first named them

    def check(self, number, values):
        row = Row(number, values)
        person = self.person(row)
        doses = self.doses(row)
        if person is not None and not row.errors:
            row.person, row.doses = person, doses
            self.not_seen_before(row)
        return row

    # Cells

    def cell(self, values, key):
        index = self.map.positions.get(key)
        return None if index is None or index >= len(values) else values[index]

    def fail(self, row, key, message):
        row.errors.append((self.map.positions.get(key), f"{self.header(key)}: {message}"))

    def read(self, row, key, required=False):
        """The cell of ``key`` converted; a refusal or a missing required value is the row's error, a repair
        its note, all naming the column."""
        typed = self.cell(row.values, key)
        outcomes = self.outcomes.get(key)
        outcome = outcomes.get((typed.__class__, typed)) if outcomes is not None else None
        if outcome is None:
            outcome = self.convert(key, typed)
            if outcomes is not None and len(outcomes) < MAX_OUTCOMES:
                outcomes[typed.__class__, typed] = outcome
        value, notes, refusal = outcome
        if refusal is not None:
            self.fail(row, key, refusal)
            return None
        if notes:
            row.notes += [f"{self.header(key)}: {note}" for note in notes]
        if required and value in (None, ""):
            self.fail(row, key, _("This field is required."))
        return value

    def convert(self, key, typed):
        """``(value, repair notes, refusal)`` of one cell."""
        notes = []
        try:
            return self.converters[key](typed, notes), notes, None
        except ServiceError as error:
            return None, notes, error.message

    def header(self, key):
        index = self.map.positions.get(key)
        return self.headers[index] if index is not None else str(BY_KEY[key].header)

    # The person

    def person(self, row):
        read = self.read
        full_name = read(row, "full_name")
        gender = read(row, "gender")
        born = read(row, "date_of_birth", required=True)
        national_id = read(row, "national_id")
        phone = read(row, "phone")
        insurance = read(row, "insurance_number")
        texts = {key: read(row, key) or "" for key in ("ethnicity", "nationality", "address", "ward", "district",
                                                        "province")}
        if row.errors:
            return None
        address = ", ".join(part for part in (texts["address"], texts["ward"], texts["district"], texts["province"])
                            if part)
        data = people.PersonData(full_name=full_name, gender=gender, date_of_birth=born, national_id=national_id,
                                 phone=phone, insurance_number=insurance, ethnicity=texts["ethnicity"],
                                 nationality=texts["nationality"], address=address)
        try:
            data, national = people.cleaned(data, self.context.today)
            row.id_kind = national.kind if national else None
            return data
        except ServiceError as error:
            self.fail(row, error.field if error.field in BY_KEY else "full_name", error.message)
            return None

    # The doses

    def doses(self, row):
        doses, previous = [], None
        for number in range(1, DOSES + 1):
            keys = [f"{name}_{number}" for name in ("vaccine", "date", "lot", "site")]
            if all(self.cell(row.values, key) in (None, "") for key in keys):
                continue
            dose = self.dose(row, number, previous)
            if dose is not None:
                doses.append(dose)
                previous = dose
        if not doses and not row.errors:
            self.fail(row, "date_1", _("The row has no dose: give at least the date, vaccine, lot and site of "
                                       "dose 1."))
        return doses

    def dose(self, row, number, previous):
        context, errors_before = self.context, len(row.errors)
        vaccine = self.read(row, f"vaccine_{number}", required=True)
        day = self.read(row, f"date_{number}", required=True)
        lot_number = self.read(row, f"lot_{number}", required=True)
        site_code = self.read(row, f"site_{number}") or context.site_code
        lot = context.lots.get((vaccine.id, lot_number.upper())) if vaccine is not None and lot_number else None
        if site_code is None:
            self.fail(row, f"site_{number}", _("This field is required."))
        elif site_code not in context.sites:
            self.fail(row, f"site_{number}", _("Unknown site %(code)s.", code=site_code))
        elif context.site_code is not None and site_code != context.site_code:
            self.fail(row, f"site_{number}", _("This import is for site %(site)s only.", site=context.site_code))
        if vaccine is not None and lot_number and lot is None:
            self.fail(row, f"lot_{number}", _("Lot %(lot)s of %(vaccine)s is not registered.", lot=lot_number,
                                              vaccine=vaccine.name))
        if len(row.errors) > errors_before:
            return None
        if previous is not None and previous.number != number - 1:
            self.fail(row, f"date_{number}", _("Dose %(n)d is given but dose %(previous)d is missing.", n=number,
                                               previous=number - 1))
            return None
        if previous is not None and day <= previous.day:
            self.fail(row, f"date_{number}", _("Dose %(n)d is dated %(day)s, not after dose %(previous)d "
                                               "(%(previous_day)s).", n=number, day=day.strftime("%d/%m/%Y"),
                                               previous=number - 1, previous_day=previous.day.strftime("%d/%m/%Y")))
            return None
        return Dose(number, vaccine, day, lot, context.sites[site_code])

    # The same person twice in the file

    def not_seen_before(self, row):
        person = row.person
        keys = [("id", person.national_id)] if person.national_id else []
        if person.phone:
            keys.append(("details", identity.fold(person.full_name), person.date_of_birth, person.phone))
        for key in keys:
            first = self.seen.get(key)
            if first is not None:
                self.fail(row, "national_id" if key[0] == "id" else "full_name",
                          _("The same person as row %(row)d: put all their doses on one row.", row=first))
                return
        for key in keys:
            self.seen[key] = row.number


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


def plan(rows):
    """Each row's recorded person (``None``: a new one) and its doses not recorded yet, checked by the dose
    rules after what the person already has; or errors on the row. Reads only: the chunk's people in
    two queries and their histories in two."""
    good = [row for row in rows if not row.errors]
    found = people.recorded_all([row.person for row in good])
    histories = services.histories([person for person in found if isinstance(person, Person)])
    for row, person in zip(good, found, strict=True):
        if isinstance(person, ServiceError):
            row.errors.append((None, person.message))
            continue
        row.recorded = person
        known = services.doses_of(histories[person.id]) if person is not None else []
        row.new = new_doses(row, known)


def new_doses(row, known):
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
            rules.check_next_dose(known, dose.vaccine, dose.day, dose.number)
        except ServiceError as error:
            row.errors.append((None, _("Dose %(n)d: %(reason)s", n=dose.number, reason=error.message)))
            return []
        known = [*known, rules.Dose(dose.day, dose.vaccine, dose.number)]
        new.append(dose)
    return new


@dataclass
class Chunk:
    """What one chunk writes, as plain values (its rows are checked in another thread and session)."""
    first_row: int
    last_row: int
    people: list   # (row number, cleaned PersonData, ID kind) of the people not recorded yet
    doses: list    # (row number, recorded person id or None, LotRef, site id, day, dose number)
    counts: dict   # the job's counts once the chunk is in


def chunk_of(rows, summary):
    written = [row for row in rows if row.new and not row.errors]
    return Chunk(rows[0].number, rows[-1].number,
                 [(row.number, row.person, row.id_kind) for row in written if row.recorded is None],
                 [(row.number, row.recorded.id if row.recorded is not None else None, dose.lot, dose.site_id,
                   dose.day, dose.number) for row in written for dose in row.new],
                 counts_of(summary))


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


class ChunkWriter:
    """Writes each chunk, with the job's counts, in a thread and session of its own while the next chunk
    is read and checked: the database does its part of the work while Python checks rows. One chunk at a
    time, in order; a chunk's failure is raised by the next :meth:`submit` or :meth:`wait`."""

    def __init__(self, job, user):
        self.app, self.job_id = current_app._get_current_object(), job.id
        self.user_id = user.id if user is not None else None
        self.pool, self.pending = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backlog-writer"), None

    def submit(self, chunk):
        self.wait()
        self.pending = self.pool.submit(self.write, chunk)

    def wait(self):
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self):
        self.pool.shutdown(wait=True)

    def write(self, chunk):
        with self.app.app_context():
            try:
                job = db.session.get(ImportJob, self.job_id)
                user = db.session.get(User, self.user_id) if self.user_id is not None else None
                if chunk.people or chunk.doses:
                    write(chunk, job, user)
                for name, value in chunk.counts.items():
                    setattr(job, name, value)
                db.session.commit()
            finally:
                db.session.remove()


def run(path, filename, scope, *, user=None, site_code=None, dry_run=False, progress=None, job=None):
    """Import (or on a dry run, only check) the file at ``path``. Returns ``(job or None, Summary)``.

    ``job``: the record to count into (the web page made it); else an import makes one and a dry run
    none."""
    sheet = open_sheet(path, filename)
    header_map = match_headers(sheet.headers)
    missing = missing_required(header_map)
    if missing:
        raise FileRefused(_("The file lacks the required columns: %(columns)s. Use the template's headers.",
                            columns=", ".join(column.header for column in missing)), "missing_columns")
    context = context_for(scope, site_code, sheet.epoch_1904)
    checker = RowChecker(sheet.headers, header_map, context)
    if job is None and not dry_run:
        job = start_job(path, filename, context.site_code, user)
    dry_run = dry_run or (job is not None and job.dry_run)
    if job is not None:
        job.rows_total = sheet.row_count
        db.session.commit()
    summary = Summary(headers=sheet.headers)
    writer = ChunkWriter(job, user) if job is not None else None
    try:
        for chunk in batched(sheet.rows, CHUNK_ROWS):
            rows = [checker.check(number, values) for number, values in chunk]
            plan(rows)
            db.session.commit()  # ends the chunk's reads: a long read would hold back SQLite's WAL
            count(rows, summary)
            if writer is not None:
                writer.submit(chunk_of(rows, summary) if not dry_run else Chunk(0, 0, [], [], counts_of(summary)))
            if progress:
                progress(summary)
        if writer is not None:
            writer.wait()
    finally:
        if writer is not None:
            writer.close()
    finish(job, summary)
    if progress:
        progress(summary)
    return job, summary


def batched(iterable, size):
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


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
    earlier = db.session.scalars(select(ImportJob).where(ImportJob.file_sha256 == digest,
                                                         ImportJob.status == "running")).all()
    for job in earlier:  # a crash or a restart ended it: its chunks are in, the rest is in this import
        job.status, job.finished_at = "interrupted", utcnow()
    job = ImportJob(filename=filename, file_sha256=digest, site_code=site_code,
                    created_by=user.id if user is not None else None)
    db.session.add(job)
    db.session.commit()
    return job


def finish(job, summary):
    if job is not None:
        db.session.refresh(job)  # the writer counted into it
        for name, value in counts_of(summary).items():
            setattr(job, name, value)
        job.status, job.finished_at = "done", utcnow()
        db.session.commit()


COUNTS = ("rows_read", "rows_imported", "rows_skipped", "rows_rejected", "injections_added", "people_added")


def counts_of(summary):
    return {name: getattr(summary, name) for name in COUNTS}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
