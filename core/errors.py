"""Error answers: JSON ``{"error": {"code", "message", "field"}}`` under /api, translated pages elsewhere."""
from flask import g, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
CSRF_MESSAGE = _l("The form has expired or did not come from this site. Reload the page and try again.")
TOKEN_REJECTED = _l("The token is invalid, expired or revoked.")


def init_app(app):
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(ServiceError, service_error)
    app.register_error_handler(HTTPException, http_error)


def api_error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.field)


def service_error(exc):
    """A service refused the request: roll back what it began, then answer with its message."""
    db.session.rollback()
    if is_api_request():
        return error_response(exc.status, exc.code, exc.message, exc.field)
    title = TITLES.get(exc.status, TITLES[400])
    return render_template("core/error.html", status=exc.status, title=title, message=exc.message), exc.status


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
