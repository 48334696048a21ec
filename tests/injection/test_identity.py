"""A person's identity data as people type it: names cleaned, phones normalised, CCCD numbers decoded and
checked against the record. The CCCD numbers here are made up (province code + digit 4 + year + serial)."""
import csv
import dataclasses
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest

from core.service_errors import ServiceError
from modules.injection.identity import (
    BIRTH_PROVINCES,
    CCCD,
    CMND,
    CODES,
    FEMALE,
    MALE,
    NAME_MAX_LENGTH,
    NationalId,
    check_date_of_birth,
    check_identity,
    clean_name,
    clean_text,
    fold,
    normalise_gender,
    normalise_phone,
    parse_national_id,
)

TODAY = date(2025, 6, 15)
NBSP = "\xa0"
TEST_CODES_FILE = Path(__file__).resolve().parent.parent / "data" / "cccd_birth_province_codes.csv"


@pytest.fixture(autouse=True)
def request_context(app):
    """Messages go through gettext, which needs an app (and a request for the locale); these tests
    read the English source text."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def cccd(province="001", digit="0", year=90, serial="004217"):
    """An illustrative CCCD number: birth province code, century/gender digit, year, serial."""
    return f"{province}{digit}{year % 100:02d}{serial}"


def refused(function, *args, **kwargs):
    with pytest.raises(ServiceError) as caught:
        function(*args, **kwargs)
    error = caught.value
    assert error.code in CODES
    return error


def nfd(text):
    return unicodedata.normalize("NFD", text)


# --- clean_text ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("Nguyễn Thị Ánh", "Nguyễn Thị Ánh"),
    ("  Nguyễn   Thị  Ánh  ", "Nguyễn Thị Ánh"),
    (nfd("Nguyễn Thị Ánh"), "Nguyễn Thị Ánh"),
    (f"Nguyễn{NBSP}Thị{NBSP}{NBSP}Ánh{NBSP}", "Nguyễn Thị Ánh"),
    ("Nguyễn\tThị\nÁnh\r\n", "Nguyễn Thị Ánh"),
    ("Nguyễn\u2003Thị\u3000Ánh\u202f", "Nguyễn Thị Ánh"),  # em space, ideographic space, narrow NBSP
    ("\ufeffNguyễn Th\u200bị Ánh", "Nguyễn Thị Ánh"),  # byte order mark, zero-width space
    ("nguyễn thị ánh", "nguyễn thị ánh"),  # letter case kept as typed
    ("NGUYỄN THỊ ÁNH", "NGUYỄN THỊ ÁNH"),
    ("Số 12,  ngõ 34\nphố Huế", "Số 12, ngõ 34 phố Huế"),  # an address
    ("", ""),
    (f" {NBSP}\t ", ""),
    (None, ""),
])
def test_clean_text_stores_nfc_trimmed_and_single_spaced(typed, stored):
    cleaned = clean_text(typed)
    assert cleaned == stored
    assert unicodedata.is_normalized("NFC", cleaned)


def test_clean_text_turns_decomposed_vietnamese_into_composed_characters():
    assert len(nfd("Ánh")) == 4 and clean_text(nfd("Ánh")) == "\u00c1nh"


# --- clean_name ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("Nguyễn Văn An", "Nguyễn Văn An"),
    (nfd("  Trần   Thị Thu  Hương "), "Trần Thị Thu Hương"),
    (f"Lê{NBSP}Văn\tLuyện", "Lê Văn Luyện"),
    ("Đặng Thị Hồng Nhung", "Đặng Thị Hồng Nhung"),
    ("Mary-Jane O'Brien", "Mary-Jane O'Brien"),  # foreigners' names keep their punctuation
    ("H'Hen Niê", "H'Hen Niê"),  # and so do Ê Đê names
    ("a" * NAME_MAX_LENGTH, "a" * NAME_MAX_LENGTH),
    ("a" * NAME_MAX_LENGTH + "   ", "a" * NAME_MAX_LENGTH),  # counted after cleaning
])
def test_clean_name_accepts_names_as_people_type_them(typed, stored):
    assert clean_name(typed) == stored


@pytest.mark.parametrize("typed, code, words", [
    ("", "required", "Enter the name"),
    ("   ", "required", "Enter the name"),
    (NBSP, "required", "Enter the name"),
    (None, "required", "Enter the name"),
    ("Nguyễn Văn 2", "invalid_name", "cannot contain digits: Nguyễn Văn 2"),
    ("Nguyễn Văn An3", "invalid_name", "cannot contain digits"),
    ("Nguyễn Văn \uff12", "invalid_name", "cannot contain digits"),  # a full-width digit
    ("Nguyễn\x00Văn", "invalid_name", "control or invisible characters"),
    ("Nguyễn\x07Văn", "invalid_name", "control or invisible characters"),
    ("Nguyễn\x85Văn" + "\x9b", "invalid_name", "control or invisible characters"),
    ("Nguy\u00adễn", "invalid_name", "control or invisible characters"),  # soft hyphen
    ("Nguyễn \u202eVăn", "invalid_name", "control or invisible characters"),  # right-to-left override
    ("a" * (NAME_MAX_LENGTH + 1), "invalid_name", "at most 120 characters; this one has 121"),
])
def test_clean_name_refuses_empty_names_control_characters_digits_and_long_names(typed, code, words):
    error = refused(clean_name, typed)
    assert (error.field, error.code) == ("full_name", code)
    assert words in error.message


def test_clean_name_names_the_field_it_is_given():
    assert refused(clean_name, "", field="guardian_name").field == "guardian_name"
    assert refused(clean_name, "Lê 1", "guardian_name").field == "guardian_name"


# --- fold ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, key", [
    ("Nguyễn Thị Ánh", "nguyen thi anh"),
    ("Đặng Thị Hồng Nhung", "dang thi hong nhung"),
    ("ĐOÀN VĂN ĐỨC", "doan van duc"),
    ("Trương Mỹ Lệ", "truong my le"),
    ("Phường Bến Nghé, Quận 1", "phuong ben nghe, quan 1"),
    (f"  Lê{NBSP}{NBSP}Văn\tLuyện\n", "le van luyen"),
    ("Hoà Bình", "hoa binh"),  # the old tone placement
    ("Hòa Bình", "hoa binh"),  # and the new one
    ("Ðặng", "dang"),  # the Icelandic eth, often typed for Đ
    ("", ""),
    (None, ""),
])
def test_fold_is_an_accent_and_case_insensitive_key(typed, key):
    assert fold(typed) == key


@pytest.mark.parametrize("letters, base", [
    ("aáàảãạ", "aaaaaa"),
    ("ăắằẳẵặ", "aaaaaa"),
    ("âấầẩẫậ", "aaaaaa"),
    ("eéèẻẽẹ", "eeeeee"),
    ("êếềểễệ", "eeeeee"),
    ("iíìỉĩị", "iiiiii"),
    ("oóòỏõọ", "oooooo"),
    ("ôốồổỗộ", "oooooo"),
    ("ơớờởỡợ", "oooooo"),
    ("uúùủũụ", "uuuuuu"),
    ("ưứừửữự", "uuuuuu"),
    ("yýỳỷỹỵ", "yyyyyy"),
    ("đĐ", "dd"),
])
def test_fold_strips_every_vietnamese_tone_and_vowel_mark(letters, base):
    assert fold(letters) == base
    assert fold(letters.upper()) == base
    assert fold(nfd(letters)) == base


def test_fold_reads_composed_and_decomposed_text_alike():
    name = "Nguyễn Thị Ánh Tuyết"
    assert fold(nfd(name)) == fold(name) == fold(name.upper()) == "nguyen thi anh tuyet"


# --- normalise_phone ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "0912345678",
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "(091) 234-5678",
    f"0912{NBSP}345{NBSP}678",
    " 0912345678\t",
    "+84912345678",
    "+84 912 345 678",
    "+84-912-345-678",
    "+84 (0) 912 345 678",  # the trunk 0 kept after the country code
    "+840912345678",
    "84912345678",
    "84 912 345 678",
    "0084912345678",
    "0084 912 345 678",
    "912345678",  # the leading 0 dropped by Excel
    "912 345 678",
    912345678,
])
def test_normalise_phone_accepts_every_way_of_writing_a_mobile(typed):
    assert normalise_phone(typed) == "0912345678"


@pytest.mark.parametrize("typed, stored", [
    ("0321234567", "0321234567"),
    ("0561234567", "0561234567"),
    ("0701234567", "0701234567"),
    ("0861234567", "0861234567"),
    ("0981234567", "0981234567"),
    ("+84 32 123 4567", "0321234567"),
    ("841234567", "0841234567"),  # 9 digits starting 84: a leading 0 dropped, not a country code
    ("84841234567", "0841234567"),
])
def test_normalise_phone_keeps_every_mobile_prefix(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", [None, "", "   ", NBSP, " - ", "()"])
def test_an_empty_phone_is_none(typed):
    assert normalise_phone(typed) is None


@pytest.mark.parametrize("typed", [
    "02438251234",  # a landline (11 digits since 2017)
    "024 3825 1234",
    "+84 24 3825 1234",
    "0212345678",  # 10 digits starting 02, 01, 04, 06, 00
    "0123456789",
    "0412345678",
    "0612345678",
    "00912345678",
    "01689123456",  # an old 11-digit mobile (renumbered in 2018)
    "091234567",  # 9 digits with the 0: one missing
    "09123456789",  # one too many
    "12345678",
    "9123456789",  # 10 digits without the 0
    "840912345678",  # 84 without + or 00 and with the trunk 0
    "8491234567",
    "+84",
    "+",
    "+1 212 555 0100",  # not Vietnamese
    "+44 20 7946 0958",
    "0912+345678",
    "0912/345/678",
    "0912_345_678",
    "091234567o",  # a letter O for a zero
    "0912345678 ext 2",
    "tel: 0912345678",
    "0912345678.0",  # a number cell read as a float
])
def test_normalise_phone_refuses_anything_else_saying_what_a_phone_looks_like(typed):
    error = refused(normalise_phone, typed)
    assert (error.field, error.code) == ("phone", "invalid_phone")
    assert error.message.startswith(f"{clean_text(typed)} is not a Vietnamese mobile number")
    assert "10 digits starting with 03, 05, 07, 08 or 09" in error.message


def test_a_long_refused_phone_is_shortened_in_the_message():
    error = refused(normalise_phone, "0912345678 " * 10)
    assert "…" in error.message and len(error.message) < 200


# --- normalise_gender ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, gender", [
    ("nam", MALE), ("Nam", MALE), ("NAM", MALE), (" Nam ", MALE), ("nam giới", MALE), ("Nam Giới", MALE),
    ("male", MALE), ("Male", MALE), ("M", MALE), ("m", MALE),
    ("nữ", FEMALE), ("Nữ", FEMALE), ("NỮ", FEMALE), (nfd("Nữ"), FEMALE), ("nu", FEMALE), ("Nu", FEMALE),
    ("nữ giới", FEMALE), ("female", FEMALE), ("Female", FEMALE), ("F", FEMALE), ("f", FEMALE),
    (MALE, MALE), (FEMALE, FEMALE),
])
def test_normalise_gender_reads_words_and_letters_in_any_case_or_accents(typed, gender):
    assert normalise_gender(typed) == gender


@pytest.mark.parametrize("typed, code", [
    ("", "required"), (None, "required"), ("  ", "required"),
    ("1", "invalid_gender"), ("0", "invalid_gender"), (1, "invalid_gender"),  # no agreed meaning for digits
    ("x", "invalid_gender"), ("khác", "invalid_gender"), ("nam nữ", "invalid_gender"), ("mf", "invalid_gender"),
])
def test_normalise_gender_refuses_the_rest(typed, code):
    error = refused(normalise_gender, typed)
    assert (error.field, error.code) == ("gender", code)
    assert "male or female" in error.message


# --- parse_national_id --------------------------------------------------------------------------------

def test_the_birth_province_codes_are_the_63_of_the_reference_file():
    with open(TEST_CODES_FILE, encoding="utf-8", newline="") as handle:
        expected = {row["code"]: row["province"] for row in csv.DictReader(handle)}
    assert dict(BIRTH_PROVINCES) == expected
    assert len(BIRTH_PROVINCES) == 63


@pytest.mark.parametrize("digit, prefix, gender", [
    ("0", 19, MALE), ("1", 19, FEMALE),
    ("2", 20, MALE), ("3", 20, FEMALE),
    ("4", 21, MALE), ("5", 21, FEMALE),
])
def test_digit_4_of_a_cccd_gives_century_and_gender(digit, prefix, gender):
    number = cccd("079", digit, 7)
    assert parse_national_id(number) == NationalId(CCCD, number, "079", "Hồ Chí Minh", gender, prefix, 7)
    assert parse_national_id(number).birth_year == prefix * 100 + 7


@pytest.mark.parametrize("code, province", sorted(BIRTH_PROVINCES.items()))
def test_every_birth_province_code_is_read(code, province):
    parsed = parse_national_id(cccd(code, "1", 85))
    assert (parsed.province_code, parsed.province_name, parsed.birth_year) == (code, province, 1985)


@pytest.mark.parametrize("typed", [
    "001 0 90 004217", f"{NBSP}001090004217 ", "001090\t004217", "0010 9000 4217",
])
def test_spaces_in_a_national_id_are_ignored(typed):
    assert parse_national_id(typed).number == "001090004217"


def test_a_cmnd_has_nine_digits_and_nothing_to_decode():
    assert parse_national_id(" 012 345 678 ") == NationalId(CMND, "012345678", None, None, None, None, None)
    assert parse_national_id("012345678").birth_year is None


@pytest.mark.parametrize("typed", [None, "", "  ", NBSP])
def test_an_empty_national_id_is_none(typed):
    assert parse_national_id(typed) is None


@pytest.mark.parametrize("typed, count", [
    ("1", 1), ("12345", 5), ("1234567", 7), ("1234567890123", 13), ("123456789012345678", 18),
])
def test_a_national_id_of_another_length_is_refused_saying_how_many_digits_it_has(typed, count):
    error = refused(parse_national_id, typed)
    assert (error.field, error.code) == ("national_id", "invalid_national_id")
    assert error.message == f"A CCCD has 12 digits, a CMND 9; this has {count}."


@pytest.mark.parametrize("typed, count", [
    ("12345678", 8),  # a CMND 012345678 typed as a number
    ("1090004217", 10),  # a CCCD 001090004217 typed as a number
    ("79090004217", 11),  # a CCCD 079090004217 typed as a number
])
def test_a_national_id_that_lost_its_leading_zeros_is_refused_with_a_hint(typed, count):
    error = refused(parse_national_id, typed)
    assert error.message.startswith(f"A CCCD has 12 digits, a CMND 9; this has {count}. If its leading zeros")


@pytest.mark.parametrize("typed", [
    "001-090-004217", "001.090.004217", "00109000421A", "CCCD 001090004217", "+001090004217", "00109000421７",
])
def test_a_national_id_with_other_characters_is_refused(typed):
    error = refused(parse_national_id, typed)
    assert (error.field, error.code) == ("national_id", "invalid_national_id")
    assert error.message == f"A CCCD or CMND number has only digits: {typed}."


@pytest.mark.parametrize("code", ["000", "003", "005", "097", "100", "999"])
def test_a_cccd_with_an_unknown_birth_province_code_is_refused(code):
    number = cccd(code, "0", 90)
    error = refused(parse_national_id, number)
    assert (error.field, error.code) == ("national_id", "unknown_birth_province")
    assert f"CCCD {number} starts with {code}, which is no birth province code" in error.message


@pytest.mark.parametrize("digit", ["6", "7", "8", "9"])
def test_a_cccd_whose_fourth_digit_is_no_century_we_know_is_refused(digit):
    number = cccd("001", digit, 90)
    error = refused(parse_national_id, number)
    assert (error.field, error.code) == ("national_id", "invalid_national_id")
    assert f"The fourth digit of CCCD {number} is {digit}" in error.message


def test_a_parsed_national_id_cannot_be_changed():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_national_id(cccd()).gender = FEMALE


# --- check_identity -----------------------------------------------------------------------------------

@pytest.mark.parametrize("digit, gender, born", [
    ("0", "nam", date(1990, 1, 1)),
    ("1", "Nữ", date(1990, 12, 31)),
    ("0", MALE, date(1900, 6, 1)),
    ("1", "female", date(1999, 2, 28)),
    ("2", "M", date(2000, 1, 1)),
    ("3", "F", date(2025, 6, 15)),  # born today
])
def test_a_cccd_that_agrees_with_the_record_is_accepted(digit, gender, born):
    number = cccd("048", digit, born.year)
    parsed = check_identity(number, gender, born, TODAY)
    assert (parsed.kind, parsed.number, parsed.province_name, parsed.birth_year) == (
        CCCD, number, "Đà Nẵng", born.year)


@pytest.mark.parametrize("digit, gender, words", [
    ("0", FEMALE, "is a man's (its fourth digit is 0), but the gender is female."),
    ("2", "nữ", "is a man's (its fourth digit is 2), but the gender is female."),
    ("1", MALE, "is a woman's (its fourth digit is 1), but the gender is male."),
    ("3", "Nam", "is a woman's (its fourth digit is 3), but the gender is male."),
])
def test_a_cccd_of_the_other_gender_is_refused(digit, gender, words):
    born = date(1990 if digit in "01" else 2001, 5, 5)
    number = cccd("001", digit, born.year)
    error = refused(check_identity, number, gender, born, TODAY)
    assert (error.field, error.code) == ("gender", "gender_mismatch")
    assert error.message == f"CCCD {number} {words}"


@pytest.mark.parametrize("digit, id_year, born", [
    ("0", 1990, date(1991, 3, 1)),  # another year
    ("0", 1905, date(2005, 3, 1)),  # the right two digits, another century
    ("2", 2005, date(1905, 3, 1)),
    ("3", 2010, date(2001, 3, 1)),
    ("4", 2101, date(2001, 3, 1)),  # the 22nd century: nobody alive yet
])
def test_a_cccd_of_another_birth_year_is_refused_naming_both_years(digit, id_year, born):
    number = cccd("001", digit, id_year)
    gender = MALE if digit in "024" else FEMALE
    error = refused(check_identity, number, gender, born, TODAY)
    assert (error.field, error.code) == ("date_of_birth", "birth_year_mismatch")
    assert error.message == (f"CCCD {number} says born in {id_year}, but the date of birth is in {born.year}.")


def test_a_cccd_with_an_unknown_birth_province_is_refused_by_the_check_too():
    error = refused(check_identity, cccd("099", "0", 1990), MALE, date(1990, 1, 1), TODAY)
    assert (error.field, error.code) == ("national_id", "unknown_birth_province")


def test_a_cmnd_is_not_cross_checked():
    parsed = check_identity("012345678", FEMALE, date(1950, 1, 1), TODAY)
    assert (parsed.kind, parsed.number) == (CMND, "012345678")


def test_without_a_national_id_only_the_date_of_birth_and_gender_are_checked():
    assert check_identity("", "nữ", date(1950, 1, 1), TODAY) is None
    assert check_identity(None, MALE, datetime(1950, 1, 1, 8, 30), TODAY) is None
    assert refused(check_identity, None, MALE, date(2030, 1, 1), TODAY).field == "date_of_birth"
    assert refused(check_identity, None, "1", date(1950, 1, 1), TODAY).field == "gender"


@pytest.mark.parametrize("national_id", ["", "012345678", cccd("001", "2", 2025)])
def test_a_date_of_birth_in_the_future_is_refused(national_id):
    error = refused(check_identity, national_id, MALE, date(2025, 6, 16), TODAY)
    assert (error.field, error.code) == ("date_of_birth", "invalid_date_of_birth")
    assert error.message == "The date of birth cannot be in the future."


@pytest.mark.parametrize("born, today", [
    (date(1895, 6, 15), TODAY),  # 130 today
    (date(1895, 6, 14), TODAY),  # 130 and a day: still 130 in full years
    (date(1895, 6, 16), TODAY),  # 129
    (date(1894, 3, 1), date(2024, 2, 29)),  # 129 on a leap day
    (date(1894, 2, 28), date(2024, 2, 29)),  # 130 on a leap day
    (date(1892, 2, 29), date(2022, 2, 28)),  # 129: a leap-day birthday not reached yet
])
def test_a_person_of_up_to_130_is_accepted(born, today):
    assert check_date_of_birth(born, today) == born


@pytest.mark.parametrize("born, today, age", [
    (date(1894, 6, 15), TODAY, 131),
    (date(1800, 1, 1), TODAY, 225),
    (date(1893, 2, 28), date(2024, 2, 29), 131),
])
def test_a_person_older_than_130_years_is_refused(born, today, age):
    error = refused(check_identity, "", FEMALE, born, today)
    assert (error.field, error.code) == ("date_of_birth", "invalid_date_of_birth")
    assert error.message == f"A date of birth in {born.year} would make this person {age} years old."


def test_a_missing_date_of_birth_is_refused():
    error = refused(check_identity, cccd(), MALE, None, TODAY)
    assert (error.field, error.code) == ("date_of_birth", "required")
