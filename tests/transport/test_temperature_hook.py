"""The parse_temperature_log hook: a plugin reads its logger's files before the CSV reader, files it does not
recognise fall through to CSV, its errors reach the page and the API, and whatever it returns is checked like
any upload before anything is stored."""
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from core import accounts
from core.db import db
from core.hookspecs import hookimpl
from core.tokens import create_token
from modules.transport import services, temperature
from modules.transport.models import Reading
from modules.transport.temperature import LoggerFileError
from tests.conftest import csrf_token
from tests.transport import test_pages
from tests.transport.test_api import logger_csv

MAGIC = b"TEST-LOGGER\n"
START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


class ExampleLogger:
    """A logger whose files start with TEST-LOGGER, then one °C per line, every 10 minutes from START; a file
    whose second line is "broken" is recognised and refused; ``returned`` overrides what it answers."""

    def __init__(self):
        self.returned = None
        self.filenames = []

    @hookimpl
    def parse_temperature_log(self, data, filename):
        self.filenames.append(filename)
        if not data.startswith(MAGIC):
            return None
        if self.returned is not None:
            return self.returned
        lines = data[len(MAGIC):].decode().split()
        if lines[0] == "broken":
            raise LoggerFileError("Line 2: the test logger's file is broken.", line=2)
        return [temperature.Reading(START + timedelta(minutes=10 * i), float(line)) for i, line in enumerate(lines)]


@pytest.fixture
def logger():
    return ExampleLogger()


@pytest.fixture
def app(make_app, logger):
    return make_app(plugins=[("test_logger", logger)])


@pytest.fixture
def shipment_id(app, client):
    """A picked shipment of Vero Cell (2–8 °C), and ``client`` logged in as its logistics officer "lo"."""
    return test_pages.created(app, client, test_pages.make_world(app))


def upload(app, shipment_id, data, filename="trip.log"):
    """Through the API, with the bearer token of the same logistics officer, in English."""
    with app.app_context():
        _token, secret = create_token(accounts.find_user("lo"))
        db.session.commit()
    return app.test_client().post(f"/api/v1/shipments/{shipment_id}/temperatures",
                                  headers={"Authorization": f"Bearer {secret}", "Accept-Language": "en"},
                                  data={"file": (BytesIO(data), filename)}, content_type="multipart/form-data")


def upload_on_page(client, shipment_id, data, filename="trip.log"):
    return client.post(f"/shipments/{shipment_id}/temperatures", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/shipments/{shipment_id}"), "file": (BytesIO(data), filename)})


def error_of(response):
    return response.status_code, response.json["error"]["code"], response.json["error"]["field"]


def stored(app):
    with app.app_context():
        return db.session.scalars(select(Reading.celsius).order_by(Reading.at)).all()


def reading_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Reading))


def test_the_plugin_reads_its_own_file_before_the_csv_reader(app, shipment_id, logger):
    response = upload(app, shipment_id, MAGIC + b"4.5\n5\n6.5\n")
    assert response.status_code == 200, response.json
    assert (response.json["readings"], response.json["minimum"], response.json["maximum"]) == (3, 4.5, 6.5)
    assert stored(app) == [4.5, 5.0, 6.5]
    assert logger.filenames == ["trip.log"]


def test_a_file_the_plugin_does_not_recognise_falls_through_to_the_csv_reader(app, shipment_id, logger):
    response = upload(app, shipment_id, logger_csv([5, 6, 7]), filename="logger.csv")
    assert response.status_code == 200, response.json
    assert stored(app) == [5.0, 6.0, 7.0]
    assert logger.filenames == ["logger.csv"]  # asked first, it said None


def test_the_hook_stops_at_the_plugin_answer(app, logger):
    with app.app_context():
        readings = services.read_logger_file(MAGIC + b"3\n", "x.log")
    assert readings == [temperature.Reading(START, 3.0)]


def test_a_plugin_error_reaches_the_api_as_a_422_naming_the_file(app, shipment_id):
    response = upload(app, shipment_id, MAGIC + b"broken\n")
    assert error_of(response) == (422, "bad_logger_file", "file")
    assert response.json["error"]["message"] == "Line 2: the test logger's file is broken."
    assert reading_count(app) == 0


def test_a_plugin_error_is_shown_under_the_file_input_on_the_page(app, client, shipment_id):
    response = upload_on_page(client, shipment_id, MAGIC + b"broken\n")
    assert response.status_code == 422
    assert test_pages.error_of(response, "file") == "Line 2: the test logger&#39;s file is broken."
    assert reading_count(app) == 0


def test_the_page_keeps_what_the_plugin_read(app, client, shipment_id, logger):
    response = upload_on_page(client, shipment_id, MAGIC + b"4\n5\n")
    assert response.status_code == 302
    assert stored(app) == [4.0, 5.0] and logger.filenames == ["trip.log"]


def test_readings_a_plugin_returns_wrong_are_refused_on_the_page_too(app, client, shipment_id, logger):
    logger.returned = [temperature.Reading(START, 5.0), temperature.Reading(START, 6.0)]
    response = upload_on_page(client, shipment_id, MAGIC + b"5\n")
    assert response.status_code == 422
    assert test_pages.error_of(response, "file").startswith("Số đo 2: ")  # the page is Vietnamese by default
    assert reading_count(app) == 0


def naive(minutes):
    return (START + timedelta(minutes=minutes)).replace(tzinfo=None)


@pytest.mark.parametrize("returned, told", [
    ([temperature.Reading(START, 5.0), temperature.Reading(START, 6.0)], "Reading 2: "),
    ([temperature.Reading(START + timedelta(minutes=10), 5.0), temperature.Reading(START, 6.0)], "time order"),
    ([temperature.Reading(naive(0), 5.0)], "Reading 1: the time is missing or has no time zone."),
    ([temperature.Reading(START, 200.0)], "Reading 1: 200 °C is not a possible temperature"),
    ([temperature.Reading(START, float("nan"))], "Reading 1: the temperature is not a number."),
    ([], "There are no readings."),
], ids=["repeated time", "out of order", "no zone", "impossible", "not a number", "none"])
def test_what_a_plugin_returns_is_checked_like_any_upload(app, shipment_id, logger, returned, told):
    logger.returned = returned
    response = upload(app, shipment_id, MAGIC + b"5\n")
    assert error_of(response) == (422, "bad_logger_file", "file")
    assert told in response.json["error"]["message"], response.json
    assert reading_count(app) == 0


def test_a_plugin_may_not_return_more_than_the_readings_limit(app, shipment_id, logger):
    logger.returned = (temperature.Reading(START + timedelta(seconds=i), 5.0) for i in range(10**9))  # endless
    response = upload(app, shipment_id, MAGIC + b"5\n")
    assert error_of(response) == (422, "bad_logger_file", "file")
    assert response.json["error"]["message"] == f"There are more than {temperature.MAX_READINGS} readings."
    assert reading_count(app) == 0


def test_a_shipment_that_cannot_take_readings_says_so_before_the_file_is_read(app, client, shipment_id, logger):
    cancelled = client.post(f"/shipments/{shipment_id}/cancel",
                            data={"csrf_token": csrf_token(client, f"/shipments/{shipment_id}")})
    assert cancelled.status_code == 302
    response = upload(app, shipment_id, MAGIC + b"5\n")
    assert error_of(response)[:2] == (409, "wrong_state") and logger.filenames == []
