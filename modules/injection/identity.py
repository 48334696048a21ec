"""A person's identity data as people type it: names, search keys, phones, CCCD/CMND numbers, gender.

Pure functions, no database and no request: the registration page, the API and the backlog import (one
call per row, so nothing here compiles or loads anything per call) all use them. Bad input raises
``ServiceError`` naming the person's field (``full_name``, ``address``, ``phone``, ``national_id``,
``gender``, ``date_of_birth``) with one of :data:`CODES`; messages are translated with the current locale
(untranslated English outside an app context).

- Names and addresses are stored NFC, trimmed, single-spaced (:func:`clean_text`, :func:`clean_name`);
  :func:`fold` makes the accent- and case-insensitive key they are searched and matched by.
- Phones are Vietnamese mobiles, stored as ``0`` + 9 digits (:func:`normalise_phone`). Landlines
  (11 digits since 2017: ``024 3825 1234``) are refused: the phone column holds 10 digits and the number
  receives SMS reminders.
- Gender is ``"male"`` or ``"female"`` (:func:`normalise_gender`): the two a CCCD encodes.
- A CCCD (12 digits) carries the birth province, gender, century and year of birth
  (``data/cccd_birth_province_codes.csv`` and its README; Decree 137/2015/ND-CP); :func:`check_identity`
  checks them against the record. A CMND (9 digits) carries nothing checkable.
"""
import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

from flask_babel import gettext as _

from core import roles
from core.service_errors import ServiceError

MALE, FEMALE = "male", "female"
CCCD, CMND = "cccd", "cmnd"
CODES = ("required", "invalid_name", "invalid_phone", "invalid_gender", "invalid_national_id",
         "unknown_birth_province", "gender_mismatch", "birth_year_mismatch", "invalid_date_of_birth")
NAME_MAX_LENGTH = 120
MAX_AGE_YEARS = 130
PROVINCE_CODES_FILE = Path(__file__).resolve().parent / "data" / "cccd_birth_province_codes.csv"

# Digit 4 of a CCCD: (first two digits of the birth year, gender). The README of the codes file and
# Decree 137/2015/ND-CP; later centuries (6-9) cannot belong to anyone alive and are refused.
CENTURY_GENDER = MappingProxyType({
    "0": (19, MALE), "1": (19, FEMALE),
    "2": (20, MALE), "3": (20, FEMALE),
    "4": (21, MALE), "5": (21, FEMALE),
})

# What people type for a gender, folded (see fold): Vietnamese and English words, and the letters M / F.
# Digits ("1", "0") are refused: neither the import template (DESIGN.md §4) nor the reference data gives
# them a meaning, and a guess would silently swap genders.
GENDER_WORDS = MappingProxyType({
    "nam": MALE, "nam gioi": MALE, "male": MALE, "m": MALE,
    "nu": FEMALE, "nu gioi": FEMALE, "female": FEMALE, "f": FEMALE,
})

# Invisible characters that copy-paste and Excel leave in text: zero-width space, non-joiner, joiner,
# word joiner, byte order mark. clean_text drops them; they are not whitespace to str.split().
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# What clean_name refuses: C0/C1 controls and the remaining format characters (soft hyphen, direction
# marks and overrides...). Whitespace controls (tab, newline) are already spaces by then.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200e\u200f\u202a-\u202e\u2061-\u206f\ufff9-\ufffb]")
_DIGIT = re.compile(r"\d")  # any script's digits
# Combining marks (Vietnamese tones and vowel marks are in the first block after NFD).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# đ, and the Icelandic eth Ð/ð often typed for it; lower case has been applied first.
_FOLD_LETTERS = str.maketrans({"đ": "d", "ð": "d"})
_PHONE_SEPARATORS = dict.fromkeys(map(ord, ".-()"))
_PHONE_DIGITS = re.compile(r"(?:\+84)?[0-9]+")
_MOBILE = re.compile(r"0[35789][0-9]{8}")
_DIGITS = re.compile(r"[0-9]+")
_SHOWN_LENGTH = 40


@dataclass(frozen=True, slots=True)
class NationalId:
    """A CCCD or CMND number, and what a CCCD's digits say (``None`` for a CMND)."""

    kind: str                      # CCCD or CMND
    number: str                    # digits only
    province_code: str | None      # digits 1-3: where the birth was registered
    province_name: str | None      # from data/cccd_birth_province_codes.csv
    gender: str | None             # MALE or FEMALE, from digit 4
    birth_year_prefix: int | None  # 19, 20 or 21, from digit 4
    year_suffix: int | None        # digits 5-6

    @property
    def birth_year(self) -> int | None:
        if self.birth_year_prefix is None:
            return None
        return self.birth_year_prefix * 100 + self.year_suffix


def load_birth_provinces(path=PROVINCE_CODES_FILE):
    """``{code: province name}`` from the CSV (``code,province``); a malformed file fails at import."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    provinces = {}
    for row in rows:
        code, name = row["code"], unicodedata.normalize("NFC", row["province"].strip())
        if not (len(code) == 3 and code.isdigit() and name) or code in provinces:
            raise RuntimeError(f"{path}: bad or repeated birth province code {code!r}")
        provinces[code] = name
    return MappingProxyType(provinces)


BIRTH_PROVINCES = load_birth_provinces()


# --- Names and addresses ------------------------------------------------------------------------------

def clean_text(value: object) -> str:
    """NFC, invisible characters dropped, trimmed, every run of whitespace (tabs, newlines, NBSP...)
    one space; letter case as typed. ``None`` → ``""``. For names and addresses."""
    if value is None:
        return ""
    # NFC last: an invisible character dropped between a letter and its accent lets them compose
    return unicodedata.normalize("NFC", " ".join(str(value).translate(_INVISIBLE).split()))


def clean_name(value: object, field: str = "full_name") -> str:
    """:func:`clean_text`, refusing an empty name, control characters, digits and more than
    :data:`NAME_MAX_LENGTH` characters."""
    name = clean_text(value)
    if not name:
        raise ServiceError(_("Enter the name."), field, "required")
    if _CONTROL.search(name):
        raise ServiceError(_("A name cannot contain control or invisible characters."), field, "invalid_name")
    if _DIGIT.search(name):
        raise ServiceError(_("A name cannot contain digits: %(value)s.", value=_shown(name)),
                           field, "invalid_name")
    if len(name) > NAME_MAX_LENGTH:
        raise ServiceError(_("A name has at most %(max)s characters; this one has %(count)s.",
                             max=NAME_MAX_LENGTH, count=len(name)), field, "invalid_name")
    return name


def fold(value: object) -> str:
    """The search key of a name or address: no tone or vowel marks, đ → d, lower case, single-spaced
    ("Nguyễn Thị Ánh" → "nguyen thi anh"). Old and new tone placement (hoà / hòa) fold alike."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFD", str(value)).lower()
    text = _COMBINING.sub("", text).translate(_FOLD_LETTERS).translate(_INVISIBLE)
    return " ".join(text.split())


# --- Phone --------------------------------------------------------------------------------------------

def normalise_phone(value: object) -> str | None:
    """A Vietnamese mobile as ``0`` + 9 digits, or ``None`` when empty (the phone is optional).

    Accepted around the digits: spaces (NBSP too), dots, dashes, parentheses. Accepted prefixes: ``+84``,
    ``0084``, ``84`` (when 11 digits remain), ``+84 (0)``, or none at all (9 digits: the leading 0 that
    Excel drops). The number must then start 03, 05, 07, 08 or 09. Anything else raises ``invalid_phone``.
    """
    text = "" if value is None else "".join(str(value).split()).translate(_PHONE_SEPARATORS)
    if not text:
        return None
    national = _national_digits(text) if _PHONE_DIGITS.fullmatch(text) else None
    if national is None or not _MOBILE.fullmatch("0" + national):
        raise ServiceError(
            _("%(value)s is not a Vietnamese mobile number: 10 digits starting with 03, 05, 07, 08 or 09, "
              "such as 0912 345 678 or +84 912 345 678.", value=_shown(value)), "phone", "invalid_phone")
    return "0" + national


def _national_digits(text: str) -> str | None:
    """The digits after the trunk 0, or None if the prefix is not one we accept."""
    for country_code in ("+84", "0084"):
        if text.startswith(country_code):
            national = text[len(country_code):]
            # "+84 (0) 912 345 678": the trunk 0 kept after the country code
            return national[1:] if len(national) == 10 and national.startswith("0") else national
    if text.startswith("84") and len(text) == 11:
        return text[2:]
    if text.startswith("0"):
        return text[1:]
    if len(text) == 9:  # the leading 0 dropped (a number cell in Excel)
        return text
    return None


# --- Gender -------------------------------------------------------------------------------------------

def normalise_gender(value: object) -> str:
    """``MALE`` or ``FEMALE`` from what people type, in any case and with or without accents:
    "nam" / "male" / "M" → male; "nữ" / "nu" / "female" / "F" → female. Empty or anything else
    (digits included) is refused. "nam giới" / "nữ giới" work too."""
    key = fold(value)
    if not key:
        raise ServiceError(_("Enter the gender: male or female."), "gender", "required")
    gender = GENDER_WORDS.get(key)
    if gender is None:
        raise ServiceError(_("%(value)s is not a gender: enter male or female.", value=_shown(value)),
                           "gender", "invalid_gender")
    return gender


# --- CCCD / CMND --------------------------------------------------------------------------------------

def parse_national_id(value: object) -> NationalId | None:
    """A :class:`NationalId` from a CCCD (12 digits) or CMND (9 digits), spaces ignored; ``None`` when
    empty. A CCCD's birth province code and digit 4 (century and gender) must be valid."""
    number = "" if value is None else "".join(str(value).split())
    if not number:
        return None
    if not _DIGITS.fullmatch(number):
        raise ServiceError(_("A CCCD or CMND number has only digits: %(value)s.", value=_shown(value)),
                           "national_id", "invalid_national_id")
    if len(number) == 9:
        return NationalId(CMND, number, None, None, None, None, None)
    if len(number) != 12:
        raise ServiceError(_length_message(len(number)), "national_id", "invalid_national_id")
    province_code, digit = number[:3], number[3]
    if province_code not in BIRTH_PROVINCES:
        raise ServiceError(
            _("CCCD %(number)s starts with %(code)s, which is no birth province code: its first three digits "
              "are the code of the province where the birth was registered (001 to 096).",
              number=number, code=province_code), "national_id", "unknown_birth_province")
    if digit not in CENTURY_GENDER:
        raise ServiceError(
            _("The fourth digit of CCCD %(number)s is %(digit)s: it gives the century and gender, "
              "0 to 5.", number=number, digit=digit), "national_id", "invalid_national_id")
    prefix, gender = CENTURY_GENDER[digit]
    return NationalId(CCCD, number, province_code, BIRTH_PROVINCES[province_code], gender, prefix,
                      int(number[4:6]))


def _length_message(count):
    if count in (8, 10, 11):  # a CMND or CCCD whose leading zeros were dropped by Excel
        return _("A CCCD has 12 digits, a CMND 9; this has %(count)s. If its leading zeros were lost "
                 "(typed as a number in Excel), add them back.", count=count)
    return _("A CCCD has 12 digits, a CMND 9; this has %(count)s.", count=count)


def check_date_of_birth(date_of_birth: date | None, today: date) -> date:
    """Refuses a missing date of birth, one after ``today``, or one more than :data:`MAX_AGE_YEARS`
    full years before it (``today`` is the caller's: Asia/Ho_Chi_Minh)."""
    if date_of_birth is None:
        raise ServiceError(_("Enter the date of birth."), "date_of_birth", "required")
    if isinstance(date_of_birth, datetime):
        date_of_birth = date_of_birth.date()
    if date_of_birth > today:
        raise ServiceError(_("The date of birth cannot be in the future."), "date_of_birth",
                           "invalid_date_of_birth")
    age = today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
    if age > MAX_AGE_YEARS:
        raise ServiceError(_("A date of birth in %(year)s would make this person %(age)s years old.",
                             year=date_of_birth.year, age=age), "date_of_birth", "invalid_date_of_birth")
    return date_of_birth


def check_identity(national_id: object, gender: object, date_of_birth: date | None,
                   today: date) -> NationalId | None:
    """The parsed national ID (``None`` if empty), after checking the date of birth
    (:func:`check_date_of_birth`) and, for a CCCD, that its gender and birth year are the record's.

    ``gender`` is normalised here (``"nữ"`` works). A mismatch names the record's field (``gender`` or
    ``date_of_birth``), the CCCD being the number the state issued; the message gives both sides.
    """
    date_of_birth = check_date_of_birth(date_of_birth, today)
    gender = normalise_gender(gender)
    parsed = parse_national_id(national_id)
    if parsed is None or parsed.kind == CMND:
        return parsed
    digit = parsed.number[3]
    if parsed.gender != gender:
        message = (_("CCCD %(number)s is a man's (its fourth digit is %(digit)s), but the gender is female.",
                     number=parsed.number, digit=digit) if parsed.gender == MALE else
                   _("CCCD %(number)s is a woman's (its fourth digit is %(digit)s), but the gender is male.",
                     number=parsed.number, digit=digit))
        raise ServiceError(message, "gender", "gender_mismatch")
    if parsed.birth_year != date_of_birth.year:
        raise ServiceError(
            _("CCCD %(number)s says born in %(id_year)s, but the date of birth is in %(year)s.",
              number=parsed.number, id_year=parsed.birth_year, year=date_of_birth.year),
            "date_of_birth", "birth_year_mismatch")
    return parsed


def _shown(value):
    text = clean_text(value)
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH - 1] + "…"


def mask(number, shown=4):
    """An ID or phone number with only its last ``shown`` digits visible ("••••••••3456"), for lists,
    paper and people who do not need the whole number; ``""`` when there is none."""
    if not number:
        return ""
    return "•" * max(len(number) - shown, 0) + number[-shown:]


# --- Who reads ID and phone numbers whole ------------------------------------------------------------
# Health data is sensitive personal data (Decree 13/2023/NĐ-CP on personal data protection): whole ID and
# phone numbers go only to those whose work is to identify and call people — site staff, integrators'
# systems (which match records by them) and admins; everybody else reads their last digits.
WHOLE_NUMBER_ROLES = frozenset({roles.SITE_STAFF, roles.INTEGRATOR, roles.ADMIN})


def reads_whole_numbers(user):
    return bool(user is not None and user.is_authenticated and user.role in WHOLE_NUMBER_ROLES)


def shown(number, whole, digits=4):
    """``number`` as a reader sees it: whole, or masked but for its last ``digits``; ``""`` when none."""
    return (number or "") if whole else mask(number, digits)
