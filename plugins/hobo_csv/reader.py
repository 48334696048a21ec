"""Onset HOBOware's text export ("Export Table Data"), read into vaxchain readings.

Layout (see README.md for where it comes from)::

    "Plot Title: 20841234"
    "#","Date Time, GMT+07:00","Temp, °F (LGR S/N: 20841234, SEN S/N: 20841234)","Host Connected (LGR S/N: ...)"
    1,11/24/26 08:00:00 AM,41.281,Logged
    2,11/24/26 08:15:00 AM,41.459,

The title line is optional, and so are the ``#`` column and the event columns (``Logged`` on event rows, which
may have no temperature). The date and the time may be one column or two (``"Date","Time, GMT+07:00"``). The
export preferences choose the separator (comma, semicolon, tab), the date order (month/day/year by default,
day/month/year, year/month/day) with ``/`` or ``-`` and a two- or four-digit year, a 12- or 24-hour clock,
fractional seconds, the decimal mark and how negative numbers look (``-3.5``, ``3.5-``, ``(3.5)``). Nothing in the
file says which date order was chosen: it is the one order in which every date exists, times run forward, and the
log spans the shortest time; a file where two orders remain equally good is refused rather than guessed.
"""
import codecs
import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone

from flask_babel import gettext as _

from modules.transport.temperature import MAX_READINGS, LoggerFileError, Reading

_TITLE = re.compile(r'^\ufeff?"?Plot Title:', re.IGNORECASE)
_ZONE = re.compile(r"GMT\s*(?P<sign>[+-])(?P<hours>\d{1,2}):(?P<minutes>\d{2})", re.IGNORECASE)
_TIME_HEADER = re.compile(r"^(?P<both>Date\s*Time|Time)\b.*GMT\s*[+-]\d{1,2}:\d{2}", re.IGNORECASE)
_TEMPERATURE_HEADER = re.compile(r"^Temp\b[^°º˚]{0,20}?(?P<unit>[°º˚]\s*[CF])\b", re.IGNORECASE)
_MOMENT = re.compile(r"(?P<a>\d{1,4})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})\s+"
                     r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
                     r"(?:\s*(?P<half>[AaPp][Mm]))?")
_NUMBER = re.compile(r"(?P<open>\()?(?P<sign>[+\-\u2212])?(?P<digits>\d+(?:[.,]\d+)?|[.,]\d+)(?P<trailing>-)?"
                     r"(?(open)\))")
_SEPARATORS = (",", ";", "\t")
_HEADER_LINES = 5  # the title, the header, and a few blank lines at most before them
_ORDERS = ("mdy", "dmy", "ymd")  # HOBOware's default first
_SHOWN_LENGTH = 40


class _Layout:
    """Where the columns of one export are, and what they hold."""

    def __init__(self, separator, moment, time, temperature, fahrenheit, zone, header_line, width):
        self.separator = separator
        self.moment = moment            # the date and time column, or the date column when ``time`` is not None
        self.time = time
        self.temperature = temperature  # the first temperature column (a logger's own sensor before its probe)
        self.fahrenheit = fahrenheit
        self.zone = zone
        self.header_line = header_line  # 1-based
        self.width = width


def read_hobo_csv(data: bytes) -> list[Reading] | None:
    """The readings of a HOBOware export (UTC, in the file's order), or ``None`` when ``data`` is not one.

    Raises :class:`LoggerFileError` naming the line for an export it recognises but cannot read.
    """
    text = _decoded(data)
    if text is None:
        return None
    lines = io.StringIO(text)
    layout = _layout(lines)
    if layout is None:
        return None
    rows = _rows(lines, layout)
    if not rows:
        raise LoggerFileError(_("The HOBOware file has no readings under its column header (line %(n)d).",
                                n=layout.header_line))
    return _readings(rows, layout)


def _decoded(data):
    """The text of a file that may be a HOBOware export, or None (a binary file, a workbook...)."""
    if isinstance(data, str):
        return data
    raw = bytes(data)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in raw[:4096]:
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # HOBOware on Windows writes the ANSI code page


def _layout(lines):
    """Read the title and header lines; None when they are not HOBOware's."""
    titled = False
    for number in range(1, _HEADER_LINES + 1):
        line = lines.readline()
        if not line:
            break
        line = line.lstrip("\ufeff").rstrip("\r\n")
        if not line.strip():
            continue
        if _TITLE.match(line):
            titled = True
            continue
        layout = _header(line, number)
        if layout is not None:
            return layout
        break
    if titled:
        raise LoggerFileError(_("The file has a HOBOware plot title but no column header after it such as "
                                "\"#\",\"Date Time, GMT+07:00\",\"Temp, °C\"."))
    return None


def _header(line, number):
    """The layout of the separator that shows both a HOBOware time column and a temperature column."""
    timed = None  # the fields of a split showing the time column only, for the error
    for separator in _SEPARATORS:
        fields = _split(line, separator)
        columns = _time_columns(fields)
        if columns is None:
            continue
        temperature = next((index for index, field in enumerate(fields) if _TEMPERATURE_HEADER.match(field)), None)
        if temperature is None:
            timed = timed or fields
            continue
        moment, time = columns
        zone = _zone(_ZONE.search(fields[time if time is not None else moment]))
        fahrenheit = _TEMPERATURE_HEADER.match(fields[temperature])["unit"].upper().endswith("F")
        return _Layout(separator, moment, time, temperature, fahrenheit, zone, number, len(fields))
    if timed is not None:
        raise LoggerFileError(_("Line %(n)d: the HOBOware file has no temperature column in °C or °F (its "
                                "columns: %(columns)s).", n=number, columns=", ".join(timed)), line=number)
    return None


def _time_columns(fields):
    """(date and time column, None) or (date column, time column), or None."""
    for index, field in enumerate(fields):
        match = _TIME_HEADER.match(field)
        if match is None:
            continue
        if match["both"].lower().startswith("date"):
            return index, None
        if index and fields[index - 1].lower() == "date":  # "Date","Time, GMT+07:00"
            return index - 1, index
    return None


def _zone(match):
    delta = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
    return timezone(-delta if match["sign"] == "-" else delta)


def _split(line, separator):
    fields = next(csv.reader([line], delimiter=separator)) if '"' in line else line.split(separator)
    return [field.strip() for field in fields]


def _rows(lines, layout):
    """``(line number, date parts, time of day, date and time text, °C)`` of every reading; event rows without a
    temperature are skipped."""
    rows = []
    for number, line in enumerate(lines, start=layout.header_line + 1):
        line = line.rstrip("\r\n")
        if not line.strip(" \t,;\""):
            continue
        fields = _split(line, layout.separator)
        text = _cell(fields, layout.moment)
        if layout.time is not None:
            text = f"{text} {_cell(fields, layout.time)}"
        moment = _MOMENT.fullmatch(text)
        if moment is None:
            raise _line_error(number, _("%(value)s is not a date and time as HOBOware writes them (such as "
                                        "11/26/26 08:30:00 AM).", value=_shown(text)))
        clock = _clock(moment)
        if clock is None:
            raise _line_error(number, _("%(value)s is not a valid time.", value=moment.group(0)))
        temperature = _cell(fields, layout.temperature)
        if not temperature:
            if _is_event(fields, layout):
                continue
            raise _line_error(number, _("the temperature is missing."))
        parts = (moment["a"], moment["b"], moment["c"])
        rows.append((number, parts, clock, moment.group(0), _celsius(temperature, layout.fahrenheit, number)))
        if len(rows) > MAX_READINGS:  # one more than allowed is enough for the upload to be refused
            break
    return rows


def _clock(moment):
    """The time of day as a timedelta since midnight, or None when there is no such time."""
    hour, minute, second = int(moment["hour"]), int(moment["minute"]), int(moment["second"] or 0)
    if moment["half"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if moment["half"].lower() == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    fraction = moment["fraction"]
    return timedelta(hours=hour, minutes=minute, seconds=second,
                     microseconds=int(fraction[:6].ljust(6, "0")) if fraction else 0)


def _cell(fields, index):
    return fields[index] if index < len(fields) else ""


def _is_event(fields, layout):
    """A row marking an event (``Logged`` under "Host Connected", "End Of File"...) rather than a reading."""
    used = {layout.moment, layout.time, layout.temperature}
    return any(value for index, value in enumerate(fields) if index not in used and index > layout.temperature)


def _celsius(text, fahrenheit, number):
    match = _NUMBER.fullmatch(text.replace(" ", ""))
    if match is None:
        raise _line_error(number, _("%(value)s is not a temperature.", value=_shown(text)))
    value = float(match["digits"].replace(",", "."))
    if match["open"] or match["sign"] in ("-", "\u2212") or match["trailing"]:
        value = -value
    if fahrenheit:
        value = (value - 32) * 5 / 9
    return round(value, 3) + 0.0  # + 0.0: no "-0"


def _readings(rows, layout):
    dates = _date_order(rows)
    offset = layout.zone.utcoffset(None)
    readings = []
    previous = None
    for number, parts, clock, text, celsius in rows:
        local = dates[parts] + clock
        if previous is not None and local <= previous[1]:
            raise _line_error(number, _("%(value)s is not after the reading on line %(previous)d: readings must "
                                        "be in time order, without repeats.", value=text, previous=previous[0]))
        readings.append(Reading((local - offset).replace(tzinfo=UTC), celsius))
        previous = number, local
    return readings


def _date_order(rows):
    """``{date parts: midnight}`` in the date order in which every date exists and is past, times run forward,
    and the log is the shortest. Works on runs of rows sharing a date: within one, times run forward or not
    whatever the order."""
    runs = [rows[0][1]]
    for row in rows:
        if row[1] != runs[-1]:
            runs.append(row[1])
    latest = datetime.now() + timedelta(days=1)  # a logger's readings are in the past, whatever its zone
    fits = []
    for order in _ORDERS:
        dates = {parts: _date(parts, order) for parts in set(runs)}
        if None in dates.values() or dates[runs[-1]] > latest:
            continue
        forward = all(dates[earlier] < dates[later] for earlier, later in zip(runs, runs[1:], strict=False))
        span = dates[rows[-1][1]] + rows[-1][2] - dates[rows[0][1]] - rows[0][2]
        fits.append((not forward, span, dates[rows[0][1]], dates))
    if not fits:
        number, _parts, _clock, text, _celsius = next(
            row for row in rows if all(_date(row[1], order) is None for order in _ORDERS))
        raise _line_error(number, _("%(value)s is not a date in any order HOBOware writes (month/day/year, "
                                    "day/month/year or year/month/day).", value=text))
    fits.sort(key=lambda fit: fit[:2])
    best = fits[0]
    if any(fit[:2] == best[:2] and fit[2] != best[2] for fit in fits[1:]):
        raise LoggerFileError(_("The dates of the HOBOware file (%(first)s to %(last)s) can be read in more than "
                                "one order (month/day/year, day/month/year): choose the year/month/day date format "
                                "with a four-digit year in HOBOware's preferences and export the file again.",
                                first=rows[0][3].split()[0], last=rows[-1][3].split()[0]))
    return best[3]


def _date(parts, order):
    """Midnight of the date ``parts`` in ``order`` ("mdy"...), or None when there is no such date."""
    named = dict(zip(order, parts, strict=True))
    year, month, day = named["y"], named["m"], named["d"]
    if len(month) > 2 or len(day) > 2 or len(year) not in (2, 4):
        return None
    try:
        return datetime(int(year) + (2000 if len(year) == 2 else 0), int(month), int(day))  # loggers of this century
    except ValueError:
        return None


def _line_error(number, problem):
    return LoggerFileError(_("Line %(n)d: %(problem)s", n=number, problem=problem), line=number)


def _shown(text):
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH - 1] + "…"
