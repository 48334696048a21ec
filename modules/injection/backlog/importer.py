"""Importing a backlog file: every row checked on its own, against the other rows and against the
database, then written as history in chunks, each chunk one transaction with the job's counts.

A row is one person with up to four doses. It is imported (at least one new dose), skipped (every dose
is already recorded: importing a file twice adds nothing) or rejected with every problem found, each
naming the column as the file calls it. Nothing is written on a dry run.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import local_today
from core.db import db, utcnow
from core.service_errors import ServiceError
from modules.injection import identity, people, rules, services
from modules.injection.backlog import cells, template
from modules.injection.backlog.columns import BY_KEY, DOSES, match_headers, missing_required
from modules.injection.backlog.reader import FileRefused, open_sheet
from modules.injection.models import ImportJob
from modules.lots.models import Lot, Presentation
from modules.warehouse.models import SITE, Location

CAMPAIGN_START = date(2021, 3, 8)  # Vietnam's first COVID-19 dose: no injection of these vaccines is older
OLDEST_BIRTH = date(1900, 1, 1)
CHUNK_ROWS = 500
MAX_NOTES = 1000  # repairs listed in the report; all are counted


# --- What the database knows, read once per import ------------------------------------------------------

@dataclass
class Context:
    catalogue: dict            # code → active Presentation
    vaccine_names: object      # cells.VaccineNames of the catalogue
    lots: dict                 # (presentation id, LOT NUMBER) → Lot
    sites: dict                # CODE → site Location the user may import for
    site_code: str | None      # the site of rows that name none (--site)
    today: date
    epoch_1904: bool = False


def context_for(scope, site_code=None, epoch_1904=False):
    """``scope``: location ids the importing user may act on (or ``EVERYWHERE``)."""
    catalogue = {item.code: item for item in db.session.scalars(select(Presentation).where(Presentation.active))}
    lots = {(lot.presentation_id, lot.lot_number.upper()): lot for lot in db.session.scalars(select(Lot))}
    sites = {site.code: site for site in db.session.scalars(select(Location).where(Location.kind == SITE))
             if site.id in scope}
    code = (site_code or "").strip().upper() or None
    if code is not None and code not in sites:
        raise ServiceError(_("Unknown site %(code)s.", code=site_code), "site", "unknown_site")
    return Context(catalogue, cells.vaccine_names(catalogue.values()), lots, sites, code, local_today(), epoch_1904)


# --- One row ------------------------------------------------------------------------------------------

@dataclass
class Dose:
    number: int
    vaccine: Presentation
    day: date
    lot: Lot
    site: Location


@dataclass
class Row:
    number: int                              # as the spreadsheet shows it
    values: list                             # as read, for the error file
    person: people.PersonData | None = None
    doses: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (column index or None, message naming the column)


class RowChecker:
    """Checks rows of one file: its header map, the database's facts, and the people already seen."""

    def __init__(self, headers, header_map, context):
        self.headers, self.map, self.context = headers, header_map, context
        self.seen = {}  # a person's keys → the row that first named them

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

    def read(self, row, key, convert, required=False):
        """The cell of ``key`` converted; a refusal or a missing required value is the row's error, a repair
        its note, all naming the column."""
        noted = len(row.notes)
        try:
            value = convert(self.cell(row.values, key))
        except ServiceError as error:
            self.fail(row, key, error.message)
            return None
        row.notes[noted:] = [f"{self.header(key)}: {note}" for note in row.notes[noted:]]
        if required and value in (None, ""):
            self.fail(row, key, _("This field is required."))
        return value

    def header(self, key):
        index = self.map.positions.get(key)
        return self.headers[index] if index is not None else str(BY_KEY[key].header)

    # The person

    def person(self, row):
        notes, read = row.notes, self.read
        full_name = read(row, "full_name", cells.name)
        gender = read(row, "gender", cells.gender)
        born = read(row, "date_of_birth", lambda value: cells.date(
            value, "date_of_birth", notes, epoch_1904=self.context.epoch_1904, earliest=OLDEST_BIRTH,
            latest=self.context.today), required=True)
        national_id = read(row, "national_id", lambda value: cells.national_id(value, notes))
        phone = read(row, "phone", lambda value: cells.phone(value, notes))
        insurance = read(row, "insurance_number", lambda value: cells.insurance_number(value, notes))
        texts = {key: read(row, key, cells.text) or "" for key in
                 ("ethnicity", "nationality", "address", "ward", "district", "province")}
        if row.errors:
            return None
        address = ", ".join(part for part in (texts["address"], texts["ward"], texts["district"], texts["province"])
                            if part)
        data = people.PersonData(full_name=full_name, gender=gender, date_of_birth=born, national_id=national_id,
                                 phone=phone, insurance_number=insurance, ethnicity=texts["ethnicity"],
                                 nationality=texts["nationality"], address=address)
        try:
            return people.cleaned(data, self.context.today)[0]
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
        vaccine = self.read(row, f"vaccine_{number}", lambda value: self.vaccine(value, f"vaccine_{number}"),
                            required=True)
        day = self.read(row, f"date_{number}", lambda value: cells.date(
            value, f"date_{number}", row.notes, epoch_1904=context.epoch_1904, earliest=CAMPAIGN_START,
            latest=context.today), required=True)
        lot_number = self.read(row, f"lot_{number}", cells.text, required=True)
        site_code = (self.read(row, f"site_{number}", cells.text) or "").upper() or context.site_code
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

    def vaccine(self, value, key):
        code = cells.vaccine(value, key, self.context.vaccine_names)
        return None if code is None else self.context.catalogue[code]

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


def plan(row):
    """The row's recorded person (or None: a new one) and its doses not recorded yet, checked by the dose
    rules after what the person already has; or errors on the row. Reads only."""
    try:
        person = people.recorded(row.person)
    except ServiceError as error:
        row.errors.append((None, error.message))
        return None, []
    known = services.doses_of(services.history(person)) if person is not None else []
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
            return person, []
        try:
            rules.check_next_dose(known, dose.vaccine, dose.day, dose.number)
        except ServiceError as error:
            row.errors.append((None, _("Dose %(n)d: %(reason)s", n=dose.number, reason=error.message)))
            return person, []
        known = [*known, rules.Dose(dose.day, dose.vaccine, dose.number)]
        new.append(dose)
    return person, new


def write(row, new_doses, user):
    person = people.find_or_create(row.person, user=user)
    for dose in new_doses:
        services.record_backlog(person, dose.lot, dose.site, dose.day, dose.number, user=user,
                                note=_("Imported from row %(row)d.", row=row.number))


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
    summary, chunk = Summary(headers=sheet.headers), 0
    for number, values in sheet.rows:
        row = checker.check(number, values)
        summary.rows_read += 1
        summary.notes += len(row.notes)
        summary.repaired.extend((number, note) for note in row.notes[:MAX_NOTES - len(summary.repaired)])
        person, new = plan(row) if not row.errors else (None, [])
        if row.errors:
            summary.rows_rejected += 1
            summary.rejected.append(row)
        elif not new:
            summary.rows_skipped += 1
        else:
            summary.rows_imported += 1
            summary.injections_added += len(new)
            summary.people_added += person is None
            if not dry_run:
                write(row, new, user)
        chunk += 1
        if chunk == CHUNK_ROWS:
            commit_chunk(job, summary)
            chunk = 0
            if progress:
                progress(summary)
    finish(job, summary)
    if progress:
        progress(summary)
    return job, summary


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


def commit_chunk(job, summary):
    if job is not None:
        count_into(job, summary)
        db.session.commit()


def finish(job, summary):
    if job is not None:
        count_into(job, summary)
        job.status, job.finished_at = "done", utcnow()
        db.session.commit()


def count_into(job, summary):
    for name in ("rows_read", "rows_imported", "rows_skipped", "rows_rejected", "injections_added", "people_added"):
        setattr(job, name, getattr(summary, name))


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
