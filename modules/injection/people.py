"""People: found by ID number, phone or name (accent-insensitive), created and edited with their identity
checked (``identity``), never recorded twice. The caller commits."""
from dataclasses import dataclass, replace
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, or_, select

from core import audit
from core.clock import local_today
from core.db import Prepared, as_loaded, db, entity_columns, insert_rows_with_ids, utcnow
from core.service_errors import ConflictError, NotFoundError, ServiceError
from modules.injection import identity
from modules.injection.models import Person
from modules.warehouse.models import AdminUnit

SEARCH_LIMIT = 20
# How deep a search goes, on the page and in the API: each page is an offset into the matches (so that a link
# or cursor names no person, not even one out of the caller's reach); past it, the searcher types more.
MAX_SEARCH_MATCHES = 5000
MAX_ADDRESS = 300
MAX_SHORT = 40


@dataclass(frozen=True)
class PersonData:
    """What a form, an API call or an import row says about a person, before it is checked."""

    full_name: object
    gender: object
    date_of_birth: date | None
    national_id: object = None
    phone: object = None
    insurance_number: object = None
    ethnicity: object = ""
    nationality: object = ""
    admin_unit_code: object = None
    address: object = ""


def cleaned(data, today=None):
    """``data`` normalised (NFC single-spaced names and texts, 0xxxxxxxxx phones, gender codes) and
    :func:`checked`, or a :class:`ServiceError` naming the field."""
    return checked(PersonData(
        full_name=identity.clean_name(data.full_name), gender=identity.normalise_gender(data.gender),
        date_of_birth=data.date_of_birth, national_id=data.national_id, phone=identity.normalise_phone(data.phone),
        insurance_number=identity.clean_text(data.insurance_number).replace(" ", "").upper() or None,
        admin_unit_code=identity.clean_text(data.admin_unit_code) or None,
        **{name: identity.clean_text(getattr(data, name)) for name in ("ethnicity", "nationality", "address")}),
        today)


def checked(data, today=None):
    """``data``, already normalised as :func:`cleaned` leaves it (an import's cells are), checked: the ID's
    digits agreeing with the gender and birth year, the card number's form, the lengths; with the parsed
    ID. A backlog import checks a million rows: it skips normalising twice."""
    national = identity.check_identity(data.national_id, data.gender, data.date_of_birth, today or local_today())
    insurance = data.insurance_number
    if insurance is not None and not (insurance.isalnum() and len(insurance) in (10, 15)):
        raise ServiceError(_("A health insurance card number has 10 or 15 letters and digits."),
                           "insurance_number", "invalid_insurance_number")
    unit = data.admin_unit_code
    if unit is not None and db.session.get(AdminUnit, unit) is None:
        raise ServiceError(_("No administrative unit has the code %(code)s.", code=unit), "admin_unit",
                           "unknown_admin_unit")
    for name in ("ethnicity", "nationality", "address"):
        limit = MAX_ADDRESS if name == "address" else MAX_SHORT
        if len(getattr(data, name)) > limit:
            raise ServiceError(_("At most %(n)d characters.", n=limit), name, "too_long")
    number = national.number if national else None
    return (data if number == data.national_id else replace(data, national_id=number)), national


def create_person(data, user=None):
    """A new person, unless they are already recorded (same ID; or same name, birth date and phone)."""
    data, national = cleaned(data)
    twin = duplicate_of(data)
    if twin is not None:
        raise duplicate_error(twin)
    person = new_person(data, national, user)
    db.session.flush()  # the caller links to it
    return person


def new_person(data, national, user):
    person = Person(id_kind=national.kind if national else None, name_key=identity.fold(data.full_name),
                    created_by=user.id if user else None, **fields_of(data))
    db.session.add(person)  # written with the caller's next query or flush
    audit.record("person.create", person, user=user)
    return person


def find_or_create(data, user=None):
    """The person ``data`` describes: the one recorded (see :func:`recorded`), else a new record."""
    data, national = cleaned(data)
    return recorded(data) or new_person(data, national, user)


def recorded(data):
    """The person recorded with ``data``'s ID (who must be the same person: name and birth date agree),
    or with its name, birth date and phone; ``None`` if nobody is. ``data`` is already cleaned."""
    twin = duplicate_of(data)
    if twin is not None and not same_person(twin, data):
        raise other_person_error(twin)
    return twin


def recorded_all(people_data):
    """:func:`recorded` for many people at once (a chunk of an import), in two queries: for each, the
    person recorded, ``None``, or the :class:`ConflictError` :func:`recorded` would raise."""
    numbers = {data.national_id for data in people_data if data.national_id}
    by_id = {person.national_id: person for person in db.session.scalars(
        select(Person).where(Person.national_id.in_(numbers)))} if numbers else {}
    phones = {data.phone for data in people_data if data.phone and data.national_id not in by_id}
    by_details = {}
    if phones:
        for person in db.session.scalars(select(Person).where(Person.phone.in_(phones),
                                                              Person.merged_into_id.is_(None)).order_by(Person.id)):
            by_details.setdefault((person.name_key, person.date_of_birth, person.phone), person)
    found = []
    for data in people_data:
        twin = by_id.get(data.national_id) or (by_details.get(
            (identity.fold(data.full_name), data.date_of_birth, data.phone)) if by_details else None)
        found.append(other_person_error(twin) if twin is not None and not same_person(twin, data) else twin)
    return found


def same_person(twin, data):
    return twin.date_of_birth == data.date_of_birth and twin.name_key == identity.fold(data.full_name)


def other_person_error(twin):
    return ConflictError(_("ID %(number)s is recorded for %(name)s, born %(born)s: check the ID number.",
                           number=twin.national_id, name=twin.full_name,
                           born=twin.date_of_birth.strftime("%d/%m/%Y")), "national_id", "id_belongs_to_other")


PERSON_COLUMNS = ("full_name", "gender", "date_of_birth", "national_id", "phone", "insurance_number", "ethnicity",
                  "nationality", "admin_unit_code", "address", "id_kind", "name_key", "created_by", "created_at")


def insert_all(people_data, id_kinds, user=None):
    """New people from cleaned ``people_data`` (nobody recorded: see :func:`recorded_all`), written in one
    batch; their ids, in order. The caller audits them (an import: once per chunk)."""
    created_by, now = (user.id if user else None), utcnow()
    return insert_rows_with_ids(db.session.connection(), Person.__table__, PERSON_COLUMNS, [
        (data.full_name, data.gender, data.date_of_birth, data.national_id, data.phone, data.insurance_number,
         data.ethnicity, data.nationality, data.admin_unit_code, data.address, kind, identity.fold(data.full_name),
         created_by, now) for data, kind in zip(people_data, id_kinds, strict=True)])


def update_person(person, data, user=None):
    data, national = cleaned(data)
    twin = duplicate_of(data)
    if twin is not None and twin.id != person.id:
        raise duplicate_error(twin)
    changed = {name: value for name, value in fields_of(data).items() if getattr(person, name) != value}
    for name, value in changed.items():
        setattr(person, name, value)
    person.id_kind, person.name_key = (national.kind if national else None), identity.fold(data.full_name)
    if changed:
        audit.record("person.update", person, user=user, details={"fields": sorted(changed)})
    return person


def fields_of(data):
    return {"full_name": data.full_name, "gender": data.gender, "date_of_birth": data.date_of_birth,
            "national_id": data.national_id, "phone": data.phone, "insurance_number": data.insurance_number,
            "ethnicity": data.ethnicity, "nationality": data.nationality, "admin_unit_code": data.admin_unit_code,
            "address": data.address}


def duplicate_query():
    """The person recorded with an ID, or else with a name, birth date and phone; a missing ID or phone
    is NULL and matches nobody. Built once: registration asks this for everyone."""
    same_id = Person.national_id == bindparam("national_id")
    same_details = and_(Person.name_key == bindparam("name_key"), Person.date_of_birth == bindparam("born"),
                        Person.phone == bindparam("phone"), Person.merged_into_id.is_(None))
    return Prepared(select(*entity_columns(Person)).where(or_(same_id, same_details))
                    .order_by(case((same_id, 0), else_=1), Person.id).limit(1))


DUPLICATE = duplicate_query()


def duplicate_of(data):
    """The person already recorded with ``data``'s ID, or else with its name, birth date and phone."""
    if not data.national_id and not data.phone:
        return None
    row = DUPLICATE.first({"national_id": data.national_id or None, "phone": data.phone or None,
                           "name_key": identity.fold(data.full_name), "born": data.date_of_birth})
    return None if row is None else as_loaded(Person, row)


def duplicate_error(person):
    return ConflictError(_("%(name)s, born %(born)s, is already recorded (number %(id)d): use that record.",
                           name=person.full_name, born=person.date_of_birth.strftime("%d/%m/%Y"), id=person.id),
                         "national_id" if person.national_id else "full_name", "duplicate_person")


def by_national_id(number):
    return db.session.scalar(select(Person).where(Person.national_id == number))


def get_person(person_id):
    """The person (followed to the record they were merged into), or 404."""
    person = db.session.get(Person, person_id)
    while person is not None and person.merged_into_id is not None:
        person = db.session.get(Person, person.merged_into_id)
    if person is None:
        raise NotFoundError(_("No person with id %(id)s.", id=person_id), None, "unknown_person")
    return person


def search(text, limit=SEARCH_LIMIT, offset=0):
    """People whose ID number or phone is ``text``, or whose name starts with it, ignoring accents and case;
    ``limit`` of them from the ``offset``-th (a page)."""
    text = identity.clean_text(text)
    if not text:
        return []
    digits = "".join(text.split()).lstrip("+")
    conditions = []
    if digits.isdigit():
        conditions.append(Person.national_id == digits)
        try:
            phone = identity.normalise_phone(digits)
        except ServiceError:
            phone = None
        if phone:
            conditions.append(Person.phone == phone)
    else:
        conditions.append(Person.name_key.startswith(identity.fold(text), autoescape=True))
    query = (select(Person).where(or_(*conditions), Person.merged_into_id.is_(None))
             .order_by(Person.name_key, Person.date_of_birth, Person.id).limit(limit).offset(offset))
    return db.session.scalars(query).all()


def merge(keep, duplicate, user=None):
    """Fold ``duplicate`` into ``keep``: its injections count for ``keep`` from now on (they are not
    touched), lookups of it lead to ``keep``, and the merge is audited. Two different ID numbers are two
    people: refused."""
    if keep.id == duplicate.id or duplicate.merged_into_id is not None or keep.merged_into_id is not None:
        raise ConflictError(_("Choose two different people, neither already merged."), "person", "bad_merge")
    if keep.national_id and duplicate.national_id and keep.national_id != duplicate.national_id:
        raise ConflictError(_("%(first)s and %(second)s are different ID numbers: these are two people.",
                              first=keep.national_id, second=duplicate.national_id), "national_id", "different_ids")
    if duplicate.national_id and not keep.national_id:
        keep.id_kind, number, duplicate.national_id = duplicate.id_kind, duplicate.national_id, None
        db.session.flush()  # the number is unique: free it before giving it to the record kept
        keep.national_id = number
    for earlier in db.session.scalars(select(Person).where(Person.merged_into_id == duplicate.id)):
        earlier.merged_into_id = keep.id
    duplicate.merged_into_id = keep.id
    audit.record("person.merge", keep, user=user, details={"merged": duplicate.id})
    return keep
