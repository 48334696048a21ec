"""Opening import files: real spreadsheets read row by row, everything else refused with a clear message
before it is parsed. Every test runs with both xlsx readers: python-calamine (sheets up to
CALAMINE_MAX_XML_BYTES of XML) and the streaming one (bigger sheets)."""
import time
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from modules.injection.backlog import reader
from modules.injection.backlog.reader import FileRefused, open_sheet

HEADERS = ["Họ và tên", "Giới tính", "Ngày sinh", "Số CCCD/CMND"]


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


@pytest.fixture(autouse=True, params=["calamine", "xlsx_stream"])
def xlsx_reader(request, monkeypatch):
    """The reader xlsx sheets go to: calamine, or the streaming one for every sheet (threshold 0)."""
    if request.param == "xlsx_stream":
        monkeypatch.setattr(reader, "CALAMINE_MAX_XML_BYTES", 0)
    return request.param


def workbook_file(path, sheets):
    """``sheets``: (title, rows, state) in order."""
    book = Workbook()
    book.remove(book.active)
    for title, rows, state in sheets:
        sheet = book.create_sheet(title)
        sheet.sheet_state = state
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def refused(path, code, name=None):
    with pytest.raises(FileRefused) as caught:
        sheet = open_sheet(path, name)
        list(sheet.rows)
    assert caught.value.code == code and caught.value.field == "file"
    return caught.value.message


def test_an_xlsx_is_read_row_by_row_with_spreadsheet_row_numbers(tmp_path, xlsx_reader):
    path = workbook_file(tmp_path / "ok.xlsx", [("Mẫu nhập", [HEADERS, ["Lê Thị Hoa", "Nữ", date(1990, 3, 15),
                                                                         "001190012345"], [], ["An", "Nam"]],
                                                 "visible")])
    sheet = open_sheet(path)
    assert (sheet.name, sheet.headers, sheet.header_row, sheet.reader) == ("Mẫu nhập", HEADERS, 1, xlsx_reader)
    assert sheet.row_count == 3
    rows = list(sheet.rows)
    assert [number for number, _values in rows] == [2, 4]  # the empty row 3 is skipped, numbers stay true
    assert rows[0][1][:4] == ["Lê Thị Hoa", "Nữ", date(1990, 3, 15), "001190012345"]


def test_a_table_that_starts_below_and_right_of_a1_keeps_its_row_numbers_and_columns(tmp_path):
    book = Workbook()
    book.active["C3"] = "DANH SÁCH TIÊM CHỦNG"
    for number, values in ((5, HEADERS), (6, ["Lê Thị Hoa", "Nữ", date(1990, 3, 15)]), (8, ["Trần Văn An"])):
        for column, value in enumerate(values, start=3):
            book.active.cell(row=number, column=column, value=value)
    book.save(tmp_path / "offset.xlsx")
    sheet = open_sheet(tmp_path / "offset.xlsx")
    assert (sheet.headers, sheet.header_row, sheet.row_count) == (["", "", *HEADERS], 5, 3)
    assert list(sheet.rows) == [(6, ["", "", "Lê Thị Hoa", "Nữ", date(1990, 3, 15)]), (8, ["", "", "Trần Văn An"])]


def test_hidden_and_empty_first_sheets_are_passed_over_and_title_rows_skipped(tmp_path):
    path = workbook_file(tmp_path / "ok.xlsx", [
        ("Ẩn", [HEADERS, ["X", "Nam"]], "hidden"),
        ("Trống", [], "visible"),
        ("Dữ liệu", [["DANH SÁCH TIÊM CHỦNG"], [], HEADERS, ["Lê Thị Hoa", "Nữ"]], "visible"),
    ])
    sheet = open_sheet(path)
    assert (sheet.name, sheet.headers, sheet.header_row) == ("Dữ liệu", HEADERS, 3)  # under the title rows
    assert [(number, values[:2]) for number, values in sheet.rows] == [(4, ["Lê Thị Hoa", "Nữ"])]


def test_without_a_recognisable_header_row_the_first_row_is_the_header(tmp_path):
    path = workbook_file(tmp_path / "ok.xlsx", [("S", [["DANH SÁCH"], ["Tên", "Tuổi"], ["Hoa", 30]], "visible")])
    sheet = open_sheet(path)
    assert (sheet.headers, sheet.header_row) == (["DANH SÁCH"], 1)  # the importer then names the missing columns


def test_sheets_past_the_threshold_are_streamed_with_the_values_calamine_gives(tmp_path, monkeypatch):
    path = workbook_file(tmp_path / "big.xlsx", [("S", [HEADERS, ["Lê Thị Hoa", "Nữ", date(1990, 3, 15),
                                                                  79090004217, True, datetime(2021, 7, 2, 8, 30)]],
                                                   "visible")])
    read = {}
    for threshold in (10 ** 9, 10):
        monkeypatch.setattr(reader, "CALAMINE_MAX_XML_BYTES", threshold)
        sheet = open_sheet(path)
        read[sheet.reader] = (sheet.headers, sheet.header_row, sheet.row_count, sheet.epoch_1904, list(sheet.rows))
    assert read["xlsx_stream"] == read["calamine"]
    assert read["calamine"][4] == [(2, ["Lê Thị Hoa", "Nữ", date(1990, 3, 15), 79090004217.0, True,
                                        datetime(2021, 7, 2, 8, 30)])]


def test_the_1904_date_system_is_reported(tmp_path):
    book = Workbook()
    book.epoch = CALENDAR_MAC_1904
    book.active.append(HEADERS)
    book.active.append(["Lê Thị Hoa", "Nữ", date(1990, 3, 15)])
    book.save(tmp_path / "mac.xlsx")
    sheet = open_sheet(tmp_path / "mac.xlsx")
    assert sheet.epoch_1904 and list(sheet.rows)[0][1][2] == date(1990, 3, 15)


def test_merged_header_cells_are_refused(tmp_path):
    book = Workbook()
    book.active.append(["Mũi 1", None, None, None])
    book.active.merge_cells("A1:D1")
    book.save(tmp_path / "merged.xlsx")
    assert "merged" in refused(tmp_path / "merged.xlsx", "merged_header")


def test_a_sheet_ten_thousand_columns_wide_is_refused_before_parsing(tmp_path):
    book = Workbook()
    book.active.append(HEADERS)
    book.active.cell(row=2, column=10_000, value="x")
    book.save(tmp_path / "wide.xlsx")
    message = refused(tmp_path / "wide.xlsx", "sheet_too_big")
    assert "10000" in message.replace(" ", "").replace(".", "").replace(",", "")


def test_merged_header_cells_under_a_title_are_refused(tmp_path):
    book = Workbook()
    book.active.append(["DANH SÁCH"])
    book.active.append([*HEADERS, "Mũi 1", None])
    book.active.merge_cells("E2:F2")
    book.active.append(["Lê Thị Hoa", "Nữ", None, None, "x", "y"])
    book.save(tmp_path / "merged.xlsx")
    assert "merged" in refused(tmp_path / "merged.xlsx", "merged_header")


def test_a_merged_title_above_the_header_is_fine(tmp_path):
    book = Workbook()
    book.active.append(["DANH SÁCH TIÊM CHỦNG"])
    book.active.merge_cells("A1:D1")
    book.active.append(HEADERS)
    book.active.append(["Lê Thị Hoa", "Nữ"])
    book.save(tmp_path / "title.xlsx")
    sheet = open_sheet(tmp_path / "title.xlsx")
    assert (sheet.header_row, list(sheet.rows)) == (2, [(3, ["Lê Thị Hoa", "Nữ"])])


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 30_000_000)
    refused(path, "file_too_big")


@pytest.mark.parametrize("name, content, code", [
    ("scan.pdf", b"%PDF-1.7 whatever", "not_a_spreadsheet"),
    ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not_a_spreadsheet"),
    ("table.xlsx", "Họ và tên,Giới tính\n".encode(), "not_a_spreadsheet"),
    ("archive.xlsx", None, "not_a_spreadsheet"),
    ("empty.xlsx", b"", "empty_file"),
])
def test_files_that_are_not_spreadsheets_are_refused(tmp_path, name, content, code):
    path = tmp_path / name
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
    else:
        path.write_bytes(content)
    refused(path, code)


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
          + "]>")


def test_an_entity_expansion_bomb_is_refused_quickly(tmp_path, xlsx_reader):
    workbook_file(tmp_path / "ok.xlsx", [("S", [HEADERS, ["BOMB"]], "visible")])
    with zipfile.ZipFile(tmp_path / "ok.xlsx") as source, zipfile.ZipFile(tmp_path / "lol.xlsx", "w") as target:
        for member in source.namelist():
            content = source.read(member)
            if member == "xl/worksheets/sheet1.xml":
                content = LAUGHS.encode() + content.split(b"?>", 1)[-1].replace(b"BOMB", b"&lol9;")
            target.writestr(member, content)
    started = time.monotonic()
    # calamine does not know the entity (a damaged file); the stream refuses any DTD (a malicious file)
    refused(tmp_path / "lol.xlsx", "damaged_file" if xlsx_reader == "calamine" else "file_too_big")
    assert time.monotonic() - started < 2


def test_a_corrupted_zip_member_is_reported_as_damaged(tmp_path):
    path = workbook_file(tmp_path / "ok.xlsx", [("S", [HEADERS] + [["Lê Thị Hoa", "Nữ", index]
                                                                   for index in range(2000)], "visible")])
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("xl/worksheets/sheet1.xml")
    content[member.header_offset + 30 + len(member.filename.encode()) + len(member.extra) + 500] ^= 0x55
    (tmp_path / "bad.xlsx").write_bytes(bytes(content))
    refused(tmp_path / "bad.xlsx", "damaged_file")


def test_a_date_cell_calamine_cannot_convert_does_not_end_the_request(tmp_path, xlsx_reader):
    book = Workbook()
    book.active.append(HEADERS)
    book.active.append(["Lê Thị Hoa", "Nữ", -1e12, 1e10])
    book.active["C2"].number_format = "dd/mm/yyyy"  # Rust panics converting it
    book.active["D2"].number_format = "[h]:mm"  # past Python's timedelta
    book.save(tmp_path / "far.xlsx")
    if xlsx_reader == "calamine":
        refused(tmp_path / "far.xlsx", "damaged_file")
    else:  # the stream keeps numbers it cannot convert
        assert list(open_sheet(tmp_path / "far.xlsx").rows) == [(2, ["Lê Thị Hoa", "Nữ", -1e12, 1e10])]


def test_a_truncated_xlsx_is_reported_as_damaged(tmp_path):
    whole = workbook_file(tmp_path / "whole.xlsx", [("S", [HEADERS] * 50, "visible")]).read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(whole[: len(whole) // 2])
    refused(tmp_path / "cut.xlsx", "damaged_file")


def test_an_xlsx_named_csv_says_what_it_really_is(tmp_path):
    workbook_file(tmp_path / "real.xlsx", [("S", [HEADERS], "visible")]).rename(tmp_path / "renamed.csv")
    assert ".xlsx" in refused(tmp_path / "renamed.csv", "wrong_extension")


def test_a_password_protected_office_file_is_named_as_such(tmp_path):
    # Office encrypts a protected workbook into an OLE2 container holding an "EncryptedPackage" stream.
    content = reader.OLE_MAGIC + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 64 + \
        "EncryptedPackage".encode("utf-16-le") + b"\0" * 1024
    (tmp_path / "locked.xlsx").write_bytes(content)
    # by content it is an OLE file named .xlsx: the password is what the user must hear about
    with pytest.raises(FileRefused) as caught:
        reader.ole_kind(tmp_path / "locked.xlsx", "locked.xlsx")
    assert caught.value.code == "password_protected"


@pytest.mark.parametrize("encoding, delimiter", [("utf-8", ","), ("utf-8-sig", ";"), ("utf-8-sig", "\t")])
def test_csv_in_utf8_with_or_without_bom_and_any_usual_separator(tmp_path, encoding, delimiter):
    lines = ["DANH SÁCH", delimiter.join(HEADERS), delimiter.join(["Lê Thị Hoa", "Nữ", "15/03/1990", "001190012345"]),
             "", delimiter.join(["Trần Văn An", "Nam", "01/01/1980", ""])]
    text = "\r\n".join(lines)
    (tmp_path / "list.csv").write_bytes(text.encode(encoding))
    sheet = open_sheet(tmp_path / "list.csv")
    assert (sheet.headers, sheet.header_row) == (HEADERS, 2)  # under a title line
    assert list(sheet.rows) == [(3, ["Lê Thị Hoa", "Nữ", "15/03/1990", "001190012345"]),
                                (5, ["Trần Văn An", "Nam", "01/01/1980", None])]


def test_csv_in_a_legacy_encoding_is_refused(tmp_path):
    # "Lê" and "Nữ" in Windows-1258 bytes (ê = 0xEA, ư = 0xFD with a combining tilde 0xDE)
    (tmp_path / "old.csv").write_bytes(b"Ho va ten,Gioi tinh\nL\xea Thi Hoa,N\xfd\xde\n")
    assert "UTF-8" in refused(tmp_path / "old.csv", "not_utf8")


def test_formula_cells_give_their_value_not_their_text(tmp_path):
    book = Workbook()
    book.active.append(HEADERS)
    book.active.append(["=CONCATENATE(\"Lê \",\"Hoa\")", "Nữ"])
    book.save(tmp_path / "formula.xlsx")
    (_number, values), = list(open_sheet(tmp_path / "formula.xlsx").rows)
    assert not str(values[0]).startswith("=")  # openpyxl stores no computed value: the cell reads empty


def ods_file(path, rows):
    """A minimal OpenDocument spreadsheet, as LibreOffice writes one (text and date cells)."""
    def cell(value):
        if isinstance(value, date):
            return (f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
                    f'<text:p>{value:%d/%m/%Y}</text:p></table:table-cell>')
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
    body = "".join("<table:table-row>" + "".join(cell(value) for value in row) + "</table:table-row>" for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="Mẫu nhập">{body}</table:table></office:spreadsheet>'
        '</office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def test_a_libreoffice_ods_file_is_read(tmp_path):
    sheet = open_sheet(ods_file(tmp_path / "so-tiem.ods", [HEADERS, ["Lê Thị Hoa", "Nữ", date(1990, 3, 15),
                                                                      "001190012345"]]))
    assert (sheet.name, sheet.headers) == ("Mẫu nhập", HEADERS)
    (number, values), = list(sheet.rows)
    assert number == 2 and values[:2] == ["Lê Thị Hoa", "Nữ"] and values[3] == "001190012345"
    assert values[2] in (date(1990, 3, 15), datetime(1990, 3, 15))
