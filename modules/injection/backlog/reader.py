"""Reading an import file: checked before it is opened, then read row by row.

Files come from Excel, LibreOffice and other systems' exports, and some are not what they claim to be.
Before any parsing: the size, the kind (by content, not by name), password protection, and for the zip
based formats (xlsx, ods) each member's size and compression ratio, read from the zip's directory and
then enforced while inflating (a zip bomb can lie in its directory). Then the sheet: the first visible
one with a header row, at most :data:`MAX_COLUMNS` wide.

Readers, by measurement (100 000 rows × 16 columns): python-calamine parses about 100 000 rows/s but
holds the whole sheet in memory (1.5 to 2 bytes per byte of sheet XML); :mod:`.xlsx_stream` (lxml's
iterparse) parses about 40 000 rows/s holding one row at a time and gives the same cell values. xls and
ods files, and xlsx files whose largest sheet has at most :data:`CALAMINE_MAX_XML_BYTES` of XML, go to
calamine; bigger xlsx sheets are streamed. Either way rows hold their cells from column A on (``""`` in
the gaps), numbered as the spreadsheet shows them.
"""
import codecs
import contextlib
import csv
import io
import itertools
import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from lxml import etree

from core.service_errors import ServiceError
from modules.injection.backlog import xlsx_stream
from modules.injection.backlog.columns import MATCHES, header_key

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024 * 1024
MAX_RATIO = 100          # a spreadsheet's XML compresses 10–20 times; bombs 1 000 times and more
MAX_ZIP_MEMBERS = 10_000
MAX_COLUMNS = 200        # the template has 28
MAX_ROWS = 2_000_000
# Calamine holds a sheet in 1.5 to 2 bytes of memory per byte of its XML (measured: 58.7 MB of XML with shared
# strings, 100 000 rows × 16 columns, 135 MB peak; 90 MB of inline strings, 165 MB): past 64 MB of XML it
# would take over about 150 MB, and a million rows (about 1 GB of XML) over 1.5 GB, so bigger sheets stream.
CALAMINE_MAX_XML_BYTES = 64 * 1024 * 1024
# Calamine also holds a sheet as a dense grid from its first used cell to its last: one stray cell at XFD1048576
# makes a 6 KB file ask for 512 GB, and the process aborts (a Rust allocation failure, not an exception). A sheet
# whose cells could span more than this many grid cells is streamed (16 bytes a cell: about 100 MB).
CALAMINE_MAX_CELLS = 6_000_000
ODS_MAX_XML_BYTES = CALAMINE_MAX_XML_BYTES  # calamine is the only reader of ods: bigger ones cannot stream
HEADER_SCAN_ROWS = 20    # a header row further down than this is not a header row
HEADER_MATCHES = 3       # template columns a row must name to be taken for the header row

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # .xls, and Office's encrypted (password) files
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv"}
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


class FileRefused(ServiceError):
    def __init__(self, message, code):
        super().__init__(message, "file", code)


@dataclass
class Sheet:
    """The header row and an iterator of the rows under it, each ``(row_number, values)`` with the row
    number as the spreadsheet shows it (1-based), skipping empty rows."""

    name: str
    headers: list
    header_row: int
    rows: object
    epoch_1904: bool = False
    reader: str = ""
    row_count: int | None = None  # rows under the header, empty ones included, when the format says
    notes: list = field(default_factory=list)


def open_sheet(path, filename=None):
    """Check the file at ``path`` (named ``filename`` by its user) and open its data sheet."""
    path = Path(path)
    name = filename or path.name
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(_("The file %(name)s is empty.", name=name), "empty_file")
    if size > MAX_FILE_BYTES:
        raise FileRefused(_("The file %(name)s is %(size)d MB; at most %(max)d MB can be imported at once: "
                            "split it.", name=name, size=size // 2**20, max=MAX_FILE_BYTES // 2**20), "file_too_big")
    kind = kind_of(path, name)
    if kind == "csv":
        return csv_sheet(path, name)
    if kind in ("xlsx", "ods"):
        check_zip(path, name, kind)
    if kind == "ods":
        check_ods_cells(path, name)
    if kind == "xlsx" and not calamine_can_hold(path, name):
        return streamed_sheet(path, name)
    return calamine_sheet(path, name, kind)


# --- What the file is ---------------------------------------------------------------------------------

def kind_of(path, name):
    """``xlsx``, ``xls``, ``ods`` or ``csv``, from the content; the name's extension must agree."""
    suffix = Path(name).suffix.lower()
    if suffix not in SPREADSHEET_SUFFIXES:
        raise FileRefused(_("%(name)s is not a spreadsheet: import an Excel (.xlsx, .xls), LibreOffice (.ods) "
                            "or CSV file.", name=name), "not_a_spreadsheet")
    with path.open("rb") as stream:
        head = stream.read(8)
    if head.startswith(ZIP_MAGIC):
        kind = zip_kind(path, name)
    elif head == OLE_MAGIC:
        kind = ole_kind(path, name)
    elif suffix == ".csv" and looks_like_text(path):
        kind = "csv"
    else:
        raise FileRefused(_("%(name)s is not a spreadsheet, whatever its name says: save it from Excel or "
                            "LibreOffice as .xlsx and import it again.", name=name), "not_a_spreadsheet")
    expected = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods", ".csv": "csv"}[suffix]
    if kind != expected:
        raise FileRefused(_("%(name)s is in fact a .%(kind)s file: rename it to .%(kind)s, or save it again "
                            "as .xlsx.", name=name, kind=kind), "wrong_extension")
    return kind


def zip_kind(path, name):
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
                return "ods"
    except (zipfile.BadZipFile, OSError, EOFError):
        raise damaged(name) from None
    if "xl/workbook.xml" in names:
        return "xlsx"
    raise FileRefused(_("%(name)s is a zip archive, not a spreadsheet.", name=name), "not_a_spreadsheet")


def ole_kind(path, name):
    """An OLE2 file is a legacy .xls, or an Office file protected by a password (encrypted package)."""
    with path.open("rb") as stream:
        directory = stream.read(2 * 1024 * 1024)
    if "EncryptedPackage".encode("utf-16-le") in directory or "EncryptionInfo".encode("utf-16-le") in directory:
        raise password_protected(name)
    return "xls"


def damaged(name):
    return FileRefused(_("%(name)s is damaged (an incomplete or broken file): save it again and retry.",
                         name=name), "damaged_file")


def password_protected(name):
    return FileRefused(_("%(name)s is protected by a password: open it, remove the password (File → Info → "
                         "Protect Workbook) and save it again.", name=name), "password_protected")


def looks_like_text(path):
    with path.open("rb") as stream:
        head = stream.read(64 * 1024)
    return b"\x00" not in head


# --- Zip checks before anything is inflated -------------------------------------------------------------

def check_zip(path, name, kind):
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise too_big(name)
        declared = 0
        for member in members:
            declared += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if declared > MAX_UNCOMPRESSED_BYTES or (member.file_size > 1_000_000 and ratio > MAX_RATIO):
                raise too_big(name)
        for member in members:  # the directory may lie: inflate within what it declared
            inflate_within(path, member, name)
        if kind == "xlsx":
            check_dimension(archive, name)


def inflate_within(path, member, name):
    """Inflate a member's compressed bytes, refusing it unless they make exactly the size its directory entry
    declares, with its CRC. zipfile's own reader stops at the declared size without looking further: a member
    declaring 4 KB (with the CRC of its first 4 KB) passed it, and calamine, which inflates the whole stream,
    then took a GB of memory for a 6 MB file."""
    if member.flag_bits & 0x1:
        raise password_protected(name)
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise unreadable(name)
    with path.open("rb") as stream:
        stream.seek(member.header_offset)
        header = stream.read(30)
        if len(header) < 30 or header[:4] != ZIP_MAGIC:
            raise damaged(name)
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        stream.seek(member.header_offset + 30 + name_length + extra_length)
        inflated, crc = inflated_size_and_crc(stream, member, name)
    if inflated != member.file_size or crc != member.CRC:
        raise damaged(name)


def inflated_size_and_crc(stream, member, name):
    """Size and CRC of what the member's ``compress_size`` bytes inflate to, never inflating more than one
    byte past the declared size (:func:`too_big` then)."""
    stored = member.compress_type == zipfile.ZIP_STORED
    decompressor = None if stored else zlib.decompressobj(-15)
    left, size, crc = member.compress_size, 0, 0
    try:
        while left:
            chunk = stream.read(min(left, 1024 * 1024))
            if not chunk:
                raise damaged(name)  # the file ends inside the member
            left -= len(chunk)
            while chunk:
                if stored:
                    out, chunk = chunk, b""
                else:
                    out = decompressor.decompress(chunk, member.file_size - size + 1)
                    chunk = decompressor.unconsumed_tail
                size += len(out)
                if size > member.file_size:
                    raise too_big(name)
                crc = zlib.crc32(out, crc)
    except zlib.error:
        raise damaged(name) from None
    if decompressor is not None and not decompressor.eof:
        raise damaged(name)  # the compressed data stops before its stream ends
    return size, crc


def too_big(name):
    return FileRefused(_("%(name)s unpacks to far more data than a spreadsheet of injections holds (a damaged "
                         "or malicious file): it was not opened.", name=name), "file_too_big")


DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def check_dimension(archive, name):
    """The size each worksheet declares, read from its first bytes (before any cell is parsed)."""
    for member in archive.namelist():
        if not (member.startswith("xl/worksheets/") and member.endswith(".xml")):
            continue
        with archive.open(member) as stream:
            head = stream.read(4096)
        found = DIMENSION.search(head)
        if found and found.group(3):
            columns, rows = column_number(found.group(3).decode()), int(found.group(4))
            if columns > MAX_COLUMNS or rows > MAX_ROWS:
                raise absurd_size(name, rows, columns)


def absurd_size(name, rows, columns):
    return FileRefused(_("%(name)s has a sheet of %(rows)d rows × %(columns)d columns; an import file has at most "
                         "%(max_rows)d rows and %(max_columns)d columns. Delete the empty rows and columns "
                         "(or copy the data into the template) and import it again.", name=name, rows=rows,
                         columns=columns, max_rows=MAX_ROWS, max_columns=MAX_COLUMNS), "sheet_too_big")


def column_number(letters):
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


# --- Spreadsheets -----------------------------------------------------------------------------------------

def calamine_sheet(path, name, kind):
    """The whole sheet in memory, fast. python-calamine's rows run from row 1 but from the sheet's first used
    column: they are padded to start at column A, as streamed rows do."""
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        for metadata in workbook.sheets_metadata:
            if metadata.visible != SheetVisibleEnum.Visible or metadata.typ != SheetTypeEnum.WorkSheet:
                continue
            sheet = workbook.get_sheet_by_name(metadata.name)
            last_row, last_column = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
            if last_column > MAX_COLUMNS or last_row > MAX_ROWS:
                raise absurd_size(name, last_row, last_column)
            pad = [""] * (sheet.start[1] if sheet.start else 0)
            found = header_in(calamine_rows(sheet.iter_rows(), pad, name))
            if found is None:
                continue
            offset, headers, _read = found
            check_merged_header(sheet.merged_cell_ranges or [], offset, name)
            return Sheet(metadata.name, headers, offset + 1,
                         numbered(calamine_rows(sheet.iter_rows(), pad, name), 1, skip=offset + 1),
                         epoch_1904=epoch_1904(path, kind), reader="calamine", row_count=last_row - offset - 1)
    except PasswordError:
        raise password_protected(name) from None
    except CalamineError:
        raise unreadable(name) from None
    raise no_header(name)


def calamine_rows(rows, pad, name):
    """Rows padded to column A. Cells calamine cannot convert (a duration past Python's timedelta; a date far
    out of range makes Rust panic, a BaseException) make the file unreadable, not the request fail."""
    try:
        if pad:
            for row in rows:
                yield pad + row
        else:
            yield from rows
    except OverflowError:  # a duration cell of more than 999 999 999 days
        raise unreadable(name) from None
    except BaseException as error:
        if type(error).__name__ != "PanicException":
            raise
        raise unreadable(name) from None


def streamed_sheet(path, name):
    """One row at a time (:mod:`.xlsx_stream`): for sheets too big to hold at once. The merged cells are listed
    after the rows: a first pass over the sheet's bytes finds them (and the last row) before any is imported."""
    try:
        with contextlib.ExitStack() as opened:
            book = xlsx_stream.Workbook(path)
            opened.callback(book.close)
            for part in book.sheets:
                if part.state != "visible" or not part.worksheet:
                    continue
                rows = book.rows(part, max_columns=MAX_COLUMNS, max_rows=MAX_ROWS)
                head = []  # the rows up to the first past the header scan
                for number, values in rows:
                    head.append((number, values))
                    if number >= HEADER_SCAN_ROWS:
                        break
                top = [[] for _ in range(HEADER_SCAN_ROWS)]
                for number, values in head:
                    if number <= HEADER_SCAN_ROWS:
                        top[number - 1] = values
                found = header_in(top)
                if found is None:
                    rows.close()
                    continue
                offset, headers, _read = found
                scan = book.scan(part)
                check_merged_header(scan.merged, offset, name)
                last_row = scan.last_row or (scan.dimension[1][0] + 1 if scan.dimension else None)
                if last_row is not None and last_row > MAX_ROWS:
                    raise absurd_size(name, last_row, len(headers))
                below = [(number, values) for number, values in head if number > offset + 1]
                opened.pop_all()  # the rows close the book once read
                return Sheet(part.name, headers, offset + 1, streamed_rows(itertools.chain(below, rows), book, name),
                             epoch_1904=book.epoch_1904, reader="xlsx_stream",
                             row_count=None if last_row is None else max(0, last_row - offset - 1))
    except xlsx_stream.XlsxStreamError as error:
        raise stream_refusal(error, name) from None
    raise no_header(name)


def streamed_rows(rows, book, name):
    try:
        yield from rows
    except xlsx_stream.XlsxStreamError as error:
        raise stream_refusal(error, name) from None
    finally:
        book.close()


def stream_refusal(error, name):
    if isinstance(error, xlsx_stream.SheetTooBig):
        return absurd_size(name, error.rows, error.columns)
    if isinstance(error, xlsx_stream.UnsafeXml):
        return too_big(name)  # an entity-expansion bomb unpacks to far more data than it holds
    return unreadable(name)


def unreadable(name):
    return FileRefused(_("%(name)s could not be read as a spreadsheet (damaged or unsupported): open it in Excel "
                         "or LibreOffice and save it again as .xlsx.", name=name), "damaged_file")


def calamine_can_hold(path, name):
    """Whether every worksheet is small enough for calamine, in XML and in grid cells (see
    :data:`CALAMINE_MAX_CELLS`); a sheet with a cell past :data:`MAX_COLUMNS` is refused here."""
    if largest_sheet_xml(path) > CALAMINE_MAX_XML_BYTES:
        return False
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.startswith("xl/worksheets/") and member.endswith(".xml"):
                if grid_cells_at_most(archive.read(member), name) > CALAMINE_MAX_CELLS:
                    return False
    return True


FAR_COLUMN = re.compile(rb'<c r="([A-Z]{3}|[H-Z][A-Z]|G[S-Z])([0-9]{1,9})')  # past column GR, the 200th
CELL_TAGS = (b"<c ", b"<c>", b"<c/>")
ODD_CELL_TAG = re.compile(rb"<c[\t\r\n]|<[^\s<>/:]+:c[\s/>]")  # not counted by CELL_TAGS


def grid_cells_at_most(xml, name):
    """An upper bound of the grid cells calamine would allocate for a sheet's XML, from a few byte searches
    (a cell-by-cell scan costs as much as the parse): rows up to the last cell's row rounded up at its leading
    digit, unless some cell lies further; columns up to Z, AZ or GR. Cells written otherwise than Excel and
    openpyxl write them (``<c r="A1"``) make the bound unknown: infinite, the sheet is streamed."""
    if ODD_CELL_TAG.search(xml):
        return math.inf
    cells = sum(xml.count(tag) for tag in CELL_TAGS)
    if cells == 0:
        return 0
    last = xml.rfind(b'<c r="')
    if last < 0 or cells != xml.count(b'<c r="'):
        return math.inf
    far = FAR_COLUMN.search(xml)
    if far:
        raise absurd_size(name, int(far.group(2)), column_number(far.group(1).decode()))
    found = re.match(rb'<c r="[A-Z]{1,3}([0-9]+)"', xml[last:last + 32])
    if found is None:
        return math.inf
    digits = found.group(1)
    if len(digits) > 7:
        return math.inf
    lead, width = int(digits[:1]), len(digits)
    further = rb"[0-9]{%d,}" % (width + 1)
    if lead < 9:
        further += rb"|[%d-9][0-9]{%d}" % (lead + 1, width - 1)
    if re.search(rb'<c r="[A-Z]{1,3}(?:' + further + rb')"', xml):  # a cell below the last one's row
        return math.inf
    rows = (lead + 1) * 10 ** (width - 1)
    columns = 200 if re.search(rb'<c r="[B-G][A-Z][0-9]', xml) else 52 if re.search(rb'<c r="A[A-Z][0-9]', xml) \
        else 26
    return rows * columns


ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
ODS_ROW = f"{{{ODS_TABLE}}}table-row"
ODS_CELLS = (f"{{{ODS_TABLE}}}table-cell", f"{{{ODS_TABLE}}}covered-table-cell")
ODS_ROWS_REPEATED = f"{{{ODS_TABLE}}}number-rows-repeated"
ODS_COLUMNS_REPEATED = f"{{{ODS_TABLE}}}number-columns-repeated"
ODS_VALUE_TYPE = f"{{{ODS_OFFICE}}}value-type"


def check_ods_cells(path, name):
    """An OpenDocument sheet repeats rows and cells by count (``number-rows-repeated="1048575"``): an 800-byte
    file whose repeated cell holds a value took calamine 17 s and 7.8 GB. Calamine reads the whole sheet and there
    is no streaming reader for ods: its content is refused past :data:`ODS_MAX_XML_BYTES`, and when the
    grid its values span (repeats counted) is over :data:`CALAMINE_MAX_CELLS`."""
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("content.xml").file_size > ODS_MAX_XML_BYTES:
                raise FileRefused(_("%(name)s is too big an OpenDocument sheet to import: save it as .xlsx and import "
                                    "that file.", name=name), "file_too_big")
            with archive.open("content.xml") as stream:
                xlsx_stream.check_prolog(stream.read(xlsx_stream.PROLOG_BYTES))
            with archive.open("content.xml") as stream:
                rows, columns = ods_extent(stream)
    except KeyError:
        raise unreadable(name) from None
    except xlsx_stream.UnsafeXml:
        raise too_big(name) from None
    except etree.XMLSyntaxError:
        raise unreadable(name) from None
    if rows * columns > CALAMINE_MAX_CELLS:
        raise FileRefused(_("%(name)s fills %(rows)d rows × %(columns)d columns (repeated cells counted), too many to "
                            "import from an OpenDocument file: delete the rows and columns that hold no data, or save "
                            "it as .xlsx and import that file.", name=name, rows=rows, columns=columns),
                          "sheet_too_big")


def ods_extent(stream):
    """(rows, columns) up to the last cell holding a value, repeats counted, over all the sheets together."""
    rows = last_row = widest = 0
    for _event, row in etree.iterparse(stream, events=("end",), tag=ODS_ROW, **xlsx_stream.PARSER_OPTIONS):
        column = last = 0
        for cell in row:
            if cell.tag not in ODS_CELLS:
                continue
            column += repeat_count(cell.get(ODS_COLUMNS_REPEATED))
            if cell.get(ODS_VALUE_TYPE) is not None or len(cell):
                last = column
        rows += repeat_count(row.get(ODS_ROWS_REPEATED))
        if last:
            last_row, widest = rows, max(widest, last)
        row.clear()
    return last_row, widest


def repeat_count(text):
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 12 else 1


def largest_sheet_xml(path):
    with zipfile.ZipFile(path) as archive:
        return max((member.file_size for member in archive.infolist()
                    if member.filename.startswith("xl/worksheets/")), default=0)


def epoch_1904(path, kind):
    """Whether the workbook counts days from 1904 (old Mac Excel): serial numbers in text cells need it."""
    if kind != "xlsx":
        return False
    with zipfile.ZipFile(path) as archive, archive.open("xl/workbook.xml") as stream:
        head = stream.read(8192)
    return re.search(rb'date1904="(1|true)"', head) is not None


def check_merged_header(ranges, header_index, name):
    """Merged header cells ("Mũi 1" over four columns) hide which column is which."""
    for (first_row, _first_column), (last_row, _last_column) in ranges:
        if first_row <= header_index <= last_row:
            raise FileRefused(_("The header row of %(name)s has merged cells: give every column its own header, "
                                "as in the template (download it from the import page).", name=name), "merged_header")


# --- Shared: headers and rows ---------------------------------------------------------------------------

def header_in(rows):
    """``(offset, headers, rows read)``: among the first few rows, the first that names at least
    :data:`HEADER_MATCHES` template columns (title rows above it are common), else the first non-empty
    one (the importer then names the missing columns); None if all are empty."""
    read, first = [], None
    for offset, row in enumerate(rows):
        values = [cell_text(value) for value in row]
        while values and not values[-1]:
            values.pop()
        read.append(row)
        if values and first is None:
            first = offset, values
        if sum(header_key(value) in MATCHES for value in values) >= HEADER_MATCHES:
            return offset, values, read
        if offset + 1 >= HEADER_SCAN_ROWS:
            break
    return None if first is None else (*first, read)


def numbered(rows, first_row_number, skip):
    """Calamine's rows: empty ones skipped, the others without their trailing empty cells (as streamed)."""
    for index, row in enumerate(rows):
        if index < skip:
            continue
        values = list(row)
        while values and values[-1] == "":
            values.pop()
        if values:
            yield first_row_number + index, values


def cell_text(value):
    return "" if value is None else str(value).strip()


def no_header(name):
    return FileRefused(_("%(name)s has no visible sheet with a header row: the first row must hold the column "
                         "names of the template.", name=name), "no_header")


# --- CSV -----------------------------------------------------------------------------------------------

def csv_sheet(path, name):
    """UTF-8, with or without BOM; comma, semicolon or tab separated (as Excel writes them by locale)."""
    with path.open("rb") as stream:
        head = stream.read(64 * 1024)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise not_utf8(name) from None
    delimiter = sniff_delimiter(head.decode("utf-8", "replace").splitlines()[:HEADER_SCAN_ROWS])
    stream = io.TextIOWrapper(path.open("rb"), encoding="utf-8-sig", newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        found = header_in(reader)
    except UnicodeDecodeError:
        raise not_utf8(name) from None
    except csv.Error:  # a field over csv's 128 KB limit
        raise not_csv(name) from None
    if found is None:
        raise no_header(name)
    offset, headers, read = found
    if len(headers) > MAX_COLUMNS:
        raise absurd_size(name, 0, len(headers))
    rows = itertools.chain(read[offset + 1:], reader)
    return Sheet(Path(name).stem, headers, offset + 1, csv_rows(rows, offset + 2, name), reader="csv")


def sniff_delimiter(lines):
    """The separator of the most lines that hold several of it (a title line holds none; addresses in a
    semicolon file hold commas, but not in every line)."""
    return max(",;\t", key=lambda candidate: (sum(line.count(candidate) >= 2 for line in lines),
                                                 candidate == ","))


def csv_rows(reader, first_row_number, name):
    try:
        for number, row in enumerate(reader, start=first_row_number):
            if len(row) > MAX_COLUMNS:
                raise absurd_size(name, number, len(row))
            values = [value if value != "" else None for value in row]
            if any(value is not None for value in values):
                yield number, values
    except UnicodeDecodeError:
        raise not_utf8(name) from None
    except csv.Error:
        raise not_csv(name) from None


def not_csv(name):
    return FileRefused(_("%(name)s could not be read as CSV (a value longer than a spreadsheet cell holds): open it "
                         "in Excel or LibreOffice and save it again as CSV UTF-8.", name=name), "damaged_file")


def not_utf8(name):
    return FileRefused(_("%(name)s is not in UTF-8: in Excel choose \"CSV UTF-8\" when saving, or import the .xlsx "
                         "file.", name=name), "not_utf8")
