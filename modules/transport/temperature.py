"""Temperatures of a shipment: the CSV a data logger exports, excursions, and a chart.

Pure functions, no database and no request: the upload page, ``POST /api/v1/shipments/<id>/temperatures``
and the receipt all call them. Messages are translated with the current locale (untranslated English
outside an app context). Every time returned is timezone-aware UTC. An uploaded file reaches
:func:`parse_logger_csv` through the ``parse_temperature_log`` hook (``services.read_logger_file``), where
plugins reading other loggers' formats answer first.

What a logger file may look like (Berlinger Fridge-tag, LogTag, Elitech exports, often re-saved in Excel;
each case is tested in ``tests/transport/test_temperature.py``):

- bytes in UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), else cp1252, else latin-1;
  or an already decoded ``str``. Line ends LF, CRLF or CR;
- columns separated by semicolons, tabs or commas: the separator (and where the columns are) is the one
  that reads most of the first 50 data lines; Excel's ``sep=;`` first line is obeyed; fields may be quoted;
- any number of header lines before the data: a header line is one that does not begin with a digit.
  After the first reading, every non-blank line must be a reading; blank lines and lines made only of
  separators (Excel's empty rows) are skipped, and so are empty or extra columns at the end of a line;
- the time in one column, ``dd/mm/yyyy HH:MM[:SS]`` (also with ``-`` or ``.``, one-digit day, month and
  hour, AM/PM) or ISO 8601 ``2026-11-26T08:30[:SS[.ffffff]][Z|±HH:MM]``; or the date and the time in two
  columns; leading columns such as Elitech's row number are skipped. Times without an offset are local
  (``local_zone``, Asia/Ho_Chi_Minh by default). A two-digit year is refused as ambiguous; a day that
  does not exist (31/02/2026, month 13 — e.g. an American 11/26/2026) is refused: dates are day/month/year;
- then the temperature in °C: ``4.5``, ``4,5`` (decimal comma; quoted in a comma-separated file),
  ``-18``, ``−18`` (Unicode minus), with or without ``°C``, ``C`` or ``℃``. In a comma-separated file
  ``...,4,5`` cannot be told from two columns and is refused (unless a header line names that many columns).

A file must be in time order without repeats, between -100 °C and 80 °C, with at most
:data:`MAX_READINGS` readings: anything else is refused with a :class:`LoggerFileError` naming the line.
Readings posted by API go through :func:`check_readings` instead.
"""
import codecs
import csv
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from itertools import islice
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import ngettext

from core.clock import LOCAL_ZONE
from core.service_errors import ServiceError

MAX_READINGS = 200_000
COLDEST, HOTTEST = -100.0, 80.0  # °C: a vaccine shipment's logger reading outside this is broken, not cold
CHART_POINTS = 2_000

_SEPARATORS = (";", "\t", ",")  # in this order of preference when two read a file equally well
_SAMPLE = 50                    # data lines used to find the separator and the columns
_BLANK = " \t;,\"'\u00a0"       # a line of nothing but these is an empty row
_NOT_TEXT = (b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # PDF report, XLSX (zip), XLS (OLE2)
_SEP_LINE = re.compile(r'"?sep=(.)"?[;,\t]*', re.IGNORECASE)
_DATE = (r"(?P<date>(?P<iso_year>[0-9]{4})(?P<iso_sep>[-/.])(?P<iso_month>[0-9]{1,2})(?P=iso_sep)"
         r"(?P<iso_day>[0-9]{1,2})"
         r"|(?P<day>[0-9]{1,2})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<year>[0-9]{2,4}))")
_TIME = (r"(?P<time>(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]+))?)?"
         r"(?:\s*(?P<half>[AaPp][Mm]))?(?P<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)")
_MOMENT = re.compile(_DATE + r"(?:(?:T|\s+)" + _TIME + ")?")
_TIME_ONLY = re.compile(_TIME)
_TEMPERATURE = re.compile(r"(?P<sign>[+\-\u2212]?)\s*(?P<number>[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)"
                          r"\s*(?:[°º˚]\s*C?|℃|C)?", re.IGNORECASE)
_SHOWN_LENGTH = 40


@dataclass(frozen=True, slots=True)
class Reading:
    at: datetime      # timezone-aware (UTC when parsed here)
    celsius: float


class LoggerFileError(ServiceError):
    """A data-logger file that cannot be read: ``message`` is translated and names the line when there is
    one; ``line`` is that 1-based line number (``None`` for the whole file). Field ``file``."""

    def __init__(self, message, line=None):
        super().__init__(message, field="file", code="bad_logger_file")
        self.line = line


class _Problem(Exception):
    """What is wrong with one line; turned into a LoggerFileError naming it."""


# --- The logger file ----------------------------------------------------------------------------------

def parse_logger_csv(data: bytes | str, local_zone=LOCAL_ZONE) -> list[Reading]:
    """The readings of a data-logger CSV file, in the file's order (which must be time order), in UTC.

    ``local_zone``: the zone of times written without an offset. Raises :class:`LoggerFileError`.
    """
    lines = _decoded(data).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start, header, declared = _preamble(lines)
    separator, columns = _layout(lines, start, declared)
    header_width = _width(_split(header, separator)) if header is not None else None
    readings = _readings(lines, start, separator, columns, header_width, local_zone)
    if not readings:
        raise LoggerFileError(_("The data-logger file has no readings: expected lines such as "
                                "26/11/2026 08:30;4,5 (date and time, then °C)."))
    return readings


def _decoded(data):
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if raw.startswith(_NOT_TEXT):
            raise _not_a_csv_file()
        text = _decode(raw)
    else:
        raise TypeError(f"bytes or str expected, got {type(data).__name__}")
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise _not_a_csv_file()
    if not text.strip():
        raise LoggerFileError(_("The data-logger file is empty."))
    return text


def _decode(raw):
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_a_csv_file() from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return raw.decode("latin-1")


def _not_a_csv_file():
    return LoggerFileError(_("The data-logger file is not a CSV file (a PDF report or an Excel workbook?): "
                             "export or save the readings as CSV."))


def _preamble(lines):
    """Index of the first data line, the last header line (or None), the separator a ``sep=`` line sets."""
    header = declared = None
    for index, line in enumerate(lines):
        content = line.strip(_BLANK)
        if not content:
            continue
        if content[0] in "0123456789":
            return index, header, declared
        excel = _SEP_LINE.fullmatch(line.strip())
        if excel:
            declared = excel.group(1)
        else:
            header = line
    return len(lines), header, declared


def _layout(lines, start, declared):
    """The separator and (time column, second time column or None, temperature column) that read most
    sample lines; when none reads any, the first column and the next, so that line 1's error is told."""
    candidates = (declared,) if declared else _SEPARATORS
    sample = list(islice((line for line in islice(lines, start, None) if line.strip(_BLANK)), _SAMPLE))
    votes = Counter()
    for separator in candidates:
        for line in sample:
            columns = _columns_of(_split(line, separator))
            if columns is not None:
                votes[separator, columns] += 1
    if votes:
        return max(votes, key=lambda found: (votes[found], -candidates.index(found[0])))
    first = sample[0] if sample else ""
    return next((separator for separator in candidates if separator in first), candidates[0]), (0, None, 1)


def _columns_of(fields):
    for index, field in enumerate(fields):
        match = _MOMENT.fullmatch(field)
        if match is None:
            continue
        if match["hour"] is not None:
            time, temperature = None, index + 1
        elif index + 1 < len(fields) and _TIME_ONLY.fullmatch(fields[index + 1]):
            time, temperature = index + 1, index + 2
        else:
            return None
        if temperature < len(fields) and _TEMPERATURE.fullmatch(fields[temperature]):
            return index, time, temperature
        return None
    return None


def _split(line, separator):
    fields = next(csv.reader([line], delimiter=separator)) if '"' in line else line.split(separator)
    return [field.strip() for field in fields]


def _width(fields):
    """Columns up to the last non-empty one (Excel adds empty ones)."""
    width = len(fields)
    while width and not fields[width - 1].strip():
        width -= 1
    return width


def _readings(lines, start, separator, columns, header_width, zone):
    date_column, time_column, temperature_column = columns
    readings = []
    previous = previous_text = previous_line = None
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip(_BLANK):
            continue
        try:
            fields = next(csv.reader([line], delimiter=separator)) if '"' in line else line.split(separator)
            if len(fields) <= temperature_column or not fields[temperature_column].strip():
                raise _Problem(_("the temperature is missing: expected the date and time, then the "
                                 "temperature in °C."))
            text = fields[date_column].strip()
            if time_column is not None:
                text = f"{text} {fields[time_column].strip()}"
            at = _moment(text, zone)
            celsius = _celsius(fields, temperature_column, separator, header_width)
            if not COLDEST <= celsius <= HOTTEST:
                raise _Problem(_impossible(celsius))
            if previous is not None and at <= previous:
                raise _Problem(_("%(value)s is not after the previous reading (%(previous)s on line "
                                 "%(previous_line)s): readings must be in time order, without repeats.",
                                 value=text, previous=previous_text, previous_line=previous_line))
        except _Problem as problem:
            raise LoggerFileError(_("Line %(n)d: %(message)s", n=index + 1, message=problem.args[0]),
                                  line=index + 1) from None
        readings.append(Reading(at, celsius))
        if len(readings) > MAX_READINGS:
            raise LoggerFileError(_("The data-logger file has more than %(limit)s readings.", limit=MAX_READINGS))
        previous, previous_text, previous_line = at, text, index + 1
    return readings


def _moment(text, zone):
    match = _MOMENT.fullmatch(text)
    if match is None or match["hour"] is None:
        raise _Problem(_("%(value)s is not a date and time: use dd/mm/yyyy HH:MM or 2026-11-26T08:30.",
                         value=_shown(text)))
    (date, iso_year, _iso_separator, iso_month, iso_day, day, _separator, month, year,
     time, hour, minute, second, fraction, half, offset) = match.groups()
    if iso_year is not None:
        year, month, day = iso_year, iso_month, iso_day
    elif len(year) == 2:
        raise _Problem(_("%(value)s has a two-digit year, which is ambiguous: write the year in full.",
                         value=date))
    elif len(year) != 4:
        raise _invalid_date(date)
    hour, minute, second = int(hour), int(minute), int(second or 0)
    if half is not None:
        if not 1 <= hour <= 12:
            raise _invalid_time(time)
        hour = hour % 12 + (12 if half in ("PM", "pm", "Pm", "pM") else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _invalid_time(time)
    microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
    tzinfo = zone if offset is None else _offset(offset, time)
    try:
        moment = datetime(int(year), int(month), int(day), hour, minute, second, microsecond, tzinfo=tzinfo)
    except ValueError:
        raise _invalid_date(date) from None
    return moment.astimezone(UTC)


def _offset(text, time_text):
    zone = _offset_zone(text)
    if zone is None:
        raise _invalid_time(time_text)
    return zone


@lru_cache(maxsize=64)
def _offset_zone(text):
    """``Z``, ``+07``, ``+0700``, ``-03:30`` as a fixed zone; None if there is no such offset."""
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _celsius(fields, column, separator, header_width):
    text = fields[column].strip()
    match = _TEMPERATURE.fullmatch(text)
    if match is None:
        raise _Problem(_("%(value)s is not a temperature: expected a number of °C such as 4,5 or 4.5.",
                         value=_shown(text)))
    number = match["number"]
    if separator == "," and number.isdigit() and column + 1 < len(fields):
        after = fields[column + 1].strip()
        if after.isascii() and after.isdigit() and (header_width is None or _width(fields) > header_width):
            raise _Problem(_("%(value)s is ambiguous in a comma-separated file (a decimal comma?): write "
                             "%(suggestion)s with a decimal point, or separate the columns with semicolons.",
                             value=f"{text},{after}", suggestion=f"{number}.{after}"))
    value = float(number.replace(",", "."))
    return (-value if match["sign"] in ("-", "\u2212") else value) + 0.0  # + 0.0: no "-0"


def _invalid_date(text):
    return _Problem(_("%(value)s is not a valid date: there is no such day (dates are day/month/year).",
                      value=text))


def _invalid_time(text):
    return _Problem(_("%(value)s is not a valid time.", value=text))


def _impossible(celsius):
    return _("%(value)s °C is not a possible temperature: a reading must be between %(coldest)s °C and "
             "%(hottest)s °C.", value=_number(celsius), coldest=_number(COLDEST), hottest=_number(HOTTEST))


def _shown(text):
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH - 1] + "…"


def _number(value):
    return f"{round(value, 2):g}"


def _local(moment):
    return moment.astimezone(LOCAL_ZONE).strftime("%d/%m/%Y %H:%M:%S")


# --- Readings from anywhere ---------------------------------------------------------------------------

def check_readings(readings) -> None:
    """Refuse readings that cannot be a shipment's log: none at all, more than :data:`MAX_READINGS`, a time
    without a time zone, a temperature that is not a number or outside -100…80 °C, a time not after the
    previous one. Raises ``ServiceError`` with field ``readings[i].at`` / ``readings[i].celsius`` (``i`` as
    in the list, from 0; the message counts from 1, as people do) or ``readings``."""
    previous = None
    count = 0
    for index, reading in enumerate(readings):
        count = index + 1
        if count > MAX_READINGS:
            raise ServiceError(_("There are more than %(limit)s readings.", limit=MAX_READINGS),
                               field="readings", code="too_many_readings")
        at, celsius = getattr(reading, "at", None), getattr(reading, "celsius", None)
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise _reading_error(index, "at", "invalid_reading", _("the time is missing or has no time zone."))
        if isinstance(celsius, bool) or not isinstance(celsius, int | float) or math.isnan(celsius):
            raise _reading_error(index, "celsius", "invalid_reading", _("the temperature is not a number."))
        if not COLDEST <= celsius <= HOTTEST:
            raise _reading_error(index, "celsius", "impossible_temperature", _impossible(celsius))
        if previous is not None and at <= previous:
            raise _reading_error(index, "at", "readings_not_in_order", _(
                "%(value)s is not after the previous reading (%(previous)s): readings must be in time order, "
                "without repeats.", value=_local(at), previous=_local(previous)))
        previous = at
    if not count:
        raise ServiceError(_("There are no readings."), field="readings", code="no_readings")


def _reading_error(index, attribute, code, problem):
    return ServiceError(_("Reading %(number)s: %(problem)s", number=index + 1, problem=problem),
                        field=f"readings[{index}].{attribute}", code=code)


# --- Excursions ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Excursion:
    start: datetime   # the first reading outside the range
    end: datetime     # the next reading back inside (or past the other side), or the log's last reading
    direction: str    # "above" | "below"
    minutes: float
    extreme: float    # the highest (above) or lowest (below) °C read


@dataclass(frozen=True)
class TemperatureReport:
    readings: int
    first: datetime | None
    last: datetime | None
    minimum: float | None
    maximum: float | None
    minutes_above: float  # all the time above the range, excursions or not
    minutes_below: float
    excursions: list[Excursion]  # only those lasting longer than the tolerance

    @property
    def has_excursion(self) -> bool:
        return bool(self.excursions)


def analyse(readings, low: float, high: float, tolerance_minutes: float = 60) -> TemperatureReport:
    """Time spent outside [low, high] and the excursions longer than ``tolerance_minutes``.

    The temperature is taken as constant from one reading to the next (the time between two readings
    counts toward the first), so the log's last reading adds no time. Readings are put in time order
    first; refuse bad ones beforehand with :func:`check_readings`.
    """
    if low > high or tolerance_minutes < 0:
        raise ValueError(f"bad range {low}…{high} or tolerance {tolerance_minutes}")
    readings = sorted(readings, key=_time_of)  # linear on sorted input
    if not readings:
        return TemperatureReport(0, None, None, None, None, 0.0, 0.0, [])
    minutes = {"above": 0.0, "below": 0.0}
    excursions = []
    run = []  # the current stretch outside the range: [start, direction, extreme so far]
    for reading in readings:
        celsius = reading.celsius
        direction = "above" if celsius > high else "below" if celsius < low else None
        if run and direction != run[1]:
            _close(run, reading.at, minutes, excursions, tolerance_minutes)
            run = []
        if direction is None:
            continue
        if run:
            run[2] = max(run[2], celsius) if direction == "above" else min(run[2], celsius)
        else:
            run = [reading.at, direction, celsius]
    if run:
        _close(run, readings[-1].at, minutes, excursions, tolerance_minutes)
    temperatures = [reading.celsius for reading in readings]
    return TemperatureReport(len(readings), readings[0].at, readings[-1].at, min(temperatures), max(temperatures),
                             minutes["above"], minutes["below"], excursions)


def _close(run, end, minutes, excursions, tolerance_minutes):
    start, direction, extreme = run
    duration = (end - start).total_seconds() / 60
    minutes[direction] += duration
    if duration > tolerance_minutes:
        excursions.append(Excursion(start, end, direction, duration, extreme))


def _time_of(reading):
    return reading.at


def _celsius_of(reading):
    return reading.celsius


# --- Chart --------------------------------------------------------------------------------------------

_X_STEPS = (300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600)  # seconds
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 40, 20, 26  # the top margin holds the range's legend
_LINE, _ABOVE, _BELOW = "#263238", "#c62828", "#1565c0"


def chart_svg(readings, low: float, high: float, width=720, height=240, title="") -> str:
    """An inline SVG of the log: the allowed range shaded, the temperatures as one polyline, the points
    outside the range marked (red above, blue below), times as dd/mm HH:MM in Vietnam, °C ticks.

    Self-contained (no script, no style, no link), so it can go straight into a page under a strict CSP;
    ``title`` (default "Temperature log") is its accessible name, a ``<desc>`` sums the log up. Over
    :data:`CHART_POINTS` readings, each of CHART_POINTS / 2 buckets keeps its lowest and highest reading.
    """
    if not (isinstance(width, int) and isinstance(height, int) and 200 <= width <= 4000 and 120 <= height <= 4000):
        raise ValueError(f"chart size {width}×{height} out of 200…4000 × 120…4000")
    if low > high:
        raise ValueError(f"bad range {low}…{high}")
    readings = sorted(readings, key=_time_of)
    name = title or _("Temperature log")
    if not readings:
        body = [f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="#37474f">'
                f'{escape(_("No readings"))}</text>']
        return _svg(width, height, name, _("No readings"), body)
    frame = _Frame(readings, low, high, width, height)
    points = _downsample(readings, CHART_POINTS)
    body = [*_band(frame, low, high), *_y_axis(frame), *_x_axis(frame), _polyline(frame, points),
            *_marks(frame, points, low, high)]
    return _svg(width, height, name, _summary(readings, low, high), body)


class _Frame:
    """Where a time and a temperature go on the drawing."""

    def __init__(self, readings, low, high, width, height):
        self.left, self.right = _LEFT, width - _RIGHT
        self.top, self.bottom = _TOP, height - _BOTTOM
        self.start, self.end = readings[0].at.timestamp(), readings[-1].at.timestamp()
        if self.end - self.start < 3600:  # one reading, or a few minutes: show an hour around them
            middle = (self.start + self.end) / 2
            self.start, self.end = middle - 1800, middle + 1800
        coldest = min(low, min(map(_celsius_of, readings)))
        hottest = max(high, max(map(_celsius_of, readings)))
        self.step = _nice_step((hottest - coldest) * 1.1 / 5)
        self.lowest = math.floor((coldest - self.step / 4) / self.step) * self.step
        self.highest = math.ceil((hottest + self.step / 4) / self.step) * self.step

    def x(self, seconds):
        return self.left + (seconds - self.start) / (self.end - self.start) * (self.right - self.left)

    def y(self, celsius):
        return self.bottom - (celsius - self.lowest) / (self.highest - self.lowest) * (self.bottom - self.top)


def _nice_step(rough):
    """1, 2, 5, 10, 20, 50... °C: the first at least ``rough`` (never under 1 °C, so labels are whole)."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= rough:
                return factor * magnitude
        magnitude *= 10


def _band(frame, low, high):
    top, bottom = frame.y(high), frame.y(low)
    label = _("Allowed range %(low)s to %(high)s °C", low=_number(low), high=_number(high))
    return [f'<rect x="{frame.left}" y="{top:.1f}" width="{frame.right - frame.left}" '
            f'height="{bottom - top:.1f}" fill="#dcefe1"/>',
            f'<g stroke="#4e9a64" stroke-dasharray="4 3"><line x1="{frame.left}" y1="{top:.1f}" '
            f'x2="{frame.right}" y2="{top:.1f}"/><line x1="{frame.left}" y1="{bottom:.1f}" x2="{frame.right}" '
            f'y2="{bottom:.1f}"/></g>',
            f'<text x="{frame.right}" y="{frame.top - 5}" text-anchor="end" fill="#2e6b41">{escape(label)}</text>']


def _y_axis(frame):
    lines, labels = [], []
    value = frame.lowest
    while value <= frame.highest + 1e-9:
        y = frame.y(value)
        lines.append(f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.right}" y2="{y:.1f}"/>')
        labels.append(f'<text x="{frame.left - 6}" y="{y + 4:.1f}">{_number(value)} °C</text>')
        value += frame.step
    return [f'<g stroke="#e0e4e7">{"".join(lines)}</g>',
            f'<g text-anchor="end" fill="#37474f">{"".join(labels)}</g>']


def _x_axis(frame):
    span = frame.end - frame.start
    most = max(2, (frame.right - frame.left) // 110)  # a dd/mm HH:MM label is ~70 px wide
    step = next((step for step in _X_STEPS if span / step <= most), None)
    if step is None:
        step = math.ceil(span / most / 86400) * 86400
    shift = datetime.fromtimestamp(frame.start, LOCAL_ZONE).utcoffset().total_seconds()  # ticks on local hours
    tick = math.ceil((frame.start + shift) / step) * step - shift
    ticks, labels = [], []
    while tick <= frame.end:
        x = frame.x(tick)
        ticks.append(f'<line x1="{x:.1f}" y1="{frame.bottom}" x2="{x:.1f}" y2="{frame.bottom + 4}"/>')
        label = datetime.fromtimestamp(tick, LOCAL_ZONE).strftime("%d/%m %H:%M")
        labels.append(f'<text x="{x:.1f}" y="{frame.bottom + 16}">{label}</text>')
        tick += step
    return [f'<g stroke="#90a4ae"><line x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" '
            f'y2="{frame.bottom}"/>{"".join(ticks)}</g>',
            f'<g text-anchor="middle" fill="#37474f">{"".join(labels)}</g>']


def _downsample(readings, limit):
    if len(readings) <= limit:
        return readings
    size = math.ceil(len(readings) / (limit // 2))
    kept = []
    for start in range(0, len(readings), size):
        bucket = readings[start:start + size]
        lowest, highest = min(bucket, key=_celsius_of), max(bucket, key=_celsius_of)
        if lowest is highest:
            kept.append(lowest)
        else:
            kept.extend((lowest, highest) if lowest.at <= highest.at else (highest, lowest))
    return kept


def _polyline(frame, points):
    coordinates = " ".join(f"{frame.x(point.at.timestamp()):.1f},{frame.y(point.celsius):.1f}" for point in points)
    return (f'<polyline points="{coordinates}" fill="none" stroke="{_LINE}" stroke-width="1.5" '
            f'stroke-linejoin="round"/>')


def _marks(frame, points, low, high):
    groups = []
    for colour, outside in ((_ABOVE, lambda c: c > high), (_BELOW, lambda c: c < low), (_LINE, None)):
        if outside is None:  # a lone reading inside the range: a line of one point shows nothing
            chosen = points if len(points) == 1 and low <= points[0].celsius <= high else []
        else:
            chosen = [point for point in points if outside(point.celsius)]
        if chosen:
            circles = "".join(f'<circle cx="{frame.x(point.at.timestamp()):.1f}" cy="{frame.y(point.celsius):.1f}" '
                              f'r="2.5"/>' for point in chosen)
            groups.append(f'<g fill="{colour}">{circles}</g>')
    return groups


def _summary(readings, low, high):
    temperatures = [reading.celsius for reading in readings]
    return ngettext("%(num)s reading from %(first)s to %(last)s, between %(minimum)s and %(maximum)s °C; "
                    "allowed range %(low)s to %(high)s °C.",
                    "%(num)s readings from %(first)s to %(last)s, between %(minimum)s and %(maximum)s °C; "
                    "allowed range %(low)s to %(high)s °C.",
                    len(readings), first=_local(readings[0].at), last=_local(readings[-1].at),
                    minimum=_number(min(temperatures)), maximum=_number(max(temperatures)),
                    low=_number(low), high=_number(high))


def _svg(width, height, name, description, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">'
            f'<title>{escape(name)}</title><desc>{escape(description)}</desc>{"".join(body)}</svg>')
