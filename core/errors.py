"""Error answers: JSON ``{"error": {"code", "message", "field"}}`` under /api, translated pages elsewhere."""
from flask import abort, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from core.access import is_api_request
from core.api import ApiError, error_response
from core.db import db
from core.service_errors import ServiceError

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
         422: "unprocessable", 429: "too_many_requests", 500: "internal_error"}
TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please log in"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    409: _l("This cannot be done now"),
    413: _l("The file is too large"),
    422: _l("The request could not be carried out"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}
MESSAGES = {
    400: _l("Check what you entered and try again."),
    401: _l("Authentication is required: log in, or send a valid bearer token."),
    403: _l("Your role does not allow this. Ask an administrator if you need access."),
    404: _l("The address may be mistyped, or the record no longer exists."),
    405: _l("This address does not accept this kind of request."),
    413: _l("The upload is larger than the server accepts."),
    500: _l("The error has been logged. Try again in a moment; if it persists, tell your administrator."),
}
NUL_IN_URL = _l("The address holds a NUL character: remove it.")
UNSTORABLE_MESSAGE = _l("A value cannot be stored: a number too large, or a character such as NUL that text "
                        "cannot hold. Check what you entered.")
CSRF_MESSAGE = _l("The form has expired or did not come from this site. Reload the page and try again.")
TOKEN_REJECTED = _l("The token is invalid, expired or revoked.")


ROW_ID_MAX = 2**31 - 1  # the largest id of a row addressed by URL: their ids are INTEGER (PostgreSQL: 32 bits)
BIG_ROW_ID_MAX = 2**63 - 1  # the same for the tables with core.db.BigId ids: ``<bigint:...>`` in URLs


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in URLs, up to :data:`ROW_ID_MAX`: a bigger number is no row's id, so the URL matches
    nothing (404) instead of reaching the database, which fails on it (PostgreSQL: integer out of range; SQLite
    past 2**63: OverflowError), a 500. The bound is in the regex: a converter refusing a value after its regex
    matched makes werkzeug answer 405 for a rule of the same path with another method. A route whose ids are
    BIGINT says so: ``<bigint:id>``."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=ROW_ID_MAX, signed=False):  # noqa: A002 (werkzeug's)
        super().__init__(url_map, fixed_digits, min, max, signed)
        if not signed and not fixed_digits and max is not None:
            self.regex = digits_up_to(max)


class BigRowIdConverter(RowIdConverter):
    def __init__(self, url_map, fixed_digits=0, min=None, max=BIG_ROW_ID_MAX, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits, min, max, signed)


def digits_up_to(limit):
    """A regex of the decimal numbers from 0 to ``limit`` (leading zeros allowed): the shorter ones, then for
    each digit of ``limit`` the numbers that share the digits before it and have a smaller one there."""
    text = str(limit)
    options = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for index, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - index - 1
            options.append(text[:index] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(text)
    return "0*(?:" + "|".join(options) + ")"


def init_app(app):
    # before any blueprint is registered: rules take their converters when they are added
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["bigint"] = BigRowIdConverter
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(ServiceError, service_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DataError, unstorable_value)
    app.before_request(refuse_nul_in_url)


def refuse_nul_in_url():
    """A query parameter or path segment holding NUL (``%00``) is refused before any view looks it up:
    PostgreSQL refuses NUL in any text, even a query's, and no code or name holds one. (Bodies are the
    readers' to check: parsing them here would come before an upload's own size limit.)"""
    path_values = [value for value in (request.view_args or {}).values() if isinstance(value, str)]
    query_values = [value for values in request.args.listvalues() for value in values]
    if any("\x00" in value for value in path_values + query_values):
        if is_api_request():
            raise ApiError(400, "invalid_character", str(NUL_IN_URL))
        abort(400, description=str(NUL_IN_URL))


def api_error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.field)


def service_error(exc):
    """A service refused the request: roll back what it began, then answer with its message."""
    db.session.rollback()
    if is_api_request():
        return error_response(exc.status, exc.code, exc.message, exc.field)
    title = TITLES.get(exc.status, TITLES[400])
    return render_template("core/error.html", status=exc.status, title=title, message=exc.message), exc.status


def unstorable_value(exc):
    """The database refused a value (PostgreSQL: a NUL in text, an integer out of range): the input's fault,
    answered 422 like any bad input, not 500. Input is checked before it gets there (``Fields``, the ``int``
    converter); this is the net under what a check missed, logged so that the check gets written."""
    db.session.rollback()
    current_app.logger.warning("input the database cannot store reached it: %s %s (%s)", request.method,
                               request.url_rule, type(exc.orig).__name__)
    if is_api_request():
        return error_response(422, "unstorable_value", UNSTORABLE_MESSAGE)
    return render_template("core/error.html", status=422, title=TITLES[422], message=UNSTORABLE_MESSAGE), 422


def http_error(exc):
    status = exc.code or 500
    if isinstance(exc, CSRFError):
        code, message = "csrf_failed", CSRF_MESSAGE
    elif status == 401 and g.get("token_rejected"):
        code, message = "invalid_token", TOKEN_REJECTED
    else:
        code = CODES.get(status, "error")
        # a message given to abort() is ours and already translated; werkzeug's defaults are not
        custom = exc.description if exc.description != type(exc).description else None
        message = custom or MESSAGES.get(status, exc.name)
    if is_api_request():
        headers = {"WWW-Authenticate": 'Bearer realm="vaxchain"'} if status == 401 else None
        return error_response(status, code, message, headers=headers)
    title = TITLES.get(status, exc.name)
    return render_template("core/error.html", status=status, title=title, message=message), status
