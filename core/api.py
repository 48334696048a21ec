"""JSON API plumbing for ``/api/v1``: blueprints that describe themselves, errors, bodies, pagination.

A module declares its endpoints on an :class:`ApiBlueprint`::

    api = ApiBlueprint("lots", __name__)

    @api.endpoint("/scan", methods=["POST"], roles=[roles.WAREHOUSE_MANAGER],
                  summary="Parse a GS1 scan", request_schema={...}, response_schema={...})
    def scan(): ...

and returns it from the ``api_blueprints`` hook. The core mounts it under ``/api/v1``, applies the
access rule, answers every error as ``{"error": {"code", "message", "field"}}`` and lists the endpoint
in ``/api/v1/openapi.json``.
"""
import base64
import binascii
import json
from dataclasses import dataclass, field

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from core import access

API_PREFIX = "/api/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class ApiError(Exception):
    """An error answered as JSON; ``field`` names the input at fault (dotted path), if any."""

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = str(message)
        self.field = field


def error_response(status, code, message, field=None, headers=None):
    response = jsonify({"error": {"code": code, "message": str(message), "field": field}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@dataclass
class EndpointDoc:
    rule: str
    methods: list
    summary: str
    roles: tuple
    public: bool
    endpoint: str
    request_schema: dict = None
    response_schema: dict = None
    parameters: list = field(default_factory=list)
    tag: str = ""


class ApiBlueprint(Blueprint):
    """A blueprint whose routes carry an access rule and an OpenAPI description."""

    def __init__(self, name, import_name, **kwargs):
        super().__init__(name, import_name, **kwargs)
        self.docs = []

    def endpoint(self, rule, *, methods=("GET",), roles=None, public=False, summary="",
                 request_schema=None, response_schema=None, parameters=None):
        """Route + access rule + documentation in one decorator. ``roles=None`` means any user."""

        def decorate(view):
            if public:
                access.public(view)
            elif roles:
                access.roles_required(*roles)(view)
            else:
                access.login_required(view)
            self.add_url_rule(rule, view_func=view, methods=list(methods))
            self.docs.append(EndpointDoc(
                rule=rule, methods=list(methods), summary=summary, roles=tuple(roles or ()),
                public=public, endpoint=view.__name__, request_schema=request_schema,
                response_schema=response_schema, parameters=list(parameters or []), tag=self.name,
            ))
            return view

        return decorate


def json_body():
    """The request's JSON object, or a 400 that says what is wrong with it."""
    if not request.is_json:
        raise ApiError(400, "invalid_json", _("Send a JSON object with Content-Type: application/json."))
    try:
        data = json.loads(request.get_data(as_text=True) or "null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", _("The body is not valid JSON: %(reason)s", reason=exc)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", _("The body must be a JSON object."))
    return data


# --- Pagination: keyset ("cursor") pages stay fast at any depth, unlike OFFSET. --------------------

PAGINATION_PARAMETERS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
     "description": f"Items per page (default {DEFAULT_LIMIT})."},
    {"name": "cursor", "in": "query", "schema": {"type": "string"},
     "description": "The `next_cursor` of the previous page."},
]


def page_limit(default=DEFAULT_LIMIT):
    """``?limit=`` (``default`` without one), refusing a bad value with the field named."""
    raw_limit = request.args.get("limit", str(default))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(400, "invalid_parameter",
                       _("limit must be a whole number from 1 to %(max)d.", max=MAX_LIMIT), "limit")
    return int(raw_limit)


def encode_cursor(text):
    """The opaque ``next_cursor`` standing for ``text`` (an id, an offset, a path: ASCII)."""
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def cursor_text(valid=lambda _text: True):
    """The text ``?cursor=`` stands for (``None`` without one); 400 naming ``cursor`` for one this API did not
    return: undecodable, or not ``valid``."""
    cursor = request.args.get("cursor")
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        text = None
    if text is None or not valid(text):
        raise ApiError(400, "invalid_parameter", _("cursor is not one this API returned."), "cursor")
    return text


def page_request():
    """``(limit, after_id)`` from ``?limit=&cursor=``, refusing bad values with the field named."""
    after = cursor_text(str.isdigit)
    return page_limit(), None if after is None else int(after)


def paginate(session, query, id_column, serialise):
    """One page of ``query`` ordered by ``id_column`` descending (newest first).

    Returns ``{"items": [...], "next_cursor": str | None}``.
    """
    limit, after = page_request()
    if after is not None:
        query = query.where(id_column < after)
    rows = session.scalars(query.order_by(id_column.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        next_cursor = encode_cursor(str(rows[-1].id))
    return {"items": [serialise(row) for row in rows], "next_cursor": next_cursor}


def page_schema(item_schema):
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": item_schema},
                           "next_cursor": {"type": ["string", "null"]}}}
