"""Lot labels that warehouse staff print and stick on packs: a GS1-128 barcode and the facts in Vietnamese.

The barcode (its data and the GS1 checks shared with the manifest in ``reports/barcodes.py``) encodes
``(01) GTIN (17) expiry YYMMDD (10) lot``: FNC1 in first position (what makes Code 128 a
GS1-128, read as ``]C1``), the two fixed-length AIs first and the variable-length lot last, so no FNC1 separator is
needed anywhere else. It is drawn as vectors by reportlab's own Code128, which takes FNC1 as the character "\\xf1".

Two sizes:
- ``"a4"``: sheets of 2 × 8 labels of 105 × 37 mm (the usual 16-up A4 label stock, no gaps between labels).
  Not 3 × 8 of 70 × 37 mm: a GS1-128 of GTIN + expiry + a 7-character lot is 277 modules plus 20 of quiet zone,
  74 mm at the 0.25 mm module width scanners want, so it does not fit a 70 mm label.
- ``"thermal"``: one 50 × 30 mm page per label, for label printers. 50 mm is too narrow for 0.25 mm modules with
  any lot, so modules are two dots of a 300 dpi printer (0.169 mm), bars on its dot grid. A lot that does not fit
  even then is refused (in practice most lots over 6 characters; all-digit lots up to 14 fit): print it on A4.
  A 203 dpi printer cannot print 0.169 mm modules cleanly: 50 × 30 mm labels need a 300 dpi one.

On both, the module width is the largest that fits, at most ``MAX_MODULE_MM``, with a quiet zone of 10 modules
each side kept clear of anything else.
"""
import datetime
import math
import unicodedata
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128

from reports.barcodes import (  # noqa: F401 (FNC1, LOT_MAX_LENGTH, GS1_CSET82, GTIN, gtin_check_digit re-exported)
    FNC1,
    GS1_CSET82,
    GTIN,
    LOT_MAX_LENGTH,
    QUIET_MODULES,
    check_gtin,
    check_lot,
    gs1_lot_data,
    gs1_lot_hri,
    gtin_check_digit,
)
from reports.document import A4, FONT, FONT_BOLD, draw_text, inch, mm, pdf_bytes

__all__ = ["LotLabel", "lot_labels_pdf", "SIZES", "MAX_LABELS", "gs1_element_string", "human_readable"]

MAX_LABELS = 1000
MAX_MODULE_MM = 0.33
MIN_MODULE_MM = 2 * 25.4 / 300  # two dots of a 300 dpi label printer: narrower bars do not scan reliably


@dataclass(frozen=True)
class LotLabel:
    """What one label shows. Text is stored NFC; invalid data raises ValueError on construction."""

    gtin: str
    lot: str
    expiry: datetime.date
    vaccine_name: str
    manufacturer: str = ""
    doses_per_vial: int | None = None

    def __post_init__(self):
        check_gtin(self.gtin)
        check_lot(self.lot)
        if not isinstance(self.expiry, datetime.date):
            raise ValueError(f"expiry must be a date, got {self.expiry!r}")
        for name in ("vaccine_name", "manufacturer"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string, got {value!r}")
            object.__setattr__(self, name, " ".join(unicodedata.normalize("NFC", value).split()))
        if not self.vaccine_name:
            raise ValueError("vaccine_name must not be empty")
        doses = self.doses_per_vial
        if doses is not None and (isinstance(doses, bool) or not isinstance(doses, int) or doses < 1):
            raise ValueError(f"doses_per_vial must be a positive whole number or None, got {doses!r}")


def gs1_element_string(label):
    """The data to encode: FNC1, then (01) GTIN, (17) YYMMDD, (10) lot, AIs without brackets."""
    return gs1_lot_data(label.gtin, label.expiry, label.lot)


def human_readable(label):
    """The line printed under the barcode: ``(01) 08936012345674 (17) 261231 (10) AB-12/7``."""
    return gs1_lot_hri(label.gtin, label.expiry, label.lot)


@dataclass(frozen=True)
class Layout:
    """Where things go on one label (points, origin at the label's bottom left) and how labels fill a page."""

    page: tuple[float, float]
    label: tuple[float, float]
    columns: int
    rows: int
    pad: float  # left and right text margin
    edge: float  # clear space outside the barcode's quiet zones, for printer and die-cut misregistration
    dot: float | None  # the printer's dot, for label printers: bars are whole dots, placed on the dot grid
    baselines: tuple[float, float, float]  # name, manufacturer/doses, lot/expiry, measured from the label top
    sizes: tuple[float, float, float]
    min_size: float
    barcode_top: float  # from the label top
    barcode_bottom: float  # from the label bottom
    hri_baseline: float  # from the label bottom
    hri_size: float

    @property
    def per_page(self):
        return self.columns * self.rows

    def cell_origin(self, index):
        """Bottom-left corner of the ``index``-th label on its page, filling rows left to right, top down."""
        row, column = divmod(index % self.per_page, self.columns)
        left = (self.page[0] - self.columns * self.label[0]) / 2
        top = self.page[1] - (self.page[1] - self.rows * self.label[1]) / 2
        return left + column * self.label[0], top - (row + 1) * self.label[1]


SIZES = {
    "a4": Layout(page=A4, label=(105 * mm, 37 * mm), columns=2, rows=8, pad=5 * mm, edge=2 * mm, dot=None,
                 baselines=(4 * mm + 8, 4 * mm + 17, 4 * mm + 28), sizes=(10, 7.5, 9), min_size=6,
                 barcode_top=16 * mm, barcode_bottom=7 * mm, hri_baseline=4 * mm, hri_size=7),
    "thermal": Layout(page=(50 * mm, 30 * mm), label=(50 * mm, 30 * mm), columns=1, rows=1, pad=2 * mm,
                      edge=0.75 * mm, dot=inch / 300, baselines=(1.5 * mm + 6, 1.5 * mm + 13.5, 1.5 * mm + 21),
                      sizes=(7.5, 6, 6.5), min_size=4.5, barcode_top=10 * mm, barcode_bottom=3.7 * mm,
                      hri_baseline=1.4 * mm, hri_size=5),
}


def lot_labels_pdf(label: LotLabel, count: int, size: str = "a4") -> bytes:
    """A PDF of ``count`` identical labels for ``label``: A4 sheets of 16 or one 50 × 30 mm page per label.

    Raises ValueError for a count outside 1..1000, an unknown size, or a lot too long for a readable barcode
    at that size."""
    if not isinstance(label, LotLabel):
        raise ValueError(f"label must be a LotLabel, got {type(label).__name__}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_LABELS:
        raise ValueError(f"count must be a whole number from 1 to {MAX_LABELS}, got {count!r}")
    if size not in SIZES:
        raise ValueError(f"unknown label size {size!r}; choose one of: {', '.join(SIZES)}")
    layout = SIZES[size]
    barcode = fitted_barcode(label, layout)

    def draw(canvas):
        # The label is drawn once as a form XObject and placed `count` times: small file, fast build.
        canvas.beginForm("label", 0, 0, *layout.label)
        draw_label(canvas, label, layout, barcode)
        canvas.endForm()
        for index in range(count):
            if index and index % layout.per_page == 0:
                canvas.showPage()
            canvas.saveState()
            canvas.translate(*layout.cell_origin(index))
            canvas.doForm("label")
            canvas.restoreState()

    return pdf_bytes(draw, layout.page, title=f"Nhãn lô {label.lot} — {label.vaccine_name}",
                     subject=human_readable(label))


def fitted_barcode(label, layout):
    """The GS1-128 with the widest module (≤ MAX_MODULE_MM) whose symbol and quiet zones fit the label."""
    data = gs1_element_string(label)
    modules = Code128(data, barWidth=1, quiet=0).width
    room = layout.label[0] - 2 * layout.edge
    module = min(MAX_MODULE_MM * mm, room / (modules + 2 * QUIET_MODULES))
    if layout.dot:
        module = math.floor(module / layout.dot + 1e-9) * layout.dot
    if module < MIN_MODULE_MM * mm - 1e-9:
        raise ValueError(f"lot number {label.lot!r} is too long for a readable barcode on a "
                         f"{layout.label[0] / mm:.0f} mm wide label; print it on A4")
    height = layout.label[1] - layout.barcode_top - layout.barcode_bottom
    return Code128(data, barWidth=module, barHeight=height, quiet=0, humanReadable=0)


def draw_label(canvas, label, layout, barcode):
    width, height = layout.label
    text_width = width - 2 * layout.pad
    name_size, detail_size, key_size = layout.sizes
    draw_text(canvas, layout.pad, height - layout.baselines[0], label.vaccine_name, FONT_BOLD, name_size,
              max_width=text_width, min_size=layout.min_size)
    details = [label.manufacturer] if label.manufacturer else []
    if label.doses_per_vial is not None:
        details.append(f"{label.doses_per_vial} liều/lọ")
    draw_text(canvas, layout.pad, height - layout.baselines[1], " · ".join(details), FONT, detail_size,
              max_width=text_width, min_size=layout.min_size)
    draw_lot_and_expiry(canvas, label, layout.pad, height - layout.baselines[2], key_size, text_width)
    left = (width - barcode.width) / 2
    if layout.dot:
        left = round(left / layout.dot) * layout.dot
    barcode.drawOn(canvas, left, layout.barcode_bottom)
    hri_width = barcode.width + 2 * QUIET_MODULES * barcode.barWidth
    draw_text(canvas, width / 2, layout.hri_baseline, human_readable(label), FONT, layout.hri_size,
              max_width=min(hri_width, width - 2 * layout.edge), min_size=1, align="centre")


def draw_lot_and_expiry(canvas, label, x, y, size, max_width):
    """Lot at the left, expiry at the right, shrunk (never cut: both must stay whole) if they would collide."""
    lot, expiry = f"Số lô: {label.lot}", f"HSD: {label.expiry:%d/%m/%Y}"
    gap = 2 * size
    needed = sum(canvas.stringWidth(text, FONT_BOLD, size) for text in (lot, expiry)) + gap
    size = min(size, size * max_width / needed)
    draw_text(canvas, x, y, lot, FONT_BOLD, size)
    draw_text(canvas, x + max_width, y, expiry, FONT_BOLD, size, align="right")
