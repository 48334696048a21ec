"""Checking a backlog file's rows: each cell converted (repairs noted), the person's identity and the
doses' order checked, the vaccine, lot and site known, the same person not twice in the file. Needs no
database: what it knows comes in a :class:`Context`, so a big file is checked in a process of its own
(:mod:`.worker`) while the importer reads and writes the database.
"""
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import islice
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import local_today
from core.db import db
from core.service_errors import ServiceError
from modules.injection import identity, people
from modules.injection.backlog import cells
from modules.injection.backlog.columns import BY_KEY, DOSES, match_headers, missing_required
from modules.injection.backlog.reader import FileRefused, open_sheet
from modules.lots.models import Lot, Presentation
from modules.warehouse.models import SITE, Location

CAMPAIGN_START = date(2021, 3, 8)  # Vietnam's first COVID-19 dose: no injection of these vaccines is older
OLDEST_BIRTH = date(1900, 1, 1)
# Rows per transaction: its people and doses are read and written together. Chunks start small, so an
# import shows progress (and keeps its first rows) soon, and grow with the rows done, a quarter of them, up
# to CHUNK_ROWS: a file of 20 000 rows still commits every 2 000 to 4 000 rows, a big one every 10 000.
# Each commit writes again every index page its rows touched (IDs, names, sites and days land all over
# their indexes) and upserts the day's tallies, whose keys recur from chunk to chunk: 10 000 rows a commit,
# not 2 000, cut SQLite's kernel time 2.7 → 1.0 s and PostgreSQL's server time 6.6 → 5.3 s (200 000 rows).
FIRST_CHUNK_ROWS = 2000
CHUNK_ROWS = 10_000


# --- What the database knows, read once per import ------------------------------------------------------

@dataclass
class Context:
    catalogue: dict            # code → VaccineRef of an active vaccine
    lots: dict                 # (presentation id, LOT NUMBER) → LotRef
    sites: dict                # CODE → id of a site the user may import for
    site_code: str | None      # the site of rows that name none (--site)
    today: date
    epoch_1904: bool = False


class VaccineRef(NamedTuple):
    id: int
    code: str
    name: str
    manufacturer: str


class LotRef(NamedTuple):
    id: int
    presentation_id: int


def context_for(scope, site_code=None):
    """``scope``: location ids the importing user may act on (or ``EVERYWHERE``)."""
    catalogue = {item.code: VaccineRef(item.id, item.code, item.name, item.manufacturer)
                 for item in db.session.execute(select(Presentation.id, Presentation.code, Presentation.name,
                                                       Presentation.manufacturer).where(Presentation.active))}
    lots = {(lot.presentation_id, lot.lot_number.upper()): LotRef(lot.id, lot.presentation_id)
            for lot in db.session.execute(select(Lot.id, Lot.presentation_id, Lot.lot_number))}
    sites = {site.code: site.id for site in db.session.execute(select(Location.id, Location.code).where(
        Location.kind == SITE)) if site.id in scope}
    code = (site_code or "").strip().upper() or None
    if code is not None and code not in sites:
        raise ServiceError(_("Unknown site %(code)s.", code=site_code), "site", "unknown_site")
    return Context(catalogue, lots, sites, code, local_today())


# --- One cell ----------------------------------------------------------------------------------------------

MAX_OUTCOMES = 50_000  # remembered outcomes per column
UNREPEATED = frozenset({"national_id", "phone", "insurance_number", "address"})  # one value per person


def converters(context):
    """Each column's ``convert(typed value, notes) → value`` for one import (its dates' bounds, its
    catalogue); a refusal is a :class:`ServiceError`, a repair a note appended."""
    epoch_1904, today = context.epoch_1904, context.today
    names = cells.vaccine_names(context.catalogue.values())

    def birth_date(value, notes):
        return cells.date(value, "date_of_birth", notes, epoch_1904=epoch_1904, earliest=OLDEST_BIRTH, latest=today)

    def text(value, _notes):
        return cells.text(value)

    table = {"full_name": lambda value, _notes: cells.name(value), "gender": lambda value, _notes: cells.gender(value),
             "date_of_birth": birth_date, "national_id": cells.national_id, "phone": cells.phone,
             "insurance_number": cells.insurance_number,
             **dict.fromkeys(("ethnicity", "nationality", "address", "ward", "district", "province"), text)}
    for number in range(1, DOSES + 1):
        table[f"vaccine_{number}"] = vaccine_converter(context.catalogue, names, f"vaccine_{number}")
        table[f"date_{number}"] = dose_date_converter(context, f"date_{number}")
        table[f"lot_{number}"] = text
        table[f"site_{number}"] = lambda value, _notes: cells.text(value).upper()
    return table


def vaccine_converter(catalogue, names, key):
    def vaccine(value, _notes):
        code = cells.vaccine(value, key, names)
        return None if code is None else catalogue[code]
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
    vaccine_id: int
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
    recorded: object = None                  # the Person already in the database, if any (the importer sets it)
    new: list = field(default_factory=list)  # the doses to write: those not recorded yet


class RowChecker:
    """Checks rows of one file: its header map, the database's facts, and the people already seen."""

    def __init__(self, headers, header_map, context):
        self.headers, self.map, self.context = headers, header_map, context
        self.converters = converters(context)
        # A column's outcome per value typed, for columns of few values (vaccines, lots, sites, dates...):
        # most rows repeat them, and converting is most of a row's checking.
        positions = header_map.positions
        self.columns = {key: (positions.get(key), None if key in UNREPEATED else {}) for key in self.converters}
        self.first_rows = FirstRows()
        self.folded = {}  # a name → its search key (identity.fold): names recur, folding is 3 µs
        self.dose_outcomes = {}  # (dose number, its cells as typed, their classes) → (Dose or None, errors, notes)
        # Each dose's columns present in the file: a dose is there when one of its cells is filled.
        self.dose_positions = {number: [positions[key] for key in (f"vaccine_{number}", f"date_{number}",
                                                                   f"lot_{number}", f"site_{number}")
                                        if key in positions] for number in range(1, DOSES + 1)}

    def check_chunk(self, chunk):
        """The chunk's ``(number, values)`` rows checked, each on its own, then against the rows before."""
        rows = [self.check(number, values) for number, values in chunk]
        self.flag_repeats(rows)
        return rows

    def check(self, number, values):
        row = Row(number, values)
        person = self.person(row)
        doses = self.doses(row)
        if person is not None and not row.errors:
            row.person, row.doses = person, doses
        return row

    # Cells

    def fail(self, row, key, message):
        row.errors.append((self.map.positions.get(key), f"{self.header(key)}: {message}"))

    def read(self, row, key, required=False):
        """The cell of ``key`` converted; a refusal or a missing required value is the row's error, a repair
        its note, all naming the column."""
        index, outcomes = self.columns[key]
        values = row.values
        typed = values[index] if index is not None and index < len(values) else None
        if outcomes is None:
            outcome = self.convert(key, typed)
        else:
            outcome = outcomes.get((typed.__class__, typed))  # the class too: 1, 1.0 and True are equal keys
            if outcome is None:
                outcome = self.convert(key, typed)
                if len(outcomes) < MAX_OUTCOMES:
                    outcomes[typed.__class__, typed] = outcome
        value, notes, refusal = outcome
        if refusal is not None:
            self.fail(row, key, refusal)
            return None
        if notes:
            row.notes += [f"{self.header(key)}: {note}" for note in notes]
        if required and (value is None or value == ""):
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
            data, national = people.checked(data, self.context.today)  # the cells are normalised already
            row.id_kind = national.kind if national else None
            return data
        except ServiceError as error:
            self.fail(row, error.field if error.field in BY_KEY else "full_name", error.message)
            return None

    # The doses

    def doses(self, row):
        doses, previous = [], None
        values, width = row.values, len(row.values)
        for number, positions in self.dose_positions.items():
            if all(index >= width or values[index] in (None, "") for index in positions):
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
        """The dose's cells converted and checked (the outcome remembered per group of cells typed: most
        rows repeat a vaccine, day, lot and site), then its order after the previous dose."""
        values, width = row.values, len(row.values)
        typed = tuple(values[index] if index < width else None for index in self.dose_positions[number])
        key = (number, typed, tuple(value.__class__ for value in typed))  # the class too: 1, 1.0, True are equal
        outcome = self.dose_outcomes.get(key)
        if outcome is None:
            scratch = Row(row.number, values)
            outcome = (self.converted_dose(scratch, number), scratch.errors, scratch.notes)
            if len(self.dose_outcomes) < MAX_OUTCOMES:
                self.dose_outcomes[key] = outcome
        dose, errors, notes = outcome
        row.errors += errors
        row.notes += notes
        if dose is None:
            return None
        if previous is not None and previous.number != number - 1:
            self.fail(row, f"date_{number}", _("Dose %(n)d is given but dose %(previous)d is missing.", n=number,
                                               previous=number - 1))
            return None
        if previous is not None and dose.day <= previous.day:
            self.fail(row, f"date_{number}", _("Dose %(n)d is dated %(day)s, not after dose %(previous)d "
                                               "(%(previous_day)s).", n=number, day=dose.day.strftime("%d/%m/%Y"),
                                               previous=number - 1, previous_day=previous.day.strftime("%d/%m/%Y")))
            return None
        return dose

    def converted_dose(self, row, number):
        """Dose ``number``'s vaccine, date, lot and site, each known; or ``None`` and the row's errors."""
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
        return Dose(number, vaccine.id, day, lot, context.sites[site_code])

    # The same person twice in the file

    def flag_repeats(self, rows):
        """A person named by an earlier row of the file is an error on the later row."""
        keyed = [(row, self.person_keys(row.person)) for row in rows if row.person is not None and not row.errors]
        first = self.first_rows.known([key for _row, keys in keyed for _column, key in keys])
        added = []
        for row, keys in keyed:
            earlier = next(((column, first[key]) for column, key in keys if key in first), None)
            if earlier is not None:
                self.fail(row, earlier[0], _("The same person as row %(row)d: put all their doses on one row.",
                                             row=earlier[1]))
                continue
            for _column, key in keys:
                first[key] = row.number
                added.append((key, row.number))
        self.first_rows.add(added)


    def person_keys(self, person):
        """``(column to blame, key)`` for each key a person is known by: the ID; name, birth date and phone."""
        keys = [("national_id", hash(person.national_id))] if person.national_id else []
        if person.phone:
            name = person.full_name
            folded = self.folded.get(name)
            if folded is None:
                folded = identity.fold(name)
                if len(self.folded) < MAX_OUTCOMES:
                    self.folded[name] = folded
            keys.append(("full_name", hash((folded, person.date_of_birth, person.phone))))
        return keys


class FirstRows:
    """The row that first named each person key, for a file of any length: a temporary SQLite table (on
    disk, :data:`CACHE_KIB` of cache) where a dict would take 200 MB for a million rows. Keys are 64-bit hashes:
    two different people sharing one is a chance in ten million in a million-row file."""

    BATCH = 10_000  # keys per query, well under SQLite's limit of bound values
    CACHE_KIB = 32 * 1024  # most of a million rows' 2 000 000 keys; 2 MB, the default, went to disk page by page

    def __init__(self):
        self.table = sqlite3.connect("")  # "": a private temporary database, deleted when closed
        self.table.execute(f"PRAGMA cache_size = -{self.CACHE_KIB}")
        self.table.execute("CREATE TABLE first_row (key INTEGER PRIMARY KEY, row INTEGER NOT NULL)")

    def known(self, keys):
        """``{key: row}`` of ``keys`` already added."""
        found = {}
        for start in range(0, len(keys), self.BATCH):
            batch = keys[start:start + self.BATCH]
            found.update(self.table.execute(
                f"SELECT key, row FROM first_row WHERE key IN ({', '.join('?' * len(batch))})", batch))
        return found

    def add(self, pairs):
        self.table.executemany("INSERT INTO first_row (key, row) VALUES (?, ?)", pairs)


# --- A file --------------------------------------------------------------------------------------------

@dataclass
class Header:
    """What the importer needs to know of the file before its rows."""
    headers: list
    row_count: int


def check_file(path, filename, context):
    """Open and check the file: first its :class:`Header` (or :class:`FileRefused`: missing required
    columns are refused before any row is read), then its checked rows, a list per chunk. A row keeps the
    values as typed only when rejected (for the error file)."""
    sheet = open_sheet(path, filename)
    header_map = match_headers(sheet.headers)
    missing = missing_required(header_map)
    if missing:
        raise FileRefused(_("The file lacks the required columns: %(columns)s. Use the template's headers.",
                            columns=", ".join(column.header for column in missing)), "missing_columns")
    yield Header(sheet.headers, sheet.row_count)
    checker = RowChecker(sheet.headers, header_map, replace(context, epoch_1904=sheet.epoch_1904))
    rows, done = iter(sheet.rows), 0
    while chunk := list(islice(rows, min(CHUNK_ROWS, max(FIRST_CHUNK_ROWS, done // 4)))):
        done += len(chunk)
        checked = checker.check_chunk(chunk)
        for row in checked:
            if not row.errors:
                row.values = None
        yield checked
