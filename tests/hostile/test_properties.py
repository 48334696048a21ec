"""Property-based tests (hypothesis) of the parsers that take what scanners, data loggers and clerks send.

- GS1 scans (``modules.lots.gs1``): any valid GTIN, expiry, lot and serial, written in every form a scanner
  or a person sends (symbology identifiers ]d2 ]C1 ]Q3, GS or a substitute, any order, bracketed text with
  spaces), parses back to the same fields; any other text is refused with a ``ScanError``, never another
  exception.
- Data-logger CSV (``modules.transport.temperature``): any bytes or text give readings or a
  ``LoggerFileError``; any readings written as loggers and Excel write them read back the same.
- Import normalisers (``modules.injection.identity``, ``people``, ``backlog.cells``): idempotent, NFC, and
  never an exception but a ``ServiceError`` whatever the cell holds.

What ``tests/lots/test_gs1.py``, ``tests/transport/test_temperature.py``, ``tests/injection/test_identity.py``
and ``tests/injection/backlog/test_cells.py`` already prove case by case (and the date round trips of
test_cells) is not repeated. Examples per property: :data:`EXAMPLES` (:data:`FUZZ` for the "anything" ones).
"""
import string
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from core.clock import LOCAL_ZONE
from core.service_errors import ServiceError
from modules.injection import identity, people
from modules.injection.backlog import cells
from modules.injection.identity import BIRTH_PROVINCES, CENTURY_GENDER
from modules.lots.gs1 import GS, Scan, ScanError, gs1_element_string, gtin_check_digit, parse_gs1
from modules.transport.temperature import COLDEST, HOTTEST, LoggerFileError, Reading, parse_logger_csv

EXAMPLES = 150
FUZZ = 300
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                                   HealthCheck.too_slow])
FUZZING = settings(PROPERTY, max_examples=FUZZ)


@pytest.fixture(autouse=True)
def request_context(app):
    """Messages go through gettext; one request context is shared by a test's examples on purpose."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


# --- GS1 ----------------------------------------------------------------------------------------------

# GS1 AI encodable character set 82, less "(" (bracketed text cannot carry it: biip reads it as the next AI).
GS1_CHARACTERS = "!\"%&')*+,-./:;<=>?_" + string.digits + string.ascii_letters
SUBSTITUTES = (GS, "<GS>", "{GS}", "^]", "~", "|")
PREFIXES = ("", "]d2", "]C1", "]Q3")


@st.composite
def gtins(draw):
    body = draw(st.text(string.digits, min_size=13, max_size=13))
    assume(body.strip("0"))
    return body + gtin_check_digit(body)


# A value for (10) or (21): 1 to 20 characters of set 82, none of which spells a GS substitute.
GS1_VALUES = st.text(GS1_CHARACTERS, min_size=1, max_size=20).filter(lambda value: "<GS>" not in value.upper())


@st.composite
def scans(draw):
    """(the fields, the elements as (AI, value)) of a pack: a GTIN, and maybe an expiry, a lot, a serial."""
    gtin = draw(gtins())
    # within the GS1 two-digit-year window around today (49 years back, 50 ahead), a real day
    expiry = draw(st.none() | st.dates(date.today().replace(day=1) - timedelta(days=40 * 365),
                                       date.today() + timedelta(days=40 * 365)))
    lot = draw(st.none() | GS1_VALUES)
    serial = draw(st.none() | GS1_VALUES)
    elements = [("01", gtin)]
    if expiry is not None:
        elements.append(("17", f"{expiry:%y%m%d}"))
    if lot is not None:
        elements.append(("10", lot))
    if serial is not None:
        elements.append(("21", serial))
    return (gtin, expiry, lot, serial), draw(st.permutations(elements))


def scanned(elements, prefix, separator):
    """As a scanner sends it: each variable-length value (10, 21) ends with the separator unless last."""
    text = prefix
    for index, (ai, value) in enumerate(elements):
        text += ai + value
        if ai in ("10", "21") and index < len(elements) - 1:
            text += separator
    return text


def bracketed(elements, spaces):
    return spaces.join(f"({ai}){spaces}{value}" for ai, value in elements)


@PROPERTY
@given(pack=scans(), prefix=st.sampled_from(PREFIXES), separator=st.sampled_from(SUBSTITUTES),
       ending=st.sampled_from(("", "\r\n", "\n", "\t", GS)))
def test_any_pack_scanned_in_any_form_parses_back_to_its_fields(pack, prefix, separator, ending):
    (gtin, expiry, lot, serial), elements = pack
    code = scanned(elements, prefix, separator) + ending
    assert parse_gs1(code) == Scan(gtin=gtin, lot=lot, expiry=expiry, serial=serial, raw=code)


@PROPERTY
@given(pack=scans(), spaces=st.sampled_from(("", " ", "  ")))
def test_any_pack_typed_as_bracketed_text_parses_back_to_its_fields(pack, spaces):
    (gtin, expiry, lot, serial), elements = pack
    assume(all(")" not in value and " " not in value for _ai, value in elements))
    code = bracketed(elements, spaces)
    assert parse_gs1(code) == Scan(gtin=gtin, lot=lot, expiry=expiry, serial=serial, raw=code)


@PROPERTY
@given(pack=scans(), separator=st.sampled_from("#$@"))
def test_a_sites_own_separator_works_for_any_pack(pack, separator):
    (gtin, expiry, lot, serial), elements = pack
    assume(all(separator not in value for _ai, value in elements))
    scan = parse_gs1(scanned(elements, "]C1", separator), separators=separator)
    assert (scan.gtin, scan.lot, scan.expiry, scan.serial) == (gtin, lot, expiry, serial)


@PROPERTY
@given(gtin=gtins(), expiry=st.dates(date.today(), date.today() + timedelta(days=40 * 365)),
       lot=st.text(GS1_CHARACTERS, min_size=1, max_size=20))
def test_any_label_text_we_print_reads_back(gtin, expiry, lot):
    try:
        text = gs1_element_string(gtin, expiry, lot)
    except ScanError:  # a lot GS1 cannot carry ("<GS>"): refused before printing, as it should be
        return
    scan = parse_gs1(text)
    assert (scan.gtin, scan.lot, scan.expiry) == (gtin, lot, expiry)


# Text made of what scans are made of, so that the fuzzing reaches the parser's branches, not only "not GS1".
SCAN_PIECES = st.sampled_from(["]d2", "]C1", "]Q3", "]", "]x", "(", ")", "(01)", "(17)", "(10)", "(21)", "01",
                               "17", "10", "21", "00", "09506000134352", "261231", "240200", "991399", GS, "<GS>",
                               "{GS}", "^]", "~", "|", " ", "\r\n", "https://id.gs1.org/01/", "/10/", "?17=",
                               "http://[", "é", "\x00", "\ud7ff"])
SCAN_TEXT = st.lists(SCAN_PIECES | st.text(max_size=6), max_size=12).map("".join) | st.text(max_size=80)


@FUZZING
@given(code=SCAN_TEXT, separators=st.text(max_size=3))
def test_any_text_is_a_scan_or_a_clear_refusal(code, separators):
    try:
        scan = parse_gs1(code, separators=separators)
    except ScanError as refused:
        assert refused.message and refused.code and refused.field == "code"
        return
    assert len(scan.gtin) == 14 and scan.gtin.isdigit() and scan.raw == code


# --- Data-logger CSV ----------------------------------------------------------------------------------

@st.composite
def readings(draw):
    """1 to 40 readings a few seconds to a day apart, from 2001 on, in °C with one decimal."""
    start = draw(st.datetimes(datetime(2001, 1, 1), datetime(2035, 1, 1))).replace(microsecond=0, tzinfo=UTC)
    gaps = draw(st.lists(st.integers(1, 86_400), min_size=0, max_size=39))
    tenths = draw(st.lists(st.integers(int(COLDEST * 10), int(HOTTEST * 10)), min_size=len(gaps) + 1,
                           max_size=len(gaps) + 1))
    moments = [start]
    for gap in gaps:
        moments.append(moments[-1] + timedelta(seconds=gap))
    return [Reading(at, value / 10 + 0.0) for at, value in zip(moments, tenths, strict=True)]


def written_time(at, style):
    local = at.astimezone(LOCAL_ZONE)
    return {"dmy": f"{local:%d/%m/%Y %H:%M:%S}", "dmy-dash": f"{local:%d-%m-%Y %H:%M:%S}",
            "iso-z": f"{at:%Y-%m-%dT%H:%M:%S}Z", "iso-offset": local.isoformat(),
            "two-columns": f"{local:%d/%m/%Y}{{sep}}{local:%H:%M:%S}"}[style]


def written_temperature(celsius, decimal_comma, separator, unit):
    text = f"{celsius:.1f}"
    if decimal_comma:
        text = text.replace(".", ",")
        if separator == ",":
            text = f'"{text}"'
    return text.replace("-", "\u2212") if unit == "unicode-minus" else text + ("°C" if unit == "°C" else "")


@PROPERTY
@given(data=readings(), separator=st.sampled_from((";", "\t", ",")), time_style=st.sampled_from(
    ("dmy", "dmy-dash", "iso-z", "iso-offset", "two-columns")), decimal_comma=st.booleans(),
    unit=st.sampled_from(("", "°C", "unicode-minus")), header=st.sampled_from(("", "Time;Temp\n", "Logger 42\nSN x\n")),
    ending=st.sampled_from(("\n", "\r\n", "\r")), encoding=st.sampled_from(("utf-8", "utf-8-sig", "utf-16", "cp1252")))
def test_any_readings_written_as_loggers_write_them_read_back(data, separator, time_style, decimal_comma, unit,
                                                             header, ending, encoding):
    assume(not (encoding == "cp1252" and unit == "unicode-minus"))  # no minus sign in Windows-1252
    lines = [f"{written_time(reading.at, time_style)}{separator}"
             f"{written_temperature(reading.celsius, decimal_comma, separator, unit)}".replace("{sep}", separator)
             for reading in data]
    content = (header.replace("\n", ending) + ending.join(lines) + ending).encode(encoding)
    assert parse_logger_csv(content) == data


LOGGER_PIECES = st.sampled_from(["26/11/2026", "2026-11-26", "T", " ", "08:30", ":00", "Z", "+07:00", ";", ",", "\t",
                                 "\n", "\r", '"', "4,5", "-18", "\u2212", "°C", "℃", "sep=;", "PM", "31/02/2026",
                                 "13/13/2026", "25:61", "1e308", "9" * 30, "\ufeff", "\x00"])
LOGGER_TEXT = st.lists(LOGGER_PIECES | st.text(max_size=5), max_size=40).map("".join)


@FUZZING
@given(content=st.binary(max_size=300) | LOGGER_TEXT | LOGGER_TEXT.map(lambda text: text.encode("utf-8")))
def test_any_file_gives_readings_or_a_clear_refusal(content):
    try:
        found = parse_logger_csv(content)
    except LoggerFileError as refused:
        assert refused.message and refused.field == "file"
        return
    assert found and all(COLDEST <= reading.celsius <= HOTTEST and reading.at.tzinfo is UTC for reading in found)
    assert all(earlier.at < later.at for earlier, later in zip(found, found[1:], strict=False))


# --- Import normalisers -------------------------------------------------------------------------------

# Text as clerks and Excel leave it: Vietnamese in both normal forms, every kind of space, invisible characters.
VIETNAMESE = "Nguyễn Thị Ánh Hoà Đặng Ưng Ỷ"
NAME_PIECES = st.sampled_from([VIETNAMESE, unicodedata.normalize("NFD", VIETNAMESE), " ", "\t", "\n", "\xa0",
                               "\u200b", "\ufeff", "\u2003", "\u0301", "\u0323", "e", "A"])
NAME_TEXT = st.lists(NAME_PIECES | st.text(max_size=4), max_size=10).map("".join)
CELLS = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True, allow_infinity=True)
         | NAME_TEXT | st.text(string.digits + " .-+()", max_size=16) | st.dates() | st.datetimes() | st.times()
         | st.timedeltas())


# Found by the property below: clean_text applied NFC, then dropped the invisible characters, so a zero-width
# space between a letter and its accent left them decomposed ("e\u200b\u0301" → "e\u0301", not NFC). Fixed in
# modules/injection/identity.py; the example keeps it found.
@FUZZING
@given(value=NAME_TEXT | st.text())
@example(value="e\u200b\u0301")
def test_clean_text_is_idempotent_nfc_and_single_spaced(value):
    cleaned = identity.clean_text(value)
    assert identity.clean_text(cleaned) == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
    assert cleaned == cleaned.strip() and "  " not in cleaned


@FUZZING
@given(value=(NAME_TEXT | st.text()))
def test_a_name_is_cleaned_once_and_for_all_or_refused(value):
    try:
        name = identity.clean_name(value)
    except ServiceError as refused:
        assert refused.field == "full_name" and refused.code in identity.CODES
        return
    assert identity.clean_name(name) == name and unicodedata.is_normalized("NFC", name)


@st.composite
def mobiles(draw):
    """(the stored form, as somebody wrote it): +84 / 84 / 0084 / no 0, spaces, dots, dashes."""
    national = draw(st.sampled_from("35789")) + draw(st.text(string.digits, min_size=8, max_size=8))
    prefix = draw(st.sampled_from(("0", "+84", "84", "0084", "+84 (0)", "")))
    digits = list(national)
    for index in sorted(draw(st.lists(st.integers(1, 8), max_size=3)), reverse=True):
        digits.insert(index, draw(st.sampled_from((" ", ".", "-", "\xa0"))))
    return "0" + national, prefix + draw(st.sampled_from(("", " "))) + "".join(digits)


@PROPERTY
@given(phone=mobiles())
def test_any_way_of_writing_a_mobile_gives_its_stored_form(phone):
    stored, typed = phone
    assert identity.normalise_phone(typed) == stored
    assert identity.normalise_phone(stored) == stored


@FUZZING
@given(value=st.text(string.digits + " .-+()", max_size=18) | st.text(max_size=12) | st.integers(0, 10**12))
def test_a_normalised_phone_stays_as_it_is_and_anything_else_is_refused_clearly(value):
    try:
        phone = identity.normalise_phone(value)
    except ServiceError as refused:
        assert (refused.field, refused.code) == ("phone", "invalid_phone")
        return
    assert phone is None or (identity.normalise_phone(phone) == phone and len(phone) == 10 and phone.isdigit())


@st.composite
def cccds(draw):
    province = draw(st.sampled_from(sorted(BIRTH_PROVINCES)))
    digit = draw(st.sampled_from(sorted(CENTURY_GENDER)))
    return province + digit + draw(st.text(string.digits, min_size=8, max_size=8))


@PROPERTY
@given(number=cccds(), spaces=st.lists(st.integers(1, 11), max_size=3))
def test_any_cccd_says_its_province_century_and_gender_and_reads_back(number, spaces):
    typed = number
    for index in sorted(spaces, reverse=True):
        typed = typed[:index] + " " + typed[index:]
    parsed = identity.parse_national_id(typed)
    prefix, gender = CENTURY_GENDER[number[3]]
    assert (parsed.number, parsed.province_code, parsed.gender) == (number, number[:3], gender)
    assert parsed.birth_year == prefix * 100 + int(number[4:6])
    assert identity.parse_national_id(parsed.number) == parsed


@FUZZING
@given(value=st.text(string.digits + " ", max_size=14) | st.text(max_size=14))
def test_any_national_id_is_parsed_or_refused_clearly(value):
    try:
        parsed = identity.parse_national_id(value)
    except ServiceError as refused:
        assert refused.field == "national_id" and refused.code in identity.CODES
        return
    assert parsed is None or identity.parse_national_id(parsed.number) == parsed


CELL_FUNCTIONS = {
    "text": lambda value: cells.text(value),
    "name": lambda value: cells.name(value),
    "digits": lambda value: cells.digits(value, "phone"),
    "national_id": lambda value: cells.national_id(value, []),
    "phone": lambda value: cells.phone(value, []),
    "insurance_number": lambda value: cells.insurance_number(value, []),
    "gender": lambda value: cells.gender(value),
    "date": lambda value: cells.date(value, "date_1", []),
    "birth date": lambda value: cells.date(value, "date_of_birth", [], earliest=date(1895, 1, 1),
                                           latest=date(2025, 6, 15)),
    "vaccine": lambda value: cells.vaccine(value, "vaccine_1", cells.vaccine_names(
        [("VEROCELL", "Vero Cell", "Sinopharm"), ("COMIRNATY", "Comirnaty", "Pfizer-BioNTech")])),
}


@FUZZING
@given(value=CELLS, function=st.sampled_from(sorted(CELL_FUNCTIONS)))
def test_any_cell_gives_a_clean_value_or_a_clear_refusal(value, function):
    try:
        result = CELL_FUNCTIONS[function](value)
    except ServiceError as refused:
        assert refused.message and refused.field and refused.code in cells.CODES + identity.CODES
        return
    if isinstance(result, str):
        assert unicodedata.is_normalized("NFC", result) and result == result.strip()


@FUZZING
@given(value=(NAME_TEXT | st.text() | st.integers() | st.floats(allow_nan=False)))
def test_a_text_cell_cleaned_twice_is_cleaned_once(value):
    once = cells.text(value)
    assert cells.text(once) == once


@PROPERTY
@given(day=st.dates(date(1000, 1, 1), date(9999, 12, 31)), time_of_day=st.none() | st.times(),
       form=st.sampled_from(("date", "text", "iso")))
def test_a_date_read_from_a_cell_reads_the_same_from_its_text(day, time_of_day, form):
    """dd/mm/yyyy as the clerk typed it, a date cell, ISO text: one day, and reading it back gives it again."""
    notes = []
    value = {"date": day if time_of_day is None else datetime.combine(day, time_of_day),
             "text": f"{day:%d/%m/%Y}" if time_of_day is None else f"{day:%d/%m/%Y} {time_of_day:%H:%M}",
             "iso": day.isoformat()}[form]
    read = cells.date(value, "date_1", notes)
    assert read == day and cells.date(cells.text(read), "date_1", notes) == day


@st.composite
def person_data(draw):
    born = draw(st.dates(date(1930, 1, 1), date(2020, 12, 31)))
    gender = draw(st.sampled_from(("nam", "Nữ", "male", "F", unicodedata.normalize("NFD", "nữ"))))
    return people.PersonData(
        full_name=draw(st.sampled_from((VIETNAMESE, " Lê  Thị\tHoa ", unicodedata.normalize("NFD", VIETNAMESE)))),
        gender=gender, date_of_birth=born, national_id=draw(st.none() | st.just("")),
        phone=draw(st.none() | mobiles().map(lambda phone: phone[1])),
        insurance_number=draw(st.none() | st.sampled_from(("dn 4797912345678", "0123456789"))),
        ethnicity=draw(NAME_TEXT.map(lambda text: text[:30])), nationality="Việt Nam",
        address=draw(NAME_TEXT.map(lambda text: text[:200])))


@PROPERTY
@given(data=person_data())
@example(data=people.PersonData(full_name="Lê Thị Hoa", gender="nữ", date_of_birth=date(1990, 3, 15),
                                address="Phố Huê\u200b\u0301"))
def test_a_person_cleaned_twice_is_cleaned_once(data):
    once, _national = people.cleaned(data, today=date(2025, 6, 15))
    assert people.cleaned(once, today=date(2025, 6, 15))[0] == once
    for field in ("full_name", "ethnicity", "nationality", "address"):
        assert unicodedata.is_normalized("NFC", getattr(once, field))
