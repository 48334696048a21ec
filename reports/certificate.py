"""The COVID-19 vaccination certificate ("giấy chứng nhận tiêm chủng") a vaccinated person holds.

Takes plain data (``Certificate``), knows no models; ``certificate_pdf(certificate)`` returns the PDF as bytes, in
the certificate's own ``lang`` (Vietnamese by default), whatever the language of the request that prints it.

One A5 portrait page: the national heading and the title; a band in the status colour — grey (no dose), yellow
(series started), green (series complete) — with the status in words and the number of doses; the person (full
name, date of birth, masked ID number, next dose due) with the QR code of the signed payload to their right; and
the doses: number, date, vaccine, lot, site. The QR code is what a verifier scans (see
``modules/injection/signing.py`` and docs/certificates.md); the page only prints it.

QR code: encoded by reportlab's ``QrCodeWidget`` at error correction level M, then drawn here as one filled path
in whole 300 dpi printer dots per module (as the manifest's barcodes are), at least 32 mm wide without its quiet
zone of 4 modules. Every row of the doses table fits one page: up to ``MAX_DOSES`` doses, long vaccine and site
names wrap to two lines while the page has room, else shrink, and are cut with "…" only past that; a lot number
is shrunk as far as it needs, never cut.
"""
import datetime
import math
import unicodedata
from dataclasses import dataclass

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A5
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfmetrics import stringWidth

from reports.document import FONT, FONT_BOLD, draw_text, inch, mm, pdf_bytes
from reports.manifest import fit_lines

__all__ = ["CertificateDose", "Certificate", "certificate_pdf", "LANGUAGES", "STATUSES", "MAX_DOSES",
           "QR_MIN_SIZE"]

STATUSES = ("none", "partial", "complete")
COLOURS = {"none": None, "partial": "yellow", "complete": "green"}
BAND_FILL = {None: HexColor("#D9D9D9"), "yellow": HexColor("#F5C518"), "green": HexColor("#1B7F3B")}
BAND_INK = {None: HexColor("#000000"), "yellow": HexColor("#000000"), "green": HexColor("#FFFFFF")}
MAX_DOSES = 12  # as the signed payload (modules/injection/signing.py) carries at most
QR_MAX_BYTES = 2331  # what a version 40 QR code holds in byte mode at level M
QR_MIN_SIZE = 32 * mm  # the symbol without its quiet zone; 30 mm is the least a phone reads at arm's length
QR_QUIET = 4  # modules of white around the symbol

# Printed in the certificate's own language, not the request's: the words live here, not in the gettext catalog.
TEXTS = {
    "vi": {
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "title": "GIẤY CHỨNG NHẬN TIÊM CHỦNG COVID-19",
        "status": {"none": "CHƯA TIÊM VẮC XIN COVID-19", "partial": "ĐÃ TIÊM, CHƯA ĐỦ LIỀU CƠ BẢN",
                   "complete": "ĐÃ TIÊM ĐỦ LIỀU CƠ BẢN"},
        "doses_given": lambda count: f"Đã tiêm {count} mũi" if count else "Chưa có mũi tiêm nào được ghi nhận",
        "name": "Họ và tên",
        "birth_date": "Ngày sinh",
        "id": "Số CCCD/CMND",
        "issued_on": "Ngày cấp",
        "next_due": "Ngày tiêm mũi tiếp theo (dự kiến)",
        "qr_caption": "Mã QR được ký số, kiểm tra được cả khi không có mạng",
        "doses": "CÁC MŨI ĐÃ TIÊM",
        "columns": ("Mũi", "Ngày tiêm", "Vắc xin", "Số lô", "Nơi tiêm"),
    },
    "en": {
        "nation": "SOCIALIST REPUBLIC OF VIET NAM",
        "motto": "Independence - Freedom - Happiness",
        "title": "COVID-19 VACCINATION CERTIFICATE",
        "status": {"none": "NOT VACCINATED AGAINST COVID-19", "partial": "PARTIALLY VACCINATED",
                   "complete": "FULLY VACCINATED (PRIMARY SERIES)"},
        "doses_given": lambda count: (f"{count} dose{'' if count == 1 else 's'} given" if count
                                      else "No dose recorded"),
        "name": "Full name",
        "birth_date": "Date of birth",
        "id": "ID number",
        "issued_on": "Issued on",
        "next_due": "Next dose due (planned)",
        "qr_caption": "Digitally signed QR code, verifiable offline",
        "doses": "DOSES GIVEN",
        "columns": ("Dose", "Date", "Vaccine", "Lot", "Site"),
    },
}
LANGUAGES = tuple(TEXTS)


def clean(value, field, *, required=False):
    """``value`` as one line of NFC text, whitespace collapsed; ValueError if not a str (or empty if required)."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {value!r}")
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if required and not text:
        raise ValueError(f"{field} must not be empty")
    return text


def plain_date(value, field, *, optional=False):
    if optional and value is None:
        return value
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValueError(f"{field} must be a date{' or None' if optional else ''}, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class CertificateDose:
    """One dose given: its number in the person's series, date, vaccine name, lot and vaccination site."""

    number: int
    date: datetime.date
    vaccine: str
    lot: str
    site: str = ""

    def __post_init__(self):
        if isinstance(self.number, bool) or not isinstance(self.number, int) or not 1 <= self.number <= 20:
            raise ValueError(f"dose number must be a whole number from 1 to 20, got {self.number!r}")
        plain_date(self.date, "dose date")
        object.__setattr__(self, "vaccine", clean(self.vaccine, "vaccine", required=True))
        object.__setattr__(self, "lot", clean(self.lot, "lot", required=True))
        object.__setattr__(self, "site", clean(self.site, "site"))


@dataclass(frozen=True, kw_only=True)
class Certificate:
    """Everything the certificate prints. Keyword-only; text is stored NFC; invalid data raises ValueError.

    ``status`` is none, partial or complete (``colour`` follows from it: None, "yellow", "green"); ``masked_id``
    shows at most 4 digits of the ID number (e.g. ``*********789``), the rest is the caller's to mask;
    ``payload`` is the signed text the QR code carries (printable ASCII; may be empty only for status none)."""

    person_name: str
    birth_date: datetime.date
    masked_id: str = ""
    status: str
    doses: tuple[CertificateDose, ...] = ()
    next_due: datetime.date | None = None
    issued_on: datetime.date | None = None
    payload: str = ""
    lang: str = "vi"

    def __post_init__(self):
        object.__setattr__(self, "person_name", clean(self.person_name, "person_name", required=True))
        plain_date(self.birth_date, "birth_date")
        masked_id = clean(self.masked_id, "masked_id")
        if sum(character.isdigit() for character in masked_id) > 4:
            raise ValueError("masked_id shows more than 4 digits: mask the ID number before printing it")
        object.__setattr__(self, "masked_id", masked_id)
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if isinstance(self.doses, str | bytes) or not hasattr(self.doses, "__iter__"):
            raise ValueError("doses must be a list of CertificateDose")
        doses = tuple(self.doses)
        for dose in doses:
            if not isinstance(dose, CertificateDose):
                raise ValueError(f"doses must be CertificateDose objects, got {type(dose).__name__}")
        if (self.status == "none") != (not doses):
            raise ValueError(f"status {self.status!r} does not match {len(doses)} dose(s)")
        if len(doses) > MAX_DOSES:
            raise ValueError(f"a certificate lists at most {MAX_DOSES} doses, got {len(doses)}")
        object.__setattr__(self, "doses", doses)
        plain_date(self.next_due, "next_due", optional=True)
        plain_date(self.issued_on, "issued_on", optional=True)
        payload = self.payload
        if (not isinstance(payload, str) or not all(" " < c <= "~" for c in payload)
                or len(payload) > QR_MAX_BYTES):
            raise ValueError(f"payload must be printable ASCII without spaces, at most {QR_MAX_BYTES} characters")
        if not payload and self.status != "none":
            raise ValueError("a certificate with doses needs its signed payload for the QR code")
        if self.lang not in TEXTS:
            raise ValueError(f"unknown certificate language {self.lang!r}; choose one of: {', '.join(LANGUAGES)}")

    @property
    def colour(self):
        """None (no dose), "yellow" (series started) or "green" (series complete)."""
        return COLOURS[self.status]


def certificate_pdf(certificate: Certificate) -> bytes:
    """The certificate as a one-page A5 PDF in ``certificate.lang``."""
    if not isinstance(certificate, Certificate):
        raise ValueError(f"certificate must be a Certificate, got {type(certificate).__name__}")
    layout = Layout(certificate)
    texts = TEXTS[certificate.lang]
    return pdf_bytes(layout.draw, A5, title=f"{texts['title']} – {certificate.person_name}",
                     subject=texts["status"][certificate.status])


# --- geometry (points; y grows upwards) ---------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A5
LEFT = RIGHT = TOP = BOTTOM = 12 * mm
WIDTH = PAGE_WIDTH - LEFT - RIGHT
DOT = inch / 300
PAD = 1.5 * mm
BODY, SMALL, LABEL = 8, 7, 7.5
BAND_HEIGHT = 15 * mm
# (width in mm, or None for the rest; alignment) per column, in TEXTS' "columns" order
COLUMNS = ((10, "centre"), (19, "left"), (None, "left"), (24, "left"), (39, "left"))
_fixed = sum(width * mm for width, _ in COLUMNS if width)
COLUMN_WIDTHS = tuple(width * mm if width else WIDTH - _fixed for width, _ in COLUMNS)
COLUMN_X = tuple(LEFT + sum(COLUMN_WIDTHS[:i]) for i in range(len(COLUMNS)))
NUMBER, DATE, VACCINE, LOT, SITE = range(len(COLUMNS))


def ascent(size):
    return 0.76 * size  # DejaVu Sans: ascent 0.76 em, descent 0.24 em


def snap(x):
    """``x`` on the 300 dpi dot grid, so that module edges fall on printer dots."""
    return round(x / DOT) * DOT


def qr_modules(payload):
    """The dark modules of the payload's QR code (level M), as rows of booleans."""
    widget = QrCodeWidget(payload, barLevel="M", barBorder=0)
    widget.qr.make()
    return [[bool(module) for module in row] for row in widget.qr.modules]


def draw_qr(canvas, x, y, modules, module):
    """Draw ``modules`` with the symbol's bottom-left corner at (x, y), ``module`` points a side, as one path of
    horizontal runs in a coordinate system of one unit per module."""
    count = len(modules)
    rects = []
    for row_index, row in enumerate(modules):
        row_y = count - 1 - row_index
        start = None
        for column, dark in enumerate([*row, False]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                rects.append(f"{start} {row_y} {column - start} 1 re")
                start = None
    canvas.addLiteral(f"q {fp_str(module)} 0 0 {fp_str(module)} {fp_str(x, y)} cm {' '.join(rects)} f Q")


def lot_size(lot):
    """The size that fits ``lot`` in its column on one line: a lot number identifies the vial, so it is shrunk
    as far as needed (a 20-character GS1 lot stays above 5 pt) and never cut."""
    width = stringWidth(lot, FONT, BODY)
    inner = COLUMN_WIDTHS[LOT] - 2 * PAD
    return BODY if width <= inner else BODY * inner / width * 0.99


def cell_lines(text, width, max_lines):
    """``(lines, size)`` for a table cell: one line, shrunk a little if that is enough; else wrapped into up to
    ``max_lines`` lines, shrunk, and cut with "…" only as a last resort."""
    for size in (BODY, 7.5, 7):
        if stringWidth(text, FONT, size) <= width:
            return [text], size
    return fit_lines(text, FONT, (BODY, 7, 6.5), width, max_lines)


def cell_x(column, align):
    if align == "centre":
        return COLUMN_X[column] + COLUMN_WIDTHS[column] / 2
    return COLUMN_X[column] + PAD


class Layout:
    """Measures every part of the page first, then draws it: the table rows wrap only while the page has room."""

    def __init__(self, certificate):
        self.certificate = certificate
        self.texts = TEXTS[certificate.lang]
        self.modules = qr_modules(certificate.payload) if certificate.payload else []
        count = len(self.modules)
        dots = max(3, math.ceil(QR_MIN_SIZE / (count * DOT))) if count else 0
        self.module = dots * DOT
        self.qr_size = count * self.module
        self.qr_area = (count + 2 * QR_QUIET) * self.module if count else 0
        self.caption = (fit_lines(self.texts["qr_caption"], FONT, (SMALL, 6.5), self.qr_area, 3)
                        if count else ([], SMALL))
        self.fields = self.person_fields()
        self.left_width = WIDTH - self.qr_area - (4 * mm if count else 0)
        self.name_lines, self.name_size = fit_lines(certificate.person_name, FONT_BOLD, (12, 11, 10, 9),
                                                    self.left_width, 3)
        self.heading_height = 20 + 4 * mm + 14 + 3 * mm
        self.person_height = max(self.fields_height(), self.qr_area + len(self.caption[0]) * SMALL * 1.2)
        above_table = self.heading_height + BAND_HEIGHT + 4 * mm + self.person_height + 5 * mm + 9 * 1.2 + 1.5 * mm
        room = PAGE_HEIGHT - TOP - BOTTOM - above_table
        self.rows = self.table_rows(max_lines=2)
        if self.table_height() > room:
            self.rows = self.table_rows(max_lines=1)
        if self.table_height() > room:  # cannot happen within MAX_DOSES; a guard against layout changes
            raise ValueError("the certificate does not fit one page")

    def person_fields(self):
        certificate, texts = self.certificate, self.texts
        fields = [(texts["birth_date"], f"{certificate.birth_date:%d/%m/%Y}")]
        if certificate.masked_id:
            fields.append((texts["id"], certificate.masked_id))
        if certificate.issued_on:
            fields.append((texts["issued_on"], f"{certificate.issued_on:%d/%m/%Y}"))
        if certificate.next_due:
            fields.append((texts["next_due"], f"{certificate.next_due:%d/%m/%Y}"))
        return fields

    def fields_height(self):
        name = LABEL * 1.2 + len(self.name_lines) * self.name_size * 1.2 + 2 * mm
        return name + len(self.fields) * (LABEL * 1.2 + 10 * 1.2 + 2 * mm)

    def table_rows(self, max_lines):
        rows = []
        for dose in self.certificate.doses:
            vaccine = cell_lines(dose.vaccine, COLUMN_WIDTHS[VACCINE] - 2 * PAD, max_lines)
            site = cell_lines(dose.site, COLUMN_WIDTHS[SITE] - 2 * PAD, max_lines)
            lines = max(len(vaccine[0]), len(site[0]))
            rows.append((dose, vaccine, site, 2 * PAD + ascent(BODY) + 0.24 * BODY + (lines - 1) * BODY * 1.15))
        return rows

    def table_height(self):
        if not self.rows:
            return 8 * mm
        return 7 * mm + sum(height for *_, height in self.rows)

    # drawing

    def draw(self, canvas):
        top = PAGE_HEIGHT - TOP
        top = self.draw_heading(canvas, top)
        top = self.draw_band(canvas, top) - 4 * mm
        self.draw_person(canvas, top)
        if self.modules:
            self.draw_qr_block(canvas, top)
        self.draw_doses(canvas, top - self.person_height - 5 * mm)

    def draw_heading(self, canvas, top):
        texts, centre = self.texts, LEFT + WIDTH / 2
        draw_text(canvas, centre, top - ascent(8.5), texts["nation"], FONT_BOLD, 8.5, align="centre",
                  max_width=WIDTH)
        draw_text(canvas, centre, top - 10 - ascent(8.5), texts["motto"], FONT_BOLD, 8.5, align="centre",
                  max_width=WIDTH)
        rule = top - 20 - 0.5 * mm
        canvas.setLineWidth(0.6)
        canvas.line(centre - 22 * mm, rule, centre + 22 * mm, rule)
        # capitals with Vietnamese marks stacked on them (Ậ, Ủ) reach well above the ascent: room for them
        draw_text(canvas, centre, rule - 3.5 * mm - ascent(14), texts["title"], FONT_BOLD, 14, align="centre",
                  max_width=WIDTH, min_size=9)
        return top - self.heading_height

    def draw_band(self, canvas, top):
        certificate, texts = self.certificate, self.texts
        colour = certificate.colour
        canvas.saveState()
        canvas.setFillColor(BAND_FILL[colour])
        canvas.roundRect(LEFT, top - BAND_HEIGHT, WIDTH, BAND_HEIGHT, 2 * mm, stroke=0, fill=1)
        canvas.setFillColor(BAND_INK[colour])
        centre = LEFT + WIDTH / 2
        draw_text(canvas, centre, top - 6.5 * mm, texts["status"][certificate.status], FONT_BOLD, 12,
                  align="centre", max_width=WIDTH - 6 * mm, min_size=8)
        draw_text(canvas, centre, top - 11.8 * mm, texts["doses_given"](len(certificate.doses)), FONT, 9,
                  align="centre", max_width=WIDTH - 6 * mm, min_size=7)
        canvas.restoreState()
        return top - BAND_HEIGHT

    def draw_person(self, canvas, top):
        y = top - ascent(LABEL)
        canvas.setFillGray(0.35)
        draw_text(canvas, LEFT, y, self.texts["name"], FONT, LABEL, max_width=self.left_width, min_size=6)
        canvas.setFillGray(0)
        y -= 0.24 * LABEL
        for line in self.name_lines:
            y -= self.name_size * 1.2
            draw_text(canvas, LEFT, y + 0.24 * self.name_size, line, FONT_BOLD, self.name_size)
        y -= 2 * mm
        for label, value in self.fields:
            canvas.setFillGray(0.35)
            draw_text(canvas, LEFT, y - ascent(LABEL), label, FONT, LABEL, max_width=self.left_width, min_size=6)
            canvas.setFillGray(0)
            y -= LABEL * 1.2 + 10 * 1.2
            draw_text(canvas, LEFT, y + 0.24 * 10, value, FONT_BOLD, 10, max_width=self.left_width, min_size=7)
            y -= 2 * mm

    def draw_qr_block(self, canvas, top):
        area_left = LEFT + WIDTH - self.qr_area
        quiet = QR_QUIET * self.module
        x = snap(area_left + quiet)
        bottom = snap(top - quiet - self.qr_size)
        canvas.setFillGray(0)
        draw_qr(canvas, x, bottom, self.modules, self.module)
        lines, size = self.caption
        y = top - self.qr_area
        canvas.setFillGray(0.3)
        for line in lines:
            y -= size * 1.2
            draw_text(canvas, area_left + self.qr_area / 2, y + 0.24 * size, line, FONT, size, align="centre")
        canvas.setFillGray(0)

    def draw_doses(self, canvas, top):
        texts = self.texts
        draw_text(canvas, LEFT, top - ascent(9), texts["doses"], FONT_BOLD, 9)
        top -= 9 * 1.2 + 1.5 * mm
        if not self.rows:
            draw_text(canvas, LEFT, top - 5 * mm, texts["doses_given"](0), FONT, BODY)
            return
        header = 7 * mm
        canvas.setFillGray(0.9)
        canvas.rect(LEFT, top - header, WIDTH, header, stroke=0, fill=1)
        canvas.setFillGray(0)
        canvas.setLineWidth(0.75)
        canvas.line(LEFT, top, LEFT + WIDTH, top)
        canvas.line(LEFT, top - header, LEFT + WIDTH, top - header)
        for column, label in enumerate(texts["columns"]):
            align = COLUMNS[column][1]
            draw_text(canvas, cell_x(column, align), top - header / 2 - ascent(LABEL) / 2 + 0.5, label, FONT_BOLD,
                      LABEL, align=align, max_width=COLUMN_WIDTHS[column] - 2 * PAD, min_size=6)
        top -= header
        for dose, vaccine, site, height in self.rows:
            self.draw_row(canvas, top, dose, vaccine, site)
            top -= height
            canvas.setLineWidth(0.3)
            canvas.setStrokeGray(0.6)
            canvas.line(LEFT, top, LEFT + WIDTH, top)
            canvas.setStrokeGray(0)

    def draw_row(self, canvas, top, dose, vaccine, site):
        baseline = top - PAD - ascent(BODY)
        draw_text(canvas, cell_x(NUMBER, "centre"), baseline, str(dose.number), FONT_BOLD, BODY, align="centre")
        draw_text(canvas, cell_x(DATE, "left"), baseline, f"{dose.date:%d/%m/%Y}", FONT, BODY)
        draw_text(canvas, cell_x(LOT, "left"), baseline, dose.lot, FONT, lot_size(dose.lot))
        for column, (lines, size) in ((VACCINE, vaccine), (SITE, site)):
            for index, line in enumerate(lines):
                draw_text(canvas, cell_x(column, "left"), baseline - index * BODY * 1.15, line, FONT, size)
