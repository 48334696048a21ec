"""A corpus of malformed and malicious upload files, built in memory (nothing binary is committed).

Each entry is ``(file name, bytes)``: what a user, a broken export or an attacker could send to an upload
form. The spreadsheets start from a real workbook with the import template's headers and are then damaged
one way each; the bombs are built block by block so that a few MB of zip inflate to GBs without the test
ever holding or compressing GBs.
"""
import io
import struct
import zipfile
import zlib
from functools import cache

from openpyxl import Workbook

# The required columns of the import template (DESIGN.md §4), so that a file that can be read is imported.
HEADERS = ["Họ và tên", "Giới tính", "Ngày sinh", "Loại vắc xin mũi 1", "Ngày tiêm mũi 1", "Lô vắc xin mũi 1",
           "Mã cơ sở tiêm mũi 1"]
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
GB = 2**30
BOMB_BYTES = 2 * GB  # what the zip bombs inflate to
PASSWD_MARKER = "root:x:0:0"  # a line of /etc/passwd, which must never come back in a response

# Ten entities of ten: "&lol9;" is 10**9 "lol"s (3 GB) if a parser expands it.
LAUGHS = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
          + "]>\n")
XXE = ('<?xml version="1.0" encoding="UTF-8"?>\n'
       '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')


# --- Building blocks ------------------------------------------------------------------------------------

@cache
def workbook_bytes():
    """A valid import workbook: the headers and one person, the person's name a shared string (as Excel
    writes it; openpyxl writes inline strings only, so the parts are patched in)."""
    book = Workbook()
    book.active.append(HEADERS)
    stream = io.BytesIO()
    book.save(stream)
    person = ('<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="inlineStr"><is><t>Nữ</t></is></c>'
              '<c r="C2" t="inlineStr"><is><t>15/03/1990</t></is></c></row>')
    rels = member("xl/_rels/workbook.xml.rels", stream.getvalue()).replace(b"</Relationships>", (
        b'<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    types = member("[Content_Types].xml", stream.getvalue()).replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>'))
    strings = ('<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
               'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>Lê Thị Hoa</t></si></sst>').encode()
    return with_members({SHEET: sheet_with(header_row() + person), STRINGS: strings,
                         "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types}, stream.getvalue())


def with_members(changes, source=None):
    """The workbook with some members replaced (``{name: bytes}``) or added; ``None`` removes one."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source or workbook_bytes())) as original, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in original.namelist():
            if name not in changes:
                target.writestr(name, original.read(name))
        for name, content in changes.items():
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def member(name, source=None):
    with zipfile.ZipFile(io.BytesIO(source or workbook_bytes())) as archive:
        return archive.read(name)


def sheet_with(rows_xml, dimension=None):
    """A worksheet part holding ``rows_xml`` inside its sheetData."""
    head = f'<dimension ref="{dimension}"/>' if dimension else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main">{head}<sheetData>{rows_xml}</sheetData></worksheet>').encode()


def header_row():
    cells = "".join(f'<c r="{chr(65 + index)}1" t="inlineStr"><is><t>{text}</t></is></c>'
                    for index, text in enumerate(HEADERS))
    return f'<row r="1">{cells}</row>'


def raw_zip(entries):
    """A zip written by hand: ``entries`` are (name, deflated bytes, crc, declared size). Lets a member's
    directory entry say what the attacker wants, which zipfile will not write."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, data, crc, size in entries:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size,
                              len(encoded), 0) + encoded)
        out.write(data)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), size,
                                    len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(directory.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory.getvalue()),
                          start, 0))
    return out.getvalue()


def deflated(content):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(content) + compressor.flush()


@cache
def bomb_sheet(total=BOMB_BYTES):
    """(deflated bytes, crc of the whole, size, crc of the first 4 KB) of a worksheet inflating to ``total``
    bytes: one ~1 MB block of rows compressed once with a full flush (so it stands alone) and repeated."""
    head = sheet_with(header_row()).split(b"</sheetData>")[0]
    tail = b"</sheetData></worksheet>"
    chunk = b'<row><c t="inlineStr"><is><t>lol</t></is></c></row>' * 20_000
    repeats = (total - len(head) - len(tail)) // len(chunk)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)]
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = b"".join(parts + [block] * repeats + [compressor.compress(tail) + compressor.flush()])
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(chunk) * repeats + len(tail)
    first = (head + chunk)[:4096]
    return data, crc, size, zlib.crc32(first)


def bomb_workbook(lying):
    """The workbook with its sheet replaced by :func:`bomb_sheet`; ``lying``: the directory says the sheet is
    4 KB (with the CRC of its first 4 KB, so that a reader stopping there sees nothing wrong)."""
    data, crc, size, first_crc = bomb_sheet()
    entries = [(name, deflated(member(name)), zlib.crc32(member(name)), len(member(name)))
               for name in zipfile.ZipFile(io.BytesIO(workbook_bytes())).namelist() if name != SHEET]
    entries.append((SHEET, data, first_crc, 4096) if lying else (SHEET, data, crc, size))
    return raw_zip(entries)


# --- The corpus -----------------------------------------------------------------------------------------

def laughs_in(part_xml, placeholder):
    """``part_xml`` (bytes) with a billion-laughs DTD and ``placeholder`` replaced by ``&lol9;``."""
    body = part_xml.split(b"?>", 1)[-1].replace(placeholder.encode(), b"&lol9;")
    return LAUGHS.encode() + body


def xxe_in(part_xml, placeholder):
    body = part_xml.split(b"?>", 1)[-1].replace(placeholder.encode(), b"&xxe;")
    return XXE.encode() + body


def truncated():
    whole = with_members({SHEET: sheet_with(header_row() + "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Người {n}</t></is></c></row>' for n in range(2, 3000)))})
    return whole[:len(whole) // 2]


def far_cells(cell):
    return with_members({SHEET: sheet_with(header_row() + f'<row r="1048576"><c r="{cell}" t="inlineStr"><is>'
                                           f'<t>x</t></is></c></row>')})


def ods_repeated(columns, value="<text:p>x</text:p>", value_type=' office:value-type="string"'):
    """An OpenDocument sheet whose last row repeats a cell over ``columns`` columns and a million rows: with a
    value, a memory bomb (800 bytes took calamine 7.8 GB at 60 columns); empty, what LibreOffice writes after
    the data of any sheet."""
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="S"><table:table-row>'
               + "".join(f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
                         for text in HEADERS)
               + '</table:table-row><table:table-row table:number-rows-repeated="1048575">'
               f'<table:table-cell table:number-columns-repeated="{columns}"{value_type}>'
               f'{value}</table:table-cell></table:table-row></table:table></office:spreadsheet>'
               '</office:body></office:document-content>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
                         '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    return out.getvalue()


def not_a_workbook_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
NUL_CSV = "code,population\n01,1\x00000\nNgày\x00;4,5\n".encode()
INVALID_UTF8_CSV = b"code,population\n\xff\xfe\xfa\xc3\x28,12\n26/11/2026 08:00;\xc3\x28\n"

# name → (file name as uploaded, builder)
FILES = {
    "zip-bomb": ("bomb.xlsx", lambda: bomb_workbook(lying=False)),
    "zip-bomb-lying-directory": ("bomb-lying.xlsx", lambda: bomb_workbook(lying=True)),
    "billion-laughs-sheet": ("lol.xlsx", lambda: with_members({SHEET: laughs_in(member(SHEET), "15/03/1990")})),
    "billion-laughs-shared-strings": ("lol-strings.xlsx", lambda: with_members(
        {STRINGS: laughs_in(member(STRINGS), "Lê Thị Hoa")})),
    "external-entity-sheet": ("xxe.xlsx", lambda: with_members({SHEET: xxe_in(member(SHEET), "15/03/1990")})),
    "external-entity-shared-strings": ("xxe-strings.xlsx", lambda: with_members(
        {STRINGS: xxe_in(member(STRINGS), "Lê Thị Hoa")})),
    "external-entity-workbook": ("xxe-book.xlsx", lambda: with_members(
        {"xl/workbook.xml": XXE.encode() + member("xl/workbook.xml").replace(b'name="Sheet"', b'name="&xxe;"')})),
    "truncated-zip": ("cut.xlsx", truncated),
    "huge-dimension": ("huge.xlsx", lambda: with_members(
        {SHEET: sheet_with(header_row(), dimension="A1:XFD1048576")})),
    "cell-at-XFD1048576": ("far.xlsx", lambda: far_cells("XFD1048576")),
    "row-at-1048576": ("far-row.xlsx", lambda: far_cells("E1048576")),
    "ods-value-repeated-over-all-columns": ("repeated.ods", lambda: ods_repeated(16384)),
    "ods-value-repeated-over-60-columns": ("repeated-60.ods", lambda: ods_repeated(60)),
    "pdf-named-xlsx": ("scan.xlsx", lambda: PDF),
    "png-named-xlsx": ("photo.xlsx", lambda: PNG),
    "zip-not-a-workbook": ("archive.xlsx", not_a_workbook_zip),
    "empty": ("empty.xlsx", lambda: b""),
    "empty-csv": ("empty.csv", lambda: b""),
    "csv-with-nul-bytes": ("nul.csv", lambda: NUL_CSV),
    "csv-invalid-utf8": ("latin.csv", lambda: INVALID_UTF8_CSV),
    "csv-one-huge-line": ("long.csv", lambda: b"code,population\n" + b"9" * (8 * 2**20) + b",1\n"),
}


@cache
def content(name):
    return FILES[name][1]()
