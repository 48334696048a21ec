"""Lot labels, checked the way a scanner and a reader see them, not the way our writer meant them.

Each PDF is rendered with poppler's pdftoppm and every barcode decoded with zxing-cpp; its text is extracted with
pdftotext. A4 pages are cut into the cells of the label stock (2 × 8 labels of 105 × 37 mm) and each cell decoded
alone: zxing-cpp merges identical linear barcodes stacked closer than half their length into one result, so a whole
sheet of the same label would decode as one barcode per column.
"""
import datetime
import os
import shutil
import subprocess
import unicodedata

import pytest
import zxingcpp
from PIL import Image

from reports.labels import LotLabel, lot_labels_pdf

GTIN = "08936012345674"
EXPIRY = datetime.date(2026, 12, 31)
VERO_CELL = "Vắc xin Vero Cell"
A4_MM = (210, 297)
STOCK = {"columns": 2, "rows": 8, "label_mm": (105, 37)}
THERMAL_MM = (50, 30)
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def vero_cell(lot="AB-12/7", **changes):
    fields = {"gtin": GTIN, "lot": lot, "expiry": EXPIRY, "vaccine_name": VERO_CELL, "manufacturer": "Sinopharm",
              "doses_per_vial": 1}
    return LotLabel(**{**fields, **changes})


def require(tool):
    if shutil.which(tool) is None:
        message = f"{tool} is not installed (Debian package poppler-utils)"
        if IN_CI:
            pytest.fail(message + "; CI must run these tests, not skip them")
        pytest.skip(message)


def px(mm, dpi):
    return round(mm * dpi / 25.4)


def render(pdf, tmp_path, dpi=300, crop_mm=None):
    """Every page of ``pdf`` as a greyscale image, in page order; ``crop_mm`` = (left, top, width, height)."""
    require("pdftoppm")
    source = tmp_path / "labels.pdf"
    source.write_bytes(pdf)
    for old in tmp_path.glob("page*.png"):
        old.unlink()
    command = ["pdftoppm", "-r", str(dpi), "-gray", "-png"]
    if crop_mm:
        left, top, width, height = (px(value, dpi) for value in crop_mm)
        command += ["-x", str(left), "-y", str(top), "-W", str(width), "-H", str(height)]
    subprocess.run([*command, str(source), str(tmp_path / "page")], check=True)
    return [Image.open(path) for path in sorted(tmp_path.glob("page*.png"))]  # numbers are zero-padded


def pdf_text(pdf, tmp_path):
    require("pdftotext")
    source = tmp_path / "labels.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(source), "-"], check=True, capture_output=True)
    return result.stdout.decode("utf-8")


def stock_cells(page, dpi=300):
    """The page cut into the label stock's cells, row by row, left to right."""
    columns, rows, (width, height) = STOCK["columns"], STOCK["rows"], STOCK["label_mm"]
    left0, top0 = (A4_MM[0] - columns * width) / 2, (A4_MM[1] - rows * height) / 2
    return [page.crop((px(left0 + column * width, dpi), px(top0 + row * height, dpi),
                       px(left0 + (column + 1) * width, dpi), px(top0 + (row + 1) * height, dpi)))
            for row in range(rows) for column in range(columns)]


def assert_gs1_lot_barcode(barcode, lot, yymmdd="261231"):
    assert barcode.format == zxingcpp.BarcodeFormat.Code128
    assert barcode.symbology_identifier == "]C1"  # FNC1 in first position: GS1-128, not plain Code 128
    assert barcode.content_type == zxingcpp.ContentType.GS1
    assert barcode.text == f"(01){GTIN}(17){yymmdd}(10){lot}"
    assert barcode.bytes == f"01{GTIN}17{yymmdd}10{lot}".encode("ascii")


def test_a4_sheet_holds_16_labels_so_30_labels_take_two_pages(tmp_path):
    pages = render(lot_labels_pdf(vero_cell(), 30, "a4"), tmp_path)

    assert len(pages) == 2
    found = [[zxingcpp.read_barcodes(cell) for cell in stock_cells(page)] for page in pages]
    assert [len(barcodes) for barcodes in found[0]] == [1] * 16
    assert [len(barcodes) for barcodes in found[1]] == [1] * 14 + [0, 0]
    decoded = [barcode for page in found for cell in page for barcode in cell]
    assert len(decoded) == 30
    for barcode in decoded:
        assert_gs1_lot_barcode(barcode, "AB-12/7")


def test_thermal_prints_each_label_on_its_own_50_by_30_mm_page(tmp_path):
    pages = render(lot_labels_pdf(vero_cell("FK5618"), 3, "thermal"), tmp_path)

    assert len(pages) == 3
    for page in pages:
        assert abs(page.width - THERMAL_MM[0] * 300 / 25.4) <= 1
        assert abs(page.height - THERMAL_MM[1] * 300 / 25.4) <= 1
        [barcode] = zxingcpp.read_barcodes(page)
        assert_gs1_lot_barcode(barcode, "FK5618")


@pytest.mark.parametrize("lot", ["AB-12/7", "3002183", "202108B2071", "A1B2C3D4E5F6G7H8I9J0",
                                 "12345678901234567890", "x%&'()*+,-./:;<=>?_z"])
def test_barcode_round_trips_lots_that_switch_between_digit_pairs_and_letters(tmp_path, lot):
    [page] = render(lot_labels_pdf(vero_cell(lot), 1, "a4"), tmp_path)

    [barcode] = zxingcpp.read_barcodes(stock_cells(page)[0])
    assert_gs1_lot_barcode(barcode, lot)


def test_expiry_is_encoded_as_yymmdd(tmp_path):
    label = vero_cell("FK5618", expiry=datetime.date(2027, 2, 5))
    [page] = render(lot_labels_pdf(label, 1, "thermal"), tmp_path)

    [barcode] = zxingcpp.read_barcodes(page)
    assert_gs1_lot_barcode(barcode, "FK5618", yymmdd="270205")


def measure_barcode(image, dpi):
    """(module width, left quiet zone, right quiet zone) in mm, read off the pixels of the one barcode in
    ``image``, along its middle scan line; the quiet zones are measured to the image's edges."""
    [barcode] = zxingcpp.read_barcodes(image)
    position = barcode.position
    y = (position.top_left.y + position.bottom_left.y) // 2
    line = image.convert("L").crop((0, y, image.width, y + 1)).tobytes()
    runs = []  # [is_dark, length]
    for value in line:
        dark = value < 128
        if runs and runs[-1][0] == dark:
            runs[-1][1] += 1
        else:
            runs.append([dark, 1])
    assert not runs[0][0] and not runs[-1][0], "the barcode touches the edge of its label"
    bars_and_spaces = runs[1:-1]
    dark_runs = sum(1 for dark, _ in bars_and_spaces if dark)
    assert (dark_runs - 4) % 3 == 0, "not a Code 128 bar pattern (3 bars per character, 4 in the stop)"
    modules = 11 * (dark_runs - 4) // 3 + 13
    module = sum(length for _, length in bars_and_spaces) / modules
    for _, length in bars_and_spaces:
        assert 1 <= round(length / module) <= 4 and abs(length / module - round(length / module)) < 0.35
    to_mm = 25.4 / dpi
    return module * to_mm, runs[0][1] * to_mm, runs[-1][1] * to_mm


def test_a4_bars_are_at_least_a_quarter_millimetre_wide_with_10_module_quiet_zones(tmp_path):
    dpi = 1200
    top = (A4_MM[1] - STOCK["rows"] * STOCK["label_mm"][1]) / 2
    [first_label] = render(lot_labels_pdf(vero_cell("202108B2071"), 1, "a4"), tmp_path, dpi,
                           crop_mm=(0, top, *STOCK["label_mm"]))

    module, left_quiet, right_quiet = measure_barcode(first_label, dpi)
    assert module >= 0.25
    assert left_quiet >= 10 * module and right_quiet >= 10 * module


def test_thermal_bars_are_two_dots_of_a_300_dpi_printer_with_10_module_quiet_zones(tmp_path):
    dpi = 1200
    [page] = render(lot_labels_pdf(vero_cell("FK5618"), 1, "thermal"), tmp_path, dpi)

    module, left_quiet, right_quiet = measure_barcode(page, dpi)
    assert module == pytest.approx(2 * 25.4 / 300, abs=0.01)
    assert left_quiet >= 10 * module and right_quiet >= 10 * module


@pytest.mark.parametrize(("size", "lot"), [("a4", "AB-12/7"), ("thermal", "FK5618")])
def test_vietnamese_text_round_trips_exactly(tmp_path, size, lot):
    text = pdf_text(lot_labels_pdf(vero_cell(lot), 1, size), tmp_path)

    assert unicodedata.is_normalized("NFC", text)
    for line in (VERO_CELL, "Sinopharm", "1 liều/lọ", f"Số lô: {lot}", "HSD: 31/12/2026",
                 f"(01) {GTIN} (17) 261231 (10) {lot}"):
        assert line in text


def test_nfd_input_is_stored_and_printed_as_nfc(tmp_path):
    decomposed = unicodedata.normalize("NFD", VERO_CELL)
    assert decomposed != VERO_CELL

    label = vero_cell(vaccine_name=decomposed, manufacturer=unicodedata.normalize("NFD", "Viện Vắc xin"))
    assert label.vaccine_name == VERO_CELL
    assert label.manufacturer == "Viện Vắc xin"
    text = pdf_text(lot_labels_pdf(label, 1), tmp_path)
    assert VERO_CELL in text and "Viện Vắc xin" in text
    assert decomposed not in text


def test_doses_per_vial_is_left_out_when_unknown(tmp_path):
    text = pdf_text(lot_labels_pdf(vero_cell(doses_per_vial=None), 1), tmp_path)

    assert "liều/lọ" not in text
    assert "HSD: 31/12/2026" in text


@pytest.mark.parametrize("count", [0, -1, 1001, 2.0, True, "3", None])
def test_count_outside_1_to_1000_is_refused(count):
    with pytest.raises(ValueError, match="count must be a whole number from 1 to 1000"):
        lot_labels_pdf(vero_cell(), count)


def test_1000_labels_is_allowed():
    assert lot_labels_pdf(vero_cell(), 1000).startswith(b"%PDF-")


@pytest.mark.parametrize("size", ["letter", "A4", "", None])
def test_unknown_size_is_refused(size):
    with pytest.raises(ValueError, match="unknown label size .*a4, thermal"):
        lot_labels_pdf(vero_cell(), 1, size)


@pytest.mark.parametrize("gtin", ["0893601234567", "089360123456740", "0893601234567X", " 08936012345674", "",
                                  8936012345674, "０８９３６０１２３４５６７４"])
def test_gtin_that_is_not_14_digits_is_refused(gtin):
    with pytest.raises(ValueError, match="GTIN must be 14 digits"):
        vero_cell(gtin=gtin)


def test_gtin_with_a_wrong_check_digit_is_refused():
    with pytest.raises(ValueError, match="wrong check digit"):
        vero_cell(gtin="08936012345673")


@pytest.mark.parametrize(("lot", "message"), [("", "1 to 20 characters"), ("A" * 21, "1 to 20 characters"),
                                              ("lô 5", "cannot carry"), ("AB 12", "cannot carry"),
                                              ("AB\x1d12", "cannot carry")])
def test_lot_a_gs1_barcode_cannot_carry_is_refused(lot, message):
    with pytest.raises(ValueError, match=message):
        vero_cell(lot)


@pytest.mark.parametrize(("field", "value"), [("expiry", "2026-12-31"), ("vaccine_name", "  "),
                                              ("doses_per_vial", 0), ("doses_per_vial", True)])
def test_other_bad_label_data_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        vero_cell(**{field: value})


def test_thermal_refuses_a_lot_too_long_for_a_readable_barcode_and_points_to_a4():
    label = vero_cell("A1B2C3D4E5F6G7H8I9J0")

    with pytest.raises(ValueError, match="too long for a readable barcode.*A4"):
        lot_labels_pdf(label, 1, "thermal")
    assert lot_labels_pdf(label, 1, "a4").startswith(b"%PDF-")
