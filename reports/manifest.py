"""The transport manifest ("phiếu xuất kho kiêm vận chuyển") that travels with a cold-chain shipment.

Takes plain data (``Manifest``), knows no models; ``manifest_pdf(manifest, lang)`` returns the PDF as bytes.

What is on it, A4 portrait:
- page 1 opens with the title, the shipment number and its barcode — plain Code 128 (no FNC1: it reads as
  ``]C0``), the number as it is, which the destination scans to open the receipt — origin and destination with
  their addresses, planned date, dispatch time (Asia/Ho_Chi_Minh; a dotted line to fill in by hand when the
  manifest is printed before dispatch, as are an empty vehicle, driver or cold box), and the required temperature;
- the lines: #, vaccine, GTIN, lot, expiry, vials, doses, and under each line's text its GS1-128
  ``(01) GTIN (17) YYMMDD (10) lot`` (see ``reports/barcodes.py``) with the human-readable line beside it, or under
  it when a long lot leaves no room. The column header repeats on every page that holds lines; a line never breaks
  across pages. Long vaccine names wrap (3 lines at most), then shrink, and are cut with "…" only past that;
- totals (lines, vials, doses), the sections modules and plugins contribute (a title and label/value rows), and
  three signature blocks (issued by, carrier, received by) that are never split;
- on every page a footer with the shipment number and "Trang x/y" / "Page x of y"; pages after the first open with
  the title and the shipment number.

How it is drawn: straight on a reportlab canvas, not platypus. Every block (header, line, totals, section row,
signatures) is measured first and the blocks are paginated before anything is drawn, so the page count is known
for "x of y" without a second pass, and each barcode is one filled path (``reports/barcodes.py``). A 500-line
manifest builds in well under the 1.5 s target (``python bench/manifest.py``).

Barcode geometry: the modules are whole dots of 300 and 600 dpi printers (and of the 300 dpi renders the tests
decode), with the bars' left edges on that dot grid: 3 dots (0.254 mm, the GS1 minimum X for scanning at hand
distance is 0.25 mm) for the lines, 4 dots (0.339 mm) for the shipment number; every symbol keeps a quiet zone of
10 modules clear on both sides.
"""
import datetime
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from reportlab.pdfbase.pdfmetrics import stringWidth

from reports.barcodes import (
    QUIET_MODULES,
    check_gtin,
    check_lot,
    code128_bars,
    draw_code128,
    gs1_lot_data,
    gs1_lot_hri,
)
from reports.document import A4, ELLIPSIS, FONT, FONT_BOLD, draw_text, fit_text, inch, mm, pdf_bytes

__all__ = ["Party", "ManifestLine", "Section", "Manifest", "manifest_pdf", "LANGUAGES", "MAX_LINES"]

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # as core.clock; reports import nothing from the application
MAX_LINES = 2000  # a real shipment has tens of lines; this bounds a request's work (2000 lines ≈ 140 pages)
NUMBER_MAX_LENGTH = 20
TEMPERATURE_RANGE = (-100, 60)  # °C a shipment's requirement can plausibly be: −90…−60 is the coldest class

# The manifest is rendered in the language asked for (``lang``), not in the language of the web request that
# asks for it: the copy that travels with the goods is Vietnamese even when printed from an English session, and
# an English copy can be printed for a foreign partner from a Vietnamese one. So its few words live here rather
# than in the gettext catalog (which follows the request's locale). Vietnamese wording as in docs' glossary.
TEXTS = {
    "vi": {
        "title": "PHIẾU XUẤT KHO KIÊM VẬN CHUYỂN VẮC XIN",
        "number": "Số phiếu",
        "origin": "NƠI XUẤT",
        "destination": "NƠI NHẬN",
        "code": "Mã",
        "address": "Địa chỉ",
        "planned_date": "Ngày xuất dự kiến",
        "dispatched_at": "Thời gian xuất kho",
        "temperature": "Nhiệt độ yêu cầu",
        "vehicle": "Phương tiện",
        "driver": "Lái xe",
        "cold_box": "Hòm lạnh/xe lạnh",
        "columns": ("STT", "Tên vắc xin", "GTIN", "Số lô", "Hạn sử dụng", "Số lọ", "Số liều"),
        "total": lambda lines: f"Tổng cộng: {lines} dòng",
        "signatures": ("Người lập phiếu", "Người vận chuyển", "Người nhận"),
        "sign_hint": "(Ký, ghi rõ họ tên)",
        "name": "Họ tên",
        "date": "Ngày",
        "page": lambda page, pages: f"Trang {page}/{pages}",
        "thousands": ".",
    },
    "en": {
        "title": "VACCINE TRANSPORT MANIFEST",
        "number": "Shipment no.",
        "origin": "ORIGIN",
        "destination": "DESTINATION",
        "code": "Code",
        "address": "Address",
        "planned_date": "Planned date",
        "dispatched_at": "Dispatched at",
        "temperature": "Required temperature",
        "vehicle": "Vehicle",
        "driver": "Driver",
        "cold_box": "Cold box",
        "columns": ("#", "Vaccine", "GTIN", "Lot", "Expiry", "Vials", "Doses"),
        "total": lambda lines: f"Total: {lines} line{'' if lines == 1 else 's'}",
        "signatures": ("Issued by", "Carrier", "Received by"),
        "sign_hint": "(Signature and full name)",
        "name": "Name",
        "date": "Date",
        "page": lambda page, pages: f"Page {page} of {pages}",
        "thousands": ",",
    },
}
LANGUAGES = tuple(TEXTS)


def clean(value, field):
    """``value`` as one line of NFC text with runs of whitespace (newlines too) collapsed; ValueError if not a str."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {value!r}")
    return " ".join(unicodedata.normalize("NFC", value).split())


def whole_number(value, field, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive whole number" if minimum == 1 else f"a whole number ≥ {minimum}"
        raise ValueError(f"{field} must be {kind}, got {value!r}")
    return value


def plain_date(value, field):
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValueError(f"{field} must be a date, got {value!r}")
    return value


@dataclass(frozen=True)
class Party:
    """The origin or destination: location code, name, postal address. Text is stored NFC."""

    code: str
    name: str
    address: str = ""

    def __post_init__(self):
        for field in ("code", "name", "address"):
            object.__setattr__(self, field, clean(getattr(self, field), f"party {field}"))
        if not self.code or not self.name:
            raise ValueError(f"a party needs a code and a name, got code {self.code!r}, name {self.name!r}")


@dataclass(frozen=True)
class ManifestLine:
    """One lot on the shipment. Invalid data raises ValueError on construction."""

    vaccine: str
    gtin: str
    lot: str
    expiry: datetime.date
    vials: int
    doses: int

    def __post_init__(self):
        object.__setattr__(self, "vaccine", clean(self.vaccine, "vaccine"))
        if not self.vaccine:
            raise ValueError("vaccine must not be empty")
        check_gtin(self.gtin)
        check_lot(self.lot)
        plain_date(self.expiry, "expiry")
        whole_number(self.vials, "vials", 1)
        whole_number(self.doses, "doses", 1)
        if self.doses < self.vials:
            raise ValueError(f"doses ({self.doses}) cannot be fewer than vials ({self.vials}): a vial holds at "
                             "least one dose")


@dataclass(frozen=True)
class Section:
    """An extra block contributed by a module or plugin (through a hook): a title and (label, value) rows."""

    title: str
    rows: list[tuple[str, str]]

    def __post_init__(self):
        object.__setattr__(self, "title", clean(self.title, "section title"))
        if not self.title:
            raise ValueError("section title must not be empty")
        if isinstance(self.rows, str | bytes) or not hasattr(self.rows, "__iter__"):
            raise ValueError(f"section {self.title!r}: rows must be a list of (label, value) pairs")
        rows = []
        for row in self.rows:
            if not isinstance(row, tuple | list) or len(row) != 2:
                raise ValueError(f"section {self.title!r}: each row must be a (label, value) pair, got {row!r}")
            rows.append((clean(row[0], "section label"), clean(row[1], "section value")))
        object.__setattr__(self, "rows", tuple(rows))


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """Everything the manifest prints. Keyword-only. Text is stored NFC, sequences as tuples; invalid data raises
    ValueError on construction. ``dispatched_at`` must be timezone-aware (it is printed in Asia/Ho_Chi_Minh)."""

    number: str
    origin: Party
    destination: Party
    planned_date: datetime.date
    dispatched_at: datetime.datetime | None = None
    vehicle: str = ""
    driver: str = ""
    cold_box: str = ""
    temperature_min: int
    temperature_max: int
    lines: list[ManifestLine]
    sections: list[Section] = ()
    issued_by: str = ""

    def __post_init__(self):
        number = self.number
        if (not isinstance(number, str) or not 1 <= len(number) <= NUMBER_MAX_LENGTH
                or not all(" " <= c <= "~" for c in number) or number != number.strip()):
            raise ValueError(f"shipment number must be 1 to {NUMBER_MAX_LENGTH} printable ASCII characters "
                             f"(what a Code 128 barcode carries), got {number!r}")
        for field in ("origin", "destination"):
            if not isinstance(getattr(self, field), Party):
                raise ValueError(f"{field} must be a Party, got {getattr(self, field)!r}")
        plain_date(self.planned_date, "planned_date")
        moment = self.dispatched_at
        if moment is not None and (not isinstance(moment, datetime.datetime) or moment.utcoffset() is None):
            raise ValueError(f"dispatched_at must be a timezone-aware datetime or None, got {moment!r}")
        for field in ("vehicle", "driver", "cold_box", "issued_by"):
            object.__setattr__(self, field, clean(getattr(self, field), field))
        low, high = TEMPERATURE_RANGE
        for field in ("temperature_min", "temperature_max"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{field} must be a whole number of °C from {low} to {high}, got {value!r}")
        if self.temperature_min > self.temperature_max:
            raise ValueError(f"temperature_min ({self.temperature_min} °C) is above temperature_max "
                             f"({self.temperature_max} °C)")
        if isinstance(self.lines, str | bytes) or not hasattr(self.lines, "__iter__"):
            raise ValueError("lines must be a list of ManifestLine")
        lines = tuple(self.lines)
        if not lines:
            raise ValueError("a manifest needs at least one line: the shipment has no lines")
        if len(lines) > MAX_LINES:
            raise ValueError(f"a manifest holds at most {MAX_LINES} lines, got {len(lines)}")
        for index, line in enumerate(lines, 1):
            if not isinstance(line, ManifestLine):
                raise ValueError(f"line {index} must be a ManifestLine, got {type(line).__name__}")
        object.__setattr__(self, "lines", lines)
        sections = tuple(self.sections or ())
        for section in sections:
            if not isinstance(section, Section):
                raise ValueError(f"sections must be Section objects, got {type(section).__name__}")
        object.__setattr__(self, "sections", sections)


def manifest_pdf(manifest: Manifest, lang: str = "vi") -> bytes:
    """The manifest as an A4 PDF in ``lang`` ("vi" or "en"). ValueError for anything else or a bad manifest."""
    if not isinstance(manifest, Manifest):
        raise ValueError(f"manifest must be a Manifest, got {type(manifest).__name__}")
    if lang not in TEXTS:
        raise ValueError(f"unknown manifest language {lang!r}; choose one of: {', '.join(LANGUAGES)}")
    texts = TEXTS[lang]
    pages = paginate(manifest, texts)
    count = len(pages)

    def draw(canvas):
        for number, placed in enumerate(pages, 1):
            if number > 1:
                canvas.showPage()
            for block, top in placed:
                block.draw(canvas, top)
            draw_footer(canvas, manifest, texts, number, count)

    return pdf_bytes(draw, A4, title=f"{texts['title']} {manifest.number}",
                     subject=f"{manifest.origin.name} → {manifest.destination.name}")


# --- geometry (points; y grows upwards, blocks are placed by their top) -------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = RIGHT = 12 * mm
TOP = 12 * mm
BOTTOM = 16 * mm  # the lowest a block may reach; the footer sits below
WIDTH = PAGE_WIDTH - LEFT - RIGHT
FOOTER_BASELINE = 9 * mm
DOT = inch / 300
LINE_MODULE = 3 * DOT
SHIPMENT_MODULE = 4 * DOT
PAD = 1.5 * mm  # cell padding

BODY, LEADING = 8, 9.6
SMALL = 7
HEAD_SIZE, HEAD_LEADING = 7.5, 9
NAME_SIZES = (8, 7, 6.5)  # a vaccine name wraps at 8 pt into at most NAME_LINES lines, else shrinks
NAME_LINES = 3
LOT_MIN_SIZE = 6  # a lot is shrunk down to this to stay on one line, else wrapped at full size
HRI_SIZE = 6.5
BAR_HEIGHT = 8.5 * mm
SHIPMENT_BAR_HEIGHT = 11 * mm

# (width in mm, or None for the rest; alignment) per column, in TEXTS' "columns" order.
COLUMNS = ((9, "centre"), (None, "left"), (28, "left"), (32, "left"), (22, "left"), (15, "right"), (18, "right"))
_fixed = sum(width * mm for width, _ in COLUMNS if width)
COLUMN_WIDTHS = tuple(width * mm if width else WIDTH - _fixed for width, _ in COLUMNS)
COLUMN_X = tuple(LEFT + sum(COLUMN_WIDTHS[:i]) for i in range(len(COLUMNS)))
INDEX, VACCINE, GTIN_COLUMN, LOT, EXPIRY, VIALS, DOSES = range(len(COLUMNS))


def ascent(size):
    return 0.76 * size  # DejaVu Sans: ascent 0.76 em, descent 0.24 em


def descent(size):
    return 0.24 * size


def snap(x):
    """``x`` on the 300 dpi dot grid, so that bar edges fall on printer dots."""
    return round(x / DOT) * DOT


def number_text(value, texts):
    return f"{value:,}".replace(",", texts["thousands"])


def temperature_text(manifest):
    def degrees(value):
        return f"{value}".replace("-", "−")  # U+2212 minus, as printed on vaccine labels

    return f"{degrees(manifest.temperature_min)}…{degrees(manifest.temperature_max)} °C"


def wrap(text, font, size, width):
    """``text`` broken into lines no wider than ``width`` at spaces; a word wider than a line is broken between
    characters. Always at least one line."""
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if stringWidth(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while len(word) > 1 and stringWidth(word, font, size) > width:
            cut = len(word) - 1
            while cut > 1 and stringWidth(word[:cut], font, size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current or not lines:
        lines.append(current)
    return lines


def fit_lines(text, font, sizes, width, max_lines):
    """Wrap ``text`` at the first of ``sizes`` that needs at most ``max_lines`` lines; at the smallest size, cut
    the last line with "…". Returns ``(lines, size)``."""
    text = text[: max_lines * 300]  # no line holds 300 characters: what is beyond would be cut anyway
    for size in sizes:
        lines = wrap(text, font, size, width)
        if len(lines) <= max_lines:
            return lines, size
    rest = " ".join(lines[max_lines - 1:])
    last, _ = fit_text(rest + ELLIPSIS, font, size, width)
    return [*lines[: max_lines - 1], last], size


def dotted_line(canvas, x1, x2, y):
    """A line to fill in by hand."""
    if x2 - x1 < 3 * mm:
        return
    canvas.saveState()
    canvas.setLineWidth(0.5)
    canvas.setStrokeGray(0.35)
    canvas.setDash(0.6, 1.6)
    canvas.line(x1, y, x2, y)
    canvas.restoreState()


def label_and_value(canvas, x, y, label, value, width, size=BODY, value_font=FONT_BOLD):
    """``label: value`` on one baseline, the value in bold, shrunk then cut to stay within ``width``; an empty
    value leaves a dotted line to write on."""
    label = f"{label}: "
    draw_text(canvas, x, y, label, FONT, size)
    start = x + stringWidth(label, FONT, size)
    if value:
        draw_text(canvas, start, y, value, value_font, size, max_width=x + width - start, min_size=6)
    else:
        dotted_line(canvas, start, x + width - 2 * mm, y - 1)


class Block:
    """Something placed on a page by its top: ``height`` (points), ``space_before`` (dropped at the top of a
    page), ``in_table`` (needs the column header above it on its page), ``draw(canvas, top)``."""

    space_before = 0.0
    in_table = False
    height = 0.0

    def draw(self, canvas, top):
        raise NotImplementedError


def paginate(manifest, texts):
    """The blocks of the manifest placed on pages: a list, per page, of ``(block, top)``."""
    first = FirstPageHeader(manifest, texts)
    running = RunningHeader(manifest, texts)
    header = TableHeader(texts)
    blocks = [LineRow(index, line, texts) for index, line in enumerate(manifest.lines, 1)]
    blocks.append(TotalsRow(manifest, texts))
    for section in manifest.sections:
        blocks.extend(section_blocks(section))
    blocks.append(Signatures(manifest, texts))

    pages = [[(first, PAGE_HEIGHT - TOP)]]
    y = PAGE_HEIGHT - TOP - first.height
    has_header, empty = False, True
    for block in blocks:
        space = 0 if empty else block.space_before
        needed = space + block.height + (header.height if block.in_table and not has_header else 0)
        if y - needed < BOTTOM and not empty:
            pages.append([(running, PAGE_HEIGHT - TOP)])
            y = PAGE_HEIGHT - TOP - running.height
            has_header, empty, space = False, True, 0
        y -= space
        if block.in_table and not has_header:
            pages[-1].append((header, y))
            y -= header.height
            has_header = True
        pages[-1].append((block, y))
        y -= block.height
        empty = False
    return pages


class FirstPageHeader(Block):
    """Title, shipment number and its barcode, origin and destination, dates, transport, temperature."""

    def __init__(self, manifest, texts):
        self.manifest, self.texts = manifest, texts
        self.bars, modules = code128_bars(manifest.number)
        self.module = SHIPMENT_MODULE if modules * SHIPMENT_MODULE <= 62 * mm else LINE_MODULE
        self.code_width = (modules + 2 * QUIET_MODULES) * self.module
        self.code_height = SHIPMENT_BAR_HEIGHT + 1.5 * mm + BODY
        title_width = WIDTH - self.code_width - 3 * mm
        self.title_lines, self.title_size = fit_lines(texts["title"], FONT_BOLD, (13, 12, 11, 10), title_width, 2)
        self.title_height = len(self.title_lines) * self.title_size * 1.2 + 2 * mm + 10 * 1.2
        self.party_width = (WIDTH - 4 * mm) / 2
        self.parties = [self.party_layout(manifest.origin), self.party_layout(manifest.destination)]
        self.party_height = max(height for _, _, height in self.parties)
        self.top_height = max(self.title_height, self.code_height)
        self.height = self.top_height + 4 * mm + self.party_height + 3 * mm + 2 * 5.5 * mm + 3 * mm

    def party_layout(self, party):
        inner = self.party_width - 5 * mm
        name, name_size = fit_lines(party.name, FONT_BOLD, (9.5, 8.5, 8), inner, 2)
        address = []
        if party.address:
            address, _ = fit_lines(f"{self.texts['address']}: {party.address}", FONT, (BODY,), inner, 3)
        height = 2.5 * mm + SMALL + 1.5 * mm + len(name) * name_size * 1.2 + (1 + len(address)) * LEADING + 2 * mm
        return (name, name_size), address, height

    def draw(self, canvas, top):
        manifest, texts = self.manifest, self.texts
        # title and number, left
        y = top
        for line in self.title_lines:
            y -= self.title_size * 1.2
            draw_text(canvas, LEFT, y + descent(self.title_size), line, FONT_BOLD, self.title_size)
        y -= 2 * mm + 10 * 1.2
        label_and_value(canvas, LEFT, y + descent(10), texts["number"], manifest.number,
                        WIDTH - self.code_width, size=10)
        # shipment barcode, right, with the number under it
        left = snap(LEFT + WIDTH - self.code_width + QUIET_MODULES * self.module)
        bottom = top - SHIPMENT_BAR_HEIGHT
        canvas.setFillGray(0)
        right = draw_code128(canvas, left, bottom, self.bars, self.module, SHIPMENT_BAR_HEIGHT)
        draw_text(canvas, (left + right) / 2, bottom - 1.5 * mm - ascent(BODY), manifest.number, FONT, BODY,
                  align="centre")
        # origin and destination
        y = top - self.top_height - 4 * mm
        for column, (party, heading) in enumerate(((manifest.origin, texts["origin"]),
                                                   (manifest.destination, texts["destination"]))):
            self.draw_party(canvas, LEFT + column * (self.party_width + 4 * mm), y, party, heading,
                            self.parties[column])
        # dates, transport, temperature: two rows of three
        y -= self.party_height + 3 * mm
        dispatched = ""
        if manifest.dispatched_at is not None:
            dispatched = f"{manifest.dispatched_at.astimezone(LOCAL_ZONE):%d/%m/%Y %H:%M}"
        cells = ((texts["planned_date"], f"{manifest.planned_date:%d/%m/%Y}"),
                 (texts["dispatched_at"], dispatched),
                 (texts["temperature"], temperature_text(manifest)),
                 (texts["vehicle"], manifest.vehicle),
                 (texts["driver"], manifest.driver),
                 (texts["cold_box"], manifest.cold_box))
        cell_width = WIDTH / 3
        for index, (label, value) in enumerate(cells):
            row, column = divmod(index, 3)
            baseline = y - (row + 1) * 5.5 * mm + 1.6 * mm
            label_and_value(canvas, LEFT + column * cell_width, baseline, label, value, cell_width - 2 * mm)

    def draw_party(self, canvas, x, top, party, heading, layout):
        (name, name_size), address, _ = layout
        canvas.saveState()
        canvas.setStrokeGray(0.55)
        canvas.setLineWidth(0.6)
        canvas.rect(x, top - self.party_height, self.party_width, self.party_height, stroke=1, fill=0)
        canvas.restoreState()
        inner_x = x + 2.5 * mm
        y = top - 2.5 * mm - ascent(SMALL)
        canvas.setFillGray(0.3)
        draw_text(canvas, inner_x, y, heading, FONT_BOLD, SMALL)
        canvas.setFillGray(0)
        y -= descent(SMALL) + 1.5 * mm
        for line in name:
            y -= name_size * 1.2
            draw_text(canvas, inner_x, y + descent(name_size), line, FONT_BOLD, name_size)
        for line in [f"{self.texts['code']}: {party.code}", *address]:
            y -= LEADING
            draw_text(canvas, inner_x, y + descent(BODY), line, FONT, BODY)


class RunningHeader(Block):
    """Pages after the first: title left, shipment number right, a rule."""

    height = 9 * mm

    def __init__(self, manifest, texts):
        self.manifest, self.texts = manifest, texts

    def draw(self, canvas, top):
        baseline = top - ascent(9)
        number = f"{self.texts['number']}: {self.manifest.number}"
        number_width = stringWidth(number, FONT_BOLD, 9)
        draw_text(canvas, LEFT, baseline, self.texts["title"], FONT_BOLD, 9,
                  max_width=WIDTH - number_width - 5 * mm, min_size=6)
        draw_text(canvas, LEFT + WIDTH, baseline, number, FONT_BOLD, 9, align="right")
        canvas.setLineWidth(0.6)
        canvas.line(LEFT, top - 5 * mm, LEFT + WIDTH, top - 5 * mm)


class TableHeader(Block):
    in_table = True

    def __init__(self, texts):
        self.labels = [wrap(label, FONT_BOLD, HEAD_SIZE, width - 2 * PAD)
                       for label, width in zip(texts["columns"], COLUMN_WIDTHS, strict=True)]
        self.height = max(len(lines) for lines in self.labels) * HEAD_LEADING + 2 * PAD

    def draw(self, canvas, top):
        canvas.setFillGray(0.9)
        canvas.rect(LEFT, top - self.height, WIDTH, self.height, stroke=0, fill=1)
        canvas.setFillGray(0)
        canvas.setLineWidth(0.75)
        canvas.line(LEFT, top, LEFT + WIDTH, top)
        canvas.line(LEFT, top - self.height, LEFT + WIDTH, top - self.height)
        for column, lines in enumerate(self.labels):
            align = COLUMNS[column][1]
            for index, line in enumerate(lines):
                baseline = top - PAD - ascent(HEAD_SIZE) - index * HEAD_LEADING
                draw_text(canvas, cell_x(column, align), baseline, line, FONT_BOLD, HEAD_SIZE, align=align)


def cell_x(column, align):
    """Where text of ``column`` starts (left), is centred (centre) or ends (right)."""
    if align == "centre":
        return COLUMN_X[column] + COLUMN_WIDTHS[column] / 2
    if align == "right":
        return COLUMN_X[column] + COLUMN_WIDTHS[column] - PAD
    return COLUMN_X[column] + PAD


class LineRow(Block):
    """One line: its text on top; under it the line's GS1-128 from the vaccine column, the human-readable
    line to its right (or under it when a long lot leaves no room)."""

    in_table = True

    def __init__(self, index, line, texts):
        self.index, self.line, self.texts = index, line, texts
        self.name, self.name_size = fit_lines(line.vaccine, FONT, NAME_SIZES, COLUMN_WIDTHS[VACCINE] - 2 * PAD,
                                              NAME_LINES)
        lot_width = COLUMN_WIDTHS[LOT] - 2 * PAD
        lot, self.lot_size = fit_text(line.lot, FONT_BOLD, BODY, lot_width, LOT_MIN_SIZE)
        if lot != line.lot:  # too long even shrunk (a lot is never cut): two lines at full size
            self.lot, self.lot_size = wrap(line.lot, FONT_BOLD, BODY, lot_width), BODY
        else:
            self.lot = [lot]
        text_lines = max(len(self.name), len(self.lot))
        self.text_height = PAD + ascent(BODY) + (text_lines - 1) * LEADING + descent(BODY)
        self.bars, modules = code128_bars(gs1_lot_data(line.gtin, line.expiry, line.lot))
        self.bars_x = snap(COLUMN_X[VACCINE] + PAD)
        self.bars_end = self.bars_x + modules * LINE_MODULE
        self.hri = gs1_lot_hri(line.gtin, line.expiry, line.lot)
        hri_x = self.bars_end + QUIET_MODULES * LINE_MODULE + 1 * mm
        self.hri_beside = hri_x + stringWidth(self.hri, FONT, HRI_SIZE) <= LEFT + WIDTH - PAD
        below = 0 if self.hri_beside else 1 * mm + ascent(HRI_SIZE) + descent(HRI_SIZE)
        self.height = self.text_height + 1.2 * mm + BAR_HEIGHT + below + 1.8 * mm

    def draw(self, canvas, top):
        line, texts = self.line, self.texts
        baseline = top - PAD - ascent(BODY)
        draw_text(canvas, cell_x(INDEX, "centre"), baseline, str(self.index), FONT, BODY, align="centre")
        for index, text in enumerate(self.name):
            draw_text(canvas, cell_x(VACCINE, "left"), baseline - index * LEADING, text, FONT, self.name_size)
        draw_text(canvas, cell_x(GTIN_COLUMN, "left"), baseline, line.gtin, FONT, BODY,
                  max_width=COLUMN_WIDTHS[GTIN_COLUMN] - 2 * PAD, min_size=6)
        for index, text in enumerate(self.lot):
            draw_text(canvas, cell_x(LOT, "left"), baseline - index * LEADING, text, FONT_BOLD, self.lot_size)
        draw_text(canvas, cell_x(EXPIRY, "left"), baseline, f"{line.expiry:%d/%m/%Y}", FONT, BODY)
        for column, value in ((VIALS, line.vials), (DOSES, line.doses)):
            draw_text(canvas, cell_x(column, "right"), baseline, number_text(value, texts), FONT, BODY,
                      align="right", max_width=COLUMN_WIDTHS[column] - 2 * PAD, min_size=5)
        bars_bottom = top - self.text_height - 1.2 * mm - BAR_HEIGHT
        draw_code128(canvas, self.bars_x, bars_bottom, self.bars, LINE_MODULE, BAR_HEIGHT)
        if self.hri_beside:
            draw_text(canvas, self.bars_end + QUIET_MODULES * LINE_MODULE + 1 * mm,
                      bars_bottom + BAR_HEIGHT / 2 - ascent(HRI_SIZE) / 2, self.hri, FONT, HRI_SIZE)
        else:
            draw_text(canvas, self.bars_x, bars_bottom - 1 * mm - ascent(HRI_SIZE), self.hri, FONT, HRI_SIZE,
                      max_width=LEFT + WIDTH - PAD - self.bars_x, min_size=4)
        canvas.setLineWidth(0.3)
        canvas.setStrokeGray(0.6)
        canvas.line(LEFT, top - self.height, LEFT + WIDTH, top - self.height)
        canvas.setStrokeGray(0)


class TotalsRow(Block):
    in_table = True
    height = 7 * mm

    def __init__(self, manifest, texts):
        self.label = texts["total"](len(manifest.lines))
        self.vials = number_text(sum(line.vials for line in manifest.lines), texts)
        self.doses = number_text(sum(line.doses for line in manifest.lines), texts)

    def draw(self, canvas, top):
        canvas.setLineWidth(0.75)
        canvas.line(LEFT, top, LEFT + WIDTH, top)
        canvas.line(LEFT, top - self.height, LEFT + WIDTH, top - self.height)
        baseline = top - self.height / 2 - ascent(BODY) / 2 + 0.5
        draw_text(canvas, cell_x(VACCINE, "left"), baseline, self.label, FONT_BOLD, BODY,
                  max_width=COLUMN_X[VIALS] - cell_x(VACCINE, "left") - PAD, min_size=6)
        for column, value in ((VIALS, self.vials), (DOSES, self.doses)):
            draw_text(canvas, cell_x(column, "right"), baseline, value, FONT_BOLD, BODY, align="right",
                      max_width=COLUMN_WIDTHS[column] - 2 * PAD, min_size=5)


SECTION_LABEL_WIDTH = 55 * mm
SECTION_VALUE_LINES = 12


class SectionRow(Block):
    """One (label, value) row of a contributed section; the first row carries the section's title, so that a
    title is never left alone at the bottom of a page."""

    def __init__(self, title, label, value):
        self.title = title
        self.space_before = 5 * mm if title else 0
        self.title_height = 9 * 1.2 + 1.5 * mm if title else 0
        self.label = wrap(label, FONT, BODY, SECTION_LABEL_WIDTH - 2 * PAD)[:3]
        self.value, _ = fit_lines(value, FONT, (BODY,), WIDTH - SECTION_LABEL_WIDTH - 2 * PAD, SECTION_VALUE_LINES)
        lines = max(len(self.label), len(self.value)) if (label or value) else 0
        self.rows_height = (PAD + ascent(BODY) + (lines - 1) * LEADING + descent(BODY) + PAD) if lines else 0
        self.height = self.title_height + self.rows_height

    def draw(self, canvas, top):
        if self.title:
            draw_text(canvas, LEFT, top - ascent(9), self.title, FONT_BOLD, 9, max_width=WIDTH, min_size=6)
            top -= self.title_height
            canvas.setLineWidth(0.6)
            canvas.line(LEFT, top, LEFT + WIDTH, top)
        if not self.rows_height:
            return
        baseline = top - PAD - ascent(BODY)
        for index, text in enumerate(self.label):
            draw_text(canvas, LEFT + PAD, baseline - index * LEADING, text, FONT, BODY)
        for index, text in enumerate(self.value):
            draw_text(canvas, LEFT + SECTION_LABEL_WIDTH + PAD, baseline - index * LEADING, text, FONT, BODY)
        canvas.setLineWidth(0.3)
        canvas.setStrokeGray(0.6)
        canvas.line(LEFT, top - self.rows_height, LEFT + WIDTH, top - self.rows_height)
        canvas.setStrokeGray(0)


def section_blocks(section):
    rows = section.rows or (("", ""),)
    return [SectionRow(section.title if index == 0 else "", label, value)
            for index, (label, value) in enumerate(rows)]


class Signatures(Block):
    """Issued by, carrier, received by: a heading, the hint, room to sign, then name and date lines."""

    space_before = 8 * mm
    height = 40 * mm

    def __init__(self, manifest, texts):
        self.texts, self.names = texts, (manifest.issued_by, "", "")

    def draw(self, canvas, top):
        texts, column_width = self.texts, WIDTH / 3
        for column, (heading, name) in enumerate(zip(texts["signatures"], self.names, strict=True)):
            x = LEFT + column * column_width
            centre = x + column_width / 2
            draw_text(canvas, centre, top - ascent(9), heading, FONT_BOLD, 9, align="centre",
                      max_width=column_width - 4 * mm, min_size=6)
            canvas.setFillGray(0.3)
            draw_text(canvas, centre, top - 9 * 1.2 - ascent(SMALL), texts["sign_hint"], FONT, SMALL,
                      align="centre", max_width=column_width - 4 * mm, min_size=5)
            canvas.setFillGray(0)
            inner, end = x + 3 * mm, x + column_width - 3 * mm
            name_y = top - self.height + 8 * mm
            label = f"{texts['name']}: "
            draw_text(canvas, inner, name_y, label, FONT, BODY)
            start = inner + stringWidth(label, FONT, BODY)
            if name:
                draw_text(canvas, start, name_y, name, FONT_BOLD, BODY, max_width=end - start, min_size=6)
            else:
                dotted_line(canvas, start, end, name_y - 1)
            date_y = name_y - 6 * mm
            label = f"{texts['date']}: "
            draw_text(canvas, inner, date_y, label, FONT, BODY)
            dotted_line(canvas, inner + stringWidth(label, FONT, BODY), end, date_y - 1)


def draw_footer(canvas, manifest, texts, page, pages):
    canvas.setLineWidth(0.4)
    canvas.setStrokeGray(0.5)
    canvas.line(LEFT, FOOTER_BASELINE + 3.5 * mm, LEFT + WIDTH, FOOTER_BASELINE + 3.5 * mm)
    canvas.setStrokeGray(0)
    draw_text(canvas, LEFT, FOOTER_BASELINE, f"{texts['number']}: {manifest.number}", FONT, SMALL)
    draw_text(canvas, LEFT + WIDTH, FOOTER_BASELINE, texts["page"](page, pages), FONT, SMALL, align="right")
