"""JSON endpoints of cold-chain transport: shipments (create + pick, dispatch, receive, cancel), their
data-logger temperatures and their PDF manifests.

Scope (``core.access.location_scope``): a shipment is visible when its origin or its destination is one of
the caller's locations; anything else is answered 404 ``unknown_shipment``, like an id that does not exist.
Acting needs the right side: the origin to create, repick, dispatch, cancel; the destination to receive (404
``unknown_location`` naming ``origin`` / ``destination`` otherwise). The destination of a new shipment may
be any store or site: shipments go down the tree to other users' sites.

Input is read strictly (``modules.warehouse.api.Fields``): errors are 400 naming the field, before any
service runs; the services then check the business rules. Nothing is committed unless the service succeeded.
"""
import math

from flask import Response, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from core import roles
from core.access import EVERYWHERE, location_scope
from core.api import PAGINATION_PARAMETERS, ApiBlueprint, ApiError, json_body, page_schema, paginate
from core.db import db
from core.openapi import answers_created
from core.service_errors import NotFoundError, ServiceError
from modules.lots import services as lots
from modules.transport import manifests, services, temperature
from modules.transport.models import REJECTION_REASONS, STATES, Shipment, ShipmentLine
from modules.warehouse import locations
from modules.warehouse import services as stock
from modules.warehouse.api import DAY, INTEGER, STRING, Fields, bad_input, created, nullable
from reports.manifest import LANGUAGES

api = ApiBlueprint("transport", __name__)

SHIPPERS = (roles.LOGISTICS_OFFICER, roles.WAREHOUSE_MANAGER, roles.INTEGRATOR)
RECEIVERS = (roles.WAREHOUSE_MANAGER, roles.SITE_STAFF, roles.INTEGRATOR)
LOGGERS = (roles.LOGISTICS_OFFICER, roles.WAREHOUSE_MANAGER, roles.SITE_STAFF, roles.INTEGRATOR)  # either end
MAX_LINES = 500
MAX_TEXT = 64
MAX_DRIVER = 120


# --- Finding shipments within the caller's scope -----------------------------------------------------

def visible_shipment(shipment_id):
    """The shipment if its origin or destination is in the caller's scope; else 404 as if it did not exist."""
    shipment = db.session.get(Shipment, shipment_id)
    scope = location_scope(current_user)
    if shipment is None or (shipment.origin_id not in scope and shipment.destination_id not in scope):
        raise NotFoundError(_("No shipment with id %(id)s.", id=shipment_id), None, "unknown_shipment")
    return shipment


def acting_at(shipment, side):
    """The shipment, if the caller holds its ``side`` ("origin" or "destination")."""
    location = getattr(shipment, side)
    if location.id not in location_scope(current_user):
        raise NotFoundError(_("Unknown location %(code)s.", code=location.code), side, "unknown_location")
    return shipment


# --- Output -------------------------------------------------------------------------------------------

def line_json(line):
    lot = line.lot
    return {"id": line.id, "vaccine": line.presentation.code, "lot_id": line.lot_id,
            "lot": lot.lot_number if lot is not None else None,
            "expiry": lot.expiry.isoformat() if lot is not None else None,
            "doses": line.doses, "vials": line.vials, "accepted": line.accepted, "rejected": line.rejected,
            "reason": line.reject_reason, "vvm_stage": line.vvm_stage}


def moment(value):
    return value.isoformat() if value is not None else None


def shipment_json(shipment):
    return {"id": shipment.id, "number": shipment.number, "state": shipment.state,
            "origin": shipment.origin.code, "destination": shipment.destination.code,
            "planned_date": shipment.planned_date.isoformat(), "vehicle": shipment.vehicle,
            "driver": shipment.driver, "cold_box": shipment.cold_box,
            "temperature_min": shipment.temperature_min, "temperature_max": shipment.temperature_max,
            "dispatched_at": moment(shipment.dispatched_at), "received_at": moment(shipment.received_at),
            "lines": [line_json(line) for line in shipment.lines]}


def report_json(report):
    return {"readings": report.readings, "first": moment(report.first), "last": moment(report.last),
            "minimum": report.minimum, "maximum": report.maximum,
            "minutes_above": report.minutes_above, "minutes_below": report.minutes_below,
            "excursions": [{"start": moment(e.start), "end": moment(e.end), "direction": e.direction,
                            "minutes": e.minutes, "extreme": e.extreme} for e in report.excursions],
            "has_excursion": report.has_excursion}


def done(payload):
    """Commit what the service did and answer 200 (``payload`` serialised before the commit)."""
    db.session.commit()
    return jsonify(payload)


# --- Schemas ------------------------------------------------------------------------------------------

NUMBER = {"type": "number"}
MOMENT = {"type": ["string", "null"], "format": "date-time"}
LINE_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "vaccine": STRING, "lot_id": nullable("integer"), "lot": nullable("string"),
    "expiry": {"type": ["string", "null"], "format": "date"}, "doses": INTEGER, "vials": INTEGER,
    "accepted": nullable("integer"), "rejected": nullable("integer"),
    "reason": {"type": ["string", "null"], "enum": [*REJECTION_REASONS, None]}, "vvm_stage": nullable("integer")}}
SHIPMENT_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "number": STRING, "state": {"type": "string", "enum": list(STATES)},
    "origin": STRING, "destination": STRING, "planned_date": DAY, "vehicle": STRING, "driver": STRING,
    "cold_box": STRING, "temperature_min": nullable("integer"), "temperature_max": nullable("integer"),
    "dispatched_at": MOMENT, "received_at": MOMENT, "lines": {"type": "array", "items": LINE_SCHEMA}}}
REQUEST_LINE = {"type": "object", "additionalProperties": False,
                "description": "A lot (`lot_id`) or a vaccine code (`vaccine`, picked earliest expiry first), "
                               "and whole vials' worth of `doses`.",
                "properties": {"lot_id": INTEGER, "vaccine": STRING, "doses": {"type": "integer", "minimum": 1}}}
CREATE_REQUEST = {"type": "object", "required": ["origin", "destination", "lines"], "additionalProperties": False,
                  "properties": {
                      "origin": {"type": "string", "description": "One of your locations."},
                      "destination": {"type": "string", "description": "Any store or site."},
                      "planned_date": DAY, "vehicle": {"type": "string", "maxLength": MAX_TEXT},
                      "driver": {"type": "string", "maxLength": MAX_DRIVER},
                      "cold_box": {"type": "string", "maxLength": MAX_TEXT},
                      "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": REQUEST_LINE}}}
DETAILS_REQUEST = {"type": "object", "additionalProperties": False, "minProperties": 1,
                   "description": "Any of the transport details; a field left out stays as it is.",
                   "properties": {name: CREATE_REQUEST["properties"][name]
                                  for name in ("planned_date", "vehicle", "driver", "cold_box")}}
RECEIPT_LINE = {"type": "object", "additionalProperties": False,
                "description": "The shipment line (`line_id`, or `lot_id` when one line carries that lot); "
                               "accepted + rejected must equal the doses shipped.",
                "properties": {"line_id": INTEGER, "lot_id": INTEGER, "accepted": {"type": "integer", "minimum": 0},
                               "rejected": {"type": "integer", "minimum": 0},
                               "reason": {"type": "string", "enum": list(REJECTION_REASONS)},
                               "vvm_stage": {"type": "integer", "minimum": 1, "maximum": 4}}}
RECEIVE_REQUEST = {"type": "object", "required": ["lines"], "additionalProperties": False, "properties": {
    "lines": {"type": "array", "minItems": 1, "items": RECEIPT_LINE,
              "description": "Every line of the shipment, once."}}}
READING = {"type": "object", "required": ["at", "celsius"], "additionalProperties": False,
           "properties": {"at": {"type": "string", "format": "date-time",
                                 "description": "ISO 8601 with a UTC offset."},
                          "celsius": {"type": "number", "minimum": temperature.COLDEST,
                                      "maximum": temperature.HOTTEST}}}
READINGS_REQUEST = {"type": "object", "required": ["readings"], "additionalProperties": False, "properties": {
    "readings": {"type": "array", "minItems": 1, "maxItems": temperature.MAX_READINGS, "items": READING}}}
REPORT_SCHEMA = {"type": "object", "properties": {
    "readings": INTEGER, "first": MOMENT, "last": MOMENT, "minimum": {"type": ["number", "null"]},
    "maximum": {"type": ["number", "null"]}, "minutes_above": NUMBER, "minutes_below": NUMBER,
    "excursions": {"type": "array", "items": {"type": "object", "properties": {
        "start": MOMENT, "end": MOMENT, "direction": {"type": "string", "enum": ["above", "below"]},
        "minutes": NUMBER, "extreme": NUMBER}}},
    "has_excursion": {"type": "boolean"}}}
REPICK_REQUEST = {"type": "object", "required": ["doses"], "additionalProperties": False,
                  "description": "The lot taken instead: a pack's scan (`code`) or `lot_id`; and the doses taken "
                                 "from it, in whole vials.",
                  "properties": {"code": {"type": "string", "maxLength": lots.MAX_SCAN,
                                          "description": "A pack's GS1 barcode, as scanned."},
                                 "lot_id": INTEGER, "doses": {"type": "integer", "minimum": 1}}}
LIST_PARAMETERS = [
    {"name": "location", "in": "query", "schema": STRING,
     "description": "Only shipments from or to this location (one of yours)."},
    {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(STATES)}},
] + PAGINATION_PARAMETERS
ERRORS_NOTE = " Errors name the field at fault, `lines[i].field` for a line."


# --- Creating and picking ----------------------------------------------------------------------------

@api.endpoint("/shipments", methods=["POST"], roles=SHIPPERS,
              summary="Create a shipment from one of your locations and pick it (vaccine lines earliest expiry "
                      "first), in one transaction." + ERRORS_NOTE,
              request_schema=CREATE_REQUEST, response_schema=SHIPMENT_SCHEMA)
@answers_created
def create():
    fields = Fields(json_body(), CREATE_REQUEST["properties"])
    origin = fields.location("origin")
    destination = locations.by_code(fields.text("destination", required=True), field="destination")
    planned_date = fields.date("planned_date")
    vehicle = fields.text("vehicle", longest=MAX_TEXT) or ""
    driver = fields.text("driver", longest=MAX_DRIVER) or ""
    cold_box = fields.text("cold_box", longest=MAX_TEXT) or ""
    requests = request_lines(fields.array("lines"))
    shipment = services.create_shipment(origin, destination, requests, planned_date=planned_date, vehicle=vehicle,
                                        driver=driver, cold_box=cold_box, user=current_user)
    services.pick(shipment, user=current_user)
    return created(shipment_json(shipment))


def request_lines(value):
    if not value:
        raise bad_input("no_lines", _("A shipment needs at least one line."), "lines")
    if len(value) > MAX_LINES:
        raise bad_input("too_many_lines", _("At most %(n)d lines in one shipment.", n=MAX_LINES), "lines")
    requests = []
    for index, data in enumerate(value):
        prefix = f"lines[{index}]."
        line = Fields(data, REQUEST_LINE["properties"], prefix)
        lot_id, vaccine = line.integer("lot_id"), line.text("vaccine")
        doses = line.integer("doses", required=True)
        if (lot_id is None) == (vaccine is None):
            raise bad_input("lot_or_vaccine", _("Give either lot_id or vaccine."), prefix + "lot_id")
        try:
            if lot_id is not None:
                requests.append(services.Request(doses=doses, lot=lots.get_lot(lot_id)))
            else:
                requests.append(services.Request(doses=doses, presentation=lots.presentation_by_code(vaccine)))
        except NotFoundError as error:
            raise stock.LineError(index, error) from None
    return requests


# --- Reading ------------------------------------------------------------------------------------------

@api.endpoint("/shipments/<int:shipment_id>",
              summary="A shipment from or to one of your locations", response_schema=SHIPMENT_SCHEMA)
def show(shipment_id):
    return jsonify(shipment_json(visible_shipment(shipment_id)))


@api.endpoint("/shipments", parameters=LIST_PARAMETERS,
              summary="Shipments from or to your locations (or one of them), newest first",
              response_schema=page_schema(SHIPMENT_SCHEMA))
def shipment_list():
    scope = location_scope(current_user)
    query = select(Shipment).options(
        selectinload(Shipment.origin), selectinload(Shipment.destination),
        selectinload(Shipment.lines).selectinload(ShipmentLine.lot),
        selectinload(Shipment.lines).selectinload(ShipmentLine.presentation))
    code = request.args.get("location")
    if code is not None:
        location = locations.by_code(code, scope)
        query = query.where(or_(Shipment.origin_id == location.id, Shipment.destination_id == location.id))
    elif scope is not EVERYWHERE:
        ids = sorted(scope)
        query = query.where(or_(Shipment.origin_id.in_(ids), Shipment.destination_id.in_(ids)))
    state = request.args.get("state")
    if state is not None:
        if state not in STATES:
            raise bad_input("invalid_parameter", _("state must be one of: %(states)s.", states=", ".join(STATES)),
                            "state")
        query = query.where(Shipment.state == state)
    return jsonify(paginate(db.session, query, Shipment.id, shipment_json))


# --- Transport details --------------------------------------------------------------------------------

@api.endpoint("/shipments/<int:shipment_id>", methods=["PATCH"], roles=SHIPPERS,
              summary="Before dispatch (draft or picked), fill in or correct how the shipment travels: its planned "
                      "date, vehicle, driver and cold box, as the manifest prints them. Errors name the field.",
              request_schema=DETAILS_REQUEST, response_schema=SHIPMENT_SCHEMA)
def update_details(shipment_id):
    shipment = acting_at(visible_shipment(shipment_id), "origin")
    fields = Fields(json_body(), DETAILS_REQUEST["properties"])
    details = {"planned_date": fields.date("planned_date"), "vehicle": fields.text("vehicle", longest=MAX_TEXT),
               "driver": fields.text("driver", longest=MAX_DRIVER),
               "cold_box": fields.text("cold_box", longest=MAX_TEXT)}
    if all(value is None for value in details.values()):
        raise bad_input("nothing_to_change", _("Give at least one of: %(fields)s.",
                                               fields=", ".join(DETAILS_REQUEST["properties"])), None)
    services.update_transport_details(shipment, **details, user=current_user)
    return done(shipment_json(shipment))


# --- Changing the pick --------------------------------------------------------------------------------

@api.endpoint("/shipments/<int:shipment_id>/repick", methods=["POST"], roles=SHIPPERS,
              summary="Before dispatch, put the packs actually taken on the shipment: `doses` of the scanned lot "
                      "replace the same vaccine's latest-expiring lots; each vaccine's doses stay the same. "
                      "Errors name `code` or `lot_id` for the lot, `doses` for the quantity.",
              request_schema=REPICK_REQUEST, response_schema=SHIPMENT_SCHEMA)
def repick(shipment_id):
    shipment = acting_at(visible_shipment(shipment_id), "origin")
    fields = Fields(json_body(), REPICK_REQUEST["properties"])
    code, lot_id = fields.text("code", longest=lots.MAX_SCAN), fields.integer("lot_id")
    doses = fields.integer("doses", required=True)
    if (code is None) == (lot_id is None):
        raise bad_input("code_or_lot", _("Give either code or lot_id."), "code")
    lot = lots.lot_from_scan(code) if code is not None else lots.get_lot(lot_id)
    try:
        services.repick(shipment, lot, doses, user=current_user)
    except ServiceError as error:
        if code is not None and error.field == "lot_id":
            error.field = "code"  # name what the caller sent
        raise
    return done(shipment_json(shipment))


# --- Dispatch, receipt, cancel ------------------------------------------------------------------------

@api.endpoint("/shipments/<int:shipment_id>/dispatch", methods=["POST"], roles=SHIPPERS,
              summary="Send a picked shipment: its doses move from the origin into transit, all or none",
              response_schema=SHIPMENT_SCHEMA)
def dispatch(shipment_id):
    shipment = acting_at(visible_shipment(shipment_id), "origin")
    services.dispatch(shipment, user=current_user)
    return done(shipment_json(shipment))


@api.endpoint("/shipments/<int:shipment_id>/cancel", methods=["POST"], roles=SHIPPERS,
              summary="Cancel a shipment that has not been dispatched (nothing had moved)",
              response_schema=SHIPMENT_SCHEMA)
def cancel(shipment_id):
    shipment = acting_at(visible_shipment(shipment_id), "origin")
    services.cancel(shipment, user=current_user)
    return done(shipment_json(shipment))


@api.endpoint("/shipments/<int:shipment_id>/receive", methods=["POST"], roles=RECEIVERS,
              summary="Receive a dispatched shipment at one of your locations: accepted doses go into stock, "
                      "rejected ones to wastage with their reason; after a temperature excursion the lots are "
                      "held at the destination." + ERRORS_NOTE,
              request_schema=RECEIVE_REQUEST, response_schema=SHIPMENT_SCHEMA)
def receive(shipment_id):
    shipment = acting_at(visible_shipment(shipment_id), "destination")
    fields = Fields(json_body(), RECEIVE_REQUEST["properties"])
    results = receipt_results(shipment, fields.array("lines"))
    services.receive(shipment, results, user=current_user)
    return done(shipment_json(shipment))


def receipt_results(shipment, value):
    """``{line id: LineReceipt}`` from the request's lines, each checked against its shipment line; errors
    name the request's line (``lines[i].accepted``)."""
    by_id = {line.id: line for line in shipment.lines}
    by_lot = {}
    for line in shipment.lines:
        by_lot.setdefault(line.lot_id, []).append(line)
    if not value:
        raise bad_input("no_lines", _("Report every line of the shipment."), "lines")
    results = {}
    for index, data in enumerate(value):
        prefix = f"lines[{index}]."
        fields = Fields(data, RECEIPT_LINE["properties"], prefix)
        line_id, lot_id = fields.integer("line_id"), fields.integer("lot_id")
        if (line_id is None) == (lot_id is None):
            raise bad_input("line_or_lot", _("Give either line_id or lot_id."), prefix + "line_id")
        if line_id is not None:
            line = by_id.get(line_id)
            if line is None:
                raise ApiError(422, "unknown_line", _("Line %(n)d: this shipment has no line %(id)d.",
                                                      n=index + 1, id=line_id), prefix + "line_id")
        else:
            matching = by_lot.get(lot_id, [])
            if not matching:
                raise ApiError(422, "unknown_line", _("Line %(n)d: lot %(id)d is not in this shipment.",
                                                      n=index + 1, id=lot_id), prefix + "lot_id")
            if len(matching) > 1:
                raise ApiError(422, "ambiguous_lot", _("Line %(n)d: several lines carry lot %(id)d; give line_id.",
                                                       n=index + 1, id=lot_id), prefix + "lot_id")
            line = matching[0]
        if line.id in results:
            raise ApiError(422, "duplicate_line", _("Line %(n)d: this shipment line is already reported.",
                                                    n=index + 1), prefix + ("line_id" if line_id else "lot_id"))
        result = services.LineReceipt(accepted=fields.integer("accepted", required=True),
                                      rejected=fields.integer("rejected") or 0,
                                      reason=fields.text("reason"), vvm_stage=fields.integer("vvm_stage"))
        try:
            services.check_line_receipt(line, result)
        except ServiceError as error:
            raise stock.LineError(index, error) from None
        results[line.id] = result
    return results


# --- Temperatures -------------------------------------------------------------------------------------

@api.endpoint("/shipments/<int:shipment_id>/close", methods=["POST"], roles=SHIPPERS,
              summary="Close a received shipment (nothing more will be recorded on it)",
              response_schema=SHIPMENT_SCHEMA)
def close(shipment_id):
    shipment = acting_at(visible_shipment(shipment_id), "origin")
    services.close(shipment, user=current_user)
    return done(shipment_json(shipment))


@api.endpoint("/shipments/<int:shipment_id>/temperatures", methods=["POST"], roles=LOGGERS,
              summary="Upload a shipment's data-logger readings (replacing earlier ones), from either end: the "
                      "logger's export file as multipart field `file` (CSV, or a format an installed plugin reads "
                      "through the parse_temperature_log hook), or JSON readings; returns the excursion report. An "
                      "excursion found after the receipt holds the received lots at the destination.",
              request_schema=READINGS_REQUEST, response_schema=REPORT_SCHEMA)
def temperatures(shipment_id):
    shipment = visible_shipment(shipment_id)
    if request.is_json:
        readings = json_readings(Fields(json_body(), READINGS_REQUEST["properties"]).array("readings"))
        report = services.record_temperatures(shipment, readings, user=current_user)
    else:
        upload = request.files.get("file")
        if upload is None:
            raise bad_input("required", _("Upload the data-logger file as field file, or send JSON readings."),
                            "file")
        report = services.record_logger_file(shipment, upload.read(), upload.filename, user=current_user)
    return done(report_json(report))


def json_readings(value):
    if len(value) > temperature.MAX_READINGS:
        raise bad_input("too_many_readings", _("There are more than %(limit)s readings.",
                                               limit=temperature.MAX_READINGS), "readings")
    readings = []
    for index, data in enumerate(value):
        prefix = f"readings[{index}]."
        fields = Fields(data, READING["properties"], prefix)
        at = fields.moment("at", required=True)
        celsius = fields._value("celsius", True)
        if isinstance(celsius, bool) or not isinstance(celsius, int | float) or not math.isfinite(celsius):
            raise bad_input("not_a_number", _("Give the temperature as a JSON number."), prefix + "celsius")
        readings.append(temperature.Reading(at, float(celsius)))
    return readings


# --- Manifest -----------------------------------------------------------------------------------------

@api.endpoint("/shipments/<int:shipment_id>/manifest.pdf",
              parameters=[{"name": "lang", "in": "query", "schema": {"type": "string", "enum": list(LANGUAGES)},
                           "description": "Default: your language (Vietnamese otherwise)."}],
              summary="The transport manifest of a picked shipment, as a PDF")
def manifest(shipment_id):
    shipment = visible_shipment(shipment_id)
    lang = request.args.get("lang")
    if lang is None:
        locale = get_locale()
        lang = locale.language if locale is not None and locale.language in LANGUAGES else "vi"
    pdf = manifests.manifest_bytes(shipment, lang)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{shipment.number}.pdf"'})
