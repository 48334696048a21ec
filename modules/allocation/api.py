"""JSON endpoints of allocation: plans (preview, approve into shipments, cancel) and target populations.

Scope (``core.access.location_scope``): the source and every destination must be among the caller's
locations; any other code is answered like an unknown one (404 ``unknown_location`` naming the field,
``destinations[2]``). A plan is visible to those whose locations hold its source, else 404 ``unknown_plan``.
Input is read strictly (``modules.warehouse.api.Fields``): errors are 400 naming the field.
"""
from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import roles
from core.access import EVERYWHERE, location_scope
from core.api import PAGINATION_PARAMETERS, ApiBlueprint, json_body, page_schema, paginate
from core.db import db
from core.openapi import answers_created
from core.service_errors import NotFoundError
from modules.allocation import services
from modules.allocation.models import STATES, STRATEGIES, Plan, PlanLine, Target
from modules.allocation.services import MAX_DESTINATIONS, MAX_LEAD_DAYS, MAX_PACK_VIALS, Destination
from modules.lots import services as lots
from modules.transport.api import SHIPMENT_SCHEMA, moment, shipment_json
from modules.warehouse import locations
from modules.warehouse.api import INTEGER, STRING, Fields, bad_input, created, nullable
from modules.warehouse.models import AdminUnit

api = ApiBlueprint("allocation", __name__)

PLANNERS = (roles.LOGISTICS_OFFICER, roles.INTEGRATOR)
READERS = (roles.LOGISTICS_OFFICER, roles.WAREHOUSE_MANAGER, roles.VIEWER, roles.INTEGRATOR)
MAX_NOTE = 500


def visible_plan(plan_id):
    plan = db.session.get(Plan, plan_id)
    scope = location_scope(current_user)
    if plan is None or (scope is not EVERYWHERE and plan.source_id not in scope):
        raise NotFoundError(_("No allocation plan with id %(id)s.", id=plan_id), None, "unknown_plan")
    return plan


# --- Output -------------------------------------------------------------------------------------------

def plan_json(plan):
    per_vial = plan.presentation.doses_per_vial
    return {"id": plan.id, "state": plan.state, "vaccine": plan.presentation.code, "source": plan.source.code,
            "doses": plan.total_doses, "strategy": plan.strategy, "lead_days": plan.lead_days,
            "pack_vials": plan.pack_vials, "unit_doses": plan.unit_doses, "usable_doses": plan.usable_doses,
            "allocated_doses": plan.allocated_doses, "shortage": plan.shortage, "note": plan.note,
            "created_at": moment(plan.created_at), "approved_at": moment(plan.approved_at),
            "lines": [{"destination": line.destination.code, "name": line.destination.name, "weight": line.weight,
                       "requested_doses": line.requested_doses, "allocated_doses": line.allocated_doses,
                       "vials": line.allocated_doses // per_vial, "shortage": line.shortage,
                       "shipment_id": line.shipment_id} for line in plan.lines]}


# --- Schemas ------------------------------------------------------------------------------------------

LINE_SCHEMA = {"type": "object", "properties": {
    "destination": STRING, "name": STRING,
    "weight": {"type": "integer", "description": "The target population or remaining demand behind the share "
                                                 "(the doses asked for, by hand)."},
    "requested_doses": INTEGER, "allocated_doses": INTEGER, "vials": INTEGER,
    "shortage": {"type": "integer", "description": "Requested but not allocated for want of usable stock."},
    "shipment_id": nullable("integer")}}
PLAN_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "state": {"type": "string", "enum": list(STATES)}, "vaccine": STRING, "source": STRING,
    "doses": INTEGER, "strategy": {"type": "string", "enum": list(STRATEGIES)}, "lead_days": INTEGER,
    "pack_vials": INTEGER, "unit_doses": {"type": "integer", "description": "Shares are multiples of this."},
    "usable_doses": {"type": "integer", "description": "Sendable doses at the source when the plan was made."},
    "allocated_doses": INTEGER, "shortage": INTEGER, "note": STRING,
    "created_at": {"type": "string", "format": "date-time"},
    "approved_at": {"type": ["string", "null"], "format": "date-time"},
    "lines": {"type": "array", "items": LINE_SCHEMA}}}
DESTINATION = {"oneOf": [
    {"type": "string", "description": "A location code (population and demand strategies)."},
    {"type": "object", "required": ["location"], "additionalProperties": False,
     "properties": {"location": STRING, "doses": {"type": "integer", "minimum": 1,
                                                   "description": "Required by the manual strategy."}}}]}
CREATE_REQUEST = {"type": "object", "required": ["vaccine", "source", "doses", "strategy", "destinations"],
                  "additionalProperties": False, "properties": {
                      "vaccine": {"type": "string", "description": "A vaccine code."},
                      "source": {"type": "string", "description": "One of your stores."},
                      "doses": {"type": "integer", "minimum": 1},
                      "strategy": {"type": "string", "enum": list(STRATEGIES)},
                      "destinations": {"type": "array", "minItems": 1, "maxItems": MAX_DESTINATIONS,
                                       "items": DESTINATION, "description": "Your locations, each once."},
                      "lead_days": {"type": "integer", "minimum": 0, "maximum": MAX_LEAD_DAYS,
                                    "description": "Lots expiring sooner than this are not sent (default 30)."},
                      "pack_vials": {"type": "integer", "minimum": 1, "maximum": MAX_PACK_VIALS,
                                     "description": "Round shares to packs of this many vials (default 1: "
                                                    "whole vials)."},
                      "note": {"type": "string", "maxLength": MAX_NOTE}}}
APPROVAL_SCHEMA = {"type": "object", "properties": {
    "plan": PLAN_SCHEMA, "shipments": {"type": "array", "items": SHIPMENT_SCHEMA}}}
TARGET_SCHEMA = {"type": "object", "properties": {"admin_unit": STRING, "name": STRING, "population": INTEGER}}
TARGET_REQUEST = {"type": "object", "required": ["population"], "additionalProperties": False,
                  "properties": {"population": {"type": "integer", "minimum": 0}}}
CODE_PARAMETER = {"name": "code", "in": "path", "required": True, "schema": STRING,
                  "description": "An administrative unit's code."}


# --- Plans --------------------------------------------------------------------------------------------

@api.endpoint("/allocations", methods=["POST"], roles=PLANNERS, request_schema=CREATE_REQUEST,
              response_schema=PLAN_SCHEMA,
              summary="Preview an allocation: a draft plan with each destination's share in whole vials (or "
                      "packs), within the usable stock at the source, shortages shown. Nothing moves until "
                      "it is approved. Errors name the field, `destinations[i]` for a destination.")
@answers_created
def create():
    fields = Fields(json_body(), CREATE_REQUEST["properties"])
    presentation = lots.presentation_by_code(fields.text("vaccine", required=True))
    source = fields.location("source")
    doses = fields.integer("doses", required=True)
    strategy = fields.text("strategy", required=True)
    if strategy not in STRATEGIES:
        raise bad_input("unknown_strategy", _("strategy must be one of: %(strategies)s.",
                                              strategies=", ".join(STRATEGIES)), "strategy")
    destinations = destination_list(fields.array("destinations"))
    lead_days = fields.integer("lead_days")
    pack_vials = fields.integer("pack_vials")
    plan = services.create_plan(
        presentation, source, doses, strategy, destinations, lead_days=30 if lead_days is None else lead_days,
        pack_vials=1 if pack_vials is None else pack_vials, note=fields.text("note", longest=MAX_NOTE) or "",
        user=current_user)
    return created(plan_json(plan))


def destination_list(value):
    if len(value) > MAX_DESTINATIONS:
        raise bad_input("too_many_destinations", _("At most %(n)d destinations in one plan.", n=MAX_DESTINATIONS),
                        "destinations")
    scope = location_scope(current_user)
    destinations = []
    for index, item in enumerate(value):
        field = f"destinations[{index}]"
        if isinstance(item, str):
            destinations.append(Destination(locations.by_code(item, scope, field)))
            continue
        item_fields = Fields(item, DESTINATION["oneOf"][1]["properties"], field + ".")
        location = locations.by_code(item_fields.text("location", required=True), scope, field + ".location")
        destinations.append(Destination(location, item_fields.integer("doses")))
    return destinations


@api.endpoint("/allocations", parameters=PAGINATION_PARAMETERS, roles=READERS, response_schema=page_schema(PLAN_SCHEMA),
              summary="Allocation plans from your stores, newest first")
def plan_list():
    scope = location_scope(current_user)
    query = select(Plan).options(selectinload(Plan.source), selectinload(Plan.presentation),
                                 selectinload(Plan.lines).selectinload(PlanLine.destination))
    if scope is not EVERYWHERE:
        query = query.where(Plan.source_id.in_(sorted(scope)))
    return jsonify(paginate(db.session, query, Plan.id, plan_json))


@api.endpoint("/allocations/<int:plan_id>", roles=READERS, response_schema=PLAN_SCHEMA,
              summary="An allocation plan from one of your stores")
def show(plan_id):
    return jsonify(plan_json(visible_plan(plan_id)))


@api.endpoint("/allocations/<int:plan_id>/approve", methods=["POST"], roles=PLANNERS,
              response_schema=APPROVAL_SCHEMA,
              summary="Approve a draft plan: one picked shipment per destination that gets doses (earliest "
                      "expiry first, no lot expiring within the plan's lead days), all or none")
def approve(plan_id):
    plan = visible_plan(plan_id)
    shipments = services.approve(plan, user=current_user)
    payload = {"plan": plan_json(plan), "shipments": [shipment_json(shipment) for shipment in shipments]}
    db.session.commit()
    return jsonify(payload)


@api.endpoint("/allocations/<int:plan_id>/cancel", methods=["POST"], roles=PLANNERS,
              response_schema=PLAN_SCHEMA, summary="Cancel a draft plan (nothing had moved)")
def cancel(plan_id):
    plan = services.cancel(visible_plan(plan_id), user=current_user)
    payload = plan_json(plan)
    db.session.commit()
    return jsonify(payload)


# --- Target populations -------------------------------------------------------------------------------

def target_json(row):
    target, name = row
    return {"admin_unit": target.admin_unit_code, "name": name, "population": target.population}


@api.endpoint("/targets", roles=READERS, response_schema={"type": "object", "properties": {
    "items": {"type": "array", "items": TARGET_SCHEMA}}},
              summary="Every target population recorded, by administrative unit code")
def target_list():
    rows = db.session.execute(select(Target, AdminUnit.name).join(AdminUnit, AdminUnit.code == Target.admin_unit_code)
                              .order_by(Target.admin_unit_code))
    return jsonify({"items": [target_json(row) for row in rows]})


@api.endpoint("/targets/<code>", methods=["PUT"], roles=PLANNERS, parameters=[CODE_PARAMETER],
              request_schema=TARGET_REQUEST, response_schema=TARGET_SCHEMA,
              summary="Set the target population of an administrative unit: one of your locations' units or a "
                      "unit below them (any other: 404 unknown_admin_unit)")
def target_set(code):
    allowed = services.units_within(location_scope(current_user))
    unit = db.session.get(AdminUnit, code)
    if unit is None or (allowed is not None and code not in allowed):
        raise NotFoundError(_("No administrative unit has the code %(code)s.", code=code), "code",
                            "unknown_admin_unit")
    population = Fields(json_body(), TARGET_REQUEST["properties"]).integer("population", required=True)
    target = services.set_target(code, population, user=current_user, allowed=allowed)
    payload = target_json((target, unit.name))
    db.session.commit()
    return jsonify(payload)
