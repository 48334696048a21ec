"""Transport manifests, checked the way a scanner and a reader see them, not the way our writer meant them.

Text comes from poppler's pdftotext (plain, ``-layout`` for the column header, ``-bbox`` for where words are);
barcodes from pages rendered by pdftoppm and decoded by zxing-cpp. zxing-cpp merges identical linear barcodes
stacked closer than half their length into one result, so lines are not decoded from the whole page: each table
row is found from the PDF's own text (its number in the first column, under the column header) and the band
from one row number down to the next (or to the totals row or the footer) is cropped and decoded alone. Each band
must hold exactly one barcode, that of its line: this also proves a line never breaks across pages.
"""
import datetime
import html
import os
import re
import shutil
import subprocess
import time
import unicodedata
from dataclasses import dataclass

import pytest
import zxingcpp
from PIL import Image

from reports.manifest import Manifest, ManifestLine, Party, Section, manifest_pdf

IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
NUMBER = "VC-2026-000123"
TITLE_VI = "PHIẾU XUẤT KHO KIÊM VẬN CHUYỂN VẮC XIN"
TITLE_EN = "VACCINE TRANSPORT MANIFEST"
HEADER_VI = r"STT\s+Tên vắc xin\s+GTIN\s+Số lô\s+Hạn sử dụng\s+Số lọ\s+Số liều"
HEADER_EN = r"#\s+Vaccine\s+GTIN\s+Lot\s+Expiry\s+Vials\s+Doses"
ORIGIN = ("KHO-QG", "Kho vắc xin quốc gia", "Số 1 Yersin, phường Cửa Nam, Hà Nội")
DESTINATION = ("HCM-DT01", "Trạm Y tế phường Bến Nghé", "35 Lê Thánh Tôn, phường Sài Gòn, TP. Hồ Chí Minh")
VACCINES = ["Vaxzevria", "Comirnaty", "Vắc xin Vero Cell", "Spikevax", "Abdala", "Hayat-Vax", "Sputnik V"]
LOTS = ["AB-12/7", "3002183", "202108B2071", "FK5618", "x%&'()*+,-./:;<=>?_z"]
LONG_NAME = ("Vắc xin phòng COVID-19 bất hoạt toàn hạt virus SARS-CoV-2 (tế bào Vero) của Viện Vắc xin và Sinh "
             "phẩm Y tế, lọ 0,5 ml")
PT_PER_MM = 72 / 25.4


def gtin(serial):
    """A GTIN-14 with its check digit, computed here rather than by the code under test."""
    body = f"089360{serial:07d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return body + str(-total % 10)


def line(index, **changes):
    fields = {"vaccine": VACCINES[index % len(VACCINES)], "gtin": gtin(100 + index % 5),
              "lot": f"{LOTS[index % len(LOTS)][:16]}{index:03d}" if index % len(LOTS) != 4 else LOTS[4],
              "expiry": datetime.date(2026, 12, 31) + datetime.timedelta(days=37 * index),
              "vials": 10 + index, "doses": 10 * (10 + index)}
    return ManifestLine(**{**fields, **changes})


def manifest(lines=3, **changes):
    fields = {"number": NUMBER, "origin": Party(*ORIGIN), "destination": Party(*DESTINATION),
              "planned_date": datetime.date(2026, 3, 15),
              "dispatched_at": datetime.datetime(2026, 3, 14, 18, 5, tzinfo=datetime.UTC),  # 01:05 on 15/03 in VN
              "vehicle": "29C-123.45", "driver": "Nguyễn Văn Hùng", "cold_box": "TL-07",
              "temperature_min": 2, "temperature_max": 8,
              "lines": [line(i) for i in range(lines)] if isinstance(lines, int) else lines,
              "issued_by": "Trần Thị Thu Hà"}
    return Manifest(**{**fields, **changes})


# --- what poppler and zxing-cpp see ------------------------------------------------------------------------------

def require(tool):
    if shutil.which(tool) is None:
        message = f"{tool} is not installed (Debian package poppler-utils)"
        if IN_CI:
            pytest.fail(message + "; CI must run these tests, not skip them")
        pytest.skip(message)


def write(pdf, tmp_path):
    source = tmp_path / "manifest.pdf"
    source.write_bytes(pdf)
    return source


def pdf_text(pdf, tmp_path, *, page=None, layout=False):
    """The text of the whole PDF, or of one page (1-based)."""
    require("pdftotext")
    command = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else [])
    if page is not None:
        command += ["-f", str(page), "-l", str(page)]
    result = subprocess.run([*command, str(write(pdf, tmp_path)), "-"], check=True, capture_output=True)
    return result.stdout.decode("utf-8")


def page_count(pdf, tmp_path):
    require("pdfinfo")
    info = subprocess.run(["pdfinfo", str(write(pdf, tmp_path))], check=True, capture_output=True, text=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


@dataclass(frozen=True)
class Word:
    text: str
    x0: float  # points from the page's left edge
    y0: float  # points from the page's top edge
    x1: float
    y1: float


def page_words(pdf, tmp_path):
    """Every word with its box, per page."""
    require("pdftotext")
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", "-bbox", str(write(pdf, tmp_path)), "-"], check=True,
                            capture_output=True)
    pages = []
    for page in result.stdout.decode("utf-8").split("<page ")[1:]:
        pages.append([Word(html.unescape(text), float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, text
                      in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)'
                                    r"</word>", page)])
    return pages


def render(pdf, tmp_path, dpi=300, page=None, crop_pt=None):
    """Pages as greyscale images, in order; ``crop_pt`` = (left, top, width, height) in points, one page."""
    require("pdftoppm")
    source = write(pdf, tmp_path)
    for old in tmp_path.glob("page*.png"):
        old.unlink()
    command = ["pdftoppm", "-r", str(dpi), "-gray", "-png"]
    if page is not None:
        command += ["-f", str(page), "-l", str(page)]
    if crop_pt:
        left, top, width, height = (round(value * dpi / 72) for value in crop_pt)
        command += ["-x", str(left), "-y", str(top), "-W", str(width), "-H", str(height)]
    subprocess.run([*command, str(source), str(tmp_path / "page")], check=True)
    return [Image.open(path) for path in sorted(tmp_path.glob("page*.png"))]  # numbers are zero-padded


def row_bands(words):
    """``(row number, top, bottom)`` in points for each table row on a page: rows are found by their numbers in
    the column under the header's first cell; a row reaches down to the next row's number, or to the totals
    row, or to the footer."""
    headers = [w for w in words if w.text in ("STT", "#")]
    if not headers:
        return []
    [header] = headers
    centre = (header.x0 + header.x1) / 2
    numbers = sorted((w for w in words if w.text.isdigit() and w.y0 > header.y1
                      and abs((w.x0 + w.x1) / 2 - centre) < 10), key=lambda w: w.y0)
    stops = [w.y0 for w in words if w.text in ("Tổng", "Total:", "Trang", "Page") and w.y0 > header.y1]
    bands = []
    for index, number in enumerate(numbers):
        bottom = numbers[index + 1].y0 if index + 1 < len(numbers) else min(s for s in stops if s > number.y0)
        bands.append((int(number.text), number.y0 - 2, bottom - 1))
    return bands


def decode_rows(pdf, tmp_path, dpi=300):
    """{row number: [barcodes decoded in that row's band]} over all pages, and the page of each row."""
    found, pages = {}, {}
    for page_number, (words, image) in enumerate(zip(page_words(pdf, tmp_path), render(pdf, tmp_path, dpi),
                                                     strict=True), 1):
        for number, top, bottom in row_bands(words):
            assert number not in found, f"row {number} appears twice"
            band = image.crop((0, round(top * dpi / 72), image.width, round(bottom * dpi / 72)))
            found[number] = zxingcpp.read_barcodes(band)
            pages[number] = page_number
    return found, pages


def assert_line_barcode(barcode, manifest_line):
    assert barcode.format == zxingcpp.BarcodeFormat.Code128
    assert barcode.symbology_identifier == "]C1"  # FNC1 first: GS1-128
    assert barcode.content_type == zxingcpp.ContentType.GS1
    expected = f"01{manifest_line.gtin}17{manifest_line.expiry:%y%m%d}10{manifest_line.lot}"
    assert barcode.bytes == expected.encode("ascii")
    assert barcode.text == f"(01){manifest_line.gtin}(17){manifest_line.expiry:%y%m%d}(10){manifest_line.lot}"


def assert_shipment_barcode(barcode, number=NUMBER):
    assert barcode.format == zxingcpp.BarcodeFormat.Code128
    assert barcode.symbology_identifier == "]C0"  # plain Code 128, not GS1
    assert barcode.content_type == zxingcpp.ContentType.Text
    assert barcode.text == number
    assert barcode.bytes == number.encode("ascii")


def assert_every_line_decodes_in_its_row(pdf, tmp_path, lines):
    found, pages = decode_rows(pdf, tmp_path)
    assert sorted(found) == list(range(1, len(lines) + 1))
    for number, manifest_line in enumerate(lines, 1):
        assert len(found[number]) == 1, f"row {number}: {len(found[number])} barcodes"
        assert_line_barcode(found[number][0], manifest_line)
    return pages


# --- text ---------------------------------------------------------------------------------------------------------

def test_vietnamese_header_parties_dates_and_transport_round_trip_exactly(tmp_path):
    text = pdf_text(manifest_pdf(manifest()), tmp_path)

    assert unicodedata.is_normalized("NFC", text)
    for expected in (TITLE_VI, f"Số phiếu: {NUMBER}", "NƠI XUẤT", "NƠI NHẬN",
                     "Kho vắc xin quốc gia", "Mã: KHO-QG", "Địa chỉ: Số 1 Yersin, phường Cửa Nam, Hà Nội",
                     "Trạm Y tế phường Bến Nghé", "Mã: HCM-DT01",
                     "Địa chỉ: 35 Lê Thánh Tôn, phường Sài Gòn, TP. Hồ Chí Minh",
                     "Ngày xuất dự kiến: 15/03/2026", "Thời gian xuất kho: 15/03/2026 01:05",
                     "Nhiệt độ yêu cầu: 2…8 °C", "Phương tiện: 29C-123.45", "Lái xe: Nguyễn Văn Hùng",
                     "Hòm lạnh/xe lạnh: TL-07", "Người lập phiếu", "Người vận chuyển", "Người nhận",
                     "(Ký, ghi rõ họ tên)", "Họ tên: Trần Thị Thu Hà", "Trang 1/1"):
        assert expected in text, expected
    assert len(re.findall(HEADER_VI, pdf_text(manifest_pdf(manifest()), tmp_path, layout=True))) == 1


def test_lines_and_totals_are_printed_with_vietnamese_number_and_date_formats(tmp_path):
    lines = [line(0, vials=12, doses=120), line(1, vials=1200, doses=7200),
             line(2, vaccine="Vắc xin Vero Cell", gtin=gtin(7), lot="202108B2071",
                  expiry=datetime.date(2027, 2, 5), vials=3, doses=3)]
    text = pdf_text(manifest_pdf(manifest(lines)), tmp_path)

    for expected in ("Vắc xin Vero Cell", gtin(7), "202108B2071", "05/02/2027", "1.200", "7.200",
                     "Tổng cộng: 3 dòng", "1.215", "7.323", f"(01) {gtin(7)} (17) 270205 (10) 202108B2071"):
        assert expected in text, expected


def test_english_manifest(tmp_path):
    lines = [line(0, vials=1200, doses=7200), line(1, vials=3, doses=3)]
    pdf = manifest_pdf(manifest(lines), lang="en")
    text = pdf_text(pdf, tmp_path)

    for expected in (TITLE_EN, f"Shipment no.: {NUMBER}", "ORIGIN", "DESTINATION", "Kho vắc xin quốc gia",
                     "Address: 35 Lê Thánh Tôn, phường Sài Gòn, TP. Hồ Chí Minh", "Planned date: 15/03/2026",
                     "Dispatched at: 15/03/2026 01:05", "Required temperature: 2…8 °C", "Vehicle: 29C-123.45",
                     "Driver: Nguyễn Văn Hùng", "Cold box: TL-07", "Total: 2 lines", "1,203", "7,203",
                     "Issued by", "Carrier", "Received by", "(Signature and full name)", "Name: Trần Thị Thu Hà",
                     "Page 1 of 1"):
        assert expected in text, expected
    for vietnamese in ("PHIẾU", "Trang", "Tổng cộng", "Người nhận", "Nhiệt độ"):
        assert vietnamese not in text
    assert len(re.findall(HEADER_EN, pdf_text(pdf, tmp_path, layout=True))) == 1
    assert "Total: 1 line\n" in pdf_text(manifest_pdf(manifest(1), lang="en"), tmp_path)


def test_frozen_temperatures_are_printed_with_a_minus_sign(tmp_path):
    text = pdf_text(manifest_pdf(manifest(temperature_min=-90, temperature_max=-60)), tmp_path)

    assert "Nhiệt độ yêu cầu: −90…−60 °C" in text


def test_a_manifest_printed_before_dispatch_leaves_time_vehicle_driver_and_cold_box_to_fill_in(tmp_path):
    pdf = manifest_pdf(manifest(dispatched_at=None, vehicle="", driver="", cold_box="", issued_by=""))
    text = pdf_text(pdf, tmp_path)

    for label in ("Thời gian xuất kho:", "Phương tiện:", "Lái xe:", "Hòm lạnh/xe lạnh:", "Họ tên:"):
        assert label in text
    assert "01:05" not in text and "29C" not in text and "Trần Thị Thu Hà" not in text


def test_nfd_input_is_stored_and_printed_as_nfc(tmp_path):
    def nfd(text):
        return unicodedata.normalize("NFD", text)

    data = manifest([line(0, vaccine=nfd("Vắc xin Vero Cell"))], origin=Party("KHO-QG", nfd(ORIGIN[1]),
                                                                              nfd(ORIGIN[2])),
                    driver=nfd("Nguyễn Văn Hùng"))
    assert data.origin.name == ORIGIN[1] and data.lines[0].vaccine == "Vắc xin Vero Cell"
    text = pdf_text(manifest_pdf(data), tmp_path)

    for expected in ("Vắc xin Vero Cell", ORIGIN[1], ORIGIN[2], "Nguyễn Văn Hùng"):
        assert expected in text
        assert nfd(expected) not in text


def test_sections_contributed_by_plugins_are_printed(tmp_path):
    sections = [Section("Thiết bị ghi nhiệt độ", [("Mã thiết bị", "LOG-0042"), ("Hiệu chuẩn", "01/2026")]),
                Section("Ghi chú", [("Lưu ý", "Kiểm tra chỉ thị nhiệt độ trên lọ (VVM) khi nhận hàng")])]
    text = pdf_text(manifest_pdf(manifest(sections=sections)), tmp_path, layout=True)

    assert "Thiết bị ghi nhiệt độ" in text and "Ghi chú" in text
    assert re.search(r"Mã thiết bị\s+LOG-0042", text)
    assert re.search(r"Hiệu chuẩn\s+01/2026", text)
    assert re.search(r"Lưu ý\s+Kiểm tra chỉ thị nhiệt độ trên lọ \(VVM\) khi nhận hàng", text)
    assert text.index("Tổng cộng") < text.index("Thiết bị ghi nhiệt độ") < text.index("Người lập phiếu")


# --- barcodes -----------------------------------------------------------------------------------------------------

def test_shipment_barcode_is_plain_code_128_of_the_number_on_page_one(tmp_path):
    pdf = manifest_pdf(manifest())
    [page] = render(pdf, tmp_path)
    words = page_words(pdf, tmp_path)[0]
    header_top = min(w.y0 for w in words if w.text == "STT")

    [above_table] = render(pdf, tmp_path, crop_pt=(0, 0, 595, header_top))
    [barcode] = zxingcpp.read_barcodes(above_table)
    assert_shipment_barcode(barcode)
    plain = [b for b in zxingcpp.read_barcodes(page) if b.symbology_identifier != "]C1"]
    assert len(plain) == 1
    assert_shipment_barcode(plain[0])


@pytest.mark.parametrize("number", ["VC-2026-000123", "12345678", "vc/2026 7", "A" * 20])
def test_any_printable_shipment_number_round_trips(tmp_path, number):
    pdf = manifest_pdf(manifest(1, number=number))
    words = page_words(pdf, tmp_path)[0]
    header_top = min(w.y0 for w in words if w.text == "STT")

    [barcode] = zxingcpp.read_barcodes(render(pdf, tmp_path, crop_pt=(0, 0, 595, header_top))[0])
    assert_shipment_barcode(barcode, number)


def test_every_line_gs1_128_decodes_to_its_gtin_expiry_and_lot(tmp_path):
    lines = [line(i) for i in range(len(LOTS))] + [line(5, lot="A1B2C3D4E5F6G7H8I9J0"),
                                                    line(6, lot="12345678901234567890")]
    assert_every_line_decodes_in_its_row(manifest_pdf(manifest(lines)), tmp_path, lines)


def test_identical_lines_stacked_are_each_decoded_in_their_own_row(tmp_path):
    same = line(0)
    lines = [same, same, same]
    pdf = manifest_pdf(manifest(lines))

    assert_every_line_decodes_in_its_row(pdf, tmp_path, lines)


def measure(image, barcode, dpi):
    """(module, left quiet zone, right quiet zone) in mm along the middle scan line of ``barcode``; a quiet
    zone runs until the next dark pixel (other print or the image edge)."""
    corners = [barcode.position.top_left, barcode.position.top_right, barcode.position.bottom_left,
               barcode.position.bottom_right]
    y = (barcode.position.top_left.y + barcode.position.bottom_left.y) // 2
    scan = image.convert("L").crop((0, y, image.width, y + 1)).tobytes()
    runs = []  # [dark, start, length]
    for x, value in enumerate(scan):
        dark = value < 128
        if runs and runs[-1][0] == dark:
            runs[-1][2] += 1
        else:
            runs.append([dark, x, 1])
    left, right = min(c.x for c in corners) - 3, max(c.x for c in corners) + 3
    inside = [i for i, (dark, start, length) in enumerate(runs) if dark and start >= left and start + length <= right]
    first, last = inside[0], inside[-1]
    symbol = runs[first:last + 1]
    dark_runs = sum(1 for dark, _, _ in symbol if dark)
    assert (dark_runs - 4) % 3 == 0, "not a Code 128 bar pattern"
    modules = 11 * (dark_runs - 4) // 3 + 13
    module = sum(length for _, _, length in symbol) / modules
    to_mm = 25.4 / dpi
    left_quiet = runs[first - 1][2] if first > 0 else 0
    right_quiet = runs[last + 1][2] if last + 1 < len(runs) else 0
    return module * to_mm, left_quiet * to_mm, right_quiet * to_mm


def test_bars_are_at_least_a_quarter_millimetre_wide_with_10_module_quiet_zones(tmp_path):
    dpi = 1200
    pdf = manifest_pdf(manifest([line(0), line(5, lot="A1B2C3D4E5F6G7H8I9J0")]))
    words = page_words(pdf, tmp_path)[0]
    header_top = min(w.y0 for w in words if w.text == "STT")
    bands = row_bands(words)

    [top] = render(pdf, tmp_path, dpi, crop_pt=(0, 0, 595, header_top))
    strips = [(top, zxingcpp.read_barcodes(top)[0])]
    for _, band_top, band_bottom in bands:
        [strip] = render(pdf, tmp_path, dpi, crop_pt=(0, band_top, 595, band_bottom - band_top))
        strips.append((strip, zxingcpp.read_barcodes(strip)[0]))
    assert len(strips) == 3
    for image, barcode in strips:
        module, left_quiet, right_quiet = measure(image, barcode, dpi)
        assert module >= 0.25
        assert left_quiet >= 10 * module and right_quiet >= 10 * module


# --- pages --------------------------------------------------------------------------------------------------------

def test_60_lines_span_several_pages_with_header_page_numbers_and_every_barcode(tmp_path):
    lines = [line(i) for i in range(60)]
    pdf = manifest_pdf(manifest(lines))
    pages = page_count(pdf, tmp_path)

    assert pages >= 3
    row_pages = assert_every_line_decodes_in_its_row(pdf, tmp_path, lines)
    assert sorted(row_pages.values()) == list(row_pages.values())  # in order, page after page
    assert set(row_pages.values()) >= set(range(1, pages))  # lines on every page but perhaps the last
    for page in range(1, pages + 1):
        text = pdf_text(pdf, tmp_path, page=page)
        layout = pdf_text(pdf, tmp_path, page=page, layout=True)
        assert re.findall(r"Trang \d+/\d+", text) == [f"Trang {page}/{pages}"]
        holds_lines = page in row_pages.values()
        assert len(re.findall(HEADER_VI, layout)) == (1 if holds_lines else 0), page
        assert (TITLE_VI in text) and (f"Số phiếu: {NUMBER}" in text)
    last = pdf_text(pdf, tmp_path, page=pages)
    assert "Tổng cộng: 60 dòng" in last
    assert f"{sum(ln.vials for ln in lines):,}".replace(",", ".") in last
    assert f"{sum(ln.doses for ln in lines):,}".replace(",", ".") in last
    assert "Người nhận" in last
    # the shipment barcode is on page 1 only, and nothing but line barcodes and it is on any page
    for page, image in enumerate(render(pdf, tmp_path), 1):
        plain = [b for b in zxingcpp.read_barcodes(image) if b.symbology_identifier != "]C1"]
        assert len(plain) == (1 if page == 1 else 0)


def test_english_page_numbers_read_page_x_of_y(tmp_path):
    pdf = manifest_pdf(manifest(30), lang="en")
    pages = page_count(pdf, tmp_path)

    assert pages >= 2
    for page in range(1, pages + 1):
        assert re.findall(r"Page \d+ of \d+", pdf_text(pdf, tmp_path, page=page)) == [f"Page {page} of {pages}"]


# --- long text ----------------------------------------------------------------------------------------------------

def column_edges(words):
    """The left edges of the vaccine and GTIN columns, from the column header's words."""
    header = [w for w in words if w.text in ("Tên", "GTIN")]
    vaccine = min(w.x0 for w in header if w.text == "Tên")
    gtin_left = min(w.x0 for w in header if w.text == "GTIN")
    return vaccine, gtin_left


@pytest.mark.parametrize("name", [LONG_NAME, " ".join([LONG_NAME] * 4), "Vắcxin" * 30])
def test_long_vaccine_names_wrap_or_shrink_inside_their_column(tmp_path, name):
    lines = [line(0, vaccine=name), line(1)]
    pdf = manifest_pdf(manifest(lines))
    words = page_words(pdf, tmp_path)[0]
    vaccine_left, gtin_left = column_edges(words)
    [(_, top, bottom), _] = row_bands(words)

    in_row = [w for w in words if top <= w.y0 < bottom]
    hri = {round(w.y0) for w in in_row if w.text == "(01)"}  # the barcode's human-readable line
    name_words = [w for w in in_row if vaccine_left - 1 <= w.x0 < gtin_left and round(w.y0) not in hri]
    assert all(w.x1 <= gtin_left - 1 for w in name_words), "the name runs into the GTIN column"
    assert len({round(w.y0) for w in name_words}) <= 3
    printed = "".join(w.text for w in name_words)
    compact = name.replace(" ", "")
    if len(name) <= len(LONG_NAME):
        assert printed == compact  # wrapped whole
    else:
        assert printed.endswith("…") and compact.startswith(printed[:-1])  # cut only past 3 lines
    assert_every_line_decodes_in_its_row(pdf, tmp_path, lines)


# --- speed --------------------------------------------------------------------------------------------------------

def test_500_lines_build_within_the_target():
    data = manifest(500)
    durations = []
    for _ in range(3):
        started = time.perf_counter()
        pdf = manifest_pdf(data)
        durations.append(time.perf_counter() - started)
    assert pdf.startswith(b"%PDF-")
    assert min(durations) <= 1.5, f"500-line manifest took {min(durations):.2f} s (target 1.5 s)"


# --- bad input ----------------------------------------------------------------------------------------------------

def test_a_manifest_without_lines_is_refused():
    with pytest.raises(ValueError, match="at least one line"):
        manifest([])


@pytest.mark.parametrize(("changes", "message"), [
    ({"doses": -5}, "doses must be a positive whole number, got -5"),
    ({"doses": 0}, "doses must be a positive whole number"),
    ({"vials": -1}, "vials must be a positive whole number"),
    ({"doses": True}, "doses must be a positive whole number"),
    ({"doses": 12.0}, "doses must be a positive whole number"),
    ({"vials": 10, "doses": 5}, r"doses \(5\) cannot be fewer than vials \(10\)"),
    ({"gtin": "0893601234567"}, "GTIN must be 14 digits"),
    ({"gtin": "089360123456740"}, "GTIN must be 14 digits"),
    ({"gtin": 8936012345674}, "GTIN must be 14 digits"),
    ({"gtin": "０８９３６０１２３４５６７４"}, "GTIN must be 14 digits"),
    ({"gtin": "08936012345673"}, "wrong check digit"),
    ({"lot": ""}, "1 to 20 characters"),
    ({"lot": "lô 5"}, "cannot carry"),
    ({"expiry": "2026-12-31"}, "expiry must be a date"),
    ({"vaccine": "  "}, "vaccine must not be empty"),
])
def test_bad_lines_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        line(0, **changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"number": ""}, "shipment number must be 1 to 20 printable ASCII characters"),
    ({"number": "VC-2026-Đ01"}, "shipment number must be"),
    ({"number": "A" * 21}, "shipment number must be"),
    ({"number": " VC-1"}, "shipment number must be"),
    ({"dispatched_at": datetime.datetime(2026, 3, 15, 7, 30)}, "dispatched_at must be a timezone-aware"),
    ({"dispatched_at": datetime.date(2026, 3, 15)}, "dispatched_at must be a timezone-aware"),
    ({"planned_date": "15/03/2026"}, "planned_date must be a date"),
    ({"temperature_min": 9}, r"temperature_min \(9 °C\) is above temperature_max \(8 °C\)"),
    ({"temperature_max": 2.5}, "temperature_max must be a whole number"),
    ({"temperature_min": -300}, "temperature_min must be a whole number of °C from -100 to 60"),
    ({"lines": [{"gtin": "x"}]}, "line 1 must be a ManifestLine"),
    ({"lines": "AB"}, "lines must be a list"),
    ({"origin": "KHO-QG"}, "origin must be a Party"),
    ({"sections": ["x"]}, "sections must be Section objects"),
    ({"driver": None}, "driver must be a string"),
])
def test_bad_manifests_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        manifest(**changes)


def test_too_many_lines_are_refused():
    with pytest.raises(ValueError, match="at most 2000 lines"):
        manifest([line(0)] * 2001)


@pytest.mark.parametrize(("args", "message"), [
    ((" ", "Kho"), "a party needs a code and a name"),
    (("KHO", ""), "a party needs a code and a name"),
    (("KHO", "Kho", None), "party address must be a string"),
])
def test_bad_parties_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        Party(*args)


@pytest.mark.parametrize(("args", "message"), [
    (("", [("a", "b")]), "section title must not be empty"),
    (("Ghi chú", "a"), "rows must be a list of"),
    (("Ghi chú", [("a", "b", "c")]), "each row must be a"),
    (("Ghi chú", [("a", 5)]), "section value must be a string"),
])
def test_bad_sections_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        Section(*args)


@pytest.mark.parametrize("lang", ["fr", "VI", "", None, "vi_VN"])
def test_unknown_language_is_refused(lang):
    with pytest.raises(ValueError, match=r"unknown manifest language .*; choose one of: vi, en"):
        manifest_pdf(manifest(), lang)


def test_something_that_is_not_a_manifest_is_refused():
    with pytest.raises(ValueError, match="manifest must be a Manifest"):
        manifest_pdf({"number": NUMBER})


def test_the_same_manifest_gives_the_same_bytes():
    assert manifest_pdf(manifest()) == manifest_pdf(manifest())
