"""Administrative units (province, district, ward) loaded from a CSV file.

The file is UTF-8 (with or without a byte-order mark) with the header ``code,name,level,parent_code``.
Units are upserted by code. The depth varies: a ward may hang under a district or, as after
Vietnam's 2025 reform, directly under a province. Every row is checked before anything is written;
one bad row refuses the whole file, with messages naming the row and the column.

Services add to the session and audit; the caller commits.
"""
import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.db import db
from core.service_errors import ServiceError
from modules.warehouse.models import AdminUnit

PROVINCE, DISTRICT, WARD = "province", "district", "ward"
LEVELS = (PROVINCE, DISTRICT, WARD)
# Which level may sit directly under which (None: at the top).
ALLOWED_PARENT_LEVELS = {PROVINCE: (None,), DISTRICT: (PROVINCE,), WARD: (PROVINCE, DISTRICT)}
COLUMNS = ("code", "name", "level", "parent_code")
MAX_CODE = 16
MAX_NAME = 160
MAX_PROBLEMS = 50  # a file with thousands of bad rows: the first ones say enough
# zip (xlsx, ods), OLE2 (xls), PDF, PNG, JPEG, GIF
BINARY_MAGIC = (b"PK\x03\x04", bytes.fromhex("D0CF11E0A1B11AE1"), b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
DEMO_FILE = Path(__file__).resolve().parent / "data" / "admin_units_demo.csv"


class AdminUnitFileError(ServiceError):
    """The file was refused; ``problems`` lists every problem found (row and column named), up to
    :data:`MAX_PROBLEMS`; ``message`` is the first."""

    def __init__(self, problems):
        super().__init__(problems[0], "file", "bad_admin_unit_file")
        self.problems = problems


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Row:
    number: int  # line in the file, the header being line 1
    code: str
    name: str
    level: str
    parent_code: str | None


@dataclass
class Problems:
    messages: list = field(default_factory=list)

    def add(self, row_number, column, message):
        if len(self.messages) >= MAX_PROBLEMS:
            return
        if column is None:
            self.messages.append(_("Row %(row)d: %(message)s", row=row_number, message=message))
        else:
            self.messages.append(_("Row %(row)d, column %(column)s: %(message)s", row=row_number, column=column,
                                   message=message))

    def raise_if_any(self):
        if self.messages:
            raise AdminUnitFileError(self.messages)


def load_admin_units(path_or_file, user=None):
    """Check the whole file, then create or update its units; returns a :class:`LoadResult`.

    ``path_or_file``: a path, or an open file (text or binary). Raises :class:`AdminUnitFileError`
    without writing anything when any row is wrong.
    """
    rows = read_rows(path_or_file)
    existing = {unit.code: unit for unit in db.session.scalars(select(AdminUnit))}
    check_rows(rows, existing)
    result = LoadResult()
    for depth_rows in by_depth(rows, existing):
        for row in depth_rows:
            unit = existing.get(row.code)
            if unit is None:
                db.session.add(AdminUnit(code=row.code, name=row.name, level=row.level, parent_code=row.parent_code))
                result.created += 1
            elif (unit.name, unit.level, unit.parent_code) != (row.name, row.level, row.parent_code):
                unit.name, unit.level, unit.parent_code = row.name, row.level, row.parent_code
                result.updated += 1
            else:
                result.unchanged += 1
        db.session.flush()  # parents before children: the foreign key is checked row by row
    if result.created or result.updated:
        audit.record("admin_units.load", object_type="warehouse_admin_unit", user=user,
                     details={"created": result.created, "updated": result.updated})
    return result


# --- Reading ------------------------------------------------------------------------------------

def read_rows(path_or_file):
    text = read_text(path_or_file)
    reader = csv.reader(io.StringIO(text, newline=""))
    problems = Problems()
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != COLUMNS:
        problems.add(1, None, _("the header must be %(header)s.", header=",".join(COLUMNS)))
        problems.raise_if_any()
    rows = []
    for cells in csv_rows(reader, problems):
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) > len(COLUMNS):
            problems.add(number, None, _("%(n)d values, but the header has 4 columns.", n=len(cells)))
            continue
        code, name, level, parent = (list(cells) + [""] * len(COLUMNS))[:len(COLUMNS)]
        rows.append(Row(number, code.strip(), clean_name(name), level.strip().lower(), parent.strip() or None))
    if not rows and not problems.messages:
        problems.add(2, None, _("the file holds no administrative unit."))
    problems.raise_if_any()
    return rows


def csv_rows(reader, problems):
    """The rows of ``reader``; a line that is not CSV (a NUL byte, an unclosed quote) ends the file with a problem."""
    try:
        yield from reader
    except csv.Error as exc:
        problems.add(reader.line_num, None, _("this is not CSV text (%(reason)s).", reason=exc))


def read_text(path_or_file):
    """The file's text, decoded as UTF-8 with or without a byte-order mark."""
    if hasattr(path_or_file, "read"):
        content = path_or_file.read()
    else:
        content = Path(path_or_file).read_bytes()
    if isinstance(content, bytes):
        if content.startswith(BINARY_MAGIC):
            not_csv_text()
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = content[:exc.start].count(b"\n") + 1
            problems = Problems()
            problems.add(line, None, _("the file is not UTF-8 text."))
            problems.raise_if_any()
    return content.removeprefix("\ufeff")


def not_csv_text():
    """A spreadsheet, PDF or image sent instead of the CSV: said so, rather than "not UTF-8" at some row."""
    problems = Problems()
    problems.add(1, None, _("the file is not CSV text (a spreadsheet, a PDF or an image?): save it as CSV UTF-8."))
    problems.raise_if_any()


def clean_name(name):
    """NFC (the form users' keyboards and other records use), trimmed and single-spaced."""
    return " ".join(unicodedata.normalize("NFC", name).split())


# --- Checking -----------------------------------------------------------------------------------

def check_rows(rows, existing):
    """Every problem of every row, or nothing: fields first, then parents, cycles and levels."""
    problems = Problems()
    seen = {}
    for row in rows:
        check_fields(row, problems)
        if row.code in seen:
            problems.add(row.number, "code", _("the code %(code)s is already on row %(row)d.", code=row.code,
                                               row=seen[row.code]))
        elif row.code:
            seen[row.code] = row.number
    problems.raise_if_any()
    in_file = {row.code: row for row in rows}
    for row in rows:
        if row.parent_code is not None and row.parent_code not in in_file and row.parent_code not in existing:
            problems.add(row.number, "parent_code", _(
                "the parent %(code)s is neither in the file nor among the units already loaded.",
                code=row.parent_code))
    problems.raise_if_any()
    parents = merged_parents(in_file, existing)
    for row in rows:
        cycle = cycle_from(row.code, parents)
        if cycle:
            problems.add(row.number, "parent_code", _("the parents go round in a circle: %(cycle)s.",
                                                      cycle=" → ".join(cycle)))
    problems.raise_if_any()
    for row in rows:
        parent_level = None
        if row.parent_code is not None:
            parent_level = (in_file.get(row.parent_code) or existing[row.parent_code]).level
        if parent_level not in ALLOWED_PARENT_LEVELS[row.level]:
            problems.add(row.number, "parent_code", level_problem(row.level, parent_level, row.parent_code))
    for child in existing.values():  # units already loaded, under a unit whose level the file changes
        parent = in_file.get(child.parent_code)
        if child.code not in in_file and parent is not None and parent.level not in ALLOWED_PARENT_LEVELS[child.level]:
            problems.add(parent.number, "level", _(
                "%(code)s cannot become a %(level)s: the %(child_level)s %(child)s, already loaded, belongs to it.",
                code=parent.code, level=parent.level, child_level=child.level, child=child.code))
    problems.raise_if_any()


def check_fields(row, problems):
    if not row.code:
        problems.add(row.number, "code", _("the code is missing."))
    elif len(row.code) > MAX_CODE or not row.code.isalnum() or not row.code.isascii():
        problems.add(row.number, "code", _("the code %(code)s must be 1 to %(n)d letters or digits.",
                                           code=row.code, n=MAX_CODE))
    if not row.name:
        problems.add(row.number, "name", _("the name is missing."))
    elif len(row.name) > MAX_NAME:
        problems.add(row.number, "name", _("the name is longer than %(n)d characters.", n=MAX_NAME))
    elif not row.name.isprintable():
        problems.add(row.number, "name", _("the name holds a control character."))
    if row.level not in LEVELS:
        problems.add(row.number, "level", _("unknown level %(level)s: use province, district or ward.",
                                            level=row.level or '""'))
    if row.parent_code is not None and len(row.parent_code) > MAX_CODE:
        problems.add(row.number, "parent_code", _("the code %(code)s must be 1 to %(n)d letters or digits.",
                                                  code=row.parent_code, n=MAX_CODE))


def merged_parents(in_file, existing):
    """Each unit's parent once the file is loaded: the file's rows override the database's."""
    parents = {code: unit.parent_code for code, unit in existing.items()}
    parents.update({code: row.parent_code for code, row in in_file.items()})
    return parents


def cycle_from(code, parents):
    """The codes of the circle ``code`` belongs to (ending where it started), or ``None``."""
    chain, current = [code], parents.get(code)
    while current is not None:
        if current == code:
            return chain + [code]
        if current in chain:
            return None  # a circle above this unit, reported on its own rows
        chain.append(current)
        current = parents.get(current)
    return None


def level_problem(level, parent_level, parent_code):
    if level == PROVINCE:
        return _("a province is at the top: it has no parent (here %(code)s).", code=parent_code)
    if parent_level is None:
        return _("a %(level)s needs a parent.", level=level)
    if level == DISTRICT:
        return _("a district belongs to a province, not to the %(parent)s %(code)s.", parent=parent_level,
                 code=parent_code)
    return _("a ward belongs to a province or a district, not to the %(parent)s %(code)s.", parent=parent_level,
             code=parent_code)


def by_depth(rows, existing):
    """The rows grouped by depth (units whose parent is already there first)."""
    in_file = {row.code: row for row in rows}
    depth = {}

    def depth_of(code):
        if code not in depth:
            row = in_file.get(code)
            parent = row.parent_code if row is not None else None
            depth[code] = 0 if parent is None or parent not in in_file else depth_of(parent) + 1
        return depth[code]

    groups = {}
    for row in rows:
        groups.setdefault(depth_of(row.code), []).append(row)
    return [groups[key] for key in sorted(groups)]
