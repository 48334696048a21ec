"""JSON endpoints of the warehouse: scans, receipts, adjustments, transfers, locations, lots, stock, moves
and holds.

Scope: a user acts only within ``core.access.location_scope``. A location outside it is answered exactly
like an unknown code (404 ``unknown_location``), so a request learns nothing about it.

Input is read strictly (:class:`Fields`): an unknown field, a string where a number belongs, ``10.0`` or
``true`` for a quantity, a date not written YYYY-MM-DD are refused with 400 naming the field
(``lines[1].doses``), before any service runs; the services then check the business rules (4xx naming
the field as well). Nothing is written unless everything passed.

Operations that move stock run again when the database cancels their transaction for a deadlock or a lock
wait (:func:`core.db.retry_transaction`); one that keeps losing is answered 409 ``busy``, never with a
database error.
"""
import re
from datetime import date, datetime

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload

from core import roles
from core.access import EVERYWHERE, location_scope
from core.api import (
    MAX_LIMIT,
    PAGINATION_PARAMETERS,
    ApiBlueprint,
    ApiError,
    cursor_text,
    encode_cursor,
    json_body,
    page_limit,
    page_schema,
    paginate,
)
from core.clock import local_today
from core.db import db, retry_transaction
from core.openapi import answers_created
from core.service_errors import ConflictError, NotFoundError, ServiceError
from modules.lots import services as lots
from modules.lots.models import Lot
from modules.warehouse import ledger, locations, services
from modules.warehouse.models import PHYSICAL_KINDS, Hold, Location, Move

api = ApiBlueprint("warehouse", __name__)

SCANNERS = (roles.WAREHOUSE_MANAGER, roles.LOGISTICS_OFFICER, roles.SITE_STAFF, roles.INTEGRATOR)
RECEIVERS = (roles.WAREHOUSE_MANAGER, roles.INTEGRATOR)
ADJUSTERS = (roles.WAREHOUSE_MANAGER, roles.SITE_STAFF, roles.INTEGRATOR)
SHIPPERS = (roles.WAREHOUSE_MANAGER, roles.LOGISTICS_OFFICER, roles.INTEGRATOR)
RELEASERS = ADJUSTERS  # who checks held doses at the location either releases them or writes them off
MAX_RECEIPT_LINES = 500
MAX_NOTE = 1000
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- Reading input strictly --------------------------------------------------------------------------

def bad_input(code, message, field):
    return ApiError(400, code, message, field)


DATABASE_INTEGER = 2**31 - 1  # an INTEGER column's largest value (PostgreSQL); ids and doses are INTEGER


class Fields:
    """The fields of one JSON object, each read with its type checked; errors name ``prefix + name``.

    ``allowed``: the documented fields (a request schema's ``properties``), so the OpenAPI document and
    what is accepted cannot drift apart. ``null`` counts as absent.
    """

    def __init__(self, data, allowed, prefix=""):
        self.prefix = prefix
        if not isinstance(data, dict):
            raise bad_input("not_an_object", _("Give a JSON object."), prefix.rstrip(".") or None)
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise bad_input("unknown_field", _("Unknown field %(name)s.", name=unknown[0]), prefix + unknown[0])
        self.data = data

    def _value(self, name, required):
        value = self.data.get(name)
        if value is None and required:
            raise bad_input("required", _("This field is required."), self.prefix + name)
        return value

    def text(self, name, required=False, longest=None):
        value = self._value(name, required)
        if value is not None and not isinstance(value, str):
            raise bad_input("not_a_string", _("Give a JSON string."), self.prefix + name)
        if value is not None and longest is not None and len(value) > longest:
            raise bad_input("too_long", _("At most %(n)d characters.", n=longest), self.prefix + name)
        if value is not None and "\x00" in value:  # PostgreSQL refuses it in any text, even in a query
            raise bad_input("invalid_character", _("The text holds a NUL character."), self.prefix + name)
        return value

    def integer(self, name, required=False):
        value = self._value(name, required)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bad_input("not_an_integer", _("Give a whole number (a JSON integer such as 10, not \"10\" or "
                                                "10.0)."), self.prefix + name)
        # An id past it is unknown (the lookup's 404; on PostgreSQL core.errors' 422); a quantity is out of range.
        if value is not None and not name.endswith("_id") and not -DATABASE_INTEGER <= value <= DATABASE_INTEGER:
            raise ApiError(422, "out_of_range", _("At most %(n)s.", n=DATABASE_INTEGER), self.prefix + name)
        return value

    def array(self, name):
        value = self._value(name, True)
        if not isinstance(value, list):
            raise bad_input("not_a_list", _("Give a JSON array."), self.prefix + name)
        return value

    def boolean(self, name):
        value = self._value(name, False)
        if value is not None and not isinstance(value, bool):
            raise bad_input("not_a_boolean", _("Give true or false."), self.prefix + name)
        return bool(value)

    def date(self, name):
        value = self.text(name)
        if value is None:
            return None
        try:
            if not DATE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise bad_input("invalid_date", _("Give the date as YYYY-MM-DD, e.g. 2026-12-31."),
                            self.prefix + name) from None

    def moment(self, name, required=False):
        """A point in time written ISO 8601 with its UTC offset (an aware ``datetime``)."""
        text = self.text(name, required)
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = None
        if value is None or value.utcoffset() is None:
            raise bad_input("invalid_datetime", _("Give the time as ISO 8601 with its offset, e.g. "
                                                  "2026-11-26T08:30:00+07:00."), self.prefix + name)
        return value

    def location(self, name, required=True):
        """A location in the user's scope (asked for only when a code is given: it costs queries)."""
        code = self.text(name, required)
        return None if code is None else locations.by_code(code, location_scope(current_user), self.prefix + name)

    def lot(self, name="lot_id"):
        return lots.get_lot(self.integer(name, required=True))


def query_flag(name):
    """A yes/no query parameter: absent, ``0``/``false`` or ``1``/``true``."""
    raw = request.args.get(name, "0").strip().lower()
    if raw not in ("0", "1", "false", "true"):
        raise bad_input("invalid_parameter", _("%(name)s must be 0 or 1.", name=name), name)
    return raw in ("1", "true")


def query_location(scope, required):
    code = request.args.get("location")
    if code is None:
        if required:
            raise bad_input("required", _("This parameter is required."), "location")
        return None
    return locations.by_code(code, scope)


def query_lot():
    raw = request.args.get("lot_id")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > DATABASE_INTEGER:
        raise bad_input("invalid_parameter", _("lot_id must be a lot's id (a whole number)."), "lot_id")
    return lots.get_lot(int(raw))


def query_vaccine():
    code = request.args.get("vaccine")
    return None if code is None else lots.presentation_by_code(code)


def location_ids(location, scope, include_children):
    return locations.subtree_ids(location, scope) if include_children else [location.id]


def busy():
    return ConflictError(_("Other requests were changing the same stock at that moment; nothing was saved. Try "
                           "again."), None, "busy")


def retried(view):
    """Run the request's transaction again when the database cancelled it for a deadlock or a lock wait;
    after a few tries a clear 409 ``busy``, never a database error."""
    return retry_transaction(view, busy)


def created(payload):
    """Commit what the service did, then answer 201 with ``payload`` (serialised before the commit, which
    expires every loaded object)."""
    db.session.commit()
    response = jsonify(payload)
    response.status_code = 201
    return response


# --- Output -------------------------------------------------------------------------------------------

def lot_json(lot, today):
    return {"id": lot.id, "vaccine": lot.presentation.code, "lot": lot.lot_number,
            "expiry": lot.expiry.isoformat(), "status": lot.status, "expired": lot.is_expired(today)}


def move_json(move):
    return {"id": move.id, "at": move.at.isoformat(), "kind": move.kind, "lot_id": move.lot_id,
            "vaccine": move.lot.presentation.code, "lot": move.lot.lot_number,
            "from": move.from_location.code, "to": move.to_location.code, "doses": move.doses,
            "reason": move.reason, "note": move.note, "reference": move.reference, "reverses_id": move.reverses_id,
            "user": move.user.username if move.user is not None else None}


def location_json(location, parent_code=None):
    return {"code": location.code, "name": location.name, "kind": location.kind, "parent": parent_code,
            "admin_unit": location.admin_unit_code}


def stock_line_json(line, today):
    return {"vaccine": line.lot.presentation.code, "lot": line.lot.lot_number, "lot_id": line.lot.id,
            "expiry": line.lot.expiry.isoformat(), "status": line.lot.status, "doses": line.doses,
            "vials": line.vials, "expiring_soon": line.expiring_soon(today), "held_doses": line.held_doses,
            "blocked": line.blocked(today)}


def nullable(kind):
    return {"type": [kind, "null"]}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
DAY = {"type": "string", "format": "date"}
LOT_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "vaccine": STRING, "lot": STRING, "expiry": DAY,
    "status": {"type": "string", "enum": ["available", "quarantined", "released", "discarded", "recalled"]},
    "expired": {"type": "boolean", "description": "Past its expiry day in Asia/Ho_Chi_Minh."}}}
MOVE_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "at": {"type": "string", "format": "date-time"}, "kind": STRING, "lot_id": INTEGER,
    "vaccine": STRING, "lot": STRING, "from": STRING, "to": STRING, "doses": INTEGER,
    "reason": nullable("string"), "note": STRING, "reference": nullable("string"),
    "reverses_id": nullable("integer"), "user": nullable("string")}}
LOCATION_SCHEMA = {"type": "object", "properties": {
    "code": STRING, "name": STRING, "kind": STRING,
    "parent": {"type": ["string", "null"], "description": "The parent's code; null at the top of your locations."},
    "admin_unit": nullable("string")}}
LOCATION_PARAMETER = {"name": "location", "in": "query", "schema": STRING,
                      "description": "A location code in your locations (any other: 404 unknown_location)."}
CHILDREN_PARAMETER = {"name": "include_children", "in": "query", "schema": {"type": "integer", "enum": [0, 1]},
                      "description": "1: the location and every location below it; 0 (default): the location "
                                     "itself only."}
VACCINE_PARAMETER = {"name": "vaccine", "in": "query", "schema": STRING, "description": "A vaccine code."}
ERROR_FIELD_NOTE = "Errors name the field at fault, `lines[i].field` for a line."


# --- Scanning -----------------------------------------------------------------------------------------

SCAN_REQUEST = {"type": "object", "required": ["code"], "additionalProperties": False, "properties": {
    "code": {"type": "string", "description": "The raw scan."},
    "location": {"type": "string", "description": "Give on-hand doses at this location (one of yours)."}}}
SCAN_RESPONSE = {"type": "object", "properties": {
    "gtin": STRING, "lot": nullable("string"), "expiry": {"type": ["string", "null"], "format": "date"},
    "serial": nullable("string"), "vaccine": nullable("string"), "lot_id": nullable("integer"), "known": BOOLEAN,
    "status": nullable("string"), "expired": nullable("boolean"),
    "conflicts": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string", "enum": ["unknown_gtin", "lot_of_another_vaccine", "expiry_mismatch"]},
        "message": STRING}}},
    "on_hand_doses": {"type": ["integer", "null"], "description": "null without a location."}}}


@api.endpoint("/scan", methods=["POST"], roles=SCANNERS,
              summary="Parse a GS1 scan and match it on (GTIN, lot); never creates a lot",
              request_schema=SCAN_REQUEST, response_schema=SCAN_RESPONSE)
def scan():
    fields = Fields(json_body(), SCAN_REQUEST["properties"])
    code = fields.text("code", required=True)
    location = fields.location("location", required=False)
    matched = lots.match(code)
    on_hand = None
    if location is not None:
        on_hand = ledger.on_hand(location.id, matched.lot.id) if matched.lot is not None else 0
    lot, scanned = matched.lot, matched.scan
    return jsonify({
        "gtin": scanned.gtin, "lot": scanned.lot, "serial": scanned.serial,
        "expiry": scanned.expiry.isoformat() if scanned.expiry else None,
        "vaccine": matched.presentation.code if matched.presentation is not None else None,
        "lot_id": lot.id if lot is not None else None, "known": matched.known,
        "status": lot.status if lot is not None else None,
        "expired": lot.is_expired(local_today()) if lot is not None else None,
        "conflicts": matched.conflicts, "on_hand_doses": on_hand,
    })


# --- Operations ---------------------------------------------------------------------------------------

RECEIPT_LINE = {"type": "object", "additionalProperties": False,
                "description": "A scan (`code`), or `gtin` + `lot` + `expiry` typed in; a quantity in `doses` or "
                               "`vials` (default: one vial, one scanned pack). A lot the system does not know "
                               "needs `confirm_new_lot`: true.",
                "properties": {"code": STRING, "gtin": STRING, "lot": STRING, "expiry": DAY, "doses": INTEGER,
                               "vials": INTEGER, "confirm_new_lot": BOOLEAN}}
RECEIPT_REQUEST = {"type": "object", "required": ["location", "lines"], "additionalProperties": False, "properties": {
    "location": STRING, "reference": {"type": "string", "maxLength": services.MAX_REFERENCE},
    "note": {"type": "string", "maxLength": MAX_NOTE},
    "lines": {"type": "array", "minItems": 1, "maxItems": MAX_RECEIPT_LINES, "items": RECEIPT_LINE}}}
RECEIPT_RESPONSE = {"type": "object", "properties": {
    "moves": {"type": "array", "items": MOVE_SCHEMA,
              "description": "One per line, in ledger order (by lot), not in line order."},
    "new_lots": {"type": "array", "items": LOT_SCHEMA}}}
ADJUSTMENT_REQUEST = {
    "type": "object", "required": ["location", "lot_id", "doses", "reason"], "additionalProperties": False,
    "properties": {
        "location": STRING, "lot_id": INTEGER,
        "doses": {"type": "integer", "description": "Negative to remove; positive only with reason `found`."},
        "reason": {"type": "string", "enum": list(services.REASONS),
                   "description": f"Wastage: {', '.join(services.WASTAGE_REASONS)}. "
                                  f"Adjustment: {', '.join(services.ADJUSTMENT_REASONS)}."},
        "note": {"type": "string", "maxLength": MAX_NOTE}}}
TRANSFER_LINE = {"type": "object", "required": ["lot_id", "doses"], "additionalProperties": False,
                 "properties": {"lot_id": INTEGER, "doses": {"type": "integer", "minimum": 1}}}
TRANSFER_REQUEST = {"type": "object", "required": ["from", "to"], "additionalProperties": False,
                    "description": "One lot (`lot_id` and `doses`), or several at once (`lines`), not both.",
                    "properties": {"from": STRING, "to": STRING, "lot_id": INTEGER,
                                   "doses": {"type": "integer", "minimum": 1},
                                   "lines": {"type": "array", "minItems": 1, "maxItems": MAX_RECEIPT_LINES,
                                             "items": TRANSFER_LINE},
                                   "note": {"type": "string", "maxLength": MAX_NOTE}}}
TRANSFER_RESPONSE = {"anyOf": [MOVE_SCHEMA, {
    "type": "object", "required": ["moves"], "description": "The answer to a request with `lines`.",
    "properties": {"moves": {"type": "array", "items": MOVE_SCHEMA,
                             "description": "One per line, in ledger order (by lot), not in line order."}}}]}


@api.endpoint("/receipts", methods=["POST"], roles=RECEIVERS,
              summary="Receive vaccine from the supplier into one of your locations: all lines or none. "
                      + ERROR_FIELD_NOTE,
              request_schema=RECEIPT_REQUEST, response_schema=RECEIPT_RESPONSE)
@retried
@answers_created
def receipt():
    fields = Fields(json_body(), RECEIPT_REQUEST["properties"])
    location = fields.location("location")
    reference = fields.text("reference", longest=services.MAX_REFERENCE)
    note = fields.text("note", longest=MAX_NOTE) or ""
    lines = receipt_lines(fields.array("lines"))
    result = services.receive(location, lines, user=current_user, reference=reference, note=note)
    today = local_today()
    return created({"moves": [move_json(move) for move in result.moves],
                    "new_lots": [lot_json(lot, today) for lot in result.new_lots]})


def receipt_lines(value):
    if len(value) > MAX_RECEIPT_LINES:
        raise bad_input("too_many_lines", _("At most %(n)d lines in one receipt.", n=MAX_RECEIPT_LINES), "lines")
    lines = []
    for index, data in enumerate(value):
        line = Fields(data, RECEIPT_LINE["properties"], f"lines[{index}].")
        code = line.text("code")
        if code is not None and not code.strip():  # the service would take a blank scan for a typed line
            raise ApiError(422, "empty_scan", _("Line %(n)d: %(message)s", n=index + 1,
                                                message=_("The scan is empty.")), f"lines[{index}].code")
        if code is not None and any(data.get(name) is not None for name in ("gtin", "lot", "expiry")):
            raise bad_input("scan_and_typed", _("Give either a scanned code or GTIN, lot and expiry, not both."),
                            f"lines[{index}].code")
        lines.append(services.ReceiptLine(code=code, gtin=line.text("gtin"), lot=line.text("lot"),
                                          expiry=line.date("expiry"), doses=line.integer("doses"),
                                          vials=line.integer("vials"),
                                          confirm_new_lot=line.boolean("confirm_new_lot")))
    return lines


@api.endpoint("/adjustments", methods=["POST"], roles=ADJUSTERS,
              summary="Add found doses or remove doses (wastage or loss) at one of your locations",
              request_schema=ADJUSTMENT_REQUEST, response_schema=MOVE_SCHEMA)
@retried
@answers_created
def adjustment():
    fields = Fields(json_body(), ADJUSTMENT_REQUEST["properties"])
    location = fields.location("location")
    lot = fields.lot()
    doses = fields.integer("doses", required=True)
    reason = fields.text("reason", required=True)
    note = fields.text("note", longest=MAX_NOTE) or ""
    move = services.adjust(location, lot, doses, reason, user=current_user, note=note)[0]
    return created(move_json(move))


@api.endpoint("/transfers", methods=["POST"], roles=SHIPPERS,
              summary="Move doses of usable lots between two of your locations: one lot, or several (`lines`) all "
                      "or none. " + ERROR_FIELD_NOTE,
              request_schema=TRANSFER_REQUEST, response_schema=TRANSFER_RESPONSE)
@retried
@answers_created
def transfer():
    fields = Fields(json_body(), TRANSFER_REQUEST["properties"])
    source, destination = fields.location("from"), fields.location("to")
    lines = transfer_lines(fields) if fields.data.get("lines") is not None else None
    if lines is None:
        lot = fields.lot()
        doses = fields.integer("doses", required=True)
    note = fields.text("note", longest=MAX_NOTE) or ""
    try:
        if lines is not None:
            moves = services.transfer_lines(source, destination, lines, user=current_user, note=note)
            return created({"moves": [move_json(move) for move in moves]})
        move = services.transfer(source, destination, lot, doses, user=current_user, note=note)[0]
    except ServiceError as error:  # the service says "destination" for what this API calls "to"
        error.field = "to" if error.field == "destination" else error.field
        raise
    return created(move_json(move))


def transfer_lines(fields):
    """``[(lot, doses)]`` from ``lines``, which excludes ``lot_id`` and ``doses``."""
    for single in ("lot_id", "doses"):
        if fields.data.get(single) is not None:
            raise bad_input("lines_and_lot", _("Give either lot_id and doses or lines, not both."), single)
    value = fields.array("lines")
    if not value or len(value) > MAX_RECEIPT_LINES:
        raise bad_input("bad_lines", _("Give 1 to %(n)d lines.", n=MAX_RECEIPT_LINES), "lines")
    lines = []
    for index, data in enumerate(value):
        line = Fields(data, TRANSFER_LINE["properties"], f"lines[{index}].")
        lines.append((line.lot(), line.integer("doses", required=True)))
    return lines


# --- Reading ------------------------------------------------------------------------------------------

STOCK_LINE = {"type": "object", "properties": {
    "vaccine": STRING, "lot": STRING, "lot_id": INTEGER, "expiry": DAY, "status": STRING, "doses": INTEGER,
    "vials": {"type": "integer", "description": "Whole vials."},
    "expiring_soon": {"type": "boolean", "description": f"Expires within {services.EXPIRING_SOON_DAYS} days."},
    "held_doses": {"type": "integer", "description": "Doses on hold where they are (e.g. after a temperature "
                                                      "excursion on the way there)."},
    "blocked": {"type": "boolean", "description": "Expired, not available/released, or all on hold: cannot be "
                                                  "issued."}}}
STOCK_RESPONSE = {"type": "object", "required": ["location", "include_children", "lines"], "properties": {
    "location": {"type": "object", "properties": {"code": STRING, "name": STRING, "kind": STRING}},
    "include_children": BOOLEAN, "lines": {"type": "array", "items": STOCK_LINE}}}
MOVES_PARAMETERS = [LOCATION_PARAMETER, CHILDREN_PARAMETER, {"name": "lot_id", "in": "query", "schema": INTEGER},
                    {"name": "kind", "in": "query", "schema": STRING,
                     "description": "receipt, transfer, adjustment, wastage, count, reversal..."}]

LOCATIONS_PAGE = 500  # a province's whole tree (~180 stores and sites) fits a page; a nation's ~11 000 take 22
LOCATION_PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
     "description": f"Locations per page (default {LOCATIONS_PAGE})."},
    {"name": "cursor", "in": "query", "schema": STRING,
     "description": "The `next_cursor` of the previous page; without it, the first page."}]


@api.endpoint("/locations", parameters=LOCATION_PAGE_PARAMETERS,
              summary="Your stores and sites (the subtrees you are assigned to), in tree order, a page at a time: "
                      "follow `next_cursor` (null on the last page) for the rest",
              response_schema=page_schema(LOCATION_SCHEMA))
def location_list():
    scope = location_scope(current_user)
    limit = page_limit(LOCATIONS_PAGE)
    after = cursor_text(PATH.fullmatch)
    parent_place = aliased(Location)
    query = (select(Location, parent_place.code).outerjoin(parent_place, parent_place.id == Location.parent_id)
             .where(Location.kind.in_(PHYSICAL_KINDS), Location.active.is_(True)))
    if scope is not EVERYWHERE:
        query = query.where(Location.id.in_(locations.scope_select(current_user, scope)))
    if after is not None:
        query = query.where(Location.path > after)  # tree order is the paths' order; a path names one place
    found = db.session.execute(query.order_by(Location.path).limit(limit + 1)).all()
    page = found[:limit]
    next_cursor = encode_cursor(page[-1][0].path) if len(found) > limit else None
    return jsonify({"items": [location_json(location, parent if location.parent_id in scope else None)
                              for location, parent in page], "next_cursor": next_cursor})


PATH = re.compile(r"/(\d+/)+")


@api.endpoint("/lots", parameters=[VACCINE_PARAMETER, LOCATION_PARAMETER, CHILDREN_PARAMETER] + PAGINATION_PARAMETERS,
              summary="Lots, newest first; with `location`, only lots with stock there",
              response_schema=page_schema(LOT_SCHEMA))
def lot_list():
    scope = location_scope(current_user)
    presentation = query_vaccine()
    location = query_location(scope, required=False)
    ids = location_ids(location, scope, query_flag("include_children")) if location is not None else None
    today = local_today()
    return jsonify(paginate(db.session, services.lots_query(presentation, ids), Lot.id,
                            lambda lot: lot_json(lot, today)))


@api.endpoint("/stock", parameters=[dict(LOCATION_PARAMETER, required=True), CHILDREN_PARAMETER, VACCINE_PARAMETER],
              summary="Stock on hand at one of your locations, one line per lot (doses > 0), by vaccine then "
                      "earliest expiry; with include_children=1, summed per lot over the location and everything "
                      "below it",
              response_schema=STOCK_RESPONSE)
def stock():
    scope = location_scope(current_user)
    location = query_location(scope, required=True)
    include_children = query_flag("include_children")
    presentation = query_vaccine()
    lines = services.stock_by_lot(location_ids(location, scope, include_children), presentation)
    today = local_today()
    return jsonify({"location": {"code": location.code, "name": location.name, "kind": location.kind},
                    "include_children": include_children,
                    "lines": [stock_line_json(line, today) for line in lines]})


@api.endpoint("/moves", parameters=MOVES_PARAMETERS + PAGINATION_PARAMETERS,
              summary="Stock moves into or out of your locations (or one of them), newest first",
              response_schema=page_schema(MOVE_SCHEMA))
def move_list():
    scope = location_scope(current_user)
    location = query_location(scope, required=False)
    if location is not None:
        ids = location_ids(location, scope, query_flag("include_children"))
    else:
        ids = None if scope is EVERYWHERE else sorted(scope)
    query = services.moves_query(ids, query_lot(), request.args.get("kind")).options(
        joinedload(Move.lot), joinedload(Move.from_location), joinedload(Move.to_location), joinedload(Move.user))
    return jsonify(paginate(db.session, query, Move.id, move_json))


# --- Holds --------------------------------------------------------------------------------------------

HOLD_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "location": STRING, "lot_id": INTEGER, "lot": STRING, "vaccine": STRING,
    "on_hand_doses": {"type": "integer", "description": "Doses of the lot at the location now: all of them held "
                                                        "while the hold is active."},
    "reason": STRING, "reference": {"type": ["string", "null"], "description": "Usually a shipment number."},
    "created_at": {"type": "string", "format": "date-time"}, "created_by": nullable("string"),
    "released_at": {"type": ["string", "null"], "format": "date-time"}, "released_by": nullable("string"),
    "release_reason": nullable("string")}}
HOLD_LIST = {"type": "object", "required": ["items"],
             "properties": {"items": {"type": "array", "items": HOLD_SCHEMA}}}
RELEASE_REQUEST = {"type": "object", "required": ["reason"], "additionalProperties": False, "properties": {
    "reason": {"type": "string", "minLength": 3, "maxLength": MAX_NOTE,
               "description": "What was checked (VVM, the logger report...) and found."}}}


def hold_json(hold, on_hand):
    return {"id": hold.id, "location": hold.location.code, "lot_id": hold.lot_id, "lot": hold.lot.lot_number,
            "vaccine": hold.lot.presentation.code, "on_hand_doses": on_hand, "reason": hold.reason,
            "reference": hold.reference, "created_at": hold.created_at.isoformat(),
            "created_by": hold.creator.username if hold.creator else None,
            "released_at": hold.released_at.isoformat() if hold.released_at else None,
            "released_by": hold.releaser.username if hold.releaser else None, "release_reason": hold.release_reason}


def visible_hold(hold_id):
    """The hold if its location is in the caller's scope; else 404 as if it did not exist."""
    hold = db.session.get(Hold, hold_id)
    if hold is None or hold.location_id not in location_scope(current_user):
        raise NotFoundError(_("No hold with id %(id)s.", id=hold_id), None, "unknown_hold")
    return hold


@api.endpoint("/holds", parameters=[LOCATION_PARAMETER, CHILDREN_PARAMETER],
              summary="Active holds at your locations (or one of them), by id: the lot's doses there cannot be "
                      "issued until someone checks them and releases the hold",
              response_schema=HOLD_LIST)
def hold_list():
    scope = location_scope(current_user)
    location = query_location(scope, required=False)
    include_children = query_flag("include_children")
    if location is not None:
        ids = location_ids(location, scope, include_children)
    else:
        ids = None if scope is EVERYWHERE else sorted(scope)
    holds = services.active_holds(ids)
    on_hand = services.on_hand_at([(hold.location_id, hold.lot_id) for hold in holds])
    return jsonify({"items": [hold_json(hold, on_hand.get((hold.location_id, hold.lot_id), 0)) for hold in holds]})


@api.endpoint("/holds/<int:hold_id>/release", methods=["POST"], roles=RELEASERS,
              summary="Release a hold after checking the doses (VVM, the logger report): they can be issued from "
                      "that location again. A reason is required (`reason`: 400 when absent, 422 when blank); an "
                      "already released hold answers 409.",
              request_schema=RELEASE_REQUEST, response_schema=HOLD_SCHEMA)
def hold_release(hold_id):
    hold = visible_hold(hold_id)
    fields = Fields(json_body(), RELEASE_REQUEST["properties"])
    reason = fields.text("reason", required=True, longest=MAX_NOTE)
    services.release_hold(hold, reason, user=current_user)
    db.session.flush()
    payload = hold_json(hold, ledger.on_hand(hold.location_id, hold.lot_id))
    db.session.commit()
    return jsonify(payload)
