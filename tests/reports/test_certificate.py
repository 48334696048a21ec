"""The vaccination certificate, read the way a person and a verifier's phone see it: text from pdftotext, the QR
code decoded by zxing-cpp from the page rendered at 300 dpi, the band's colour from a colour rendering."""
import dataclasses
import datetime
import re
import subprocess
import unicodedata

import pytest
import zxingcpp
from PIL import Image

from modules.injection.signing import load_or_create_key, sign, verify
from reports.certificate import Certificate, CertificateDose, certificate_pdf
from tests.reports.test_manifest import page_count, pdf_text, render, require, write

TITLE_VI = "GIẤY CHỨNG NHẬN TIÊM CHỦNG COVID-19"
TITLE_EN = "COVID-19 VACCINATION CERTIFICATE"
NAME = "Nguyễn Thị Minh Khai"
BIRTH = datetime.date(1985, 3, 12)
DOSES = [  # (vaccine printed, code signed, lot, site)
    ("Vaxzevria (AstraZeneca)", "VAXZEVRIA", "ABV5811", "Trạm Y tế phường Bến Nghé"),
    ("Vaxzevria (AstraZeneca)", "VAXZEVRIA", "ABV5811", "Trạm Y tế phường Bến Nghé"),
    ("Comirnaty (Pfizer-BioNTech)", "COMIRNATY", "FK5618", "Bệnh viện Đa khoa tỉnh Quảng Ninh"),
    ("Spikevax (Moderna)", "SPIKEVAX", "3002183", "TTYT quận 1"),
]
DPI = 300


def dose_date(number):
    return datetime.date(2021, 8, 15) + datetime.timedelta(days=60 * (number - 1))


@pytest.fixture
def key(tmp_path_factory):
    return load_or_create_key(tmp_path_factory.mktemp("instance"))


def certificate(key, doses=4, **changes):
    status = "none" if doses == 0 else "complete" if doses >= 2 else "partial"
    printed = [CertificateDose(number=n, date=dose_date(n), vaccine=DOSES[(n - 1) % 4][0], lot=DOSES[(n - 1) % 4][2],
                               site=DOSES[(n - 1) % 4][3]) for n in range(1, doses + 1)]
    signed = [{"date": dose_date(n), "vaccine": DOSES[(n - 1) % 4][1], "lot": DOSES[(n - 1) % 4][2], "dose": n}
              for n in range(1, doses + 1)]
    payload = sign({"name": NAME, "birth_date": BIRTH, "status": status, "doses": signed}, key=key) if doses else ""
    fields = {"person_name": NAME, "birth_date": BIRTH, "masked_id": "*********789", "status": status,
              "doses": printed, "next_due": datetime.date(2021, 9, 12) if status == "partial" else None,
              "issued_on": datetime.date(2026, 3, 15), "payload": payload}
    return Certificate(**{**fields, **changes})


def qr_codes(pdf, tmp_path):
    [page] = render(pdf, tmp_path, dpi=DPI)
    return zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)


def colour_page(pdf, tmp_path):
    require("pdftoppm")
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-singlefile", str(write(pdf, tmp_path)),
                    str(tmp_path / "colour")], check=True)
    return Image.open(tmp_path / "colour.png").convert("RGB")


def share_of(image, rgb, tolerance=40):
    """The share of the page's pixels within ``tolerance`` of ``rgb`` on every channel."""
    colours = image.getcolors(image.width * image.height)
    near = sum(count for count, pixel in colours
               if all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=True)))
    return near / (image.width * image.height)


# --- text ---------------------------------------------------------------------------------------------------------

def test_vietnamese_certificate_prints_the_person_the_status_and_every_dose(key, tmp_path):
    text = pdf_text(certificate_pdf(certificate(key)), tmp_path)

    assert unicodedata.is_normalized("NFC", text)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", TITLE_VI,
                     "ĐÃ TIÊM ĐỦ LIỀU CƠ BẢN", "Đã tiêm 4 mũi", "Họ và tên", NAME, "Ngày sinh", "12/03/1985",
                     "Số CCCD/CMND", "*********789", "Ngày cấp", "15/03/2026", "CÁC MŨI ĐÃ TIÊM",
                     "Mã QR được ký số", "ABV5811", "FK5618", "3002183", "Trạm Y tế phường Bến Nghé", "TTYT quận 1",
                     "Spikevax (Moderna)", "15/08/2021", "14/10/2021", "13/12/2021", "11/02/2022"):
        assert expected in text, expected
    layout = pdf_text(certificate_pdf(certificate(key)), tmp_path, layout=True)
    assert "Mũi" in layout and "Ngày tiêm" in layout and "Vắc xin" in layout and "Số lô" in layout
    assert "Nơi tiêm" in layout


def test_a_partial_certificate_says_so_and_gives_the_next_dose(key, tmp_path):
    text = pdf_text(certificate_pdf(certificate(key, doses=1)), tmp_path)

    for expected in ("ĐÃ TIÊM, CHƯA ĐỦ LIỀU CƠ BẢN", "Đã tiêm 1 mũi", "Ngày tiêm mũi tiếp theo (dự kiến)",
                     "12/09/2021"):
        assert expected in text, expected
    assert "ĐÃ TIÊM ĐỦ LIỀU" not in text


def test_english_certificate(key, tmp_path):
    text = pdf_text(certificate_pdf(certificate(key, doses=1, lang="en")), tmp_path)

    for expected in ("SOCIALIST REPUBLIC OF VIET NAM", TITLE_EN, "PARTIALLY VACCINATED", "1 dose given",
                     "Full name", NAME, "Date of birth", "12/03/1985", "ID number", "Next dose due (planned)",
                     "12/09/2021", "DOSES GIVEN", "Trạm Y tế phường Bến Nghé", "verifiable offline"):
        assert expected in text, expected
    for vietnamese in ("GIẤY CHỨNG NHẬN", "Họ và tên", "Ngày sinh", "Mũi", "mũi"):
        assert vietnamese not in text, vietnamese
    assert "FULLY VACCINATED" in pdf_text(certificate_pdf(certificate(key, lang="en")), tmp_path)
    assert "4 doses given" in pdf_text(certificate_pdf(certificate(key, lang="en")), tmp_path)


def test_decomposed_names_are_printed_composed(key, tmp_path):
    decomposed = unicodedata.normalize("NFD", NAME)
    pdf = certificate_pdf(certificate(key, person_name=f"  {decomposed} "))

    assert f"\n{NAME}\n" in pdf_text(pdf, tmp_path)


def test_a_person_without_any_dose_gets_a_grey_certificate_without_qr_code(key, tmp_path):
    pdf = certificate_pdf(certificate(key, doses=0))
    text = pdf_text(pdf, tmp_path)

    assert "CHƯA TIÊM VẮC XIN COVID-19" in text and "Chưa có mũi tiêm nào được ghi nhận" in text
    assert "Mã QR" not in text
    assert qr_codes(pdf, tmp_path) == []


# --- the QR code --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("doses, lang", [(1, "vi"), (4, "vi"), (4, "en"), (12, "vi")])
def test_the_qr_code_reads_back_as_the_signed_payload_exactly(key, tmp_path, doses, lang):
    printed = certificate(key, doses=doses, lang=lang)

    [code] = qr_codes(certificate_pdf(printed), tmp_path)

    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.ec_level == "M"
    assert code.text == printed.payload
    assert code.bytes == printed.payload.encode("ascii")
    assert verify(code.text, public_keys=[key.public_key]).valid


def test_the_qr_code_is_at_least_30_mm_wide(key, tmp_path):
    [code] = qr_codes(certificate_pdf(certificate(key)), tmp_path)

    position = code.position
    width_mm = (position.top_right.x - position.top_left.x) * 25.4 / DPI
    height_mm = (position.bottom_left.y - position.top_left.y) * 25.4 / DPI
    assert width_mm >= 30 and height_mm >= 30, (width_mm, height_mm)


# --- the page -----------------------------------------------------------------------------------------------------

def test_a_four_dose_certificate_fits_one_a5_page(key, tmp_path):
    pdf = certificate_pdf(certificate(key))

    assert page_count(pdf, tmp_path) == 1
    info = subprocess.run(["pdfinfo", str(write(pdf, tmp_path))], check=True, capture_output=True, text=True)
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info.stdout).groups())
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (148, 210)  # A5 portrait


def test_twelve_doses_with_long_names_still_fit_one_page_and_no_lot_is_cut(key, tmp_path):
    long_site = "Trung tâm Kiểm soát bệnh tật thành phố Hồ Chí Minh, điểm tiêm lưu động số 3"
    base = certificate(key, doses=12)
    doses = [dataclasses.replace(dose, vaccine="Vắc xin phòng COVID-19 bất hoạt toàn hạt virus SARS-CoV-2",
                                 site=long_site, lot=f"LOT-ABCDEFGHIJ1234{dose.number:02d}") for dose in base.doses]
    pdf = certificate_pdf(dataclasses.replace(base, doses=doses,
                                              person_name="Tôn Nữ Thị Hoàng Phương Thảo Nguyễn Ngọc Bảo Trâm"))
    text = pdf_text(pdf, tmp_path)

    assert page_count(pdf, tmp_path) == 1
    for dose in doses:
        assert dose.lot in text, dose.lot  # on one line: shrunk, never wrapped or cut
    assert "Tôn Nữ Thị Hoàng Phương Thảo Nguyễn Ngọc Bảo Trâm" in " ".join(text.split())


YELLOW, GREEN, GREY = (0xF5, 0xC5, 0x18), (0x1B, 0x7F, 0x3B), (0xD9, 0xD9, 0xD9)


@pytest.mark.parametrize("doses, name, colour", [(1, "yellow", YELLOW), (4, "green", GREEN), (0, None, GREY)])
def test_the_band_has_the_status_colour(key, tmp_path, doses, name, colour):
    printed = certificate(key, doses=doses)
    image = colour_page(certificate_pdf(printed), tmp_path)

    assert printed.colour == name
    assert share_of(image, colour) > 0.04  # the band is ~7 % of the page
    for other in {YELLOW, GREEN} - {colour}:
        assert share_of(image, other) < 0.001


def test_the_same_certificate_gives_the_same_bytes(key):
    printed = certificate(key)

    assert certificate_pdf(printed) == certificate_pdf(printed)


# --- what is refused ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"masked_id": "012345678901"}, "masked_id shows more than 4 digits"),
    ({"status": "green"}, "status must be one of"),
    ({"status": "none"}, "does not match 4 dose"),
    ({"payload": ""}, "needs its signed payload"),
    ({"payload": "VXC1.tiếng.việt"}, "printable ASCII"),
    ({"lang": "fr"}, "unknown certificate language 'fr'; choose one of: vi, en"),
    ({"person_name": "   "}, "person_name must not be empty"),
    ({"birth_date": "1985-03-12"}, "birth_date must be a date"),
    ({"next_due": datetime.datetime(2021, 9, 12)}, "next_due must be a date or None"),
    ({"doses": ["dose"]}, "doses must be CertificateDose objects"),
])
def test_data_the_certificate_cannot_print_is_refused(key, changes, message):
    printed = certificate(key)
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(printed, **changes)


def test_more_doses_than_a_page_holds_are_refused(key):
    printed = certificate(key, doses=12)
    with pytest.raises(ValueError, match="at most 12 doses"):
        dataclasses.replace(printed, doses=[*printed.doses, printed.doses[0]])


@pytest.mark.parametrize("changes, message", [
    ({"number": 0}, "dose number"), ({"lot": " "}, "lot must not be empty"), ({"vaccine": ""}, "vaccine must not"),
    ({"date": datetime.datetime(2021, 8, 15)}, "dose date must be a date"),
])
def test_a_dose_without_what_it_must_print_is_refused(changes, message):
    fields = {"number": 1, "date": datetime.date(2021, 8, 15), "vaccine": "Vaxzevria", "lot": "ABV5811"}
    with pytest.raises(ValueError, match=message):
        CertificateDose(**{**fields, **changes})
