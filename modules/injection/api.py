"""JSON endpoints of injection: registering an injection (with the person found or created), people and
their certificates.

``POST /injections`` takes an optional ``Idempotency-Key`` header: the same key answers the same single
record with the same body, however often (and however concurrently) it is sent. The site must be one of
the caller's locations (404 ``unknown_location`` otherwise). Input is read strictly
(``modules.warehouse.api.Fields``): 400 naming the field; business rules answer 409/422 naming it too.
"""

from flask import Response, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from core import roles
from core.access import location_scope
from core.api import ApiBlueprint, ApiError, cursor_text, encode_cursor, json_body
from core.db import Prepared, as_loaded, column_keys, db, entity_columns, lock_for_transaction
from core.openapi import answers_created
from core.service_errors import ConflictError, NotFoundError, ServiceError
from modules.injection import certificates, identity, people, services, signing
from modules.injection.models import GENDERS, Injection
from modules.lots import services as lots
from modules.lots.models import Lot, Presentation
from modules.warehouse.api import BOOLEAN, DAY, INTEGER, STRING, Fields, bad_input, nullable, retried

api = ApiBlueprint("injection", __name__)

REGISTRARS = (roles.SITE_STAFF, roles.INTEGRATOR)
LOOKERS = (roles.SITE_STAFF, roles.WAREHOUSE_MANAGER, roles.VIEWER, roles.INTEGRATOR)
MAX_KEY = 80


# --- Schemas ------------------------------------------------------------------------------------------

PERSON_REQUEST = {"type": "object", "required": ["full_name", "gender", "date_of_birth"],
                  "additionalProperties": False, "properties": {
                      "national_id": {"type": "string", "description": "CCCD (12 digits) or CMND (9)."},
                      "full_name": {"type": "string", "maxLength": 120}, "gender": {"type": "string",
                                                                                   "enum": list(GENDERS)},
                      "date_of_birth": DAY, "phone": {"type": "string", "description": "Normalised to 0xxxxxxxxx."},
                      "insurance_number": STRING, "ethnicity": STRING, "nationality": STRING,
                      "admin_unit": {"type": "string", "description": "Province, district or ward code."},
                      "address": STRING}}
INJECTION_REQUEST = {"type": "object", "required": ["person", "vaccine", "site"], "additionalProperties": False,
                     "properties": {
                         "person": PERSON_REQUEST,
                         "vaccine": {"type": "string", "description": "A vaccine code."},
                         "lot_id": INTEGER, "lot": {"type": "string", "description": "The lot number (give this "
                                                                                      "or lot_id)."},
                         "site": {"type": "string", "description": "One of your vaccination sites."},
                         "injected_at": {"type": "string", "format": "date-time",
                                         "description": "ISO 8601 with its offset; default: now."},
                         "dose_number": {"type": "integer", "minimum": 1,
                                         "description": "Checked against the person's history when given."}}}
CERTIFICATE = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["none", "partial", "complete"]},
    "color": {"type": ["string", "null"], "enum": ["yellow", "green", None]}}}
INJECTION_RESPONSE = {"type": "object", "properties": {
    "id": INTEGER, "person_id": INTEGER, "dose_number": INTEGER, "certificate": CERTIFICATE,
    "next_dose_due": {"type": ["string", "null"], "format": "date"}}}
MASKED = ("Whole for site staff, integrators and admins, on the record of someone dosed at their locations or "
          "recorded by them; otherwise its last 4 digits (\"••••••••3456\"): Decree 13/2023 on personal data "
          "protection.")
PERSON_SCHEMA = {"type": "object", "properties": {
    "id": INTEGER, "national_id": {**nullable("string"), "description": MASKED}, "full_name": STRING,
    "gender": STRING, "date_of_birth": DAY, "phone": {**nullable("string"), "description": MASKED},
    "admin_unit": nullable("string"), "address": STRING,
    "doses": {"type": "array", "items": {"type": "object", "properties": {
        "id": INTEGER, "dose_number": INTEGER, "date": DAY, "vaccine": STRING, "lot": STRING, "site": STRING}}},
    "certificate": CERTIFICATE, "next_dose_due": {"type": ["string", "null"], "format": "date"}}}


# --- Output -------------------------------------------------------------------------------------------

def injection_json(injection, certificate):
    return {"id": injection.id, "person_id": injection.person_id, "dose_number": injection.dose_number,
            "certificate": {"status": certificate.status, "color": certificate.color},
            "next_dose_due": certificate.next_dose_due.isoformat() if certificate.next_dose_due else None}


def person_json(person):
    """The person; ID and phone numbers whole only for those who may read them (``services.reads_whole_numbers``),
    else by their last digits."""
    history = services.history(person)
    certificate = services.certificate_of(person)
    whole = services.reads_whole_numbers(person, current_user, location_scope(current_user),
                                         registrar=current_user.has_role(*REGISTRARS))
    return {"id": person.id, "national_id": identity.shown(person.national_id, whole) or None,
            "full_name": person.full_name, "gender": person.gender, "date_of_birth": person.date_of_birth.isoformat(),
            "phone": identity.shown(person.phone, whole) or None,
            "admin_unit": person.admin_unit_code, "address": person.address,
            "doses": [{"id": dose.id, "dose_number": dose.dose_number, "date": dose.injected_on.isoformat(),
                       "vaccine": dose.presentation.code, "lot": dose.lot.lot_number, "site": dose.site.code}
                      for dose in history],
            "certificate": {"status": certificate.status, "color": certificate.color},
            "next_dose_due": certificate.next_dose_due.isoformat() if certificate.next_dose_due else None}


# --- Registering --------------------------------------------------------------------------------------

@api.endpoint("/injections", methods=["POST"], roles=REGISTRARS, request_schema=INJECTION_REQUEST,
              response_schema=INJECTION_RESPONSE, parameters=[{
                  "name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": MAX_KEY},
                  "description": "Send the same key again (after a timeout, say) to get the same single record."}],
              summary="Register a live injection at one of your sites: the person is found (by ID, or by name, "
                      "birth date and phone) or created, the dose rules are checked and one dose is taken from the "
                      "site's stock, all or nothing. Errors name the field, `person.national_id` for the person.")
@retried
@answers_created
def register():
    key = idempotency_key()
    for attempt in (1, 2):
        if key is not None:  # the same key sent twice at once: the second waits, then finds the first's record
            lock_for_transaction(f"injection.idempotency:{key}")
        earlier = by_key(key)
        if earlier is not None:
            return replay(earlier)
        try:
            payload = register_once(key)
            db.session.commit()
        except IntegrityError:
            # A concurrent request committed the same key, or created the same new person, first (seen
            # when the new person is written, on PostgreSQL, or at the commit): start again, and find
            # what it wrote.
            db.session.rollback()
            if attempt == 2:
                raise ConflictError(_("Another registration for this person was saved at the same moment: check "
                                      "their record before trying again."), "person",
                                    "concurrent_registration") from None
            continue
        response = jsonify(payload)
        response.status_code = 201
        return response


def register_once(key):
    fields = Fields(json_body(), INJECTION_REQUEST["properties"])
    site = fields.location("site")
    lot = lot_for(fields)
    person = person_for(fields)  # last: a new person is written with the dose, not before
    injection = services.register(person, lot, site, injected_at=fields.moment("injected_at"),
                                  dose_number=fields.integer("dose_number"), user=current_user, idempotency_key=key)
    return injection_json(injection, injection.certificate)


def by_key(key):
    return None if key is None else db.session.scalar(select(Injection).where(Injection.idempotency_key == key))


def idempotency_key():
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise bad_input("invalid_idempotency_key", _("The Idempotency-Key header must be 1 to %(n)d printable "
                                                     "characters.", n=MAX_KEY), "Idempotency-Key")
    return key


def replay(injection):
    """The answer first given for ``injection`` (its person's certificate as of that registration)."""
    if injection.created_by != current_user.id:
        raise ApiError(422, "idempotency_key_reused", _("This Idempotency-Key was used by another user."),
                       "Idempotency-Key")
    doses = [dose for dose in services.history(injection.person) if dose.id <= injection.id]
    response = jsonify(injection_json(injection, services.rules.certificate(services.doses_of(doses))))
    response.status_code = 201
    return response


def person_for(fields):
    data = fields._value("person", True)
    person_fields = Fields(data, PERSON_REQUEST["properties"], "person.")
    details = people.PersonData(
        full_name=person_fields.text("full_name", required=True), gender=person_fields.text("gender", required=True),
        date_of_birth=person_fields.date("date_of_birth"), national_id=person_fields.text("national_id"),
        phone=person_fields.text("phone"), insurance_number=person_fields.text("insurance_number"),
        ethnicity=person_fields.text("ethnicity") or "", nationality=person_fields.text("nationality") or "",
        admin_unit_code=person_fields.text("admin_unit"), address=person_fields.text("address") or "")
    if details.date_of_birth is None:
        raise bad_input("required", _("This field is required."), "person.date_of_birth")
    try:
        return people.find_or_create(details, user=current_user)
    except ServiceError as error:
        error.field = f"person.{error.field}" if error.field else "person"
        raise


LOT_BY_NUMBER = Prepared(select(*entity_columns(Presentation), *entity_columns(Lot)).join(Lot.presentation)
                         .where(Presentation.code == bindparam("vaccine"), Lot.lot_number == bindparam("number")))


def lot_for(fields):
    """The lot named by ``lot_id`` or ``lot`` (one query with its vaccine), which must be of the vaccine given."""
    code = fields.text("vaccine", required=True).strip()
    lot_id, number = fields.integer("lot_id"), fields.text("lot")
    if (lot_id is None) == (number is None):
        raise bad_input("lot_or_lot_id", _("Give either lot_id or lot."), "lot_id")
    if lot_id is not None:
        lot = lots.get_lot(lot_id)
    else:
        lot = loaded_lot(LOT_BY_NUMBER.first({"vaccine": code, "number": number.strip()}))
        if lot is None:
            presentation = lots.presentation_by_code(code)
            raise NotFoundError(_("Lot %(lot)s of %(vaccine)s is not registered.", lot=number,
                                  vaccine=presentation.name), "lot", "unknown_lot")
    if lot.presentation.code != code:
        presentation = lots.presentation_by_code(code)
        raise ApiError(422, "lot_of_another_vaccine", _("Lot %(lot)s is not %(vaccine)s.", lot=lot.lot_number,
                                                        vaccine=presentation.name), "lot_id")
    return lot


def loaded_lot(row):
    """The lot of a ``LOT_BY_NUMBER`` row with its vaccine (``lot.presentation`` then costs no query)."""
    if row is None:
        return None
    split = len(column_keys(Presentation))
    return as_loaded(Lot, row[split:], presentation=as_loaded(Presentation, row[:split]))


# --- People and certificates --------------------------------------------------------------------------

@api.endpoint("/persons", roles=LOOKERS, response_schema={"type": "object", "properties": {
    "items": {"type": "array", "items": PERSON_SCHEMA},
    "next_cursor": {"type": ["string", "null"], "description": "The `cursor` of the next page; null on the last. "
                    "A page may hold fewer items than the next (people out of the caller's reach are left out)."}}},
    parameters=[{"name": "national_id", "in": "query", "schema": STRING},
                {"name": "q", "in": "query", "schema": STRING,
                 "description": "An ID number, a phone number or the start of a name (accents ignored)."},
                {"name": "cursor", "in": "query", "schema": STRING,
                 "description": "The `next_cursor` of the previous page."}],
    summary="Find people by ID number (`national_id`), or by ID, phone or name (`q`), a page at a time")
def person_list():
    national_id, text = request.args.get("national_id"), request.args.get("q")
    if (national_id is None) == (text is None):
        raise bad_input("invalid_parameter", _("Give national_id or q."), "q")
    offset = search_offset()
    found, more = services.search_page(national_id if national_id is not None else text, location_scope(current_user),
                                       current_user, registrar=current_user.has_role(*REGISTRARS), offset=offset)
    if national_id is not None:
        found = [person for person in found if person.national_id == national_id.strip()]
    next_cursor = None
    if more and offset + people.SEARCH_LIMIT < people.MAX_SEARCH_MATCHES:
        next_cursor = encode_cursor(str(offset + people.SEARCH_LIMIT))
    return jsonify({"items": [person_json(person) for person in found], "next_cursor": next_cursor})


def search_offset():
    """The offset a search's ``cursor`` stands for (0 without one): one of the pages' starts."""
    offset = cursor_text(lambda text: text.isdigit() and int(text) < people.MAX_SEARCH_MATCHES
                         and int(text) % people.SEARCH_LIMIT == 0)
    return 0 if offset is None else int(offset)


@api.endpoint("/persons/<int:person_id>", roles=LOOKERS, response_schema=PERSON_SCHEMA,
              summary="A person with their doses and certificate")
def person_show(person_id):
    return jsonify(person_json(visible_person(person_id)))


def visible_person(person_id):
    """The person (followed to the record kept after a merge), if the caller may look into their record
    (``services.visible_people``); anyone else is as unknown as a wrong id (find them by their whole ID or
    phone number)."""
    person = people.get_person(person_id)
    if not services.is_visible(person, location_scope(current_user), current_user,
                               registrar=current_user.has_role(*REGISTRARS)):
        raise NotFoundError(_("No person with id %(id)s.", id=person_id), None, "unknown_person")
    return person


# --- Certificates -------------------------------------------------------------------------------------

CERTIFICATE_SCHEMA = {"type": "object", "properties": {
    "person_id": INTEGER, "status": {"type": "string", "enum": ["none", "partial", "complete"]},
    "color": {"type": ["string", "null"], "enum": ["yellow", "green", None]},
    "next_dose_due": {"type": ["string", "null"], "format": "date"},
    "doses": PERSON_SCHEMA["properties"]["doses"],
    "payload": {"type": ["string", "null"], "description": "The signed text of the QR code (docs/certificates.md); "
                                                           "null without doses."}}}
VERIFY_REQUEST = {"type": "object", "required": ["payload"], "additionalProperties": False,
                  "properties": {"payload": {"type": "string", "maxLength": signing.MAX_PAYLOAD}}}
VERIFY_RESPONSE = {"type": "object", "properties": {
    "valid": BOOLEAN, "reason": STRING, "message": STRING,
    "certificate": {"type": ["object", "null"], "properties": {
        "name": STRING, "birth_date": DAY, "status": STRING, "issued_at": {"type": "string", "format": "date-time"},
        "key_id": STRING, "doses": {"type": "array", "items": {"type": "object", "properties": {
            "date": DAY, "vaccine": STRING, "lot": STRING, "dose": INTEGER}}}}}}}
LANG_PARAMETER = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]},
                  "description": "Default: your language (Vietnamese otherwise)."}


@api.endpoint("/persons/<int:person_id>/certificate", roles=LOOKERS, response_schema=CERTIFICATE_SCHEMA,
              summary="A person's certificate: status, colour, doses and the signed QR payload")
def certificate(person_id):
    found = certificates.certificate_for(visible_person(person_id))
    status = found.status
    return jsonify({"person_id": found.person.id, "status": status.status, "color": status.color,
                    "next_dose_due": status.next_dose_due.isoformat() if status.next_dose_due else None,
                    "doses": person_json(found.person)["doses"], "payload": found.payload})


@api.endpoint("/persons/<int:person_id>/certificate.pdf", roles=LOOKERS, parameters=[LANG_PARAMETER],
              summary="A person's certificate as a PDF with its QR code")
def certificate_pdf(person_id):
    lang = request.args.get("lang")
    if lang is None:
        locale = get_locale()
        lang = "en" if locale is not None and locale.language == "en" else "vi"
    if lang not in ("vi", "en"):
        raise bad_input("invalid_parameter", _("lang must be vi or en."), "lang")
    pdf = certificates.certificate_pdf(certificates.certificate_for(visible_person(person_id)), lang)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="certificate-{person_id}.pdf"'})


@api.endpoint("/certificates/public-key", public=True, summary="The public key certificates are signed with",
              response_schema={"type": "object", "properties": {
                  "algorithm": STRING, "key_id": STRING, "public_key": STRING, "pem": STRING}})
def certificate_public_key():
    return jsonify({"algorithm": "Ed25519", "key_id": signing.key_id(), "public_key": signing.public_key_raw(),
                    "pem": signing.public_key_pem()})


@api.endpoint("/certificates/verify", methods=["POST"], public=True, request_schema=VERIFY_REQUEST,
              response_schema=VERIFY_RESPONSE,
              summary="Check a certificate's QR payload: valid or not, and why (`reason`)")
def certificate_verify():
    payload = Fields(json_body(), VERIFY_REQUEST["properties"]).text("payload", required=True)
    result = signing.verify(payload)
    data = None
    if result.valid:
        data = {**result.data, "birth_date": result.data["birth_date"].isoformat(),
                "issued_at": result.data["issued_at"].isoformat(),
                "doses": [{**dose, "date": dose["date"].isoformat()} for dose in result.data["doses"]]}
    return jsonify({"valid": result.valid, "reason": result.reason_code, "message": result.message,
                    "certificate": data})
