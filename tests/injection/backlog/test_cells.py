"""Backlog import cells: what python-calamine, openpyxl and csv return for cells sites typed by hand, Excel's
artefacts included (leading zeros dropped, whole numbers as floats, scientific notation, date serials), turned
into clean values or refused naming the column. The CCCD numbers are made up (province + digit 4 + year +
serial)."""
import unicodedata
from collections import namedtuple
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.service_errors import ServiceError
from modules.injection import identity
from modules.injection.backlog import cells
from modules.injection.identity import BIRTH_PROVINCES, FEMALE, MALE
from tests.injection.test_identity import cccd, request_context  # noqa: F401 (request_context: an autouse fixture)

TODAY = date(2025, 6, 15)
CAMPAIGN_START = date(2021, 3, 8)  # the first COVID-19 injection in Vietnam
BORN_EARLIEST = date(1895, 6, 15)  # 130 years before TODAY
NBSP = "\xa0"
# The catalogue of lots_0002 (code, name, manufacturer).
CATALOGUE = (
    ("VAXZEVRIA", "Vaxzevria", "AstraZeneca"),
    ("COMIRNATY", "Comirnaty", "Pfizer-BioNTech"),
    ("SPIKEVAX", "Spikevax", "Moderna"),
    ("VEROCELL", "Vero Cell", "Sinopharm (BIBP)"),
    ("SPUTNIKV", "Sputnik V", "Gamaleya"),
    ("HAYATVAX", "Hayat-Vax", "Sinopharm / Julphar"),
    ("JANSSEN", "Janssen COVID-19 Vaccine", "Janssen (Johnson & Johnson)"),
    ("ABDALA", "Abdala", "CIGB"),
)
Presentation = namedtuple("Presentation", "code name manufacturer active")
NAMES = cells.vaccine_names(CATALOGUE)
# Settings for property tests: the request context fixture is shared by a test's examples on purpose.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def refused(function, *args, **kwargs):
    with pytest.raises(ServiceError) as caught:
        function(*args, **kwargs)
    error = caught.value
    assert error.code in cells.CODES + identity.CODES
    return error


def read_date(value, field="date_1", **bounds):
    notes = []
    return cells.date(value, field, notes, **bounds), notes


def nfd(text):
    return unicodedata.normalize("NFD", text)


# --- text ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, shown", [
    (None, ""),
    ("", ""),
    ("  Phường  Bến\tNghé ", "Phường Bến Nghé"),
    (nfd("Quận Hoàn Kiếm"), "Quận Hoàn Kiếm"),
    (f"Việt{NBSP}Nam", "Việt Nam"),
    ("lô ab1234", "lô ab1234"),  # case kept
    (1234.0, "1234"),  # a lot number or site code typed as a number: a float from calamine
    (1234, "1234"),  # an int from openpyxl
    (210512.0, "210512"),
    (12.5, "12.5"),
    (0.0, "0"),
    (True, "TRUE"),  # as Excel shows it
    (False, "FALSE"),
    (date(2021, 3, 1), "01/03/2021"),
    (datetime(2021, 3, 1), "01/03/2021"),
    (datetime(2021, 3, 1, 8, 30), "01/03/2021 08:30:00"),
    (time(8, 30), "08:30:00"),
])
def test_text_is_what_the_cell_shows_cleaned(cell, shown):
    assert cells.text(cell) == shown


def test_text_is_nfc():
    assert unicodedata.is_normalized("NFC", cells.text(nfd("Nguyễn Thị Ánh")))


# --- name ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, stored", [
    (nfd("Nguyễn Thị Ánh"), "Nguyễn Thị Ánh"),
    ("  Trần  Văn   An ", "Trần Văn An"),
    ("NGUYỄN VĂN A", "NGUYỄN VĂN A"),  # case as typed
    ("H'Hen Niê", "H'Hen Niê"),
])
def test_name_is_cleaned_as_the_registration_page_does(cell, stored):
    assert cells.name(cell) == stored


@pytest.mark.parametrize("cell, code", [(None, "required"), ("  ", "required"), ("Nguyễn Văn 2", "invalid_name"),
                                        (44256.0, "invalid_name"), (date(2021, 3, 1), "invalid_name")])
def test_name_refuses_empty_and_digits(cell, code):
    error = refused(cells.name, cell)
    assert (error.field, error.code) == ("full_name", code)


# --- digits -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, number", [
    (1234567890, "1234567890"),
    (1234567890.0, "1234567890"),
    (999999999999999.0, "999999999999999"),  # 15 digits: exact in a number cell
    ("079090004217", "079090004217"),
    (" 079 090 004217 ", "079090004217"),
    ("079.090.004217", "079090004217"),
    ("079-090-004217", "079090004217"),
    (f"079{NBSP}090{NBSP}004217", "079090004217"),
    ("79090004217.0", "79090004217"),  # a float written out by a program (csv from pandas)
    ("012.345.00", "01234500"),  # dots grouping digits, not a float's ".0"
])
def test_digits_writes_numbers_out_and_drops_separators(cell, number):
    assert cells.digits(cell, "national_id") == number


@pytest.mark.parametrize("cell", [None, "", "   ", NBSP, " . - "])
def test_digits_of_an_empty_cell_are_none(cell):
    assert cells.digits(cell, "national_id") is None


@pytest.mark.parametrize("cell, shown", [
    ("1.23457E+11", "1.23457E+11"),  # how Excel shows a 12-digit number in a narrow column
    ("1,23457E+11", "1,23457E+11"),  # with a decimal comma (Vietnamese Windows)
    ("7.9E+10", "7.9E+10"),
    ("1.23457e+11", "1.23457e+11"),
    (" 1.23457E11 ", "1.23457E11"),
    ("1E+11", "1E+11"),
    (1234567890123456.0, "1234567890123456"),  # 16 digits: Excel keeps 15
    (1e15, "1000000000000000"),
])
def test_digits_refuses_numbers_excel_already_cut_short(cell, shown):
    error = refused(cells.digits, cell, "national_id")
    assert (error.field, error.code) == ("national_id", "lost_digits")
    assert error.message == (f"{shown} was shortened by Excel and its last digits are lost: format the column as "
                             "Text and type the number again.")


@pytest.mark.parametrize("cell, shown", [
    ("07909000421A", "07909000421A"),
    ("CCCD 079090004217", "CCCD 079090004217"),
    ("079/090/004217", "079/090/004217"),
    ("07909000421７", "07909000421７"),  # a full-width digit
    (-79090004217, "-79090004217"),
    (7909000421.5, "7909000421.5"),
    (float("nan"), "nan"),
    (True, "TRUE"),
    (date(2021, 3, 1), "01/03/2021"),
    (datetime(2021, 3, 1), "01/03/2021"),
    (time(8, 30), "08:30:00"),
])
def test_digits_refuses_anything_but_digits(cell, shown):
    error = refused(cells.digits, cell, "phone")
    assert (error.field, error.code) == ("phone", "invalid_number")
    assert error.message == f"{shown} should contain digits only."


# --- national_id --------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, number, note", [
    (79090004217, "079090004217", "Leading zero restored: 079090004217."),  # a CCCD typed as a number
    (79090004217.0, "079090004217", "Leading zero restored: 079090004217."),
    ("79090004217", "079090004217", "Leading zero restored: 079090004217."),  # via a csv
    ("79090004217.0", "079090004217", "Leading zero restored: 079090004217."),
    (1090004217, "001090004217", "Leading zeros restored: 001090004217."),  # Hà Nội: code 001, two zeros
    (1234567890, "001234567890", "Leading zeros restored: 001234567890."),
    (12345678, "012345678", "Leading zero restored: 012345678."),  # a CMND from Hà Nội
    (12345678.0, "012345678", "Leading zero restored: 012345678."),
])
def test_a_national_id_that_lost_its_leading_zeros_gets_them_back_with_a_note(cell, number, note):
    notes = []
    assert cells.national_id(cell, notes) == number
    assert notes == [note]


@pytest.mark.parametrize("cell, number", [
    ("079090004217", "079090004217"),
    ("079 090 004217", "079090004217"),
    ("001.090.004217", "001090004217"),
    ("012345678", "012345678"),
    (201234567, "201234567"),  # a CMND from Đà Nẵng: no zero to lose
])
def test_a_whole_national_id_is_kept_without_a_note(cell, number):
    notes = []
    assert cells.national_id(cell, notes) == number
    assert notes == []


@pytest.mark.parametrize("cell", [None, "", "  "])
def test_an_empty_national_id_is_none(cell):
    notes = []
    assert cells.national_id(cell, notes) is None
    assert notes == []


@pytest.mark.parametrize("cell, code, words", [
    ("1.23457E+11", "lost_digits", "format the column as Text"),
    (99090004217, "unknown_birth_province", "CCCD 099090004217 starts with 099"),  # no province 099
    (79990004217, "invalid_national_id", "The fourth digit of CCCD 079990004217 is 9"),
    ("07909000421", "invalid_national_id", "this has 11"),  # starts with 0: a digit mistyped, not lost
    ("0109000421", "invalid_national_id", "this has 10"),
    (1234567, "invalid_national_id", "this has 7"),
    ("0790900042170", "invalid_national_id", "this has 13"),
    ("07909000421A", "invalid_number", "should contain digits only"),
])
def test_a_national_id_that_cannot_be_repaired_is_refused(cell, code, words):
    notes = []
    error = refused(cells.national_id, cell, notes)
    assert (error.field, error.code) == ("national_id", code)
    assert words in error.message


@PROPERTY
@given(province=st.sampled_from(sorted(BIRTH_PROVINCES)), digit=st.sampled_from("012345"),
       year=st.integers(0, 99), serial=st.integers(0, 999_999), as_float=st.booleans())
def test_any_cccd_typed_as_a_number_comes_back_whole(province, digit, year, serial, as_float):
    number = cccd(province, digit, year, f"{serial:06d}")
    notes = []
    assert cells.national_id(float(number) if as_float else int(number), notes) == number
    assert len(notes) == 1 and number in notes[0]


# --- phone --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", [
    "0912345678", "0912 345 678", "0912.345.678", "+84 912 345 678", "+84912345678", "84912345678",
    84912345678, 84912345678.0, "(091) 234-5678",
])
def test_a_phone_is_normalised_without_a_note(cell):
    notes = []
    assert cells.phone(cell, notes) == "0912345678"
    assert notes == []


@pytest.mark.parametrize("cell", [912345678, 912345678.0, "912345678", "912 345 678", "912345678.0"])
def test_a_phone_that_lost_its_zero_gets_it_back_with_a_note(cell):
    notes = []
    assert cells.phone(cell, notes) == "0912345678"
    assert notes == ["Leading zero restored: 0912345678."]


@pytest.mark.parametrize("cell", [None, "", "  "])
def test_an_empty_phone_is_none(cell):
    assert cells.phone(cell, []) is None


@pytest.mark.parametrize("cell, code", [
    ("9.12346E+08", "lost_digits"),
    ("9,12346E+08", "lost_digits"),
    (True, "invalid_number"),
    (912345678.5, "invalid_number"),
    ("02438251234", "invalid_phone"),  # a landline
    (2438251234, "invalid_phone"),
    ("091234567", "invalid_phone"),
    ("0912 345 678 / 0987 654 321", "invalid_phone"),  # two numbers in one cell
])
def test_a_phone_that_is_no_mobile_is_refused(cell, code):
    notes = []
    error = refused(cells.phone, cell, notes)
    assert (error.field, error.code) == ("phone", code)
    assert notes == []


# --- insurance_number ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, number", [
    ("DN4797912345678", "DN4797912345678"),
    ("dn4797912345678", "DN4797912345678"),
    ("DN 4 79 7912345678", "DN4797912345678"),  # grouped as printed on the card
    ("GD4-01-0123456789", "GD4010123456789"),
    ("7912345678", "7912345678"),  # the social insurance number alone
    ("0112345678", "0112345678"),
    (7912345678, "7912345678"),
    (7912345678.0, "7912345678"),
])
def test_an_insurance_number_is_upper_cased_without_separators(cell, number):
    notes = []
    assert cells.insurance_number(cell, notes) == number
    assert notes == []


@pytest.mark.parametrize("cell", [112345678, 112345678.0, "112345678"])
def test_a_social_insurance_number_that_lost_its_zero_gets_it_back_with_a_note(cell):
    notes = []
    assert cells.insurance_number(cell, notes) == "0112345678"
    assert notes == ["Leading zero restored: 0112345678."]


@pytest.mark.parametrize("cell", [None, "", " "])
def test_an_empty_insurance_number_is_none(cell):
    assert cells.insurance_number(cell, []) is None


@pytest.mark.parametrize("cell, code", [
    ("DN479791234567", "invalid_insurance_number"),  # 14 characters
    ("DN47979123456789", "invalid_insurance_number"),
    ("D4797912345678", "invalid_insurance_number"),
    ("4797912345678", "invalid_insurance_number"),  # the letters missing
    ("012345678", "invalid_insurance_number"),  # 9 digits starting with 0: not a lost zero
    ("DN479791234567O", "invalid_insurance_number"),  # a letter O for a zero
    (12345678901, "invalid_insurance_number"),
    ("7.91235E+09", "lost_digits"),
])
def test_an_insurance_number_of_another_shape_is_refused(cell, code):
    error = refused(cells.insurance_number, cell, [])
    assert (error.field, error.code) == ("insurance_number", code)
    if code == "invalid_insurance_number":
        assert "2 letters and 13 digits" in error.message and "10-digit social insurance number" in error.message


# --- gender -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, gender", [
    ("Nam", MALE), ("nam", MALE), ("MALE", MALE), ("M", MALE), (1, MALE), (1.0, MALE), ("1", MALE), (" 1 ", MALE),
    ("Nữ", FEMALE), (nfd("Nữ"), FEMALE), ("nu", FEMALE), ("NỮ", FEMALE), ("FEMALE", FEMALE), ("F", FEMALE),
    (0, FEMALE), (0.0, FEMALE), ("0", FEMALE),
])
def test_gender_reads_words_and_the_spreadsheet_codes_1_and_0(cell, gender):
    assert cells.gender(cell) == gender


@pytest.mark.parametrize("cell, code, shown", [
    (True, "invalid_gender", "TRUE"), (False, "invalid_gender", "FALSE"),  # 1 and 0 to Python, not to us
    (2, "invalid_gender", "2"), ("2", "invalid_gender", "2"), (0.5, "invalid_gender", "0.5"),
    ("01", "invalid_gender", "01"), ("khác", "invalid_gender", "khác"),
])
def test_gender_refuses_other_values(cell, code, shown):
    error = refused(cells.gender, cell)
    assert (error.field, error.code) == ("gender", code)
    assert error.message == f"{shown} is not a gender: enter male or female."


@pytest.mark.parametrize("cell", [None, "", "  "])
def test_an_empty_gender_is_refused_as_required(cell):
    assert refused(cells.gender, cell).code == "required"


# --- date: cells Excel knows as dates -----------------------------------------------------------------

@pytest.mark.parametrize("cell, day", [
    (date(2021, 3, 1), date(2021, 3, 1)),  # python-calamine
    (datetime(2021, 3, 1), date(2021, 3, 1)),  # openpyxl
    (datetime(2021, 3, 1, 14, 45), date(2021, 3, 1)),
])
def test_a_date_cell_is_its_day(cell, day):
    assert read_date(cell) == (day, [])


@pytest.mark.parametrize("cell", [None, "", "   ", NBSP])
def test_an_empty_date_is_none(cell):
    assert read_date(cell, earliest=CAMPAIGN_START, latest=TODAY) == (None, [])


@pytest.mark.parametrize("cell, shown", [
    (time(8, 30), "08:30:00"), (timedelta(days=1), "1 day, 0:00:00"), (True, "TRUE"), (False, "FALSE"),
])
def test_a_time_or_boolean_is_no_date(cell, shown):
    error = refused(cells.date, cell, "date_2", [])
    assert (error.field, error.code) == ("date_2", "invalid_date")
    assert error.message == f"{shown} is not a date: write it as day/month/year, such as 15/03/2021."


# --- date: Excel serial numbers -----------------------------------------------------------------------

@pytest.mark.parametrize("serial, day", [
    (44256, date(2021, 3, 1)),
    (44256.0, date(2021, 3, 1)),
    (44256.75, date(2021, 3, 1)),  # 18:00 that day: the time is dropped
    (44197, date(2021, 1, 1)),
    (45823, date(2025, 6, 15)),
    (1, date(1900, 1, 1)),
    (59, date(1900, 2, 28)),
    (61, date(1900, 3, 1)),  # after Excel's 29/02/1900
    (2958465, date(9999, 12, 31)),
])
def test_a_number_in_a_date_column_is_an_excel_serial_of_the_1900_system(serial, day):
    assert read_date(serial) == (day, [])


def test_excel_s_29_february_1900_is_refused():
    error = refused(cells.date, 60, "date_of_birth", [])
    assert (error.field, error.code) == ("date_of_birth", "invalid_date")
    assert error.message == "60 is 29/02/1900 for Excel, a day that never was: enter the real date."


@pytest.mark.parametrize("serial, day", [
    (0, date(1904, 1, 1)),
    (60, date(1904, 3, 1)),  # no fake leap day in this system
    (42794, date(2021, 3, 1)),  # 1462 days less than the 1900 system's 44256
    (42794.5, date(2021, 3, 1)),
])
def test_the_1904_date_system_counts_from_1_january_1904(serial, day):
    assert read_date(serial, epoch_1904=True) == (day, [])


@pytest.mark.parametrize("serial, epoch_1904", [
    (0, False), (0.5, False), (-1, False), (-1, True), (2958466, False), (3_000_000_000, False),
    (float("inf"), False), (float("nan"), False),
])
def test_a_serial_outside_excel_s_calendar_is_refused(serial, epoch_1904):
    error = refused(cells.date, serial, "date_1", [], epoch_1904=epoch_1904)
    assert (error.field, error.code) == ("date_1", "invalid_date")
    assert "is not a date: write it as day/month/year" in error.message


@pytest.mark.parametrize("cell", [1990, 1990.0, 2021, "1990", " 1945 "])
def test_a_year_alone_is_refused_not_read_as_a_day_of_1905(cell):
    error = refused(cells.date, cell, "date_of_birth", [], earliest=BORN_EARLIEST, latest=TODAY)
    assert (error.field, error.code) == ("date_of_birth", "invalid_date")
    assert error.message == f"{cells.text(cell)} is a year alone: enter the whole date, day/month/year."


@PROPERTY
@given(day=st.dates(date(1906, 1, 1), date(9999, 12, 31)), hours=st.floats(0, 0.999))
def test_any_day_written_as_a_1900_serial_comes_back(day, hours):
    serial = (day - date(1899, 12, 30)).days
    assert read_date(serial) == (day, [])
    assert read_date(serial + hours) == (day, [])


@PROPERTY
@given(day=st.dates(date(1910, 1, 1), date(9999, 12, 31)))
def test_any_day_written_as_a_1904_serial_comes_back(day):
    assert read_date((day - date(1904, 1, 1)).days, epoch_1904=True) == (day, [])


# --- date: text ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", [
    "01/03/2021", "1/3/2021", "01/3/2021", "1/03/2021", " 01/03/2021 ",
    "01-03-2021", "1-3-2021", "01.03.2021", "1.3.2021",
    "01/03/2021 00:00", "01/03/2021 0:00:00", "1/3/2021 14:30",  # csv of a date cell with a time format
    "2021-03-01", "2021-3-1", "2021/03/01", "2021-03-01 00:00:00", "2021-03-01T08:30:00", "2021-03-01 08:30",
    "2021-03-01 08:30:00.000",
])
def test_a_date_typed_as_text_is_read_day_first_or_iso(cell):
    assert read_date(cell) == (date(2021, 3, 1), [])


@pytest.mark.parametrize("cell, words", [
    ("31/02/2021", "31/02/2021 is not a real date: month 2 of 2021 has no day 31."),
    ("29/02/2021", "29/02/2021 is not a real date: month 2 of 2021 has no day 29."),
    ("31/04/2021", "31/04/2021 is not a real date: month 4 of 2021 has no day 31."),
    ("00/03/2021", "00/03/2021 is not a real date: month 3 of 2021 has no day 0."),
    ("2021-02-30", "2021-02-30 is not a real date: month 2 of 2021 has no day 30."),
    ("03/15/2021", "03/15/2021 has no month 15: dates are written day/month/year, such as 15/03/2021."),
    ("1/0/2021", "1/0/2021 has no month 0: dates are written day/month/year, such as 15/03/2021."),
])
def test_an_impossible_date_is_refused_saying_why(cell, words):
    error = refused(cells.date, cell, "date_1", [])
    assert (error.field, error.code, error.message) == ("date_1", "invalid_date", words)


def test_a_leap_day_is_a_date():
    assert read_date("29/02/2024") == (date(2024, 2, 29), [])


@pytest.mark.parametrize("cell", [
    "15032021", "15/03", "15/03/202", "15/03-2021", "15 03 2021", "March 15, 2021", "15 tháng 3 năm 2021",
    "15//03/2021", "44256", "2021-03", "hôm qua", "x",
])
def test_text_in_no_known_date_format_is_refused(cell):
    error = refused(cells.date, cell, "date_1", [])
    assert (error.field, error.code) == ("date_1", "invalid_date")
    assert error.message == f"{cell} is not a date: write it as day/month/year, such as 15/03/2021."


@PROPERTY
@given(day=st.dates(date(1000, 1, 1), date(9999, 12, 31)), separator=st.sampled_from("/-."), padded=st.booleans())
def test_any_day_written_day_month_year_comes_back(day, separator, padded):
    parts = (f"{day.day:02d}", f"{day.month:02d}") if padded else (str(day.day), str(day.month))
    assert read_date(separator.join((*parts, f"{day.year:04d}"))) == (day, [])


@PROPERTY
@given(day=st.dates(date(1000, 1, 1), date(9999, 12, 31)))
def test_any_day_written_iso_comes_back(day):
    assert read_date(day.isoformat()) == (day, [])
    assert read_date(f"{day.isoformat()} 00:00:00") == (day, [])


# --- date: two-digit years ----------------------------------------------------------------------------

@pytest.mark.parametrize("cell, day", [
    ("15/3/21", date(2021, 3, 15)),
    ("15-03-21", date(2021, 3, 15)),
    ("1.12.24", date(2024, 12, 1)),
])
def test_a_two_digit_year_is_taken_when_one_century_fits_the_bounds(cell, day):
    notes = []
    assert cells.date(cell, "date_1", notes, earliest=CAMPAIGN_START, latest=TODAY) == day
    assert notes == [f"{cell} read as {day:%d/%m/%Y}."]


def test_a_two_digit_birth_year_that_only_the_last_century_fits_is_taken():
    assert read_date("1/2/30", "date_of_birth", earliest=BORN_EARLIEST, latest=TODAY) == (
        date(1930, 2, 1), ["1/2/30 read as 01/02/1930."])


@pytest.mark.parametrize("cell, first, second", [("1/2/20", 1920, 2020), ("15/3/05", 1905, 2005),
                                                 ("31/12/99", 1999, 2099)])
def test_a_two_digit_year_that_two_centuries_fit_is_refused(cell, first, second):
    bounds = {"earliest": date(1900, 1, 1), "latest": date(2100, 1, 1)} if cell == "31/12/99" else {
        "earliest": BORN_EARLIEST, "latest": TODAY}
    error = refused(cells.date, cell, "date_of_birth", [], **bounds)
    assert (error.field, error.code) == ("date_of_birth", "ambiguous_date")
    assert error.message == f"{cell} could be in {first} or in {second}: write the year with 4 digits."


def test_a_two_digit_year_without_bounds_is_ambiguous():
    assert refused(cells.date, "15/3/21", "date_1", []).code == "ambiguous_date"


def test_a_two_digit_year_that_only_one_century_can_hold_is_taken_even_without_bounds():
    assert read_date("29/2/00") == (date(2000, 2, 29), ["29/2/00 read as 29/02/2000."])


def test_a_two_digit_year_that_no_century_fits_is_refused_naming_the_bounds():
    error = refused(cells.date, "15/3/05", "date_1", [], earliest=CAMPAIGN_START, latest=TODAY)
    assert (error.field, error.code) == ("date_1", "date_out_of_range")
    assert error.message == "15/03/2005 is before 08/03/2021, the earliest date accepted here."


def test_an_impossible_two_digit_year_date_is_refused():
    error = refused(cells.date, "31/2/21", "date_1", [], earliest=CAMPAIGN_START, latest=TODAY)
    assert (error.code, error.message) == ("invalid_date", "31/2/21 is not a real date: month 2 of 2021 has no day 31.")


# --- date: bounds -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", [CAMPAIGN_START, TODAY, "08/03/2021", "15/06/2025", 44263, datetime(2025, 6, 15, 23)])
def test_the_bounds_themselves_are_accepted(cell):
    assert read_date(cell, earliest=CAMPAIGN_START, latest=TODAY)[0] in (CAMPAIGN_START, TODAY)


@pytest.mark.parametrize("cell, message", [
    ("07/03/2021", "07/03/2021 is before 08/03/2021, the earliest date accepted here."),
    (44256, "01/03/2021 is before 08/03/2021, the earliest date accepted here."),
    (date(2019, 1, 1), "01/01/2019 is before 08/03/2021, the earliest date accepted here."),
    ("16/06/2025", "16/06/2025 is after 15/06/2025, the latest date accepted here."),
    ("2026-01-01", "01/01/2026 is after 15/06/2025, the latest date accepted here."),
])
def test_a_date_outside_the_bounds_is_refused_naming_them(cell, message):
    error = refused(cells.date, cell, "date_3", [], earliest=CAMPAIGN_START, latest=TODAY)
    assert (error.field, error.code, error.message) == ("date_3", "date_out_of_range", message)


def test_one_bound_alone_is_checked():
    assert read_date("01/01/1990", latest=TODAY)[0] == date(1990, 1, 1)
    assert refused(cells.date, "01/01/2030", "date_1", [], latest=TODAY).code == "date_out_of_range"
    assert read_date("01/01/2030", earliest=CAMPAIGN_START)[0] == date(2030, 1, 1)


# --- vaccine ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, code", [
    ("VAXZEVRIA", "VAXZEVRIA"), ("Vaxzevria", "VAXZEVRIA"), ("AstraZeneca", "VAXZEVRIA"), ("Astra", "VAXZEVRIA"),
    ("AZ", "VAXZEVRIA"), ("az", "VAXZEVRIA"), ("Covishield", "VAXZEVRIA"), ("Astra Zeneca", "VAXZEVRIA"),
    ("Vắc xin AstraZeneca", "VAXZEVRIA"), ("Vaccine AstraZeneca", "VAXZEVRIA"),
    ("Pfizer", "COMIRNATY"), ("PFIZER", "COMIRNATY"), ("Pfizer-BioNTech", "COMIRNATY"),
    ("Pfizer/BioNTech", "COMIRNATY"), ("BioNTech", "COMIRNATY"), ("Comirnaty", "COMIRNATY"),
    ("Moderna", "SPIKEVAX"), ("Spikevax", "SPIKEVAX"),
    ("Vero Cell", "VEROCELL"), ("Verocell", "VEROCELL"), ("VERO CELL", "VEROCELL"), ("Sinopharm", "VEROCELL"),
    ("Vắc-xin Vero Cell", "VEROCELL"), ("Sinopharm (BIBP)", "VEROCELL"),
    ("Sputnik", "SPUTNIKV"), ("Sputnik V", "SPUTNIKV"), ("SputnikV", "SPUTNIKV"),
    ("Hayat", "HAYATVAX"), ("Hayat-Vax", "HAYATVAX"), ("Hayat Vax", "HAYATVAX"),
    ("Janssen", "JANSSEN"), ("J&J", "JANSSEN"), ("J & J", "JANSSEN"), ("Johnson", "JANSSEN"),
    ("Janssen COVID-19 Vaccine", "JANSSEN"),
    ("Abdala", "ABDALA"), ("ABDALA", "ABDALA"), (f"  Abdala{NBSP}", "ABDALA"),
])
def test_a_vaccine_is_found_by_code_name_or_common_name(cell, code):
    assert cells.vaccine(cell, "vaccine_1", NAMES) == code


@pytest.mark.parametrize("cell", [None, "", "  "])
def test_an_empty_vaccine_is_none(cell):
    assert cells.vaccine(cell, "vaccine_2", NAMES) is None


@pytest.mark.parametrize("cell", ["Sinovac", "Covaxin", "Vắc xin", "Pfizer Moderna", "1", 1.0])
def test_an_unknown_vaccine_is_refused_suggesting_names(cell):
    error = refused(cells.vaccine, cell, "vaccine_2", NAMES)
    assert (error.field, error.code) == ("vaccine_2", "unknown_vaccine")
    assert error.message == (f"{cells.text(cell)} is not a vaccine we know: write its name, such as AstraZeneca, "
                             "Pfizer, Moderna, Vero Cell, Sputnik V, Hayat-Vax, Janssen, Abdala.")


def test_only_codes_of_the_catalogue_are_returned():
    names = cells.vaccine_names([Presentation(*row, True) for row in CATALOGUE if row[0] != "ABDALA"])
    assert cells.vaccine("Pfizer", "vaccine_1", names) == "COMIRNATY"
    error = refused(cells.vaccine, "Abdala", "vaccine_1", names)
    assert error.code == "unknown_vaccine" and "Abdala" not in error.message.split("such as")[1]


def test_a_presentation_without_synonyms_is_found_by_its_code_and_name():
    names = cells.vaccine_names([("NOVAVAX", "Nuvaxovid", "Novavax"), *CATALOGUE])
    assert [cells.vaccine(cell, "vaccine_1", names) for cell in ("novavax", "Nuvaxovid")] == ["NOVAVAX"] * 2
    assert names.suggested.startswith("Nuvaxovid, AstraZeneca")


def test_a_code_or_name_wins_over_another_presentation_s_synonym():
    names = cells.vaccine_names([*CATALOGUE, ("SINOPHARM", "Sinopharm", "Sinopharm (BIBP)")])
    assert cells.vaccine("Sinopharm", "vaccine_1", names) == "SINOPHARM"
    assert cells.vaccine("Vero Cell", "vaccine_1", names) == "VEROCELL"


def test_every_synonym_names_a_presentation_of_the_seeded_catalogue():
    assert set(cells.VACCINE_SYNONYMS) == {code for code, _name, _maker in CATALOGUE}
