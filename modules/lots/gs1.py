"""GS1 scans of vaccine packs: GTIN (01), expiry (17), lot (10) and serial (21), parsed by biip.

Pure functions, no database and no request: the scan page, the receipt, ``POST /api/v1/scan`` and the
``parse_barcode`` hook all call :func:`parse_gs1`. Messages are translated with the current locale
(untranslated English outside an app context).

What a scan may look like (each case is tested in ``tests/lots/test_gs1.py``):

- an optional symbology identifier first: ``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR,
  ``]e0`` GS1 DataBar, or any other well-formed ``]`` + letter + character (``]E0`` EAN-13...);
  the content is judged on its own, not on the identifier;
- element strings with the ASCII GS (0x1D) after a variable-length field, or the substitutes that
  keyboard-wedge scanners type instead: ``<GS>``, ``{GS}``, ``^]``, ``~``, ``|``, plus any character
  given in ``separators``; leading/trailing whitespace (the scanner's CR, LF or TAB) and separators
  are dropped. ``~``, ``|``, ``{GS}`` and ``^]`` cannot occur in GS1 data; ``<GS>`` could in theory
  (``<``, ``G``, ``S``, ``>`` are legal in a lot) and is taken as a separator all the same;
- bracketed human-readable text, ``(01)09506000134352(17)261231(10)ABC123``, spaces allowed anywhere;
- a GS1 Digital Link URI with a GTIN (``https://id.gs1.org/01/09506000134352/10/ABC123?17=261231``);
- a bare GTIN-8/12/13/14 (an outer pack with only an EAN/UPC): lot and expiry are then ``None``.
AIs may come in any order; AIs other than 01, 10, 17 and 21 are accepted and ignored.

What biip does not do, done here:

- a wrong GTIN check digit only sets ``gtin_error`` in biip; every GTIN goes through
  :func:`normalise_gtin`, which raises ``bad_check_digit`` naming the GTIN and the expected digit;
- biip reports a date it cannot read as a generic parse error; the failing element is located
  again with biip's element parser so that the user is told it is the expiry (``invalid_expiry``);
- biip's HRI parser skips text it does not understand (``(abc)(01)…``, an empty ``(01)``): the whole
  bracketed text must be ``(AI)value`` pairs, or the scan is refused;
- a malformed symbology identifier or URL makes ``biip.parse`` raise IndexError/ValueError: refused
  as ``invalid_scan`` instead;
- the same AI twice with different values is refused (which lot would it be?).
biip itself turns DD=00 into the last day of the month (240200 → 2024-02-29) and picks the century
from the GS1 sliding window (49 years back, 50 ahead).

What is NOT detected: a variable-length field (lot, serial) that is not terminated by GS before the
next AI. ``0109506000134352 10ABC123 17261231`` without the GS reads as lot ``ABC12317261231`` with no
expiry — a valid message, and a lot may legitimately end in "17" + six digits, so no guess is made.
Scanners that drop GS must be configured to send a substitute; labels we print put the lot last.
"""
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import biip
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from flask_babel import gettext as _

from core.service_errors import ServiceError

GS = "\x1d"
DEFAULT_SEPARATORS = "~|"  # one-character substitutes for GS; none of them may occur in GS1 data
CODES = ("empty_scan", "invalid_scan", "bad_check_digit", "missing_gtin", "invalid_expiry")

# Dates are checked by us (a bad expiry is its own error, not "unreadable"); GS is the only separator
# biip sees, every substitute is turned into GS first.
_CONFIG = biip.ParseConfig(gs1_element_strings_verify_date=False, separator_chars=(GS,))
_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_SUBSTITUTES = re.compile(r"<GS>|\{GS\}|\^\]", re.IGNORECASE)
_BARE_GTIN = re.compile(r"[0-9]{8}|[0-9]{12,14}")
_DIGITS = re.compile(r"[0-9]+")
_HRI = re.compile(r"(?:\([0-9]+\)[^(]+)+")  # as biip reads it: a value cannot hold "("
_HRI_ELEMENT = re.compile(r"\(([0-9]+)\)([^(]+)")
_WANTED = ("01", "10", "17", "21")
_SHOWN_LENGTH = 60


@dataclass(frozen=True)
class Scan:
    gtin: str            # 14 digits, check digit verified
    lot: str | None      # AI (10)
    expiry: date | None  # AI (17); DD=00 means the last day of that month
    serial: str | None   # AI (21)
    raw: str             # the code as received


class ScanError(ServiceError):
    """A scan that cannot be used: ``message`` is translated, ``code`` is one of :data:`CODES`;
    answered as 422 naming the field ``code`` (the raw scan)."""

    def __init__(self, message, code="invalid_scan"):
        super().__init__(message, field="code", code=code)


# --- GTIN ---------------------------------------------------------------------------------------------

def gtin_check_digit(first_13_digits: str) -> str:
    """The GS1 mod-10 check digit of a GTIN-14's first 13 digits (any shorter payload works too)."""
    if not _DIGITS.fullmatch(first_13_digits or ""):
        raise ValueError(f"digits expected, got {first_13_digits!r}")
    total = sum(int(digit) * (3 if position % 2 == 0 else 1)
                for position, digit in enumerate(reversed(first_13_digits)))
    return str(-total % 10)


def normalise_gtin(value: str) -> str:
    """A GTIN-8/12/13/14 as 14 digits (left-padded with zeros), its check digit verified.

    Surrounding whitespace is ignored; anything else that is not a digit is refused.
    Raises ``ScanError`` ``invalid_scan`` (not 8/12/13/14 digits, or all zeros) or ``bad_check_digit``.
    """
    digits = value.strip() if isinstance(value, str) else ""
    if not _BARE_GTIN.fullmatch(digits):
        raise ScanError(_("%(value)s is not a GTIN: a GTIN has 8, 12, 13 or 14 digits.",
                          value=_shown(value if isinstance(value, str) else repr(value))), "invalid_scan")
    gtin = digits.zfill(14)
    if not gtin.strip("0"):
        raise ScanError(_("%(value)s is not a GTIN.", value=digits), "invalid_scan")
    expected = gtin_check_digit(gtin[:13])
    if gtin[13] != expected:
        raise ScanError(_("GTIN %(gtin)s has a wrong check digit: expected %(expected)s, not %(found)s.",
                          gtin=digits, expected=expected, found=gtin[13]), "bad_check_digit")
    return gtin


# --- Scans --------------------------------------------------------------------------------------------

def parse_gs1(raw: str, separators: str = "") -> Scan:
    """Parse what a scanner (or a person) typed into a :class:`Scan`; raise ``ScanError`` if unusable.

    ``separators``: extra characters the site's scanners send instead of GS (each character counts).
    """
    if not isinstance(raw, str):
        raise ScanError(_("%(code)s is not a GS1 barcode.", code=_shown(repr(raw))), "invalid_scan")
    text = raw.strip()
    if text.startswith("]"):
        if not _SYMBOLOGY.match(text):
            raise _not_gs1(raw)
        text = text[3:]
    text = _SUBSTITUTES.sub(GS, text).translate(_separator_table(separators or "")).strip()
    if not text:
        raise ScanError(_("Nothing was scanned."), "empty_scan")
    if _BARE_GTIN.fullmatch(text):
        return Scan(gtin=normalise_gtin(text), lot=None, expiry=None, serial=None, raw=raw)
    elements = _hri_elements(text, raw) if text.startswith("(") else _scanned_elements(text, raw)
    return _scan_of(elements, raw)


@lru_cache(maxsize=32)
def _separator_table(separators):
    return str.maketrans(dict.fromkeys(DEFAULT_SEPARATORS + separators, GS))


def _hri_elements(text, raw):
    """Element strings of bracketed text; whitespace (and GS) anywhere is ignored, as on a label."""
    compact = "".join(text.split())
    if not _HRI.fullmatch(compact):
        raise _not_gs1(raw)
    try:
        return GS1Message.parse_hri(compact, config=_CONFIG).element_strings
    except biip.ParseError:
        for ai, value in _HRI_ELEMENT.findall(compact):
            if ai == "17" and not _is_element("17" + value):
                raise _invalid_expiry(value) from None
        raise _not_gs1(raw) from None


def _scanned_elements(text, raw):
    """Element strings of a scanned code (GS-separated AIs, or a GS1 Digital Link URI)."""
    if text.startswith("]"):  # a second identifier: biip would raise IndexError on some of them
        raise _not_gs1(raw)
    try:
        result = biip.parse(text, config=_CONFIG)
    except (biip.ParseError, ValueError):  # urlsplit() raises ValueError on e.g. "http://["
        raise _not_gs1(raw) from None
    if result.gs1_message is not None:
        return result.gs1_message.element_strings
    if result.gs1_digital_link_uri is not None:
        return result.gs1_digital_link_uri.element_strings
    expiry = _malformed_expiry(text)
    if expiry is not None:
        raise _invalid_expiry(expiry)
    raise _not_gs1(raw)


def _malformed_expiry(text):
    """After biip refused ``text``: the (17) value, if that is the element it could not read."""
    rest = text
    while rest:
        try:
            element = GS1ElementString.extract(rest, config=_CONFIG)
        except biip.ParseError:
            return rest[2:8] if rest.startswith("17") else None
        rest = rest[len(element):].lstrip(GS)
    return None


def _is_element(text):
    try:
        GS1ElementString.parse(text, config=_CONFIG)
    except biip.ParseError:
        return False
    return True


def _scan_of(elements, raw):
    values = {}
    for element in elements:
        ai = element.ai.ai
        if ai not in _WANTED:
            continue
        if ai in values and values[ai].value != element.value:
            raise ScanError(_("The barcode holds two different values for (%(ai)s).", ai=ai), "invalid_scan")
        values[ai] = element
    if "01" not in values:
        raise ScanError(_("The barcode has no GTIN (01): it does not identify a product."), "missing_gtin")
    gtin = normalise_gtin(values["01"].value)  # biip only sets gtin_error on a wrong check digit
    expiry = values.get("17")
    if expiry is not None and expiry.date is None:
        raise _invalid_expiry(expiry.value)
    return Scan(gtin=gtin, lot=_value(values, "10"), expiry=expiry.date if expiry else None,
                serial=_value(values, "21"), raw=raw)


def _value(values, ai):
    element = values.get(ai)
    return element.value if element is not None else None


def _not_gs1(raw):
    return ScanError(_("%(code)s is not a GS1 barcode.", code=_shown(raw.strip())), "invalid_scan")


def _invalid_expiry(value):
    return ScanError(_("The expiry date %(value)s is not a valid date (YYMMDD).", value=value), "invalid_expiry")


def _shown(text):
    """The code as a user can read it in a message: GS made visible, long codes shortened."""
    text = text.replace(GS, "<GS>")
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH - 1] + "…"


# --- Labels -------------------------------------------------------------------------------------------

def gs1_element_string(gtin: str, expiry: date, lot: str) -> str:
    """The human-readable text printed under a label's barcode: ``(01)…(17)YYMMDD(10)…``.

    The lot comes last so the barcode needs no separator. Raises ``ScanError`` if it would not read
    back as the same values: a bad GTIN, a lot GS1 cannot carry (over 20 characters, a space, a
    letter outside ASCII), an expiry outside the two-digit-year window (49 years back, 50 ahead).
    """
    gtin = normalise_gtin(gtin)
    if not isinstance(lot, str) or not _is_element("10" + lot):
        raise ScanError(_("Lot %(lot)s cannot be written in a GS1 barcode: use 1 to 20 letters, digits or "
                          "GS1 punctuation, without spaces.", lot=lot), "invalid_scan")
    yymmdd = f"{expiry:%y%m%d}"
    if GS1ElementString.parse("17" + yymmdd, config=_CONFIG).date != expiry:
        raise ScanError(_("The expiry date %(value)s cannot be written in a GS1 barcode.",
                          value=expiry.isoformat()), "invalid_expiry")
    return f"(01){gtin}(17){yymmdd}(10){lot}"
