"""What every PDF report shares: the embedded Vietnamese-capable fonts, NFC text, page sizes, a canvas.

Reports take plain data and know no models. reportlab's built-in Helvetica draws Vietnamese as boxes, so every
report draws with the DejaVu Sans fonts shipped in ``reports/fonts`` (registered once, at import, as ``FONT`` and
``FONT_BOLD``), and passes every string through ``nfc()`` first: decomposed (NFD) text renders its combining marks
badly even with a font that covers them.
"""
import io
import unicodedata
from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import inch, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

__all__ = ["A4", "A4_LANDSCAPE", "FONT", "FONT_BOLD", "ELLIPSIS", "inch", "mm", "nfc", "register_fonts",
           "new_canvas", "pdf_bytes", "fit_text", "draw_text"]

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "VaxSans"
FONT_BOLD = "VaxSans-Bold"
A4_LANDSCAPE = landscape(A4)
ELLIPSIS = "…"


def register_fonts():
    """Register the report fonts with reportlab; calling it again does nothing."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, filename in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf")):
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, FONTS_DIR / filename))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


register_fonts()


def nfc(text):
    """``text`` as a string in Unicode NFC (composed) form; None becomes ""."""
    return unicodedata.normalize("NFC", "" if text is None else str(text))


def new_canvas(buffer, pagesize, *, title, subject=""):
    """A canvas writing to ``buffer`` with our metadata; output is byte-for-byte reproducible for the same input."""
    canvas = Canvas(buffer, pagesize=pagesize, invariant=1, initialFontName=FONT, lang="vi")
    canvas.setTitle(nfc(title))
    canvas.setSubject(nfc(subject))
    canvas.setAuthor("vaxchain")
    canvas.setCreator("vaxchain")
    return canvas


def fit_text(text, font, size, max_width, min_size=None):
    """Shrink ``text`` from ``size`` down to ``min_size`` until it fits ``max_width``; cut it with "…" if it still
    does not. Returns ``(text, size)``."""
    text = nfc(text)
    min_size = size if min_size is None else min_size
    width = pdfmetrics.stringWidth(text, font, size)
    if width <= max_width:
        return text, size
    size = max(min_size, size * max_width / width)
    while text and pdfmetrics.stringWidth(text, font, size) > max_width:
        text = text[:-2] + ELLIPSIS if len(text) > 1 else ""
    return text, size


def draw_text(canvas, x, y, text, font, size, *, max_width=None, min_size=None, align="left"):
    """Draw one line at baseline ``y``; ``align`` is left (from ``x``), centre (on ``x``) or right (ending at ``x``).
    With ``max_width`` the line is shrunk, then cut, to fit. Returns the font size used."""
    text = nfc(text)
    if max_width is not None:
        text, size = fit_text(text, font, size, max_width, min_size)
    canvas.setFont(font, size)
    if align == "centre":
        canvas.drawCentredString(x, y, text)
    elif align == "right":
        canvas.drawRightString(x, y, text)
    else:
        canvas.drawString(x, y, text)
    return size


def pdf_bytes(draw, pagesize, *, title, subject=""):
    """Run ``draw(canvas)`` on a fresh canvas and return the finished PDF as bytes."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, pagesize, title=title, subject=subject)
    draw(canvas)
    canvas.save()
    return buffer.getvalue()
