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
    """``(line number, moment match, °C)`` of every reading; event rows without a temperature are skipped."""
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
        if not _valid_time(moment):
            raise _line_error(number, _("%(value)s is not a valid time.", value=moment.group(0)))
        temperature = _cell(fields, layout.temperature)
        if not temperature:
            if _is_event(fields, layout):
                continue
            raise _line_error(number, _("the temperature is missing."))
        rows.append((number, moment, _celsius(temperature, layout.fahrenheit, number)))
        if len(rows) > MAX_READINGS:  # one more than allowed is enough for the upload to be refused
            break
    return rows


def _valid_time(moment):
    hour, minute, second = int(moment["hour"]), int(moment["minute"]), int(moment["second"] or 0)
    if moment["half"] and not 1 <= hour <= 12:
        return False
    return hour <= 23 and minute <= 59 and second <= 59


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
    order = _date_order(rows)
    readings = []
    previous = None
    for number, moment, celsius in rows:
        at = _moment(moment, order, layout.zone)
        if previous is not None and at <= previous[1]:
            raise _line_error(number, _("%(value)s is not after the reading on line %(previous)d: readings must "
                                        "be in time order, without repeats.", value=moment.group(0),
                                        previous=previous[0]))
        readings.append(Reading(at, celsius))
        previous = number, at
    return readings


def _date_order(rows):
    """The date order in which every date exists and is past, times run forward, and the log is the shortest."""
    fits = []
    latest = datetime.now() + timedelta(days=1)  # a logger's readings are in the past, whatever its zone
    for order in _ORDERS:
        moments = [_naive(moment, order) for _number, moment, _celsius in rows]
        if None in moments or moments[-1] > latest:
            continue
        forward = all(earlier < later for earlier, later in zip(moments, moments[1:], strict=False))
        fits.append((not forward, moments[-1] - moments[0], order, moments[0]))
    if not fits:
        number, moment, _celsius = next(row for row in rows if all(_naive(row[1], order) is None for order in _ORDERS))
        raise _line_error(number, _("%(value)s is not a date in any order HOBOware writes (month/day/year, "
                                    "day/month/year or year/month/day).", value=moment.group(0)))
    fits.sort(key=lambda fit: fit[:2])
    best = fits[0]
    if any(fit[:2] == best[:2] and fit[3] != best[3] for fit in fits[1:]):
        raise LoggerFileError(_("The dates of the HOBOware file (%(first)s to %(last)s) can be read in more than "
                                "one order (month/day/year, day/month/year): choose the year/month/day date format "
                                "with a four-digit year in HOBOware's preferences and export the file again.",
                                first=_date_text(rows[0][1]), last=_date_text(rows[-1][1])))
    return best[2]


def _date_text(moment):
    return moment.group(0).split()[0]


def _naive(moment, order):
    """The moment without its zone, the date read in ``order``; None when there is no such date or time."""
    parts = dict(zip(order, (moment["a"], moment["b"], moment["c"]), strict=True))
    year, month, day = parts["y"], int(parts["m"]), int(parts["d"])
    if len(year) == 2:
        year = 2000 + int(year)  # loggers' clocks start in this century
    elif len(year) == 4:
        year = int(year)
    else:
        return None
    if len(parts["m"]) > 2 or len(parts["d"]) > 2:
        return None
    hour, minute, second = int(moment["hour"]), int(moment["minute"]), int(moment["second"] or 0)
    if moment["half"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if moment["half"].lower() == "pm" else 0)
    fraction = moment["fraction"]
    microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        return datetime(year, month, day, hour, minute, second, microsecond)
    except ValueError:
        return None


def _moment(moment, order, zone):
    naive = _naive(moment, order)
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _line_error(number, problem):
    return LoggerFileError(_("Line %(n)d: %(problem)s", n=number, problem=problem), line=number)


def _shown(text):
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH - 1] + "…"
