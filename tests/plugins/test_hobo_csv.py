"""The bundled hobo_csv plugin: a logistics officer uploads an Onset HOBOware export to a shipment, on its page
or through the API; the readings are kept in °C and UTC, the excursion in the file is found and shown, and a
broken export is refused naming its line, keeping nothing.

The files in tests/plugins/hobo_csv/ are written to HOBOware's documented export layout (see the plugin's
README.md), not exported by HOBOware itself: one with the defaults (title line, "#" column, month/day/year with a
two-digit year, 12-hour clock, °F, event columns), one with European settings (semicolons, decimal commas,
day/month/year, 24-hour clock, °C, a BOM). Both are the same trip: 5 °C, then 10.5 °C from 10:00 to 11:45
(Vietnam time) on 24/11/2026, then 5 °C again until 14:00.
"""
import codecs
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import db
from modules.transport import temperature
from modules.transport.models import Reading
from modules.transport.temperature import LoggerFileError
from plugins import hobo_csv
from plugins.hobo_csv.reader import read_hobo_csv
from tests.hostile import corpus
from tests.transport import test_pages
from tests.transport.test_temperature_hook import upload, upload_on_page

FILES = Path(__file__).resolve().parent / "hobo_csv"
DEFAULTS = (FILES / "shipment_fahrenheit.csv").read_bytes()
EUROPEAN = (FILES / "shipment_semicolons.csv").read_bytes()
HEADER = ('"#","Date Time, GMT+07:00","Temp, °F (LGR S/N: 20841234, SEN S/N: 20841234)",'
          '"Host Connected (LGR S/N: 20841234)"\n')


def installed_through_the_entry_point():
    return any(ep.name == "hobo_csv" for ep in metadata.entry_points(group="vaxchain.plugins"))


@pytest.fixture
def app(make_app):
    """The app with the plugin: through its entry point once setup.cfg declares it and the package metadata is
    rebuilt, else registered for this test."""
    return make_app(plugins=[] if installed_through_the_entry_point() else [("hobo_csv", hobo_csv)])


@pytest.fixture
def shipment_id(app, client):
    """A picked shipment of Vero Cell (2–8 °C), and ``client`` logged in as its logistics officer "lo"."""
    return test_pages.created(app, client, test_pages.make_world(app))


def stored(app):
    with app.app_context():
        return [(at if at.tzinfo else at.replace(tzinfo=UTC), celsius) for at, celsius in db.session.execute(
            select(Reading.at, Reading.celsius).order_by(Reading.at))]


def reading_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Reading))


def utc(hour, minute=0):
    return datetime(2026, 11, 24, hour, minute, tzinfo=UTC)


# --- End to end -------------------------------------------------------------------------------------------

def test_it_is_registered_as_a_plugin(app):
    kinds = {info.name: info.kind for info in app.extensions["vaxchain"].plugins()}
    assert kinds["hobo_csv"] == "plugin"


def test_a_hobo_export_uploaded_on_the_page_is_kept_and_its_excursion_shown(app, client, shipment_id):
    response = upload_on_page(client, shipment_id, DEFAULTS)
    assert response.status_code == 302
    readings = stored(app)
    assert len(readings) == 25  # the two event rows at the end ("Host Connected", "End Of File") are no readings
    assert readings[0] == (utc(1), 5.0)  # 08:00 GMT+07:00, 41 °F
    assert readings[8] == (utc(3), 10.5)  # 10:00, 50.9 °F
    assert readings[-1] == (utc(7), 5.0)
    page = client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    assert 'id="excursions"' in page and "<svg" in page and "10.5" in page


def test_the_api_reports_the_excursion_of_a_hobo_export(app, shipment_id):
    response = upload(app, shipment_id, DEFAULTS)
    assert response.status_code == 200, response.json
    report = response.json
    assert (report["readings"], report["minimum"], report["maximum"]) == (25, 5.0, 10.5)
    assert report["has_excursion"] is True and report["minutes_above"] == 105
    assert [(e["direction"], e["minutes"], e["extreme"]) for e in report["excursions"]] == [("above", 105, 10.5)]


def test_the_european_export_of_the_same_trip_gives_the_same_readings(app, shipment_id):
    assert upload(app, shipment_id, DEFAULTS).status_code == 200
    from_defaults = stored(app)
    response = upload(app, shipment_id, EUROPEAN)
    assert response.status_code == 200, response.json
    assert [(at, round(celsius, 2)) for at, celsius in stored(app)] == [
        (at, round(celsius, 2)) for at, celsius in from_defaults]


def test_without_the_plugin_the_csv_reader_refuses_the_export():
    with pytest.raises(LoggerFileError):  # a two-digit year; and its °F would be taken for °C
        temperature.parse_logger_csv(DEFAULTS)


@pytest.mark.parametrize("data, message", [
    (HEADER + "1,11/24/26 08:00:00 AM,41.0,\n2,11/24/26 08:15:00 AM,hot,\n",
     "Line 3: hot is not a temperature."),
    (HEADER + "1,11/24/26 08:00:00 AM,41.0,\n2,11/24/26 07:45:00 AM,41.2,\n",
     "Line 3: 11/24/26 07:45:00 AM is not after the reading on line 2"),
    (HEADER + "1,11/24/26 08:00:00 AM,41.0,\n2,24 Nov 2026 08:15,41.2,\n",
     "Line 3: 24 Nov 2026 08:15 is not a date and time as HOBOware writes them"),
    (HEADER + "1,11/24/26 08:00:00 AM,41.0,\n2,11/24/26 13:15:00 PM,41.2,\n",
     "Line 3: 11/24/26 13:15:00 PM is not a valid time."),
    (HEADER + "1,11/24/26 08:00:00 AM,41.0,\n2,11/24/26 08:15:00 AM,,\n",
     "Line 3: the temperature is missing."),
    (HEADER + "1,13/31/26 08:00:00 AM,41.0,\n",
     "Line 2: 13/31/26 08:00:00 AM is not a date in any order HOBOware writes"),
    (HEADER + "1,11/05/26 08:00:00 AM,41.0,\n2,11/05/26 09:00:00 AM,41.2,\n",
     "The dates of the HOBOware file (11/05/26 to 11/05/26) can be read in more than one order"),
    ('"#","Date Time, GMT+07:00","RH, % (LGR S/N: 1)"\n1,11/24/26 08:00:00 AM,55.0\n',
     "Line 1: the HOBOware file has no temperature column in °C or °F"),
    ('"Plot Title: 20841234"\n1,11/24/26 08:00:00 AM,41.0\n',
     "The file has a HOBOware plot title but no column header after it"),
    (HEADER, "The HOBOware file has no readings under its column header (line 1)."),
], ids=["temperature", "time order", "date and time", "time", "missing temperature", "no such date",
        "ambiguous dates", "no temperature column", "no header", "no readings"])
def test_a_broken_export_is_refused_naming_the_line_and_nothing_is_kept(app, shipment_id, data, message):
    response = upload(app, shipment_id, data.encode())
    assert (response.status_code, response.json["error"]["code"], response.json["error"]["field"]) == (
        422, "bad_logger_file", "file")
    assert response.json["error"]["message"].startswith(message), response.json
    assert reading_count(app) == 0


def test_the_page_tells_the_error_in_vietnamese(app, client, shipment_id):
    data = HEADER + "1,11/24/26 08:00:00 AM,41.0,\n2,11/24/26 08:15:00 AM,hot,\n"
    response = upload_on_page(client, shipment_id, data.encode())
    assert response.status_code == 422
    assert test_pages.error_of(response, "file") == "Dòng 3: hot không phải là nhiệt độ."
    assert reading_count(app) == 0


# --- The reader ---------------------------------------------------------------------------------------------

def test_files_of_other_loggers_are_left_to_the_next_reader():
    assert read_hobo_csv(b"Time;Temperature\n26/11/2026 08:00;4,5\n") is None
    assert read_hobo_csv(b"PK\x03\x04\x14\x00\x06\x00") is None  # an Excel workbook
    assert read_hobo_csv(b"%PDF-1.7\n") is None
    assert read_hobo_csv(b"") is None


@pytest.mark.parametrize("name", sorted(corpus.FILES))
def test_hostile_files_are_left_to_the_next_reader(name):
    assert read_hobo_csv(corpus.content(name)) is None  # zip bombs, workbooks, PDFs, NUL bytes, an 8 MB line...


@pytest.mark.parametrize("line, celsius", [
    ("1,11/24/26 08:00:00 AM,-4.0,", -20.0),
    ("1,11/24/26 08:00:00 AM,(4.0),", -20.0),  # HOBOware's "(123)" negative number format
    ("1,11/24/26 08:00:00 AM,4.0-,", -20.0),   # and its "123-"
    ("1,11/24/26 08:00:00 AM,32,", 0.0),
])
def test_fahrenheit_in_every_negative_number_format_becomes_celsius(line, celsius):
    assert read_hobo_csv((HEADER + line + "\n").encode()) == [temperature.Reading(utc(1), celsius)]


def test_separate_date_and_time_columns_24_hours_year_first_and_fractional_seconds():
    data = ('Date\tTime, GMT-05:00\tTemp, °C (LGR S/N: 1, SEN S/N: 1)\n'
            '2026-11-23\t20:00:00.5\t4,5\n'
            '2026-11-23\t20:15:00.5\t-0,5\n')
    assert read_hobo_csv(data.encode()) == [
        temperature.Reading(utc(1, 0).replace(microsecond=500000), 4.5),
        temperature.Reading(utc(1, 15).replace(microsecond=500000), -0.5)]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-16"])
def test_windows_encodings_are_read(encoding):
    data = (HEADER + "1,11/24/26 08:00:00 AM,41.0,\n").encode(encoding)
    if encoding == "utf-16":
        assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert read_hobo_csv(data) == [temperature.Reading(utc(1), 5.0)]


def test_the_date_order_is_the_one_that_makes_the_shortest_log():
    # 11/05 then 11/06: 5 to 6 November (one day) rather than 11 May to 11 June
    data = HEADER + "1,11/05/26 11:00:00 PM,41.0,\n2,11/06/26 01:00:00 AM,41.0,\n"
    assert [reading.at for reading in read_hobo_csv(data.encode())] == [
        datetime(2026, 11, 5, 16, tzinfo=UTC), datetime(2026, 11, 5, 18, tzinfo=UTC)]
    day_first = HEADER + "1,05/11/26 11:00:00 PM,41.0,\n2,06/11/26 01:00:00 AM,41.0,\n"
    assert [reading.at for reading in read_hobo_csv(day_first.encode())] == [
        datetime(2026, 11, 5, 16, tzinfo=UTC), datetime(2026, 11, 5, 18, tzinfo=UTC)]


def test_a_long_export_stops_one_reading_over_the_limit(monkeypatch):
    monkeypatch.setattr("plugins.hobo_csv.reader.MAX_READINGS", 3)
    rows = "".join(f"{i},11/24/26 08:{i:02d}:00 AM,41.0,\n" for i in range(1, 10))
    assert len(read_hobo_csv((HEADER + rows).encode())) == 4  # the upload's check then refuses it
