"""A small xlsx writer: one sheet, a bold header row, then plain rows. Knows no models.

Written with openpyxl's write-only mode, so memory stays flat however many rows are exported.

Cells: ``str``, ``int``, ``float``, ``Decimal``, ``bool``, ``None``, ``date`` and naive ``datetime``
(shown as dd/mm/yyyy and dd/mm/yyyy hh:mm, as Vietnamese documents write them). A timezone-aware
datetime is refused: the caller decides which local time a user should read.

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, or a tab or
carriage return followed by one) is written with a leading apostrophe, so an exported lot number or
note can never become a formula on someone's desk (CSV/formula injection). Control characters that
the xlsx format cannot hold are dropped.
"""
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
MAX_SHEET_TITLE = 31  # an Excel limit
MIN_WIDTH, MAX_WIDTH = 8, 60


def safe_text(text):
    """``text`` as a spreadsheet shows it literally: no formula, no character xlsx cannot store."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def xlsx_bytes(headers, rows, title="Sheet"):
    """An xlsx file (as bytes) with ``headers`` in bold on the first row (frozen) and then ``rows``.

    ``rows`` is any iterable of sequences, consumed once. Column widths follow the headers and the
    first rows' contents.
    """
    rows = iter(rows)
    first = [list(row) for _, row in zip(range(50), rows, strict=False)]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=safe_title(title))
    for index, width in enumerate(column_widths(headers, first), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([styled(sheet, header, font=bold) for header in headers])
    for row in first:
        sheet.append([cell(sheet, value) for value in row])
    for row in rows:
        sheet.append([cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def cell(sheet, value):
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError("convert timezone-aware datetimes to local naive ones before exporting")
        return styled(sheet, value, number_format=DATETIME_FORMAT)
    if isinstance(value, date):
        return styled(sheet, value, number_format=DATE_FORMAT)
    return safe_text(str(value))


def styled(sheet, value, font=None, number_format=None):
    written = WriteOnlyCell(sheet, value=safe_text(str(value)) if isinstance(value, str) else value)
    if font is not None:
        written.font = font
    if number_format is not None:
        written.number_format = number_format
    return written


def column_widths(headers, rows):
    widths = []
    for index, header in enumerate(headers):
        longest = max([len(str(header))] + [shown_length(row[index]) for row in rows if index < len(row)])
        widths.append(min(max(longest + 2, MIN_WIDTH), MAX_WIDTH))
    return widths


def shown_length(value):
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return len(str(value)) if value is not None else 0


def safe_title(title):
    for character in "[]:*?/\\":
        title = title.replace(character, " ")
    return title.strip()[:MAX_SHEET_TITLE] or "Sheet"
