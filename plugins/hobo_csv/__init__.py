"""HOBOware CSV: teaches the temperature upload the text export of Onset HOBO data loggers.

It implements ``parse_temperature_log``: a file whose header is HOBOware's (an optional ``Plot Title:`` line,
then columns such as ``"Date Time, GMT+07:00"`` and ``"Temp, °F (LGR S/N: ...)"``) is read here, with its own
time zone, °F turned into °C, and its date order worked out; any other file is left to the next reader (finally
the transport module's CSV reader). Its error messages are in its own Vietnamese catalog. It has no tables. It is
installed through the ``vaxchain.plugins`` entry point in setup.cfg like any third-party package (see README.md).
"""
from pathlib import Path

from core.hookspecs import hookimpl
from plugins.hobo_csv.reader import read_hobo_csv

__version__ = "1.0.0"
HERE = Path(__file__).resolve().parent


@hookimpl
def parse_temperature_log(data):
    return read_hobo_csv(data)


@hookimpl
def translation_directory():
    return HERE / "translations"
