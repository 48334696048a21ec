"""The backlog import's Excel files: the template sites fill in, and the error file handing back refused rows.

Knows no request and no database: callers pass the lists (vaccine names, province names, ethnicities).

The template (:func:`write_template`) has three sheets:

- "Mẫu nhập": the headers of :data:`~modules.injection.backlog.columns.COLUMNS`, exactly as the importer
  matches them (bold, frozen, required ones filled yellow), then :data:`TEMPLATE_ROWS` empty rows already
  formatted: ID/phone/insurance columns as text ("@", so Excel keeps leading zeros), dates dd/mm/yyyy, and
  drop-down lists for gender, vaccine, ethnicity and province.
- "Hướng dẫn": instructions in Vietnamese, a table of the columns, and the example row. The example lives
  here and not on "Mẫu nhập" so that a made-up person can never be imported.
- "Danh mục" (hidden): the lists the drop-downs refer to, through workbook names (``DS_...``); data
  validation lists written inline are limited to 255 characters, and names work in every Excel version
  and in LibreOffice.

The error file (:func:`write_error_file`) is the user's own header row and the refused rows as they were
read, plus a last column :data:`ERROR_HEADER`; bad cells are filled pink and carry a comment. Importing it
again works: the importer ignores the "Lỗi" column.

Both are written in openpyxl's write-only mode (it keeps styles, comments, data validations, workbook names
and hidden sheets), so memory stays flat however many rows an error file holds.

Text is written as text: a value starting with "=" stays the literal text (never a formula), and characters
xlsx cannot store are dropped.
"""
from datetime import date, datetime, time

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from modules.injection.backlog.columns import (
    BY_KEY,
    COLUMNS,
    DOSES,
    ERROR_HEADER,
    HeaderMap,
    header_key,
    match_headers,
    missing_required,
)
from reports.excel import MAX_WIDTH, MIN_WIDTH, shown_length

SHEET_TITLE = "Mẫu nhập"
INSTRUCTIONS_TITLE = "Hướng dẫn"
LISTS_TITLE = "Danh mục"
TEMPLATE_ROWS = 5000  # data rows formatted and validated below the header
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
TEXT_FORMAT = "@"
GENDERS = ("Nam", "Nữ")
# The columns a file must have (columns.missing_required): the person's required ones and dose 1's.
REQUIRED_KEYS = frozenset(column.key for column in missing_required(HeaderMap({}, (), ())))

# The drop-down lists: (name of the workbook name, title on "Danh mục", keys of the columns using it).
GENDER_LIST = "DS_GIOI_TINH"
VACCINE_LIST = "DS_VAC_XIN"
ETHNICITY_LIST = "DS_DAN_TOC"
PROVINCE_LIST = "DS_TINH_THANH"
LIST_COLUMNS = {
    GENDER_LIST: ("Giới tính", ("gender",)),
    VACCINE_LIST: ("Loại vắc xin", tuple(f"vaccine_{number}" for number in range(1, DOSES + 1))),
    ETHNICITY_LIST: ("Dân tộc", ("ethnicity",)),
    PROVINCE_LIST: ("Tỉnh/Thành phố", ("province",)),
}

BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
EXAMPLE_FONT = Font(italic=True, color="808080")
ERROR_FONT = Font(color="9C0006")
REQUIRED_FILL = PatternFill("solid", fgColor="FFE699")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
WRAP = Alignment(wrap_text=True, vertical="top")
COMMENT_AUTHOR = "vaxchain"
KIND_WIDTHS = {"date": 13, "id": 17, "choice": 16, "text": 14}
KEY_WIDTHS = {"full_name": 26, "address": 32, "province": 22, "district": 18, "ward": 18}
ERROR_WIDTH = 70

# The example row shown on "Hướng dẫn" (a made-up person; CCCD 001 0 90 …: born 1990 in Hà Nội, male).
EXAMPLE = {
    "full_name": "Nguyễn Văn An",
    "gender": "Nam",
    "date_of_birth": date(1990, 3, 15),
    "phone": "0912345678",
    "national_id": "001090012345",
    "insurance_number": "GD4010123456789",
    "ethnicity": "Kinh",
    "nationality": "Việt Nam",
    "province": "Thành phố Hà Nội",
    "district": "Quận Ba Đình",
    "ward": "Phường Kim Mã",
    "address": "Số 12, ngõ 5, phố Kim Mã",
    "vaccine_1": "Vero Cell",
    "date_1": date(2021, 7, 10),
    "lot_1": "202106A123",
    "site_1": "DT-0001",
    "vaccine_2": "Vero Cell",
    "date_2": date(2021, 8, 7),
    "lot_2": "202107B456",
    "site_2": "DT-0001",
}

DESCRIPTIONS = {
    "full_name": "Họ và tên đầy đủ, có dấu.",
    "gender": "Chọn Nam hoặc Nữ.",
    "date_of_birth": "Ngày sinh, dạng ngày/tháng/năm (dd/mm/yyyy), ví dụ 15/03/1990.",
    "phone": "Số điện thoại di động 10 số, bắt đầu bằng số 0 (dùng để nhắc lịch tiêm). Cột kiểu văn bản.",
    "national_id": "Số CCCD (12 số) hoặc CMND (9 số), giữ nguyên các số 0 ở đầu. Nên điền để hệ thống nhận ra "
                   "người đã có hồ sơ. Cột kiểu văn bản.",
    "insurance_number": "Mã số thẻ bảo hiểm y tế (nếu có). Cột kiểu văn bản.",
    "ethnicity": "Chọn trong danh sách 54 dân tộc.",
    "nationality": "Quốc tịch, ví dụ: Việt Nam.",
    "province": "Tỉnh/thành phố nơi ở; chọn trong danh sách.",
    "district": "Quận/huyện/thị xã nơi ở (nếu có).",
    "ward": "Phường/xã/thị trấn nơi ở.",
    "address": "Số nhà, ngõ, đường, thôn/xóm.",
    "vaccine": "Loại vắc xin đã tiêm; chọn trong danh sách.",
    "date": "Ngày tiêm, dạng ngày/tháng/năm (dd/mm/yyyy).",
    "lot": "Số lô in trên lọ vắc xin.",
    "site": "Mã cơ sở tiêm (mã điểm tiêm trong hệ thống), ví dụ DT-0001.",
}


# --- the template ----------------------------------------------------------------------------------------

def write_template(stream, vaccines, provinces, ethnicities):
    """Write the import template (xlsx) to ``stream`` (a binary file or a path).

    ``vaccines``, ``provinces`` and ``ethnicities`` are what the drop-downs offer, in order: names (str), or
    objects with a ``name`` (a vaccine's Presentation, a province's AdminUnit). An empty list gets no
    drop-down (the column stays free text).
    """
    lists = {
        GENDER_LIST: list(GENDERS),
        VACCINE_LIST: _names(vaccines),
        ETHNICITY_LIST: _names(ethnicities),
        PROVINCE_LIST: _names(provinces),
    }
    workbook = Workbook(write_only=True)
    _write_form(workbook, lists)
    _write_instructions(workbook)
    _write_lists(workbook, lists)
    workbook.save(stream)


def _write_form(workbook, lists):
    sheet = workbook.create_sheet(SHEET_TITLE)
    letters = {column.key: get_column_letter(index) for index, column in enumerate(COLUMNS, start=1)}
    for column in COLUMNS:
        dimension = sheet.column_dimensions[letters[column.key]]
        dimension.width = template_width(column)
        if column.kind in ("id", "date"):  # the column's own style: rows typed below TEMPLATE_ROWS get it too
            dimension.number_format = TEXT_FORMAT if column.kind == "id" else DATE_FORMAT
    sheet.freeze_panes = "A2"
    last_row = TEMPLATE_ROWS + 1
    for list_name, (title, keys) in LIST_COLUMNS.items():
        if not lists[list_name]:
            continue
        validation = DataValidation(type="list", formula1=list_name, allow_blank=True, showErrorMessage=True)
        if list_name == GENDER_LIST:
            validation.errorStyle = "stop"
            validation.error = "Chọn Nam hoặc Nữ trong danh sách."
        else:  # the importer checks these again; a warning lets a new name through when the list is behind
            validation.errorStyle = "warning"
            validation.error = f"Giá trị này không có trong danh sách {title.lower()}. Nên chọn trong danh sách."
        validation.errorTitle = title
        for key in keys:
            validation.add(f"{letters[key]}2:{letters[key]}{last_row}")
        sheet.data_validations.append(validation)

    sheet.append([_text(sheet, column.header, font=BOLD, alignment=Alignment(vertical="center"),
                        fill=REQUIRED_FILL if column.key in REQUIRED_KEYS else HEADER_FILL) for column in COLUMNS])
    formats = [TEXT_FORMAT if column.kind == "id" else DATE_FORMAT if column.kind == "date" else None
               for column in COLUMNS]
    for _ in range(TEMPLATE_ROWS):
        sheet.append([_formatted_blank(sheet, number_format) for number_format in formats])


def _formatted_blank(sheet, number_format):
    if number_format is None:
        return None
    cell = WriteOnlyCell(sheet)
    cell.number_format = number_format
    return cell


def template_width(column):
    return max(len(column.header) + 3, KEY_WIDTHS.get(column.key, KIND_WIDTHS.get(column.kind, 14)))


def _write_instructions(workbook):
    sheet = workbook.create_sheet(INSTRUCTIONS_TITLE)
    widths = {"A": 26, "B": 11, "C": 95}
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width
    row = 0

    def append(cells, lines=1, merge=False):
        """Append a row; a row of wrapped text gets the height of its ``lines`` (no spreadsheet fits merged
        cells' heights by itself)."""
        nonlocal row
        row += 1
        if lines > 1:
            sheet.row_dimensions[row].height = 15 * lines + 2
        if merge:
            sheet.merged_cells.add(f"A{row}:C{row}")
        sheet.append(cells)

    def headers_of(kind):
        return ", ".join(f'"{column.header}"' for column in COLUMNS if column.kind == kind and column.dose in (None, 1))

    required = ", ".join(f'"{column.header}"' for column in COLUMNS if column.key in REQUIRED_KEYS)
    paragraphs = (
        f'1. Nhập dữ liệu ở trang "{SHEET_TITLE}": mỗi dòng là một người, bắt đầu từ dòng 2 (ngay dưới dòng tiêu '
        f"đề). Mỗi người có tối đa {DOSES} mũi tiêm, ghi trên cùng một dòng: mũi 1 đến mũi {DOSES}, theo thứ tự "
        "ngày tiêm.",
        '2. Không đổi tên, không xoá dòng tiêu đề. Có thể thêm cột "STT" (được bỏ qua khi nhập); các cột không '
        "bắt buộc có thể để trống.",
        f"3. Các cột có tiêu đề tô màu vàng là bắt buộc: {required}. Mũi 2 đến mũi {DOSES} chỉ điền khi người đó "
        "đã tiêm mũi đó, và khi điền thì điền đủ loại vắc xin, ngày tiêm, lô và mã cơ sở tiêm.",
        "4. Ngày sinh và ngày tiêm ghi theo dạng ngày/tháng/năm (dd/mm/yyyy), ví dụ 15/03/1990. Các cột ngày đã "
        "được định dạng sẵn.",
        f"5. Các cột {headers_of('id')} đã được định dạng kiểu Văn bản (Text) để giữ các số 0 ở đầu. Khi dán dữ "
        "liệu từ tệp khác, dùng Dán đặc biệt > Giá trị (Paste Special > Values) để giữ định dạng này; nếu số 0 ở "
        "đầu đã bị mất, hãy gõ lại số đó.",
        f"6. Các cột {headers_of('choice')} (và loại vắc xin của các mũi sau): chọn trong danh sách (bấm vào mũi "
        "tên ở góc ô).",
        "7. Tệp lỗi: các dòng không nhập được sẽ được trả lại trong một tệp có cùng các cột, thêm cột "
        f'"{ERROR_HEADER}" ghi lý do; ô sai được tô đỏ và có ghi chú (di chuột lên ô để xem). Sửa các ô đó rồi '
        f'nhập lại chính tệp lỗi: cột "{ERROR_HEADER}" được bỏ qua khi nhập lại.',
        f'8. Dòng ví dụ ở cuối trang này chỉ để tham khảo: trang "{INSTRUCTIONS_TITLE}" không được nhập vào hệ '
        "thống.",
    )
    append([_text(sheet, "HƯỚNG DẪN NHẬP HỒI CỨU CÁC MŨI TIÊM ĐÃ TIÊM", font=TITLE_FONT)], lines=2)
    append([])
    append([_text(sheet, "Cách nhập", font=BOLD)])
    for paragraph in paragraphs:
        append([_text(sheet, paragraph, alignment=WRAP)], lines=_lines(paragraph, sum(widths.values())), merge=True)
    append([])
    append([_text(sheet, "Các cột", font=BOLD)])
    append([_text(sheet, title, font=BOLD, fill=HEADER_FILL) for title in ("Cột", "Bắt buộc", "Cách ghi")])
    for column in COLUMNS:
        description = DESCRIPTIONS[column.key if column.dose is None else column.key.rsplit("_", 1)[0]]
        if column.dose is not None and column.dose > 1:
            description += f" Chỉ điền nếu đã tiêm mũi {column.dose}."
        append([_text(sheet, column.header, fill=REQUIRED_FILL if column.key in REQUIRED_KEYS else None),
                _text(sheet, "Có" if column.key in REQUIRED_KEYS else ""),
                _text(sheet, description, alignment=WRAP)], lines=_lines(description, widths["C"]))
    append([])
    append([_text(sheet, "Ví dụ (một người đã tiêm 2 mũi; chỉ để tham khảo, không được nhập vào hệ thống)",
                  font=BOLD)])
    append([_text(sheet, column.header, font=BOLD) for column in COLUMNS])
    append([example_cell(sheet, column) for column in COLUMNS])


def _lines(text, width):
    """About how many lines ``text`` takes wrapped in ``width`` characters."""
    return max(1, -(-len(text) * 11 // (width * 10)))


def example_cell(sheet, column):
    value = EXAMPLE.get(column.key)
    if value is None:
        return None
    if isinstance(value, date):
        return _styled(sheet, value, font=EXAMPLE_FONT, number_format=DATE_FORMAT)
    return _text(sheet, value, font=EXAMPLE_FONT, number_format=TEXT_FORMAT if column.kind == "id" else None)


def _write_lists(workbook, lists):
    sheet = workbook.create_sheet(LISTS_TITLE)
    sheet.sheet_state = "hidden"
    names = list(LIST_COLUMNS)
    for index, list_name in enumerate(names, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(
            [18] + [len(value) + 2 for value in lists[list_name]])
    sheet.append([_text(sheet, LIST_COLUMNS[list_name][0], font=BOLD) for list_name in names])
    for row in range(max(len(values) for values in lists.values())):
        sheet.append([_text(sheet, lists[list_name][row]) if row < len(lists[list_name]) else None
                      for list_name in names])
    for index, list_name in enumerate(names, start=1):
        if lists[list_name]:
            letter = get_column_letter(index)
            reference = f"{quote_sheetname(LISTS_TITLE)}!${letter}$2:${letter}${len(lists[list_name]) + 1}"
            workbook.defined_names[list_name] = DefinedName(list_name, attr_text=reference)


def _names(items):
    """Names in order, NFC-clean, without blanks or repeats."""
    seen = []
    for item in items:
        name = clean_text(item if isinstance(item, str) else item.name).strip()
        if name and name not in seen:
            seen.append(name)
    return seen


# --- the error file --------------------------------------------------------------------------------------

def write_error_file(stream, headers, rows, errors):
    """Write the refused rows as an xlsx to ``stream`` (a binary file or a path): the user's ``headers`` (as
    read), each row's values as read, and a last column "Lỗi" with the row's messages joined by "; ".

    ``rows`` holds the rows' values (str, int, float, date, datetime, None...); ``errors`` holds, for each row,
    a list of ``(column index or None, message)`` — the index counts from 0 in ``headers``; each message
    names its field. Bad cells are filled pink and carry their messages as a comment. Dates stay dates
    (dd/mm/yyyy), numbers numbers, text text; ID-like columns are formatted as text. A "Lỗi" column of the
    user's file (an error file imported again) is replaced by the new one.
    """
    headers = ["" if header is None else str(header) for header in headers]
    kept = [index for index, header in enumerate(headers) if header_key(header) != header_key(ERROR_HEADER)]
    new_index = {old: new for new, old in enumerate(kept)}
    positions = match_headers(headers).positions
    id_columns = {new_index[index] for key, index in positions.items()
                  if BY_KEY[key].kind == "id" and index in new_index}

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    rows = [list(row) for row in rows]
    errors = [list(row_errors) for row_errors in errors]
    if len(rows) != len(errors):
        raise ValueError("rows and errors must have the same length")
    width = max([len(kept)] + [len(row) - (len(headers) - len(kept)) for row in rows])
    for index in range(width):
        sheet.column_dimensions[get_column_letter(index + 1)].width = error_file_width(
            kept[index] if index < len(kept) else None, headers, positions, rows)
    sheet.column_dimensions[get_column_letter(width + 1)].width = ERROR_WIDTH
    sheet.freeze_panes = "A2"

    header_cells = [_text(sheet, headers[index], font=BOLD) for index in kept]
    header_cells += [None] * (width - len(kept))
    sheet.append(header_cells + [_text(sheet, ERROR_HEADER, font=BOLD, fill=BAD_FILL)])
    for values, row_errors in zip(rows, errors, strict=True):
        values = [value for index, value in enumerate(values) if index in new_index or index >= len(headers)]
        values += [None] * (width - len(values))
        by_cell = {}
        for index, message in row_errors:
            if index is not None and index in new_index:
                by_cell.setdefault(new_index[index], []).append(str(message))
            elif index is not None and index >= len(headers):
                by_cell.setdefault(index - (len(headers) - len(kept)), []).append(str(message))
        cells = [error_cell(sheet, value, index in id_columns, by_cell.get(index))
                 for index, value in enumerate(values)]
        messages = "; ".join(str(message) for _, message in row_errors)
        sheet.append(cells + [_text(sheet, messages, font=ERROR_FONT)])
    workbook.save(stream)


def error_cell(sheet, value, is_id, messages):
    """One cell of a refused row, as read; pink with a comment when ``messages`` says what is wrong."""
    number_format = TEXT_FORMAT if is_id else None
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)
        number_format = DATE_FORMAT if value.time() == time() else DATETIME_FORMAT
        if number_format == DATE_FORMAT:
            value = value.date()
    elif isinstance(value, date):
        number_format = DATE_FORMAT
    fill = BAD_FILL if messages else None
    if isinstance(value, str):
        cell = _text(sheet, value, fill=fill, number_format=number_format)
    elif value is None and not (messages or number_format):
        return None
    else:
        cell = _styled(sheet, value, fill=fill, number_format=number_format)
    if messages:
        text = "\n".join(messages)
        cell.comment = Comment(text, COMMENT_AUTHOR, height=max(60, 20 * (1 + len(text) // 40)), width=280)
    return cell


def error_file_width(index, headers, positions, rows):
    if index is None:
        return MIN_WIDTH
    key = next((key for key, position in positions.items() if position == index), None)
    column = BY_KEY.get(key)
    longest = max([len(headers[index]) + 3] + [shown_length(row[index]) + 2 for row in rows[:50]
                                                if index < len(row)])
    least = template_width(column) if column is not None else MIN_WIDTH
    return min(max(longest, least, MIN_WIDTH), MAX_WIDTH)


# --- cells -----------------------------------------------------------------------------------------------

def clean_text(text):
    """``text`` without the control characters an xlsx file cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(text))


def _text(sheet, text, **style):
    """A cell holding ``text`` literally: never a formula, even when it starts with "="."""
    cell = _styled(sheet, clean_text(text), **style)
    if cell.data_type == "f":
        cell.data_type = "s"
        cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    return cell


def _styled(sheet, value, font=None, fill=None, alignment=None, number_format=None):
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    if number_format is not None:
        cell.number_format = number_format
    return cell
