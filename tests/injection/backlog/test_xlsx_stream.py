"""The streaming xlsx reader gives, cell for cell, the values python-calamine gives: checked on files written
by openpyxl and on hand-built ones (shared and inline strings, rich text, sparse rows, prefixed and strict
namespaces, the 1904 system, formulas' cached values, booleans, errors, number formats), and on random ones."""
import math
import time
import zipfile
from datetime import date, datetime, timedelta
from datetime import time as clock
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from python_calamine import CalamineWorkbook

from modules.injection.backlog import xlsx_stream
from modules.injection.backlog.xlsx_stream import DATETIME, OTHER, TIMEDELTA, format_kind

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
P = "\x00"  # stands for the namespace prefix in sheet XML (a character no cell text can hold)
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_RELATIONSHIPS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
# cellXfs of the hand-built files: s="0" General, then dates, a time, a duration, text, custom codes
FORMATS = [0, 14, 22, 21, 46, 49, 164, 165, 166, 167, 168]
CUSTOM = {164: "dd/mm/yyyy", 165: "[h]:mm", 166: '0.00" m"', 167: "#,##0*d", 168: "[$-F800]dddd, mmmm dd, yyyy"}


def xlsx(path, rows_xml, strings=None, date1904=False, namespace=MAIN, prefix="", styles=True, extra="",
         dimension=None, sheets=None, strings_part="sharedStrings.xml"):
    """A workbook built by hand: ``rows_xml`` is the content of <sheetData> (:data:`P` stands for the prefix).
    calamine looks for the shared strings in xl/sharedStrings.xml; the stream where the workbook says."""
    p = prefix + ":" if prefix else ""
    declare = f'xmlns:{prefix}="{namespace}"' if prefix else f'xmlns="{namespace}"'
    relationships = STRICT_RELATIONSHIPS if namespace == STRICT else RELATIONSHIPS
    kind = relationships.replace("relationships", "relationships/") if namespace == STRICT else relationships + "/"
    sheets = sheets or [("Dữ liệu", "visible", rows_xml)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                                                'content-types"/>')
        archive.writestr("_rels/.rels", f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
                                        f'Type="{kind}officeDocument" Target="xl/workbook.xml"/></Relationships>')
        entries, links = [], []
        for number, (name, state, content) in enumerate(sheets, start=1):
            entries.append(f'<sheet name={quoteattr(name)} sheetId="{number}" state="{state}" r:id="rId{number}"/>')
            links.append(f'<Relationship Id="rId{number}" Type="{kind}worksheet" '
                         f'Target="/xl/worksheets/sheet{number}.xml"/>')
            head = f'<{p}dimension ref="{dimension}"/>' if dimension else ""
            archive.writestr(f"xl/worksheets/sheet{number}.xml",
                             f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {declare}>'
                             f'{head}<{p}sheetData>{content.replace(P, p)}</{p}sheetData>{extra.replace(P, p)}'
                             f'</{p}worksheet>')
        links.append(f'<Relationship Id="rIdS" Type="{kind}styles" Target="styles.xml"/>')
        if strings is not None:
            links.append(f'<Relationship Id="rIdT" Type="{kind}sharedStrings" Target="{strings_part}"/>')
            archive.writestr(f"xl/{strings_part}", f'<sst xmlns="{namespace}">{strings}</sst>')
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{namespace}" xmlns:r="{relationships}"><workbookPr'
                                            f'{" date1904=" + quoteattr("1") if date1904 else ""}/><sheets>'
                                            f'{"".join(entries)}</sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PACKAGE}">{"".join(links)}'
                                                       '</Relationships>')
        if styles:
            codes = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>' for i, code in CUSTOM.items())
            xfs = "".join(f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0"/>' for i in FORMATS)
            archive.writestr("xl/styles.xml", f'<styleSheet xmlns="{namespace}"><numFmts>{codes}</numFmts>'
                                              f'<cellXfs count="{len(FORMATS)}">{xfs}</cellXfs></styleSheet>')
    return path


def streamed(path, sheet=0):
    with xlsx_stream.Workbook(path) as book:
        return list(book.rows(book.sheets[sheet]))


def by_calamine(path, sheet=0):
    """calamine's rows as the stream gives them: from column A, numbered from 1, without trailing empty cells,
    empty rows left out."""
    worksheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(sheet)
    pad = [""] * (worksheet.start[1] if worksheet.start else 0)
    rows = []
    for number, row in enumerate(worksheet.iter_rows(), start=1):
        values = pad + list(row)
        while values and values[-1] == "":
            values.pop()
        if values:
            rows.append((number, values))
    return rows


def same_as_calamine(path, sheet=0):
    mine, theirs = streamed(path, sheet), by_calamine(path, sheet)
    assert [number for number, _ in mine] == [number for number, _ in theirs]
    for (number, ours), (_, expected) in zip(mine, theirs, strict=True):
        assert len(ours) == len(expected), (number, ours, expected)
        for column, (value, wanted) in enumerate(zip(ours, expected, strict=True)):
            assert type(value) is type(wanted) and (value == wanted or value != value and wanted != wanted), \
                (number, column, value, wanted)
    return mine


def cell(ref, value="", t=None, s=None, children=None):
    attributes = f' r="{ref}"' if ref else ""
    attributes += f' s="{s}"' if s is not None else ""
    attributes += f' t="{t}"' if t else ""
    if children is None:
        children = f"<{P}v>{escape(str(value))}</{P}v>" if value != "" else ""
    return f"<{P}c{attributes}>{children}</{P}c>" if children else f"<{P}c{attributes}/>"


def row(number, *cells, spans=""):
    attribute = f' r="{number}"' if number else ""
    return f"<{P}row{attribute}{spans}>{''.join(cells)}</{P}row>"


def inline(text, xml_text=None, preserve=True):
    space = ' xml:space="preserve"' if preserve else ""
    return f"<{P}is><{P}t{space}>{xml_text or escape(text)}</{P}t></{P}is>"


# --- Files openpyxl writes ----------------------------------------------------------------------------------

def openpyxl_file(path, rows, formats=None, epoch_1904=False):
    book = Workbook()
    if epoch_1904:
        book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    for values in rows:
        sheet.append(values)
    for ref, code in (formats or {}).items():
        sheet[ref].number_format = code
    book.save(path)
    return path


def test_openpyxl_files_read_as_calamine_reads_them(tmp_path):
    rows = [
        ["Họ và tên", "Giới tính", "Ngày sinh", "Số CCCD/CMND", "Số điện thoại", "Ngày tiêm mũi 1"],
        ["Lê Thị Hoa", "Nữ", date(1990, 3, 15), "001190012345", 90_000_001, datetime(2021, 7, 2, 8, 30)],
        ["  Trần Văn An ", "Nam", "15/03/1990", 79090004217, 9.0e10, date(1900, 2, 28)],
        [None, None, None, None],
        ["Ngô", True, False, 1.5, -3, 1e16, None, "x"],
        [clock(12, 30), timedelta(hours=30), datetime(1900, 1, 1), date(9999, 12, 31), 0, -0.5, 2.5e-10],
        ["=1+1", '=CONCATENATE("Lê ","Hoa")', "tab\tnew\nline", "x" * 3000, "€ 😀 ñ"],
    ]
    same_as_calamine(openpyxl_file(tmp_path / "a.xlsx", rows, {"C5": "yyyy-mm-dd", "D5": "[h]:mm:ss",
                                                               "B6": "hh:mm", "G6": "dd/mm/yyyy"}))
    same_as_calamine(openpyxl_file(tmp_path / "b.xlsx", rows, epoch_1904=True))


def test_the_1904_system_counts_from_1904(tmp_path):
    path = openpyxl_file(tmp_path / "mac.xlsx", [["Ngày sinh"], [date(1990, 3, 15)], [datetime(2021, 7, 2, 9)]],
                         epoch_1904=True)
    with xlsx_stream.Workbook(path) as book:
        assert book.epoch_1904
    assert [values for _, values in same_as_calamine(path)] == [["Ngày sinh"], [date(1990, 3, 15)],
                                                                [datetime(2021, 7, 2, 9)]]


# --- Hand-built files ----------------------------------------------------------------------------------------

SHARED = ("<si><t>Lê Thị Hoa</t></si>"
          "<si><t/></si>"  # an empty string keeps its index
          "<si><r><t xml:space=\"preserve\">Trần </t></r><r><rPr><b/></rPr><t>Văn An</t></r></si>"
          "<si><t>漢字</t><rPh sb=\"0\" eb=\"2\"><t>かんじ</t></rPh></si>"  # the phonetic reading is not shown
          "<si><t>line_x000D__x000A_break _x005F_x0041_</t></si>"
          "<si><t>a &amp; b &lt;c&gt;</t></si>"
          "<si><r><t>pre</t></r><r><t>post</t></r><rPh><t>x</t></rPh></si>"
          "<si><t> spaces at the ends dropped without xml:space=\"preserve\"\t</t></si>")


@pytest.mark.parametrize("prefix", ["", "x"])
@pytest.mark.parametrize("namespace", [MAIN, STRICT])
def test_shared_inline_rich_and_escaped_strings(tmp_path, prefix, namespace):
    rows = "".join([
        row(1, *(cell(f"{letter}1", index, t="s") for letter, index in zip("ABCDEFGH", range(8), strict=True))),
        row(2, cell("A2", t="inlineStr", children=inline("Nguyễn")),
            cell("B2", t="inlineStr", children=f'<{P}is><{P}r><{P}t xml:space="preserve">Hoa </{P}t></{P}r>'
                                               f"<{P}r><{P}t>Mai</{P}t></{P}r></{P}is>"),
            cell("C2", t="inlineStr", children=f"<{P}is><{P}t>漢</{P}t><{P}rPh><{P}t>かん</{P}t></{P}rPh></{P}is>"),
            cell("D2", t="inlineStr", children=inline("", "a_x0009_b_x0000_")),
            cell("E2", t="inlineStr", children=f"<{P}is><{P}t/></{P}is>"),
            cell("F2", t="inlineStr", children=inline("  spaces  ")),
            cell("G2", t="inlineStr", children=inline("", "cr&#13;lf&#10;")),
            cell("H2", t="str", value="_x0041_ decoded in a formula string too")),
    ])
    path = xlsx(tmp_path / "s.xlsx", rows, strings=SHARED, namespace=namespace, prefix=prefix)
    values = [values for _, values in same_as_calamine(path)]
    assert values[0] == ["Lê Thị Hoa", "", "Trần Văn An", "漢字", "line\r\nbreak _x0041_", "a & b <c>", "prepost",
                         'spaces at the ends dropped without xml:space="preserve"']
    assert values[1][:6] == ["Nguyễn", "Hoa Mai", "漢", "a\tb\x00", "", "  spaces  "]


def test_numbers_dates_and_formats(tmp_path):
    serials = [0, 0.25, -0.25, -1.25, 1, 59, 60, 61, 59.5, 60.5, 32947, 32947.52083333334, 45000.123456789,
               2958465.9999999, 2958466, 1e8, -1e6, 0.18737500000000001, 1e-9, 44484.7916666667]
    cells_xml = []
    for column, style in enumerate(range(len(FORMATS))):
        for line, serial in enumerate(serials, start=1):
            cells_xml.append((line, cell(f"{xlsx_stream.column_letters(column)}{line}", repr(serial), s=style)))
    rows = "".join(row(line, *(xml for number, xml in cells_xml if number == line))
                   for line in range(1, len(serials) + 1))
    rows += row(len(serials) + 1, cell(f"A{len(serials) + 1}", "40000"),  # no s: General
                cell(f"B{len(serials) + 1}", "40000", s="99"),  # a style that is not there: General
                cell(f"C{len(serials) + 1}", "40000", s="+1"), cell(f"D{len(serials) + 1}", "40000", s="x"))
    for date1904 in (False, True):
        path = xlsx(tmp_path / f"n{date1904}.xlsx", rows, date1904=date1904)
        values = [values for _, values in same_as_calamine(path)]
        assert {type(value) for line in values for value in line} >= {float, date, datetime, clock, timedelta}


def test_formulas_booleans_errors_and_iso_dates(tmp_path):
    rows = row(1, cell("A1", children=f"<{P}f>1+1</{P}f>"),  # no cached value
               cell("B1", children=f"<{P}f>1+2</{P}f><{P}v>3</{P}v>"),
               cell("C1", t="str", children=f"<{P}f>A1&amp;B1</{P}f><{P}v>23</{P}v>"),
               cell("D1", t="str", children=f"<{P}f>x</{P}f><{P}v></{P}v>"),
               cell("E1", t="b", value="1"), cell("F1", t="b", value="0"), cell("G1", t="b", value=""),
               cell("H1", t="e", value="#N/A"), cell("I1", t="e", children=f"<{P}f>1/0</{P}f><{P}v>#DIV/0!</{P}v>"),
               cell("J1", t="d", value="2021-03-15"), cell("K1", t="d", value="2021-03-15T10:00:00.5"),
               cell("L1", t="d", value="10:00"), cell("M1", t="d", value="not a date"),
               cell("N1", value="abc"), cell("O1", value="1e5"), cell("P1", value="inf"), cell("Q1", value=" 1"),
               cell("R1", value="1_000"), cell("S1", t="n", value="-0"), cell("T1", t="s", value="0"))
    path = xlsx(tmp_path / "f.xlsx", row(0, "") + rows, strings="<si><t>shared</t></si>")
    assert same_as_calamine(path)[0][1][:9] == ["", 3.0, "23", "", True, False, "", "", ""]


def test_sparse_rows_and_cells_without_references(tmp_path):
    rows = "".join([
        row(2, cell("C2", "1"), cell("F2", "2")),  # gaps, and nothing in A and B
        row(3, cell("A3", ""), cell("B3", s="1")),  # only empty cells: the row is skipped
        row(5, cell(None, "5"), cell(None, "6"), cell("E5", "7"), cell(None, "8")),  # no r: the next column
        row(None, cell(None, "9")),  # no r: the row after the one before
        row(None, cell("B7", "10")),
        row(9, cell("AA9", "11"), cell("B9", "12")),  # out of order: calamine sorts, the stream takes them as met
    ])
    path = xlsx(tmp_path / "sparse.xlsx", rows)
    expected = [(2, ["", "", 1.0, "", "", 2.0]), (5, [5.0, 6.0, "", "", 7.0, 8.0]), (6, [9.0]), (7, ["", 10.0])]
    assert streamed(path)[:4] == expected
    assert by_calamine(path)[:4] == expected


def test_thousands_of_rows_all_come_through_as_rows_read_are_dropped(tmp_path):
    rows = "".join(row(line, cell(f"A{line}", t="inlineStr", children=inline(f"người {line}")), cell(f"B{line}", line))
                   for line in range(1, 5001))
    read = same_as_calamine(xlsx(tmp_path / "long.xlsx", rows))
    assert len(read) == 5000 and read[-1] == (5000, ["người 5000", 5000.0])


def test_pretty_printed_xml_reads_the_same(tmp_path):
    rows = (f'\n  <{P}row r="1">\n    <{P}c r="A1" t="inlineStr">\n      <{P}is>\n        <{P}r>\n          '
            f"<{P}rPr><{P}b/></{P}rPr>\n          <{P}t>bold</{P}t>\n        </{P}r>\n      </{P}is>\n    </{P}c>\n"
            f'    <{P}c r="B1" t="s">\n      <{P}v>0</{P}v>\n    </{P}c>\n    <{P}c r="C1" s="1">\n'
            f"      <{P}v>40000</{P}v>\n    </{P}c>\n  </{P}row>\n")
    path = xlsx(tmp_path / "pretty.xlsx", rows, strings="\n  <si>\n    <t>shared</t>\n  </si>\n")
    assert same_as_calamine(path) == [(1, ["bold", "shared", date(2009, 7, 6)])]


def test_many_shared_strings_are_packed_and_read_the_same(tmp_path, monkeypatch):
    strings = "".join(f"<si><t>chuỗi {index}</t></si>" for index in range(70_000)) + "<si><t>😀 astral</t></si>"
    rows = "".join(row(line, cell(f"A{line}", line * 997 % 70_001, t="s"), cell(f"B{line}", 70_000, t="s"))
                   for line in range(1, 300))
    path = xlsx(tmp_path / "packed.xlsx", rows, strings=strings)
    monkeypatch.setattr(xlsx_stream, "PACKED_STRINGS_ABOVE", 0)
    with xlsx_stream.Workbook(path) as book:
        assert not isinstance(book.shared_strings(), list)
    same_as_calamine(path)


def test_the_parts_are_found_through_the_workbook_relationships(tmp_path):
    path = xlsx(tmp_path / "elsewhere.xlsx", row(1, cell("A1", 0, t="s"), cell("B1", "40000", s=1)),
                strings="<si><t>found</t></si>", strings_part="strings/table.xml")
    assert streamed(path) == [(1, ["found", date(2009, 7, 6)])]


def test_a_cell_pointing_to_no_shared_string_is_a_damaged_file(tmp_path):
    path = xlsx(tmp_path / "bad.xlsx", row(1, cell("A1", 5, t="s")), strings="<si><t>only one</t></si>")
    with pytest.raises(xlsx_stream.DamagedXlsx):
        streamed(path)


TEXTS = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff", max_codepoint=0x1FFFF)
            .filter(lambda char: char in "\t\n\r" or char >= " "), max_size=12),
    st.lists(st.sampled_from(["_x000D_", "_x005F_", "_x0041_", "_x00", " ", "\t", "\r\n", "\xa0", "a", "Ư", "&", "<"]),
             max_size=6).map("".join))
# A number with any format in date's range (calamine fails on durations past timedelta's and panics on dates
# far before year 1), any number in General.
CELLS = st.one_of(st.tuples(st.one_of(TEXTS, st.booleans()), st.sampled_from([None, 0, 1, 6])),
                  st.tuples(st.floats(-1e6, 3e6), st.sampled_from([None, *range(len(FORMATS))])),
                  st.tuples(st.integers(-10 ** 6, 3 * 10 ** 6), st.sampled_from([None, *range(len(FORMATS))])),
                  st.tuples(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([None, 0, 5])))


@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 30), CELLS), min_size=1, max_size=40),
       st.booleans(), st.booleans(), st.booleans(), st.booleans())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_cells_read_as_calamine_reads_them(tmp_path, cells, shared, date1904, with_refs, preserve):
    """Random cells (text of any characters XML allows, spaces at the ends included, numbers in any format,
    booleans) at random places."""
    placed = {}
    for line, column, (value, style) in cells:
        placed[line, column] = (value, style)
    strings, table = [], {}
    lines = []
    for line in sorted({line for line, _ in placed}):
        xml = []
        for column in sorted(column for number, column in placed if number == line):
            value, style = placed[line, column]
            ref = f"{xlsx_stream.column_letters(column)}{line}" if with_refs else None
            if isinstance(value, bool):
                xml.append(cell(ref, int(value), t="b"))
            elif isinstance(value, str) and shared:
                index = table.setdefault(value, len(strings))
                if index == len(strings):
                    strings.append(value)
                xml.append(cell(ref, index, t="s", s=style))
            elif isinstance(value, str):
                xml.append(cell(ref, t="inlineStr", s=style, children=inline(value, escape(value) or " ", preserve)))
            else:
                xml.append(cell(ref, repr(float(value)), s=style))
        if not with_refs:  # without references, cells are placed one after the other from column A
            xml = xml[:1]
        lines.append(row(line, *xml))
    space = ' xml:space="preserve"' if preserve else ""
    path = xlsx(tmp_path / "random.xlsx", "".join(lines), date1904=date1904,
                strings="".join(f'<si><t{space}>{escape(text)}</t></si>' for text in strings))
    same_as_calamine(path)


# --- Number formats: calamine's own test cases --------------------------------------------------------------

@pytest.mark.parametrize("code, kind", [
    ("DD/MM/YY", DATETIME), ("H:MM:SS;@", DATETIME), ("#,##0\\ [$\\u20bd-46D]", OTHER), ('m"M"d"D";@', DATETIME),
    ("[h]:mm:ss", TIMEDELTA), ('"Y: "0.00"m";"Y: "-0.00"m";"Y: <num>m";@', OTHER), ('"$"#,##0_);[Red]("$"#,##0)',
                                                                                    OTHER),
    ('[$-404]e"\\xfc"m"\\xfc"d"\\xfc"', DATETIME), ("0_ ;[Red]\\-0\\ ", OTHER), ("\\Y000000", OTHER),
    ('#,##0.0####" YMD"', OTHER), ("[h]", TIMEDELTA), ("[ss]", TIMEDELTA), ("[s].000", TIMEDELTA),
    ("[m]", TIMEDELTA), ("[mm]", TIMEDELTA), ("[Blue]\\+[h]:mm;[Red]\\-[h]:mm;[Green][h]:mm", TIMEDELTA),
    ("[>=100][Magenta][s].00", TIMEDELTA), ("[h]:mm;[=0]\\-", TIMEDELTA), ("[>=100][Magenta].00", OTHER),
    ("[>=100][Magenta]General", OTHER), ("ha/p\\\\m", DATETIME), ('#,##0.00\\ _M"H"_);[Red]#,##0.00\\ _M"S"_)', OTHER),
    ("#,##0*y", OTHER), ('0"x"*d', OTHER), ("*-#,##0", OTHER), ("*-yyyy-mm-dd", DATETIME), ("General", OTHER),
    ("am", DATETIME), ("a", OTHER), ("Ad", OTHER), ("[abc]d", DATETIME), ("[h", OTHER), ("@", OTHER),
])
def test_number_format_kinds_follow_calamine(code, kind):
    assert format_kind(code) == kind


def test_number_format_kinds_agree_with_calamine_on_a_file(tmp_path):
    codes = ["dd/mm/yyyy", "yyyy", "mmm", "s", "AM/PM", "A/P", "x", '"d"', "\\d", "_d", "0 \"days\"", "0.0E+00",
             "[$€-2] #,##0.00", "[<0]d", "h]", "]h", "[]h", "[[]]d", "[hm]", "[h][m]", "[[h]]", "Am/pm h", "E"]
    numbers = "".join(f'<numFmt numFmtId="{200 + i}" formatCode={quoteattr(code)}/>' for i, code in enumerate(codes))
    xfs = "".join(f'<xf numFmtId="{200 + i}"/>' for i in range(len(codes)))
    rows = "".join(row(i + 1, cell(f"A{i + 1}", "40000.5", s=i), cell(f"B{i + 1}", "40000", s=i))
                   for i in range(len(codes)))
    path = xlsx(tmp_path / "codes.xlsx", rows, styles=False)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/styles.xml", f'<styleSheet xmlns="{MAIN}"><numFmts>{numbers}</numFmts><cellXfs>{xfs}'
                                          '</cellXfs><dxfs><dxf><numFmt numFmtId="200" formatCode="0"/></dxf></dxfs>'
                                          '</styleSheet>')
    same_as_calamine(path)


def test_excel_dates_out_of_range_stay_numbers():
    assert xlsx_stream.excel_datetime(1e10) == 1e10
    assert xlsx_stream.excel_datetime(-1e12) == -1e12  # calamine panics on this one
    assert xlsx_stream.excel_datetime(float("nan")) == datetime(1899, 12, 30)  # as calamine: NaN rounds to 0
    assert xlsx_stream.excel_datetime(60) == date(1900, 2, 28)  # the fake 29/02/1900
    assert xlsx_stream.excel_datetime(61) == date(1900, 3, 1)


# --- Sheets, scan, safety -----------------------------------------------------------------------------------

def test_sheets_their_state_and_the_scan_of_merged_cells_and_last_row(tmp_path):
    merged = f'<{P}mergeCells count="2"><{P}mergeCell ref="A1:D1"/><{P}mergeCell ref="B5:B7"/></{P}mergeCells>'
    path = xlsx(tmp_path / "m.xlsx", "", extra=merged, dimension="A1:D120", sheets=[
        ("Ẩn", "hidden", row(1, cell("A1", "1"))),
        ("Dữ liệu", "visible", row(1, cell("A1", "2")) + row(120, cell("D120", "3")))])
    with xlsx_stream.Workbook(path) as book:
        assert [(sheet.name, sheet.state, sheet.worksheet) for sheet in book.sheets] == [
            ("Ẩn", "hidden", True), ("Dữ liệu", "visible", True)]
        scan = book.scan(book.sheets[1])
    assert scan.merged == [((0, 0), (0, 3)), ((4, 1), (6, 1))]
    assert (scan.last_row, scan.dimension) == (120, ((0, 0), (119, 3)))


def test_a_row_wider_than_allowed_is_refused(tmp_path):
    path = xlsx(tmp_path / "wide.xlsx", row(1, cell("A1", "1"), cell("ZZ1", "2")))
    with xlsx_stream.Workbook(path) as book, pytest.raises(xlsx_stream.SheetTooBig) as refused:
        list(book.rows(book.sheets[0], max_columns=200))
    assert refused.value.columns == 702


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
          + "]>")


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml",
                                  "xl/workbook.xml"])
def test_entity_expansion_is_refused_before_parsing(tmp_path, part):
    path = xlsx(tmp_path / "ok.xlsx", row(1, cell("A1", 0, t="s")), strings="<si><t>x</t></si>")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bomb, "w") as target:
        for member in source.namelist():
            content = source.read(member)
            if member == part:
                content = (LAUGHS + content.decode().replace("<si><t>x</t>", "<si><t>&lol9;</t>")
                           .replace('<v>0</v>', '<v>&lol9;</v>')).encode()
            target.writestr(member, content)
    started = time.monotonic()
    with pytest.raises(xlsx_stream.UnsafeXml):
        streamed(bomb)
    assert time.monotonic() - started < 2


def test_a_dtd_after_a_long_comment_is_still_seen():
    with pytest.raises(xlsx_stream.UnsafeXml):
        xlsx_stream.check_prolog(b'<?xml version="1.0"?>\n<!-- ' + b"x" * 1000 + b" -->\n<!DOCTYPE x []><x/>")
    with pytest.raises(xlsx_stream.UnsafeXml):  # a prolog longer than what is looked at
        xlsx_stream.check_prolog(b"<!-- " + b"x" * 100)
    xlsx_stream.check_prolog(b'\xef\xbb\xbf<?xml version="1.0"?><!-- fine --><worksheet/>')
    xlsx_stream.check_prolog("<?xml version='1.0' encoding='UTF-16'?><worksheet/>".encode("utf-16"))


def test_a_truncated_sheet_is_a_damaged_file(tmp_path):
    rows = "".join(row(line, cell(f"A{line}", line)) for line in range(1, 2000))
    path = xlsx(tmp_path / "ok.xlsx", rows)
    cut = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(cut, "w") as target:
        for member in source.namelist():
            content = source.read(member)
            target.writestr(member, content[: len(content) // 2] if member.startswith("xl/worksheets/") else content)
    with pytest.raises(xlsx_stream.DamagedXlsx):
        streamed(cut)


def test_rounding_is_rusts():
    assert [xlsx_stream._round_to_i64(x) for x in (0.5, 1.5, -0.5, -1.5, 0.49999999999999994, 2.5000000000000004,
                                                    math.nan, 1e300, -1e300)] == [
        1, 2, -1, -2, 0, 3, 0, 2 ** 63 - 1, -(2 ** 63)]
