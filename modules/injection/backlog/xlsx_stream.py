"""One worksheet of an .xlsx read row by row in constant memory, with the values python-calamine gives.

python-calamine reads a whole sheet into memory (1.5 to 2 bytes per byte of sheet XML: a million-row import
file, about 1 GB of XML, would take gigabytes). Here the sheet's XML is parsed by lxml's ``iterparse`` as it
is inflated from the zip, one ``<row>`` at a time, each row dropped once read. Each cell gets the value
python-calamine 0.9.1 (calamine 0.36) gives it, so that the importer sees the same values from both readers
(``tests/injection/backlog/test_xlsx_stream.py`` checks that on many files):

- text: shared strings (rich-text runs joined, phonetic ``<rPh>`` runs left out, as Excel shows them), inline
  strings (rich too) and formula strings (``t="str"``), as ``str``. In shared and inline strings, as calamine
  reads them, spaces at the ends of a ``<t>`` without ``xml:space="preserve"`` are dropped (Excel writes it
  where they matter); in those and in formula strings, Excel's ``_x00HH_`` escapes are decoded;
- numbers as ``float``, whole or not (calamine gives no ``int`` for an .xlsx);
- numbers whose cell format (the style's ``numFmtId``) is a date or a time, by calamine's rule (built-in
  formats 14-22, 45 and 47; custom formats with d, m, y, h or s outside quotes and brackets: see
  :func:`format_kind`): a ``date`` when whole, a ``datetime`` otherwise, a ``time`` under 1, counted in the
  workbook's 1900 or 1904 system; like calamine, serial 60 (Excel's fake 29/02/1900) reads as 28/02/1900.
  Duration formats (``[h]:mm``) give a ``timedelta``; a serial out of ``date``'s range stays a ``float``;
- ``t="d"`` cells (ISO 8601 text) as ``date``, ``datetime`` or ``time``; booleans as ``bool``;
- formulas: the value Excel cached (never evaluated), ``""`` when none was (unless the formula is a bare number,
  ``=5``, read as that number); error cells (``#N/A``...) ``""``;
- empty cells ``""``.

:meth:`Workbook.rows` yields ``(row_number, values)``: the number as the spreadsheet shows it (the row's
``r``, else one more than the row before), ``values`` from column A (placed by each cell's ``r``, ``""`` in
the gaps), without trailing empty cells; rows with no value are skipped. Unlike calamine, a cell calamine
refuses the whole file for (an unknown error code, a ``t="n"`` cell holding text) or cannot convert (a duration
past ``timedelta``, a date before year 1) is read leniently (``""``, the text, the number), and rows and cells
are taken in document order (the order the format requires; calamine would sort a file that breaks it).

Safety: every part is parsed without entity resolution, DTD loading or network access, and a part that
declares a DTD (the only way to an entity-expansion bomb) is refused before parsing (:class:`UnsafeXml`);
text nodes are limited as libxml2 limits them without ``huge_tree`` (a cell holds 32 767 characters at most).
"""
import array
import codecs
import math
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from lxml import etree

MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",  # transitional: what Excel writes
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # strict OOXML
)
RELATIONSHIP_NAMESPACES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
ROW_TAGS = tuple(f"{{{namespace}}}row" for namespace in MAIN_NAMESPACES) + ("row",)
SHARED_STRING_TAGS = tuple(f"{{{namespace}}}si" for namespace in MAIN_NAMESPACES) + ("si",)
# Parser settings for every part: no entities, no DTD, no network; comments and processing instructions dropped.
PARSER_OPTIONS = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False,
                  "remove_comments": True, "remove_pis": True, "collect_ids": False}
PROLOG_BYTES = 64 * 1024  # the declaration, comments and a DOCTYPE (refused) come before the root element
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384

# Shared strings: a plain list of str costs 60-110 bytes a string besides its characters (3 million strings:
# over 250 MB); past this size of sharedStrings.xml they are kept packed instead: the strings joined in chunks
# of 2**STRING_CHUNK_BITS strings, with each one's start and end in its chunk (8 bytes a string).
PACKED_STRINGS_ABOVE = 16 * 1024 * 1024
STRING_CHUNK_BITS = 16
DATE_CACHE_SIZE = 1 << 16  # serial → date, for the few thousand distinct days of a file's date columns
SCAN_CHUNK = 1024 * 1024

# Cell format kinds (calamine's CellFormat)
OTHER, DATETIME, TIMEDELTA = 0, 1, 2
BUILTIN_FORMATS = {"14": DATETIME, "15": DATETIME, "16": DATETIME, "17": DATETIME, "18": DATETIME, "19": DATETIME,
                   "20": DATETIME, "21": DATETIME, "22": DATETIME, "45": DATETIME, "46": TIMEDELTA, "47": DATETIME}

# Dates, as calamine computes them: days (and their fraction) since 1899-12-30, in milliseconds rounded half
# away from zero; serials under 60 (before the fake 29/02/1900) one day later; the 1904 system 1462 days on.
EPOCH = date(1899, 12, 30)
EPOCH_ORDINAL = EPOCH.toordinal()
DAY_MS = 86_400_000
EPOCH_1904_OFFSET = 1462.0
MAX_ORDINAL = date.max.toordinal()
CHRONO_MIN_DAYS = -96_439_723  # chrono's earliest date (year -262143), in days from EPOCH: a time needs no more
I64_MAX = 2 ** 63 - 1

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
XML_SPACES = " \t\r\n"
_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2})_")
_DIGITS = "0123456789"
_ISO_DATE = re.compile(r"\s*\+?(\d{4})-(\d{1,2})-(\d{1,2})\s*")
_ISO_DATETIME = re.compile(r"\s*\+?(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?\s*")
_ISO_TIME = re.compile(r"\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?\s*")
# For the pass over the raw XML that finds merged cells and the last row (see Workbook.scan)
_NAME = rb"(?:[A-Za-z_][\w.-]*:)?"
_SHEET_DATA_END = re.compile(rb"</" + _NAME + rb"sheetData\s*>|<" + _NAME + rb"sheetData\b[^>]*/>")
_MERGE_CELL = re.compile(rb"<" + _NAME + rb"mergeCell\b[^>]*?\bref\s*=\s*[\"']\s*([A-Za-z]{1,3})([0-9]+)"
                         rb"(?::([A-Za-z]{1,3})([0-9]+))?\s*[\"']")
_ROW_NUMBER = re.compile(rb"<" + _NAME + rb"row\b[^>]*?\sr\s*=\s*[\"']([0-9]+)[\"']")
_DIMENSION = re.compile(rb"<" + _NAME + rb"dimension\b[^>]*?\bref\s*=\s*[\"']([A-Za-z]+)([0-9]+)"
                        rb"(?::([A-Za-z]+)([0-9]+))?[\"']")


class XlsxStreamError(Exception):
    """The file cannot be read."""


class DamagedXlsx(XlsxStreamError):
    """Broken zip, broken XML, a cell pointing to no shared string..."""


class UnsafeXml(XlsxStreamError):
    """A part declares a DTD: entity expansion ("billion laughs") or external entities."""


class SheetTooBig(XlsxStreamError):
    def __init__(self, rows, columns):
        super().__init__(f"sheet of {rows} rows × {columns} columns")
        self.rows, self.columns = rows, columns


@dataclass(frozen=True)
class SheetPart:
    name: str
    state: str  # visible, hidden or veryHidden
    path: str  # the zip member
    worksheet: bool  # not a chart sheet, dialog sheet or macro sheet


@dataclass
class SheetScan:
    """What the sheet's XML says besides its cells, from one pass over its bytes (:meth:`Workbook.scan`)."""

    merged: list = field(default_factory=list)  # ((first_row, first_column), (last_row, last_column)), 0-based
    last_row: int | None = None  # the last row's number, when its <row> says it
    dimension: tuple | None = None  # the declared ((first_row, first_column), (last_row, last_column)), 0-based


# --- Number formats ------------------------------------------------------------------------------------------

def format_kind(code):
    """:data:`DATETIME`, :data:`TIMEDELTA` or :data:`OTHER` for a custom number format: calamine's rule
    (``detect_custom_number_format``) letter for letter. Only the first section (up to ``;``) counts; quoted
    text, escaped (``\\``), skipped (``_``) and fill (``*``) characters and ``[...]`` (colours, conditions,
    locales) are not format codes, except elapsed time ``[h]``, ``[mm]``, ``[ss]`` (a duration)."""
    escaped = in_quote = am_pm = hms = False
    brackets, previous = 0, " "
    for char in code:
        if escaped:
            escaped = False
        elif char in "_\\*":
            escaped = True
        elif in_quote:
            if char == '"':
                in_quote = False
        elif char == '"':
            in_quote = True
        elif char == ";":
            return OTHER
        elif char == "[":
            brackets = (brackets + 1) & 0xFF
        elif char == "]" and brackets == 1 and hms:
            return TIMEDELTA
        elif char == "]":
            brackets = max(brackets - 1, 0)
        elif char in "aA" and not am_pm and not brackets:
            am_pm = True
        elif char in "pm/PM" and am_pm and not brackets:
            return DATETIME
        elif char in "dmhysDMHYS" and not am_pm and not brackets:
            return DATETIME
        elif not (hms and _same_letter(char, previous)):
            hms = previous == "[" and char in "mhsMHS"
        previous = char
    return OTHER


def _same_letter(char, other):
    return char == other or (char.isascii() and other.isascii() and char.lower() == other.lower())


# --- Cell values ---------------------------------------------------------------------------------------------

def excel_value(serial, kind, epoch_1904=False):
    """The value python-calamine gives for a number cell in a format of ``kind``."""
    if kind == DATETIME:
        return excel_datetime(serial, epoch_1904)
    if kind == TIMEDELTA:
        return excel_duration(serial)
    return serial


def excel_datetime(serial, epoch_1904=False):
    """``time`` under 1, ``date`` when whole, else ``datetime``; the ``float`` when out of range."""
    days = serial + EPOCH_1904_OFFSET if epoch_1904 else serial
    if not days >= 60.0:
        days += 1.0  # before Excel's fake 29/02/1900
    milliseconds = _round_to_i64(days * DAY_MS)
    day, millisecond = divmod(milliseconds, DAY_MS)
    if serial < 1.0:
        return serial if day < CHRONO_MIN_DAYS else _time_of_day(millisecond)
    ordinal = EPOCH_ORDINAL + day
    if not 1 <= ordinal <= MAX_ORDINAL:
        return serial
    if serial == serial // 1 and serial < 2.0 ** 64:
        return date.fromordinal(ordinal)
    return datetime.combine(date.fromordinal(ordinal), _time_of_day(millisecond))


def excel_duration(serial):
    try:
        return timedelta(milliseconds=_round_to_i64(serial * DAY_MS))
    except OverflowError:
        return serial


def _round_to_i64(number):
    """Rust's ``number.round() as i64``: half away from zero, saturating, NaN to 0."""
    if number != number:
        return 0
    if number >= 2.0 ** 63:
        return I64_MAX
    if number <= -(2.0 ** 63):
        return -I64_MAX - 1
    whole = math.floor(number)
    if number - whole > 0.5 or (number - whole == 0.5 and number > 0):
        whole += 1
    return int(whole)


def _time_of_day(millisecond):
    seconds, millisecond = divmod(millisecond, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, millisecond * 1000)


def rust_float(text):
    """``text`` as Rust's ``f64::from_str`` reads it (no spaces, no ``_``, ASCII digits only), else None."""
    if not text or not text.isascii() or "_" in text or text[0] <= " " or text[-1] <= " ":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def iso_value(text):
    """A ``t="d"`` cell: ISO 8601 date, date and time, or time (as chrono reads them); else the text."""
    try:
        if "T" in text:
            match = _ISO_DATETIME.fullmatch(text)
            if match:
                year, month, day, hour, minute, second, fraction = match.groups()
                return datetime(int(year), int(month), int(day), int(hour), int(minute), min(int(second), 59),
                                int((fraction or "0")[:6].ljust(6, "0")))
        elif ":" in text:
            match = _ISO_TIME.fullmatch(text)
            if match:
                hour, minute, second, fraction = match.groups()
                return time(int(hour), int(minute), min(int(second or 0), 59),
                            int((fraction or "0")[:6].ljust(6, "0")))
        else:
            match = _ISO_DATE.fullmatch(text)
            if match:
                return date(*map(int, match.groups()))
    except ValueError:
        pass
    return text


def unescape(text):
    """Excel's ``_x00HH_`` escapes (control characters, and ``_x005F_`` for ``_``), as calamine decodes them."""
    return _ESCAPE.sub(lambda match: chr(int(match[1], 16)), text)


def _local(tag):
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def rich_text(element):
    """The text of an ``<si>`` or ``<is>``: its ``<t>`` and its runs' ``<t>`` in order, without ``<rPh>``."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(t_text(child, child.text))
        elif name == "r":
            parts.extend(t_text(grandchild, grandchild.text) for grandchild in child if _local(grandchild.tag) == "t")
    text = "".join(parts)
    return unescape(text) if "_x" in text else text


def t_text(element, text):
    """A ``<t>``'s text as calamine reads it: XML spaces at either end dropped unless ``xml:space="preserve"``
    (Excel writes it where they matter); ``_x00HH_`` escapes are decoded after."""
    if not text:
        return ""
    if (text[0] in XML_SPACES or text[-1] in XML_SPACES) and element.get(XML_SPACE) != "preserve":
        return text.strip(XML_SPACES)
    return text


def column_letters(index):
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_index(letters):
    """A → 0 (either case); None unless 1 to 3 letters."""
    if not 1 <= len(letters) <= 3 or not letters.isascii() or not letters.isalpha():
        return None
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number - 1


def _cell_position(ref):
    """``"B12"`` → (11, 1), 0-based; None when it is no cell reference."""
    letters = ref.rstrip(_DIGITS)
    column = column_index(letters)
    digits = ref[len(letters):]
    if column is None or not digits or not digits.isascii() or int(digits) < 1:
        return None
    return int(digits) - 1, column


# --- The workbook --------------------------------------------------------------------------------------------

class Workbook:
    """An .xlsx opened for streaming: its sheets (in the workbook's order), its 1900/1904 date system; the
    shared strings and cell formats are read on the first call of :meth:`rows`."""

    def __init__(self, path):
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise DamagedXlsx(str(error)) from None
        self._members = {}
        for info in self._zip.infolist():
            self._members.setdefault(info.filename.lower(), info)
        self._strings = None
        self._kinds = None
        try:
            self._read_workbook()
        except Exception:
            self._zip.close()
            raise

    def close(self):
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    # The package: where each part is

    def _read_workbook(self):
        office = self._related("", "officeDocument") or ["xl/workbook.xml"]
        workbook_path = office[0]
        relations = self._relationships(workbook_path)
        root = self._parse(workbook_path)
        if root is None:
            raise DamagedXlsx("no workbook part")
        self.epoch_1904 = False
        self.sheets = []
        sheets = [element for section in root if _local(section.tag) == "sheets" for element in section]
        for element in [*root, *sheets]:
            name = _local(element.tag)
            if name == "workbookPr":
                self.epoch_1904 = element.get("date1904") in ("1", "true")
            elif name == "sheet" and element in sheets:
                target = None
                for namespace in RELATIONSHIP_NAMESPACES:
                    target = target or relations.get(element.get(f"{{{namespace}}}id"))
                if target is None:
                    continue
                kind, path = target
                if self._member(path) is None:
                    continue
                self.sheets.append(SheetPart(element.get("name", ""), element.get("state", "visible"), path,
                                             kind == "worksheet"))
        strings = [path for kind, path in relations.values() if kind == "sharedStrings"]
        styles = [path for kind, path in relations.values() if kind == "styles"]
        self._strings_path = strings[0] if strings else "xl/sharedStrings.xml"
        self._styles_path = styles[0] if styles else "xl/styles.xml"

    def _relationships(self, part):
        """{id: (type's last word, target part)} of a part's .rels."""
        folder, name = posixpath.split(part)
        root = self._parse(posixpath.join(folder, "_rels", name + ".rels"))
        relations = {}
        for element in () if root is None else root.iter():
            if _local(element.tag) != "Relationship" or element.get("TargetMode") == "External":
                continue
            target = element.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            relations[element.get("Id")] = (element.get("Type", "").rpartition("/")[2], posixpath.normpath(path))
        return relations

    def _related(self, part, kind):
        return [path for relation, path in self._relationships(part).values() if relation == kind]

    def _member(self, path):
        return self._members.get(path.lower())

    def _open(self, path):
        """The part's bytes as a stream, after a look at its prolog: no DTD."""
        member = self._member(path)
        if member is None:
            return None
        try:
            with self._zip.open(member) as stream:
                check_prolog(stream.read(PROLOG_BYTES))
            return self._zip.open(member)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DamagedXlsx(str(error)) from None

    def _parse(self, path):
        """A small part (workbook, relationships, styles) as a tree; None if the part is missing."""
        stream = self._open(path)
        if stream is None:
            return None
        try:
            with stream:
                return etree.parse(stream, etree.XMLParser(**PARSER_OPTIONS)).getroot()
        except (etree.XMLSyntaxError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DamagedXlsx(str(error)) from None

    # Cell formats and shared strings

    def style_kinds(self):
        """{the ``s`` attribute as written: format kind}, for every cell style; ``None`` (no ``s``) → OTHER."""
        if self._kinds is None:
            self._kinds = {None: OTHER}
            self._kind_list = kinds = []
            root = self._parse(self._styles_path)
            custom = {}
            for section in () if root is None else root:
                name = _local(section.tag)
                if name == "numFmts":
                    for number_format in section:
                        if _local(number_format.tag) == "numFmt" and number_format.get("formatCode"):
                            custom[number_format.get("numFmtId", "")] = number_format.get("formatCode")
                elif name == "cellXfs":
                    for xf in section:
                        if _local(xf.tag) != "xf":
                            continue
                        format_id = xf.get("numFmtId")
                        if format_id is None:
                            kinds.append(OTHER)
                        elif format_id in custom:
                            kinds.append(format_kind(custom[format_id]))
                        else:
                            kinds.append(BUILTIN_FORMATS.get(format_id, OTHER))
            self._kinds.update((str(index), kind) for index, kind in enumerate(kinds))
        return self._kinds

    def _style_kind(self, style):
        """The kind of a cell's ``s`` however written (calamine: an unreadable index is 0)."""
        kinds = self.style_kinds()
        if style in kinds:
            return kinds[style]
        index = int(style) if style.isascii() and style.isdigit() and len(style) < 20 else 0
        return self._kind_list[index] if index < len(self._kind_list) else OTHER

    def shared_strings(self):
        """The shared strings: a list, or when many (see :data:`PACKED_STRINGS_ABOVE`) a packed table
        ``(chunks, starts, ends)``; string i is ``chunks[i >> 16][starts[i]:ends[i]]``."""
        if self._strings is None:
            self._strings = self._read_shared_strings()
        return self._strings

    def _read_shared_strings(self):
        member = self._member(self._strings_path)
        stream = self._open(self._strings_path) if member is not None else None
        if stream is None:
            return []
        packed = member.file_size > PACKED_STRINGS_ABOVE
        strings, chunks, pieces, starts, ends, offset = [], [], [], array.array("I"), array.array("I"), 0
        chunk_size = 1 << STRING_CHUNK_BITS
        try:
            with stream:
                context = etree.iterparse(stream, events=("end",), tag=SHARED_STRING_TAGS, **PARSER_OPTIONS)
                for count, (_event, si) in enumerate(context, start=1):
                    try:
                        first = si[0]
                        text = first.text  # <si><t>text</t></si>, unless it holds runs (<r>, whose text is None)
                    except IndexError:
                        text = first = None
                    if text is None or si.text is not None or si[-1] is not first:
                        text = rich_text(si)  # empty, runs, phonetic runs, or pretty-printed
                    else:
                        if text.strip(XML_SPACES) is not text:  # spaces at an end
                            text = t_text(first, text)
                        if "_x" in text:
                            text = unescape(text)
                    if count & 1023 == 0:  # drop the strings read; later ones may be parsed already
                        parent = si.getparent()
                        del parent[:parent.index(si) + 1]
                    if not packed:
                        strings.append(text)
                        continue
                    pieces.append(text)
                    starts.append(offset)
                    offset += len(text)
                    ends.append(offset)
                    if len(pieces) == chunk_size:
                        chunks.append("".join(pieces))
                        pieces, offset = [], 0
        except (etree.XMLSyntaxError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DamagedXlsx(str(error)) from None
        if not packed:
            return strings
        chunks.append("".join(pieces))
        return chunks, starts, ends

    # The sheet

    def scan(self, sheet):
        """Merged cells, the last row's number and the declared dimension, from one pass over the sheet's raw
        XML (an inflate and a byte search: about 1.5 s a GB). Merged cells are listed after the rows, so this
        is how to know them before the rows are read."""
        scan = SheetScan()
        merged, previous, rows_over = set(), b"", False
        stream = self._open(sheet.path)
        if stream is None:
            return scan
        try:
            with stream:
                while chunk := stream.read(SCAN_CHUNK):
                    window = previous[-4096:] + chunk
                    if scan.dimension is None and not previous:
                        found = _DIMENSION.search(window)
                        if found:
                            scan.dimension = _range(*found.groups())
                    if not rows_over and b"sheetData" in window:
                        end = _SHEET_DATA_END.search(window)
                        if end:
                            rows_over = True
                            before = (previous + chunk)[:len(previous) - len(previous[-4096:]) + end.start()]
                            numbers = _ROW_NUMBER.findall(before)
                            scan.last_row = int(numbers[-1]) if numbers else None
                            window = window[end.end():]
                    if rows_over and b"mergeCell" in window:
                        merged.update(_MERGE_CELL.findall(window))
                    previous = chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DamagedXlsx(str(error)) from None
        scan.merged = sorted(filter(None, (_range(*groups) for groups in merged)))
        return scan

    def rows(self, sheet, max_columns=EXCEL_MAX_COLUMNS, max_rows=EXCEL_MAX_ROWS):
        """``(row_number, values)`` for each row holding a value (see the module's doc). A cell past
        ``max_columns`` or a row past ``max_rows`` raises :class:`SheetTooBig`."""
        strings = self.shared_strings()
        if isinstance(strings, list):
            flat, chunks, starts, ends = strings, None, None, None
        else:
            flat, (chunks, starts, ends) = None, strings
        kinds = self.style_kinds()
        dates = {}
        date_of = self._date_of
        cell_value = self._cell_value
        strip = str.strip
        letters = [column_letters(index) for index in range(max_columns)]
        stream = self._open(sheet.path)
        if stream is None:
            return
        number, count = 0, 0
        try:
            context = etree.iterparse(stream, events=("end",), tag=ROW_TAGS, **PARSER_OPTIONS)
            for _event, row in context:
                r = row.get("r")
                if r is None:
                    number += 1
                    r = ""  # no cell reference ends so: the cells are placed by _place
                else:
                    try:
                        number = int(r)
                    except ValueError:
                        raise DamagedXlsx(f"row number {r!r}") from None
                if number > max_rows:
                    raise SheetTooBig(number, 0)
                values = None
                if row.text is None:  # else pretty-printed XML: whitespace between elements, read the slow way
                    try:
                        values = []
                        append = values.append
                        for c in row:
                            t = c.get("t")
                            if t == "s":
                                index = int(c[-1].text)
                                append(flat[index] if chunks is None
                                       else chunks[index >> STRING_CHUNK_BITS][starts[index]:ends[index]])
                            elif t == "inlineStr":
                                inline = c[-1]
                                first = inline[0]
                                text = first.text
                                if text is None or len(inline) != 1:  # empty, rich text runs, phonetic runs
                                    text = cell_value(c)
                                else:
                                    if strip(text, XML_SPACES) is not text:  # spaces at an end
                                        text = t_text(first, text)
                                    if "_x" in text:
                                        text = unescape(text)
                                append(text)
                            elif t is None or t == "n":
                                if not len(c):
                                    append("")  # a blank cell with a style
                                    continue
                                text = c[-1].text
                                kind = kinds.get(c.get("s"))
                                if kind == OTHER:
                                    serial = float(text)
                                    if "_" in text or text[0] <= " " or text[-1] <= " " or not text.isascii():
                                        serial = cell_value(c)
                                    append(serial)
                                elif kind == DATETIME:
                                    value = dates.get(text)
                                    append(value if value is not None else date_of(text, dates))
                                else:
                                    append(cell_value(c))
                            else:
                                append(cell_value(c))
                        # Cells come in column order: when the last is in column len(values), they fill A to it.
                        if values and c.get("r") != letters[len(values) - 1] + r:
                            values = self._place(row, values, number, max_columns)
                    except (IndexError, ValueError, TypeError, KeyError, AttributeError):
                        values = None
                if values is None:
                    values = self._slow_row(row, number, max_columns)
                while values and values[-1] == "":
                    values.pop()
                row.clear()  # its cells freed while in the CPU's cache: 200 000 rows read in 6.1–7.0 → 5.7–5.9 s CPU
                count += 1
                if count & 255 == 0:  # drop the rows read; later ones may be parsed already
                    parent = row.getparent()
                    del parent[:parent.index(row) + 1]
                if values:
                    yield number, values
        except etree.XMLSyntaxError as error:
            raise DamagedXlsx(str(error)) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DamagedXlsx(str(error)) from None
        finally:
            stream.close()

    def _date_of(self, text, cache):
        """A number cell in a date format (the cache missed)."""
        serial = rust_float(text) if text else None
        if serial is None:
            return text or ""
        value = excel_datetime(serial, self.epoch_1904)
        if len(cache) < DATE_CACHE_SIZE and type(value) is date:
            cache[text] = value
        return value

    def _slow_row(self, row, number, max_columns):
        """A row the fast path did not take (sparse, formulas without value, rich text...): calamine's reading,
        cell by cell."""
        placed, column = {}, 0
        for c in row:
            if _local(c.tag) != "c":
                continue
            column = self._column_of(c, column, number, max_columns)
            placed[column] = self._cell_value(c)
            column += 1
        values = [""] * (max(placed) + 1 if placed else 0)
        for column, value in placed.items():
            values[column] = value
        return values

    def _place(self, row, values, number, max_columns):
        """Values read in document order, moved to the columns their cells name."""
        placed, column = {}, 0
        for c, value in zip(row, values, strict=True):
            if _local(c.tag) != "c":
                continue
            column = self._column_of(c, column, number, max_columns)
            placed[column] = value
            column += 1
        out = [""] * (max(placed) + 1 if placed else 0)
        for column, value in placed.items():
            out[column] = value
        return out

    @staticmethod
    def _column_of(c, column, number, max_columns):
        ref = c.get("r")
        if ref is not None:
            position = _cell_position(ref)
            if position is None:
                raise DamagedXlsx(f"cell reference {ref!r}")
            column = position[1]
        if column >= max_columns:
            raise SheetTooBig(number, column + 1)
        return column

    def _cell_value(self, c):
        """One cell as calamine reads it: the last of its ``<v>``, ``<is>`` and ``<f>`` decides."""
        value = ""
        for child in c:
            name = _local(child.tag)
            if name == "v":
                value = self._v_value(child.text or "", c.get("t"), c.get("s"))
            elif name == "is":
                value = rich_text(child)
            elif name == "f":
                value = ""
        return value

    def _v_value(self, text, t, style):
        if t == "s":
            strings = self.shared_strings()
            try:
                index = int(text)
            except ValueError:
                raise DamagedXlsx(f"shared string index {text!r}") from None
            count = len(strings) if isinstance(strings, list) else len(strings[1])
            if not 0 <= index < count:
                raise DamagedXlsx(f"shared string {index} of {count}")
            if isinstance(strings, list):
                return strings[index]
            chunks, starts, ends = strings
            return chunks[index >> STRING_CHUNK_BITS][starts[index]:ends[index]]
        if t == "str":
            return unescape(text) if "_x" in text else text
        if t == "b":
            return text != "0" if text else ""
        if t in ("e", "inlineStr"):
            return ""
        if t == "d":
            return iso_value(text)
        serial = rust_float(text)
        if serial is None:
            return text  # calamine: text for a cell without type; for t="n", it refuses the file
        kind = OTHER if style is None else self._style_kind(style)
        return excel_value(serial, kind, self.epoch_1904)


def _range(first_letters, first_digits, last_letters, last_digits):
    def position(letters, digits):
        column = column_index(letters.decode("ascii"))
        return None if column is None or int(digits) < 1 else (int(digits) - 1, column)
    start = position(first_letters, first_digits)
    end = position(last_letters, last_digits) if last_letters else start
    return None if start is None or end is None else (start, end)


def check_prolog(head):
    """Refuse a part whose prolog (before the root element) declares a DTD: entity expansion and external
    entities need one, and no spreadsheet part has any."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", "ignore")
    else:
        text = head.decode("utf-8", "ignore")
    text = text.lstrip("\ufeff")
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if text.startswith("<?", position):
            closing = "?>"
        elif text.startswith("<!--", position):
            closing = "-->"
        else:
            break
        end = text.find(closing, position)
        if end < 0:
            raise UnsafeXml(f"a prolog longer than {len(head)} bytes")
        position = end + len(closing)
    if text.startswith("<!", position):
        raise UnsafeXml("a DTD")
