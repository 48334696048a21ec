"""Language choice and the date and number formats of the interface (dd/mm/yyyy, Vietnamese numbers)."""
from datetime import datetime

from flask import has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal
from flask_login import current_user

from core.accounts import LOCALES

DATE_PATTERN = "dd/MM/yyyy"
DATETIME_PATTERN = "dd/MM/yyyy HH:mm"
SESSION_KEY = "lang"


def select_locale():
    """The user's preference, then ``?lang=``, then the language chosen before logging in, then the
    browser's Accept-Language, then Vietnamese. Outside a request (CLI, imports): the default."""
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    if session.get(SESSION_KEY) in LOCALES:
        return session[SESSION_KEY]
    return request.accept_languages.best_match(LOCALES) or "vi"


def format_day(value):
    """A date as dd/mm/yyyy in every language (the form Vietnamese documents use)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, DATE_PATTERN)


def format_moment(value):
    """A UTC moment as dd/mm/yyyy HH:MM in Vietnam's time zone."""
    if value is None:
        return ""
    return format_datetime(value, DATETIME_PATTERN)


def format_number(value):
    """1234567.5 → "1.234.567,5" in Vietnamese, "1,234,567.5" in English."""
    if value is None:
        return ""
    return format_decimal(value)


FILTERS = {"day": format_day, "moment": format_moment, "number": format_number}
