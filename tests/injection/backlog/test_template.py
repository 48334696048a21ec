"""The backlog import's Excel files: the template (headers, formats, drop-downs, instructions, example), the
error file (values as typed, "Lỗi", bad cells), both read back with openpyxl and python-calamine, the
``vaxchain template injections`` command, and the list of the 54 ethnic groups."""
import io
import unicodedata
from datetime import date, datetime

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from core.db import db
from modules.injection.backlog import template
from modules.injection.backlog.columns import COLUMNS, ERROR_HEADER, match_headers
from modules.injection.backlog.ethnicities import ETHNICITIES_FILE, load_ethnicities
from modules.warehouse import admin_units
from tests.conftest import VaxchainCliRunner

VACCINES = ["Vero Cell", "Comirnaty", "Vero Cell"]  # a repeated name is offered once
PROVINCES = ["Thành phố Hà Nội", "Tỉnh Hà Giang", "Thành phố Hồ Chí Minh"]
LONG_NAMES = [f"Vắc xin thử nghiệm số {number} (lọ 10 liều)" for number in range(40)]  # > 255 characters


def template_bytes(vaccines=VACCINES, provinces=PROVINCES, ethnicities=None):
    buffer = io.BytesIO()
    template.write_template(buffer, vaccines, provinces, load_ethnicities() if ethnicities is None else ethnicities)
    return buffer.getvalue()


def letter(key):
    return get_column_letter([column.key for column in COLUMNS].index(key) + 1)


def list_values(workbook, name):
    """The values a workbook name (``DS_...``) refers to, read from the hidden sheet."""
    (title, reference), = workbook.defined_names[name].destinations
    min_col, min_row, max_col, max_row = range_boundaries(reference.replace("$", ""))
    assert min_col == max_col
    sheet = workbook[title]
    return [sheet.cell(row, min_col).value for row in range(min_row, max_row + 1)]


def validations_by_list(sheet):
    return {validation.formula1: validation for validation in sheet.data_validations.dataValidation}


def covered_columns(validation):
    columns = set()
    for cell_range in validation.sqref.ranges:
        assert (cell_range.min_row, cell_range.max_row) == (2, template.TEMPLATE_ROWS + 1)
        assert cell_range.min_col == cell_range.max_col
        columns.add(get_column_letter(cell_range.min_col))
    return columns


# --- the template, read with openpyxl ------------------------------------------------------------------

def test_the_form_has_the_columns_headers_exactly_in_order():
    workbook = openpyxl.load_workbook(io.BytesIO(template_bytes()))

    assert workbook.sheetnames[0] == template.SHEET_TITLE
    sheet = workbook[template.SHEET_TITLE]
    assert [cell.value for cell in sheet[1]] == [column.header for column in COLUMNS]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    # Required headers are marked by a fill, never by text added to the header.
    yellow = template.REQUIRED_FILL.fgColor.rgb[-6:]
    required = {cell.value for cell in sheet[1] if cell.fill.fgColor.rgb.endswith(yellow)}
    assert {"Họ và tên", "Giới tính", "Ngày sinh", "Loại vắc xin mũi 1", "Ngày tiêm mũi 1"} <= required
    assert "Số điện thoại" not in required
    assert match_headers([cell.value for cell in sheet[1]]).unknown == ()
    assert all(sheet.column_dimensions[get_column_letter(index)].width >= 8 for index in range(1, len(COLUMNS) + 1))


def test_id_columns_are_text_and_date_columns_dd_mm_yyyy_for_every_template_row():
    sheet = openpyxl.load_workbook(io.BytesIO(template_bytes()))[template.SHEET_TITLE]
    last = template.TEMPLATE_ROWS + 1

    id_columns = [column for column in COLUMNS if column.kind == "id"]
    date_columns = [column for column in COLUMNS if column.kind == "date"]
    assert {column.key for column in id_columns} == {"phone", "national_id", "insurance_number"}
    assert len(date_columns) == 1 + 4
    for column in id_columns:
        for row in (2, 3, last):
            assert sheet[f"{letter(column.key)}{row}"].number_format == "@"
        assert sheet.column_dimensions[letter(column.key)].number_format == "@"
    for column in date_columns:
        for row in (2, last):
            assert sheet[f"{letter(column.key)}{row}"].number_format == "dd/mm/yyyy"
    assert sheet[f"A{last}"].value is None and sheet.max_row == last
    assert all(cell.value is None for row in sheet.iter_rows(min_row=2) for cell in row)  # no example here


def test_drop_downs_refer_to_the_lists_on_the_hidden_sheet():
    workbook = openpyxl.load_workbook(io.BytesIO(template_bytes()))
    sheet = workbook[template.SHEET_TITLE]

    assert workbook[template.LISTS_TITLE].sheet_state == "hidden"
    validations = validations_by_list(sheet)
    assert set(validations) == {"DS_GIOI_TINH", "DS_VAC_XIN", "DS_DAN_TOC", "DS_TINH_THANH"}
    for validation in validations.values():
        assert validation.type == "list"
        assert validation.allow_blank and validation.showErrorMessage
        assert not validation.showDropDown  # (True would hide the arrow)
    assert covered_columns(validations["DS_GIOI_TINH"]) == {letter("gender")}
    assert covered_columns(validations["DS_VAC_XIN"]) == {letter(f"vaccine_{n}") for n in range(1, 5)}
    assert covered_columns(validations["DS_DAN_TOC"]) == {letter("ethnicity")}
    assert covered_columns(validations["DS_TINH_THANH"]) == {letter("province")}
    assert validations["DS_GIOI_TINH"].errorStyle == "stop"

    assert list_values(workbook, "DS_GIOI_TINH") == ["Nam", "Nữ"]
    assert list_values(workbook, "DS_VAC_XIN") == ["Vero Cell", "Comirnaty"]
    assert list_values(workbook, "DS_DAN_TOC") == list(load_ethnicities())
    assert list_values(workbook, "DS_TINH_THANH") == PROVINCES
    for name in validations:  # every list sits on the hidden sheet
        assert workbook.defined_names[name].attr_text.startswith(f"'{template.LISTS_TITLE}'!")


def test_long_lists_are_not_inline_and_empty_lists_get_no_drop_down():
    class Presentation:  # objects with a name are accepted too
        def __init__(self, name):
            self.name = name

    workbook = openpyxl.load_workbook(io.BytesIO(template_bytes([Presentation(n) for n in LONG_NAMES], [])))

    assert len(",".join(LONG_NAMES)) > 255
    assert list_values(workbook, "DS_VAC_XIN") == LONG_NAMES
    assert "DS_TINH_THANH" not in workbook.defined_names
    assert set(validations_by_list(workbook[template.SHEET_TITLE])) == {"DS_GIOI_TINH", "DS_VAC_XIN", "DS_DAN_TOC"}


def test_the_instructions_are_in_vietnamese_with_the_example_row():
    workbook = openpyxl.load_workbook(io.BytesIO(template_bytes()))
    sheet = workbook[template.INSTRUCTIONS_TITLE]
    texts = "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None)

    for expected in ("HƯỚNG DẪN", "mỗi dòng là một người", "tối đa 4 mũi", "dd/mm/yyyy", "Văn bản (Text)",
                     "bắt buộc", 'cột "Lỗi" được bỏ qua khi nhập lại', "Số CCCD/CMND"):
        assert expected in texts
    headers = [column.header for column in COLUMNS]
    rows = [list(row) for row in sheet.iter_rows()]
    header_row = next(index for index, row in enumerate(rows) if [cell.value for cell in row[:len(COLUMNS)]] == headers)
    example = dict(zip((column.key for column in COLUMNS), rows[header_row + 1], strict=False))
    assert example["full_name"].value and example["gender"].value == "Nam"
    assert example["date_of_birth"].value == datetime(1990, 3, 15)
    assert example["date_of_birth"].number_format == "dd/mm/yyyy"
    assert example["national_id"].value == "001090012345" and example["national_id"].number_format == "@"
    assert example["vaccine_1"].value == example["vaccine_2"].value == "Vero Cell"
    assert example["lot_1"].value and example["lot_2"].value and example["site_1"].value == "DT-0001"
    assert example["date_2"].value > example["date_1"].value
    assert example["vaccine_3"].value is None
    assert example["full_name"].font.i  # visibly an example


# --- the template, read with python-calamine -----------------------------------------------------------

def test_the_template_reads_back_with_calamine():
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(template_bytes()))

    assert workbook.sheet_names == [template.SHEET_TITLE, template.INSTRUCTIONS_TITLE, template.LISTS_TITLE]
    assert [sheet.visible for sheet in workbook.sheets_metadata] == [
        SheetVisibleEnum.Visible, SheetVisibleEnum.Visible, SheetVisibleEnum.Hidden]
    form = workbook.get_sheet_by_name(template.SHEET_TITLE).to_python()
    assert form[0] == [column.header for column in COLUMNS]
    assert all(value == "" for row in form[1:] for value in row)  # formatted, but empty: nothing to import
    lists = workbook.get_sheet_by_name(template.LISTS_TITLE).to_python()
    assert lists[0] == ["Giới tính", "Loại vắc xin", "Dân tộc", "Tỉnh/Thành phố"]
    assert [row[2] for row in lists[1:]] == list(load_ethnicities())
    instructions = workbook.get_sheet_by_name(template.INSTRUCTIONS_TITLE).to_python()
    example = instructions[-1]
    assert example[:5] == ["Nguyễn Văn An", "Nam", date(1990, 3, 15), "0912345678", "001090012345"]


def test_the_template_can_be_written_to_a_path(tmp_path):
    path = tmp_path / "mau.xlsx"
    template.write_template(path, VACCINES, PROVINCES, load_ethnicities())

    form = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(template.SHEET_TITLE).to_python()
    assert form[0][0] == "Họ và tên"


# --- the error file ------------------------------------------------------------------------------------

HEADERS = ["STT", "Họ và tên", "Giới tính", "Ngày sinh", "SĐT", "CMND/CCCD", "Vắc xin mũi 1", "Ngày tiêm M1", "Ghi chú"]
ROWS = [
    [1, "Nguyễn Văn A", "Nam", date(1990, 3, 15), "0912345678", "001090012345", "Vero Cell", datetime(2021, 7, 10),
     None],
    [2.5, '=HYPERLINK("http://x")', "X", "31/02/1990", 912345678, 1090012345, None,
     datetime(2021, 7, 10, 14, 30), "ghi chú"],
    [3, "Trần Thị\x01 B", None, None, None, None, "Vero Cell", "hôm qua"],
]
ERRORS = [
    [(None, "Dose 1: site code is required")],
    [(2, "Gender: must be Nam or Nữ"), (3, "Date of birth: 31/02/1990 is not a date"), (4, "Phone: 9 digits")],
    [(2, "Gender: required"), (2, "Gender: second problem"), (7, "Injection date, dose 1: not a date")],
]


def error_file_bytes(headers=HEADERS, rows=ROWS, errors=ERRORS):
    buffer = io.BytesIO()
    template.write_error_file(buffer, headers, rows, errors)
    return buffer.getvalue()


def is_bad(cell):
    return cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb.endswith("FFC7CE")


def test_the_error_file_keeps_values_as_typed_with_openpyxl():
    sheet = openpyxl.load_workbook(io.BytesIO(error_file_bytes()))[template.SHEET_TITLE]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]

    assert rows[0] == HEADERS + [ERROR_HEADER]
    assert sheet.freeze_panes == "A2"
    assert rows[1][:8] == [1, "Nguyễn Văn A", "Nam", datetime(1990, 3, 15), "0912345678", "001090012345",
                           "Vero Cell", datetime(2021, 7, 10)]
    assert rows[2][:9] == [2.5, '=HYPERLINK("http://x")', "X", "31/02/1990", 912345678, 1090012345, None,
                           datetime(2021, 7, 10, 14, 30), "ghi chú"]
    assert sheet["B3"].data_type == "s"  # text, not a formula
    assert rows[3][:8] == [3, "Trần Thị B", None, None, None, None, "Vero Cell", "hôm qua"]
    assert sheet["D2"].number_format == "dd/mm/yyyy" and sheet["H2"].number_format == "dd/mm/yyyy"
    assert sheet["H3"].number_format == "dd/mm/yyyy hh:mm"
    for row in (2, 3, 4):  # ID-like columns (found by their headers' synonyms) are text
        assert sheet[f"E{row}"].number_format == "@" and sheet[f"F{row}"].number_format == "@"
    assert sheet["A2"].number_format == "General"
    assert [row[9] for row in rows[1:]] == [
        "Dose 1: site code is required",
        "Gender: must be Nam or Nữ; Date of birth: 31/02/1990 is not a date; Phone: 9 digits",
        "Gender: required; Gender: second problem; Injection date, dose 1: not a date",
    ]


def test_the_error_file_marks_the_bad_cells_with_a_fill_and_a_comment():
    sheet = openpyxl.load_workbook(io.BytesIO(error_file_bytes()))[template.SHEET_TITLE]

    bad = {cell.coordinate for row in sheet.iter_rows(min_row=2, max_col=len(HEADERS)) for cell in row
           if is_bad(cell)}
    assert bad == {"C3", "D3", "E3", "C4", "H4"}
    assert sheet["C3"].comment.text == "Gender: must be Nam or Nữ"
    assert sheet["C4"].comment.text == "Gender: required\nGender: second problem"  # an empty cell, marked
    assert sheet["H4"].comment.text == "Injection date, dose 1: not a date"
    assert sheet["B3"].comment is None and sheet["A2"].comment is None
    commented = {cell.coordinate for row in sheet.iter_rows() for cell in row if cell.comment is not None}
    assert commented == bad


def test_the_error_file_reads_back_with_calamine():
    rows = CalamineWorkbook.from_filelike(io.BytesIO(error_file_bytes())).get_sheet_by_name(
        template.SHEET_TITLE).to_python()

    assert rows[0] == HEADERS + [ERROR_HEADER]
    assert rows[1][1:8] == ["Nguyễn Văn A", "Nam", date(1990, 3, 15), "0912345678", "001090012345", "Vero Cell",
                            date(2021, 7, 10)]
    assert rows[1][0] == 1
    assert rows[2][1:9] == ['=HYPERLINK("http://x")', "X", "31/02/1990", 912345678, 1090012345, "",
                            datetime(2021, 7, 10, 14, 30), "ghi chú"]
    assert rows[2][0] == 2.5
    assert rows[3][9].startswith("Gender: required; ")
    assert len(rows) == 4


def test_an_error_file_imported_again_gets_a_fresh_error_column():
    headers = ["Họ và tên", "Lỗi", "Giới tính", "Số CCCD/CMND"]
    rows = [["A", "Gender: required", None, "001090012345"]]

    sheet = openpyxl.load_workbook(io.BytesIO(error_file_bytes(headers, rows, [[(2, "Gender: still required")]])))
    values = [[cell.value for cell in row] for row in sheet[template.SHEET_TITLE].iter_rows()]

    assert values == [["Họ và tên", "Giới tính", "Số CCCD/CMND", "Lỗi"],
                      ["A", None, "001090012345", "Gender: still required"]]
    assert is_bad(sheet[template.SHEET_TITLE]["B2"])
    assert sheet[template.SHEET_TITLE]["C2"].number_format == "@"


def test_the_error_file_holds_many_rows():
    rows = [[f"Người {number}", "Nam", date(1990, 1, 1), f"09{number:08d}"] for number in range(5000)]
    errors = [[(1, "Gender: bad")] if number % 2 else [(None, "Duplicate")] for number in range(5000)]

    content = error_file_bytes(["Họ và tên", "Giới tính", "Ngày sinh", "SĐT"], rows, errors)

    read = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name(template.SHEET_TITLE).to_python()
    assert len(read) == 5001 and read[5000] == ["Người 4999", "Nam", date(1990, 1, 1), "0900004999", "Gender: bad"]


def test_rows_and_errors_must_match():
    with pytest.raises(ValueError):
        error_file_bytes(rows=ROWS, errors=ERRORS[:1])


# --- the command ---------------------------------------------------------------------------------------

def test_the_command_writes_the_template(app, tmp_path):
    with app.app_context():
        admin_units.load_admin_units(admin_units.DEMO_FILE)
        db.session.commit()
    out = tmp_path / "mau_nhap.xlsx"

    result = VaxchainCliRunner(app).invoke(args=["template", "injections", str(out)])

    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    workbook = openpyxl.load_workbook(out)
    assert [cell.value for cell in workbook[template.SHEET_TITLE][1]] == [column.header for column in COLUMNS]
    assert "Vero Cell" in list_values(workbook, "DS_VAC_XIN")
    provinces = list_values(workbook, "DS_TINH_THANH")
    assert provinces[0] == "Thành phố Hà Nội" and "Quận Ba Đình" not in provinces
    assert len(list_values(workbook, "DS_DAN_TOC")) == 54
    calamine = CalamineWorkbook.from_path(str(out)).get_sheet_by_name(template.SHEET_TITLE).to_python()
    assert calamine[0][0] == "Họ và tên"


def test_the_command_says_clearly_when_it_cannot_write(app, tmp_path):
    out = tmp_path / "missing-folder" / "mau.xlsx"

    result = VaxchainCliRunner(app).invoke(args=["template", "injections", str(out)])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"cannot write {out}" in result.output
    assert not out.exists()


# --- the ethnic groups ---------------------------------------------------------------------------------

def test_the_54_ethnic_groups():
    names = load_ethnicities()

    assert len(names) == 54 == len(set(names))
    assert names[:10] == ("Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "Mông", "Dao", "Gia Rai")
    assert names[-1] == "Ơ Đu"
    assert all(name == unicodedata.normalize("NFC", name) == name.strip() and name for name in names)
    raw = ETHNICITIES_FILE.read_bytes()
    assert raw.decode("utf-8") == unicodedata.normalize("NFC", raw.decode("utf-8"))
    assert raw.decode("utf-8").splitlines()[0] == "name"
