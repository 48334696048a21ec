"""Target populations per administrative unit, loaded from a CSV file.

The file is UTF-8 (with or without a byte-order mark), comma- or semicolon-separated, with the header
``code,population``: an administrative unit's code and the number of people to vaccinate there, written
as digits, optionally grouped by thousands ("1.250.000", "1 250 000"). Every row is checked before
anything is written; one bad row refuses the whole file, with messages naming the row and the column.
Services add to the session and audit; the caller commits.
"""
import csv
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.db import db
from core.service_errors import ServiceError
from modules.allocation.models import Target
from modules.warehouse.admin_units import MAX_CODE, AdminUnitFileError, Problems, csv_rows, read_text
from modules.warehouse.models import AdminUnit

COLUMNS = ("code", "population")
MAX_POPULATION = 200_000_000
GROUPED_DIGITS = re.compile(r"\d+|\d{1,3}(?:([., \u00a0])\d{3})(?:\1\d{3})*")


class TargetFileError(ServiceError):
    """The file was refused; ``problems`` lists every problem found (row and column named)."""

    def __init__(self, problems):
        super().__init__(problems[0], "file", "bad_target_file")
        self.problems = problems


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def load_targets(path_or_file, user=None, allowed=None):
    """Check the whole file, then set the target population of each unit in it; returns a
    :class:`LoadResult`. Raises :class:`TargetFileError` without writing anything when any row is wrong.
    ``allowed``: the unit codes the user may set (``None``: any); another unit is reported as unknown."""
    rows = read_rows(path_or_file, allowed)
    existing = {target.admin_unit_code: target
                for target in db.session.scalars(select(Target).where(Target.admin_unit_code.in_(rows)))}
    result = LoadResult()
    for code, population in rows.items():
        target = existing.get(code)
        if target is None:
            db.session.add(Target(admin_unit_code=code, population=population))
            result.created += 1
        elif target.population != population:
            target.population = population
            result.updated += 1
        else:
            result.unchanged += 1
    if result.created or result.updated:
        audit.record("allocation.targets_load", object_type="allocation_target", user=user,
                     details={"created": result.created, "updated": result.updated})
    return result


def read_rows(path_or_file, allowed=None):
    """``{unit code: population}`` of a file in which every row is right, or :class:`TargetFileError`."""
    try:
        text = read_text(path_or_file)
    except AdminUnitFileError as error:  # the shared reader's "not UTF-8", told as this file's problem
        raise TargetFileError(error.problems) from None
    problems = Problems()
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != COLUMNS:
        problems.add(1, None, _("the header must be %(header)s.", header=",".join(COLUMNS)))
        raise TargetFileError(problems.messages)
    rows, lines = {}, {}
    for cells in csv_rows(reader, problems):
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(COLUMNS):
            problems.add(number, None, _("%(n)d values, but the header has 2 columns.", n=len(cells)))
            continue
        code, population = cells[0].strip(), population_of(cells[1], number, problems)
        if not code:
            problems.add(number, "code", _("the code is missing."))
        elif code in lines:
            problems.add(number, "code", _("the code %(code)s is already on row %(row)d.", code=code,
                                           row=lines[code]))
        else:
            lines[code] = number
            rows[code] = population
    # Only what could be a unit's code is looked up: PostgreSQL refuses a NUL byte in a query parameter.
    plausible = [code for code in lines if code.isascii() and code.isalnum() and len(code) <= MAX_CODE]
    known = set(db.session.scalars(select(AdminUnit.code).where(AdminUnit.code.in_(plausible))))
    if allowed is not None:
        known &= allowed
    for code, number in lines.items():
        if code not in known:
            problems.add(number, "code", _("no administrative unit has the code %(code)s.", code=code))
    if not lines and not problems.messages:
        problems.add(2, None, _("the file holds no target population."))
    if problems.messages:
        raise TargetFileError(problems.messages)
    return rows


def population_of(text, number, problems):
    text = text.strip()
    if not GROUPED_DIGITS.fullmatch(text):
        problems.add(number, "population", _("%(value)s is not a whole number of people.", value=text or '""'))
        return None
    population = int(re.sub(r"\D", "", text))
    if population > MAX_POPULATION:
        problems.add(number, "population", _("%(value)s people is more than a country holds.", value=text))
        return None
    return population
