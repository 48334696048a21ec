"""One spreadsheet cell, as python-calamine, openpyxl or csv returns it, turned into a clean value.

A cell is ``None``, ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``date`` or ``time`` (calamine also
gives ``timedelta`` for durations), whatever the column was meant to hold. Excel mangles what sites typed by
hand: numbers lose their leading zeros (``079…`` → ``79…``) and, past 15 digits or when shown in scientific
notation, their last digits; whole numbers come back as floats (``1234.0``); dates are serial numbers when
the cell is not formatted as a date. Each function repairs what can be repaired without guessing, appending
a short translated note to ``notes`` for the import report ("Leading zero restored: 079090004217."; notes
do not name the column: the caller knows it), and refuses the rest with a ``ServiceError`` naming the
column's key (:mod:`.columns`) and saying in a clerk's words what to fix.

Empty cells are ``None`` (or ``""`` for :func:`text`): whether a column is required is the caller's rule.
Dates are read day/month/year, the Vietnamese order, never month/day.
"""
import math
import re
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, time, timedelta
from types import MappingProxyType

from flask_babel import gettext as _

from core.service_errors import ServiceError
from modules.injection.identity import (
    FEMALE,
    MALE,
    _shown,
    clean_name,
    clean_text,
    fold,
    normalise_gender,
    normalise_phone,
    parse_national_id,
)

# The codes raised here, besides identity.CODES (invalid_name, invalid_phone, invalid_gender...).
CODES = ("invalid_number", "lost_digits", "invalid_insurance_number", "invalid_date", "ambiguous_date",
         "date_out_of_range", "unknown_vaccine")

# Excel keeps 15 significant digits: a number cell at or above 10**15 may already have lost its last ones.
EXACT_DIGITS_LIMIT = 10 ** 15
# Excel's 1900 date system counts 1900-02-29, a day that never was (Lotus 1-2-3's bug): serial 60.
# Serials 1-59 count from 1899-12-31, the ones after 60 from 1899-12-30. The 1904 system (old Mac
# workbooks) counts from serial 0 = 1904-01-01.
FAKE_LEAP_DAY_SERIAL = 60
EPOCH_1900_BEFORE_LEAP = Date(1899, 12, 31)
EPOCH_1900 = Date(1899, 12, 30)
EPOCH_1904 = Date(1904, 1, 1)
# A whole number in this range in a date column is a year typed alone (elderly people often know only
# their birth year), not a serial: serials 1900-2100 are days of 1905, a date nobody means.
YEARS_TYPED_ALONE = range(1900, 2101)
CENTURIES = (1900, 2000)  # what a two-digit year may mean

# Spreadsheet codes for a gender. Only these two: "2" (female in the health-insurance data standard,
# where 1 is male) and CCCD digit 4 (0 male, 1 female) give digits other meanings.
GENDER_CODES = MappingProxyType({"1": MALE, "0": FEMALE})

# What people type for a vaccine besides its code and catalogue name, by presentation code (the
# catalogue of lots_0002). The first name is the one error messages suggest.
VACCINE_SYNONYMS = MappingProxyType({
    "VAXZEVRIA": ("AstraZeneca", "Astra", "AZ", "Covishield"),
    "COMIRNATY": ("Pfizer", "Pfizer-BioNTech", "BioNTech"),
    "SPIKEVAX": ("Moderna",),
    "VEROCELL": ("Vero Cell", "Verocell", "Sinopharm"),
    "SPUTNIKV": ("Sputnik V", "Sputnik"),
    "HAYATVAX": ("Hayat-Vax", "Hayat"),
    "JANSSEN": ("Janssen", "J&J", "Johnson"),
    "ABDALA": ("Abdala",),
})
# Words written before the name ("Vắc xin Vero Cell", "Vaccine AstraZeneca"), as vaccine keys.
VACCINE_PREFIXES = ("vacxin", "vaccine", "vaccin")

# Excel's display of a number too wide for its cell: "1.23457E+11", or "1,23457E+11" with a decimal comma.
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+")
# A whole number written by a program as a float ("79090004217.0": pandas, some csv exports). One or two
# zeros only: dots grouping an ID's digits ("001.090.004217") are followed by three digits or more.
_FLOAT_TEXT = re.compile(r"([0-9]+)\.0{1,2}")
_ID_SEPARATORS = dict.fromkeys(map(ord, " .-"))  # "001 090 004217", "001.090.004217", "DN-4-79-..."
_ASCII_DIGITS = re.compile(r"[0-9]+")
_INSURANCE_CARD = re.compile(r"[A-Z]{2}[0-9]{13}")   # object code, benefit level, province, BHXH number
_INSURANCE_NUMBER = re.compile(r"[0-9]{10}")        # the social insurance number alone
# An optional time after a date ("15/03/2021 0:00", "2021-03-15 00:00:00", "2021-03-15T08:30:00"); it is
# not checked, as it is dropped.
_TIME = r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_DAY_FIRST = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})" + _TIME)
_YEAR_FIRST = re.compile(r"([0-9]{4})([/.-])([0-9]{1,2})\2([0-9]{1,2})" + _TIME)
_YEAR_ALONE = re.compile(r"[0-9]{4}")
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


# --- Text ---------------------------------------------------------------------------------------------

def text(value: object) -> str:
    """Free text (nationality, district, ward, address, lot number, site code) as the clerk saw it in the
    cell: NFC, trimmed, single-spaced, case kept; ``None`` → ``""``. A whole number stored as a float is
    written without ``.0``; TRUE/FALSE and dates are written as Excel shows them (dates day/month/year)."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):  # before date: datetime is a date
        shown = value.strftime("%d/%m/%Y")
        return shown if value.time() == time() else f"{shown} {value.strftime('%H:%M:%S')}"
    if isinstance(value, Date):
        return value.strftime("%d/%m/%Y")
    return clean_text(value)


def name(value: object) -> str:
    """A person's name: :func:`identity.clean_name` (NFC, single-spaced, case as typed; empty, digits and
    control characters refused)."""
    return clean_name(text(value))


def _display(value):
    """A cell as error messages show it: as in the sheet, shortened if long."""
    return _shown(text(value))


# --- ID, phone and insurance numbers ------------------------------------------------------------------

def digits(value: object, field: str) -> str | None:
    """An ID-like cell's digits as text, ``None`` when empty. Whole numbers (``int`` or ``float``) are
    written out; spaces, dots and dashes between digits dropped. Refused: anything but digits, and numbers
    Excel already cut short (scientific notation, 16 digits or more in a number cell)."""
    number = _id_text(value, field).translate(_ID_SEPARATORS)
    if not number:
        return None
    if not _ASCII_DIGITS.fullmatch(number):
        raise _not_digits(value, field)
    return number


def _id_text(value, field):
    """An ID-like cell as text, before separators are dropped (phones keep their "+84")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise _not_digits(value, field)
    if isinstance(value, int | float):
        return _number_digits(value, field)
    if not isinstance(value, str):  # a date or time: Excel read the typed number as one
        raise _not_digits(value, field)
    shown = clean_text(value)
    if _SCIENTIFIC.fullmatch(shown):
        raise _lost_digits(shown, field)
    float_text = _FLOAT_TEXT.fullmatch(shown)
    return float_text.group(1) if float_text else shown


def _number_digits(value, field):
    """A number cell's digits: a float is exact below 10**15 only, and must be whole."""
    if value < 0:  # its "-" would go with the separators
        raise _not_digits(value, field)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise _not_digits(value, field)
        if value >= EXACT_DIGITS_LIMIT:
            raise _lost_digits(_display(value), field)
        value = int(value)
    return str(value)


def _not_digits(value, field):
    return ServiceError(_("%(value)s should contain digits only.", value=_display(value)), field, "invalid_number")


def _lost_digits(shown, field):
    return ServiceError(
        _("%(value)s was shortened by Excel and its last digits are lost: format the column as Text and "
          "type the number again.", value=shown), field, "lost_digits")


def national_id(value: object, notes: list) -> str | None:
    """A CCCD (12 digits) or CMND (9 digits), ``None`` when empty, checked by
    :func:`identity.parse_national_id`. Every CCCD starts with 0 (birth province codes 001-096), so 11
    digits, or 10 (codes 001-009), not starting with 0 are a CCCD typed as a number; 8 digits are a CMND
    that lost its 0 (a 9-digit CMND starting 1-9 stays 9 digits as a number). Those zeros are put back."""
    number = digits(value, "national_id")
    if number is None:
        return None
    missing = {11: 1, 10: 2, 8: 1}.get(len(number), 0)
    # A number starting with 0 kept its zeros: its missing digit is a typo, not Excel's doing.
    if missing and not number.startswith("0"):
        number = "0" * missing + number
        notes.append(_("Leading zero restored: %(number)s.", number=number) if missing == 1 else
                     _("Leading zeros restored: %(number)s.", number=number))
    return parse_national_id(number).number


def phone(value: object, notes: list) -> str | None:
    """A Vietnamese mobile as ``0`` + 9 digits (:func:`identity.normalise_phone`: +84 / 84 prefixes,
    spaces, dots), ``None`` when empty. Nine digits are a number that lost its 0: noted."""
    typed = _id_text(value, "phone")
    number = normalise_phone(typed)
    if number is not None and len(typed.translate(_ID_SEPARATORS)) == 9:
        notes.append(_("Leading zero restored: %(number)s.", number=number))
    return number


def insurance_number(value: object, notes: list) -> str | None:
    """A health insurance (BHYT) card number, ``None`` when empty: the current card's 15 characters,
    2 letters (upper-cased) and 13 digits, or the 10-digit social insurance number alone. Nine digits not
    starting with 0 are the latter typed as a number (it starts with a 2-digit province code, 01 for Hà
    Nội): its 0 is put back."""
    number = _id_text(value, "insurance_number").translate(_ID_SEPARATORS).upper()
    if not number:
        return None
    if len(number) == 9 and _ASCII_DIGITS.fullmatch(number) and not number.startswith("0"):
        number = "0" + number
        notes.append(_("Leading zero restored: %(number)s.", number=number))
    if _INSURANCE_CARD.fullmatch(number) or _INSURANCE_NUMBER.fullmatch(number):
        return number
    raise ServiceError(
        _("%(value)s is not a health insurance number: 2 letters and 13 digits as on the card, such as "
          "DN4797912345678, or the 10-digit social insurance number.", value=_display(value)),
        "insurance_number", "invalid_insurance_number")


# --- Gender -------------------------------------------------------------------------------------------

def gender(value: object) -> str:
    """``MALE`` or ``FEMALE``: the words of :func:`identity.normalise_gender` ("Nữ", "nu", "FEMALE", "M"),
    or the spreadsheet codes 1 (male) and 0 (female), as numbers or text. TRUE/FALSE are refused."""
    shown = text(value)  # 1.0 → "1", True → "TRUE"
    return GENDER_CODES.get(shown) or normalise_gender(shown)


# --- Dates --------------------------------------------------------------------------------------------

def date(value: object, field: str, notes: list, *, epoch_1904: bool = False,
         earliest: Date | None = None, latest: Date | None = None) -> Date | None:
    """A date, ``None`` when empty, between ``earliest`` and ``latest`` when given.

    Read from a date cell; from a number cell as an Excel serial (the workbook's 1900 or 1904 system; the
    time of day in its fraction dropped); or from text, day first ("15/03/2021", "15-3-2021", "15.03.2021")
    or ISO ("2021-03-15", "2021-03-15 00:00:00"). A two-digit year ("15/3/21") is taken only when one
    century puts the date between the bounds (noted), and refused as ambiguous otherwise."""
    if value is None or (isinstance(value, str) and not clean_text(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Date):  # time, timedelta...
        raise _not_a_date(value, field)
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, Date):
        day = value
    elif isinstance(value, str):
        day = _text_date(clean_text(value), field, notes, earliest, latest)
    else:
        day = _serial_date(value, field, epoch_1904)
    return _in_range(day, field, earliest, latest)


def _serial_date(value, field, epoch_1904):
    """The day of an Excel serial number (whole days; the fraction is the time of day)."""
    if not math.isfinite(value):
        raise _not_a_date(value, field)
    serial = math.floor(value)
    if serial < (0 if epoch_1904 else 1):  # the 1900 system's day 0 is "00/01/1900"
        raise _not_a_date(value, field)
    if serial in YEARS_TYPED_ALONE:
        raise _year_alone(value, field)
    if not epoch_1904 and serial == FAKE_LEAP_DAY_SERIAL:
        raise ServiceError(_("%(value)s is 29/02/1900 for Excel, a day that never was: enter the real date.",
                             value=_display(value)), field, "invalid_date")
    if epoch_1904:
        epoch = EPOCH_1904
    else:
        epoch = EPOCH_1900_BEFORE_LEAP if serial < FAKE_LEAP_DAY_SERIAL else EPOCH_1900
    try:
        return epoch + timedelta(days=serial)
    except OverflowError:  # past 31/12/9999
        raise _not_a_date(value, field) from None


def _text_date(typed, field, notes, earliest, latest):
    """A date written as text: day/month/year or ISO year-month-day."""
    if _YEAR_ALONE.fullmatch(typed):
        raise _year_alone(typed, field)
    match = _YEAR_FIRST.fullmatch(typed)
    if match:
        return _day(typed, field, int(match[4]), int(match[3]), int(match[1]))
    match = _DAY_FIRST.fullmatch(typed)
    if not match:
        raise _not_a_date(typed, field)
    day, month, year = int(match[1]), int(match[3]), match[4]
    if len(year) == 4:
        return _day(typed, field, day, month, int(year))
    return _two_digit_year(typed, field, notes, day, month, int(year), earliest, latest)


def _day(typed, field, day, month, year):
    """The date, or why those numbers are none (a month over 12 is likely month/day order: refused)."""
    if not 1 <= month <= 12:
        raise ServiceError(_("%(value)s has no month %(month)s: dates are written day/month/year, such as "
                             "15/03/2021.", value=typed, month=month), field, "invalid_date")
    try:
        return Date(year, month, day)
    except ValueError:
        raise ServiceError(_("%(value)s is not a real date: month %(month)s of %(year)s has no day %(day)s.",
                             value=typed, month=month, year=year, day=day), field, "invalid_date") from None


def _two_digit_year(typed, field, notes, day, month, year, earliest, latest):
    """The one century whose date falls between the bounds; without bounds, both could."""
    candidates, error = [], None
    for century in CENTURIES:
        try:
            candidates.append(_day(typed, field, day, month, century + year))
        except ServiceError as refused:  # "29/2/00": no day in 1900, one in 2000
            error = refused
    if error is not None and not candidates:
        raise error
    inside = [candidate for candidate in candidates if _within(candidate, earliest, latest)]
    if len(inside) > 1:
        raise ServiceError(_("%(value)s could be in %(first)s or in %(second)s: write the year with 4 digits.",
                             value=typed, first=inside[0].year, second=inside[1].year), field, "ambiguous_date")
    if not inside:
        return candidates[-1]  # refused by the range check, which names the bounds
    notes.append(_("%(value)s read as %(date)s.", value=typed, date=_dmy(inside[0])))
    return inside[0]


def _within(day, earliest, latest):
    return (earliest is None or day >= earliest) and (latest is None or day <= latest)


def _in_range(day, field, earliest, latest):
    if earliest is not None and day < earliest:
        raise ServiceError(_("%(date)s is before %(earliest)s, the earliest date accepted here.",
                             date=_dmy(day), earliest=_dmy(earliest)), field, "date_out_of_range")
    if latest is not None and day > latest:
        raise ServiceError(_("%(date)s is after %(latest)s, the latest date accepted here.",
                             date=_dmy(day), latest=_dmy(latest)), field, "date_out_of_range")
    return day


def _dmy(day):
    return day.strftime("%d/%m/%Y")


def _not_a_date(value, field):
    return ServiceError(_("%(value)s is not a date: write it as day/month/year, such as 15/03/2021.",
                          value=_display(value)), field, "invalid_date")


def _year_alone(value, field):
    return ServiceError(_("%(value)s is a year alone: enter the whole date, day/month/year.",
                          value=_display(value)), field, "invalid_date")


# --- Vaccine ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VaccineNames:
    """What a vaccine cell may say, as :func:`vaccine_key`, → presentation code; built once per import."""

    codes: MappingProxyType
    suggested: str  # a few names, for the message when none matches


def vaccine_key(value: object) -> str:
    """Folded, without spaces or punctuation, nor a leading "vắc xin": "Pfizer-BioNTech" → "pfizerbiontech"."""
    key = _NOT_ALPHANUMERIC.sub("", fold(value))
    for prefix in VACCINE_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return key


def vaccine_names(catalogue) -> VaccineNames:
    """The names of the presentations in ``catalogue`` (objects with ``code``, ``name`` and
    ``manufacturer``, or ``(code, name, manufacturer)`` tuples): codes, then catalogue names, then
    :data:`VACCINE_SYNONYMS`, then manufacturers; a name already taken keeps its first meaning."""
    entries = [(item.code, item.name, item.manufacturer) if hasattr(item, "code") else tuple(item[:3])
               for item in catalogue]
    typed = ([(code, code) for code, _name, _maker in entries]
             + [(title, code) for code, title, _maker in entries]
             + [(synonym, code) for code, _name, _maker in entries for synonym in VACCINE_SYNONYMS.get(code, ())]
             + [(maker, code) for code, _name, maker in entries])
    codes = {}
    for written, code in typed:
        codes.setdefault(vaccine_key(written), code)
    codes.pop("", None)
    suggested = ", ".join(VACCINE_SYNONYMS.get(code, (title,))[0] for code, title, _maker in entries)
    return VaccineNames(MappingProxyType(codes), suggested)


def vaccine(value: object, field: str, names: VaccineNames) -> str | None:
    """The presentation code a vaccine cell names ("AZ", "Pfizer", "Vắc xin Vero Cell", "COMIRNATY"),
    ``None`` when empty; ``names`` from :func:`vaccine_names`."""
    key = vaccine_key(text(value))
    if not key:
        return None
    code = names.codes.get(key)
    if code is None:
        raise ServiceError(_("%(value)s is not a vaccine we know: write its name, such as %(names)s.",
                             value=_display(value), names=names.suggested), field, "unknown_vaccine")
    return code
