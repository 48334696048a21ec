"""The core's JSON endpoints: who am I, users and the audit log (admins), and the OpenAPI document."""
from flask import current_app, jsonify
from flask_login import current_user
from sqlalchemy import select

from core.api import PAGINATION_PARAMETERS, ApiBlueprint, page_schema, paginate
from core.db import db
from core.models import AuditEntry, User
from core.roles import ADMIN

api = ApiBlueprint("core_api", __name__)

USER_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "username": {"type": "string"},
                   "full_name": {"type": "string"}, "role": {"type": "string"},
                   "locale": {"type": ["string", "null"]}, "active": {"type": "boolean"}},
}
AUDIT_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                   "actor": {"type": "string"}, "action": {"type": "string"},
                   "object_type": {"type": "string"}, "object_id": {"type": ["string", "null"]},
                   "details": {"type": "object"}},
}


def user_json(user):
    return {"id": user.id, "username": user.username, "full_name": user.full_name, "role": user.role,
            "locale": user.locale, "active": user.active}


def audit_json(entry):
    return {"id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
            "object_type": entry.object_type, "object_id": entry.object_id, "details": entry.details}


@api.endpoint("/openapi.json", public=True, summary="This API's OpenAPI 3.1 document")
def openapi():
    return jsonify(current_app.extensions["vaxchain"].openapi)


@api.endpoint("/me", summary="The user this token or session belongs to", response_schema=USER_SCHEMA)
def me():
    return jsonify(user_json(current_user))


@api.endpoint("/users", roles=[ADMIN], summary="Users, newest first", parameters=PAGINATION_PARAMETERS,
              response_schema=page_schema(USER_SCHEMA))
def users():
    return jsonify(paginate(db.session, select(User), User.id, user_json))


@api.endpoint("/audit", roles=[ADMIN], summary="The audit log, newest first",
              parameters=PAGINATION_PARAMETERS, response_schema=page_schema(AUDIT_SCHEMA))
def audit_log():
    return jsonify(paginate(db.session, select(AuditEntry), AuditEntry.id, audit_json))
