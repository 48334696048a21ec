"""JSON endpoints that change a person's record: edit them (``PATCH /persons/<id>``), fold a duplicate record
into theirs (``POST /persons/<id>/merge``) and cancel a wrongly recorded injection
(``POST /injections/<id>/correct``).

On the injection module's ``api`` blueprint, for registrars (site staff, integrators). People belong to no
location, injections do: one given at a site outside the caller's locations is answered like a wrong id (404
``unknown_injection``). Input is read strictly (``Fields``): 400 naming the field; the services' refusals
answer 422 (a field breaking a rule) or 409 (a duplicate, a refused merge, a second correction), naming it too.
"""
from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from core.access import location_scope
from core.api import json_body
from core.db import db
from core.openapi import answers_created
from core.service_errors import ConflictError, NotFoundError
from modules.injection import people, services
from modules.injection.api import PERSON_REQUEST, PERSON_SCHEMA, REGISTRARS, api, person_json, visible_person
from modules.injection.models import Injection, Person
from modules.warehouse.api import BOOLEAN, DAY, INTEGER, MAX_NOTE, STRING, Fields

MAX_ID = 2**31 - 1  # larger ids cannot be in an integer column: unknown, not a database error
# The API's names of a person's text fields, and the PersonData attributes they fill.
TEXT_FIELDS = {"full_name": "full_name", "gender": "gender", "national_id": "national_id", "phone": "phone",
               "insurance_number": "insurance_number", "ethnicity": "ethnicity", "nationality": "nationality",
               "admin_unit": "admin_unit_code", "address": "address"}

PERSON_PATCH = {key: value for key, value in PERSON_REQUEST.items() if key != "required"}
MERGE_REQUEST = {"type": "object", "required": ["duplicate_id"], "additionalProperties": False, "properties": {
    "duplicate_id": {"type": "integer", "description": "The duplicate record, folded into this one."}}}
CORRECT_REQUEST = {"type": "object", "required": ["reason"], "additionalProperties": False, "properties": {
    "reason": {"type": "string", "minLength": 3, "maxLength": MAX_NOTE}}}
CORRECTION_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "reverses_id": INTEGER, "person_id": INTEGER, "dose_number": INTEGER, "date": DAY,
    "vaccine": STRING, "lot": STRING, "site": STRING, "source": {"type": "string", "enum": ["correction"]},
    "reason": STRING, "corrected_at": {"type": "string", "format": "date-time"},
    "returned_to_stock": {**BOOLEAN, "description": "True for a live injection: its dose went back to the "
                                                    "site's stock."}}}


# --- Editing and merging ------------------------------------------------------------------------------

@api.endpoint("/persons/<int:person_id>", methods=["PATCH"], roles=REGISTRARS, request_schema=PERSON_PATCH,
              response_schema=PERSON_SCHEMA,
              summary="Edit a person: the fields given replace what is recorded (absent or null: unchanged; \"\" "
                      "empties an optional one), with the checks of a new person. A change that would make them "
                      "a duplicate of someone else is refused (409 `duplicate_person`): merge instead.")
def person_update(person_id):
    person = visible_person(person_id)
    data = patched(person, Fields(json_body(), PERSON_PATCH["properties"]))
    people.update_person(person, data, user=current_user)
    return committed(person_json(person))


def patched(person, fields):
    """The person as recorded, with the fields given replaced."""
    given = {attribute: fields.text(name) for name, attribute in TEXT_FIELDS.items()}
    values = {attribute: getattr(person, attribute) if value is None else value for attribute, value in given.items()}
    return people.PersonData(date_of_birth=fields.date("date_of_birth") or person.date_of_birth, **values)


@api.endpoint("/persons/<int:person_id>/merge", methods=["POST"], roles=REGISTRARS, request_schema=MERGE_REQUEST,
              response_schema=PERSON_SCHEMA,
              summary="Merge the duplicate record `duplicate_id` into this person's: its doses count here from now "
                      "on and lookups of it lead here. Refused (409) for two different ID numbers or a record "
                      "already merged. Answers the person kept.")
def person_merge(person_id):
    duplicate_id = Fields(json_body(), MERGE_REQUEST["properties"]).integer("duplicate_id", required=True)
    keep, duplicate = record(person_id, None), record(duplicate_id, "duplicate_id")  # both within reach
    people.merge(keep, duplicate, user=current_user)
    return committed(person_json(keep))


def record(person_id, field):
    """The person recorded with this id, not followed to the record it may have been merged into."""
    person = db.session.get(Person, person_id) if 0 < person_id <= MAX_ID else None
    if person is None or not services.is_visible(person, location_scope(current_user), current_user, registrar=True):
        raise NotFoundError(_("No person with id %(id)s.", id=person_id), field, "unknown_person")
    return person


def committed(payload):
    """Commit, answering 409 if a concurrent change took the same ID number first; then ``payload``."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConflictError(_("Another change to these records was saved at the same moment: check them before "
                              "trying again."), "national_id", "concurrent_change") from None
    return jsonify(payload)


# --- Correcting ---------------------------------------------------------------------------------------

@api.endpoint("/injections/<bigint:injection_id>/correct", methods=["POST"], roles=REGISTRARS,
              request_schema=CORRECT_REQUEST, response_schema=CORRECTION_SCHEMA,
              summary="Cancel a wrongly recorded injection given at one of your sites, with the reason: a "
                      "correction record reverses it, and a live injection's dose goes back to the site's stock. "
                      "Answers 201 with the correction; 409 `already_corrected` the second time.")
@answers_created
def injection_correct(injection_id):
    reason = Fields(json_body(), CORRECT_REQUEST["properties"]).text("reason", required=True, longest=MAX_NOTE)
    injection = injection_in_scope(injection_id)
    try:
        correction = services.correct(injection, reason, user=current_user)
        payload = correction_json(injection, correction)
        db.session.commit()
    except IntegrityError:  # a concurrent request corrected it first: the database kept that one
        db.session.rollback()
        raise ConflictError(_("This injection has already been corrected."), "injection",
                            "already_corrected") from None
    response = jsonify(payload)
    response.status_code = 201
    return response


def injection_in_scope(injection_id):
    injection = db.session.get(Injection, injection_id) if 0 < injection_id <= MAX_ID else None
    if injection is None or injection.site_id not in location_scope(current_user):
        raise NotFoundError(_("No injection with id %(id)s.", id=injection_id), None, "unknown_injection")
    return injection


def correction_json(injection, correction):
    return {"id": correction.id, "reverses_id": injection.id, "person_id": injection.person_id,
            "dose_number": injection.dose_number, "date": injection.injected_on.isoformat(),
            "vaccine": injection.presentation.code, "lot": injection.lot.lot_number, "site": injection.site.code,
            "source": correction.source, "reason": correction.note, "corrected_at": correction.injected_at.isoformat(),
            "returned_to_stock": injection.move_id is not None}
