"""Barcodes shared by the reports: the GS1 lot identity (GTIN, lot, expiry) as a GS1-128 element string, and
Code 128 bars drawn straight into a PDF as vectors.

A lot's GS1-128 encodes ``(01) GTIN (17) expiry YYMMDD (10) lot``: FNC1 in first position (what makes Code 128 a
GS1-128, read as ``]C1``), the two fixed-length AIs first and the variable-length lot last, so no FNC1 separator is
needed anywhere else. Code 128 patterns come from reportlab's own Code128 (which takes FNC1 as ``"\\xf1"`` and picks
code sets A/B/C for the shortest symbol); :func:`draw_code128` then draws all bars of a symbol as one filled path,
in whole modules: smaller and faster than reportlab's one ``rect`` per bar, in points — what a 500-line manifest
with a barcode per line wants. Quiet zones (``QUIET_MODULES`` modules each side) are the caller's to keep clear.
"""
import datetime
import re

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.rl_accel import fp_str

__all__ = ["FNC1", "QUIET_MODULES", "LOT_MAX_LENGTH", "GS1_CSET82", "GTIN", "gtin_check_digit", "check_gtin",
           "check_lot", "gs1_lot_data", "gs1_lot_hri", "code128_bars", "draw_code128"]

FNC1 = "\xf1"
QUIET_MODULES = 10
LOT_MAX_LENGTH = 20  # GS1 AI (10) is X..20
# GS1 AI encodable character set 82, the only characters a lot number (AI 10) may hold.
GS1_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
GTIN = re.compile(r"[0-9]{14}")


def gtin_check_digit(first13):
    """The GS1 mod-10 check digit of the first 13 digits of a GTIN-14."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(first13))
    return str((10 - total % 10) % 10)


def check_gtin(gtin):
    """Raise ValueError unless ``gtin`` is a string of 14 ASCII digits with the right check digit."""
    if not isinstance(gtin, str) or not GTIN.fullmatch(gtin):
        raise ValueError(f"GTIN must be 14 digits, got {gtin!r}")
    if gtin[-1] != gtin_check_digit(gtin[:13]):
        raise ValueError(f"GTIN {gtin} has a wrong check digit (expected {gtin_check_digit(gtin[:13])})")


def check_lot(lot):
    """Raise ValueError unless ``lot`` can be carried by GS1 AI (10): 1 to 20 characters of set 82."""
    if not isinstance(lot, str) or not 1 <= len(lot) <= LOT_MAX_LENGTH:
        raise ValueError(f"lot number must be 1 to {LOT_MAX_LENGTH} characters, got {lot!r}")
    if not GS1_CSET82.fullmatch(lot):
        bad = "".join(sorted({c for c in lot if not GS1_CSET82.fullmatch(c)}))
        raise ValueError(f"lot number {lot!r} has characters a GS1 barcode cannot carry: {bad!r}")


def gs1_lot_data(gtin, expiry: datetime.date, lot):
    """The data to encode: FNC1, then (01) GTIN, (17) YYMMDD, (10) lot, AIs without brackets."""
    return f"{FNC1}01{gtin}17{expiry:%y%m%d}10{lot}"


def gs1_lot_hri(gtin, expiry: datetime.date, lot):
    """The human-readable line: ``(01) 08936012345674 (17) 261231 (10) AB-12/7``."""
    return f"(01) {gtin} (17) {expiry:%y%m%d} (10) {lot}"


def code128_bars(data):
    """The bars of the Code 128 symbol for ``data`` (FNC1 as ``"\\xf1"``), without quiet zones:
    ``(bars, modules)`` where ``bars`` is a tuple of ``(start, width)`` in modules from the symbol's left edge and
    ``modules`` the symbol's whole width in modules."""
    symbol = Code128(data, barWidth=1, quiet=0)
    symbol.validate()
    symbol.encode()
    pattern = symbol.decompose()  # upper case: a bar, lower case: a space; "a"/"A" is 1 module wide, "b" 2...
    bars, position = [], 0
    for symbol in pattern:
        if symbol.isupper():
            width = ord(symbol) - ord("A") + 1
            bars.append((position, width))
        else:
            width = ord(symbol) - ord("a") + 1
        position += width
    return tuple(bars), position


def draw_code128(canvas, x, y, bars, module, height):
    """Draw ``bars`` (from :func:`code128_bars`) with their left edge at ``x`` and bottom at ``y``, ``module``
    points per module, in the canvas's fill colour. Returns the symbol's right edge.

    The bars go into the page as one path in a coordinate system scaled to one unit per module, so each bar is
    ``start 0 width height re`` in whole numbers: several times smaller and faster than reportlab's own
    Code128, which writes one ``rect`` per bar in points."""
    height = fp_str(height)
    rects = " ".join(f"{start} 0 {width} {height} re" for start, width in bars)
    canvas.addLiteral(f"q {fp_str(module)} 0 0 1 {fp_str(x, y)} cm {rects} f Q")
    end = bars[-1][0] + bars[-1][1] if bars else 0
    return x + end * module
