"""The locations tree, users' assignments and the subtree each user may see and act on."""
import re

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, false, or_, select

from core import audit
from core.access import EVERYWHERE
from core.db import Prepared, as_loaded, column_keys, db, entity_columns
from core.models import User
from core.service_errors import NotFoundError, ServiceError
from modules.warehouse.models import (
    DISTRICT,
    NATIONAL,
    PHYSICAL_KINDS,
    PROVINCE,
    REGIONAL,
    SITE,
    VIRTUAL_KINDS,
    AdminUnit,
    Location,
    UserLocation,
)

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,31}$")
# Which kinds may sit directly under which: the depth varies (a site may hang under a province).
ALLOWED_PARENTS = {
    NATIONAL: (None,),
    REGIONAL: (NATIONAL,),
    PROVINCE: (None, NATIONAL, REGIONAL),  # a province may run its own deployment
    DISTRICT: (PROVINCE,),
    SITE: (NATIONAL, REGIONAL, PROVINCE, DISTRICT),
}


def create_location(code, name, kind, parent=None, admin_unit_code=None, user=None):
    """Add a store or site under ``parent``; checks the code, the kind and where it may sit."""
    code = (code or "").strip().upper()
    name = " ".join((name or "").split())
    if not CODE_PATTERN.match(code):
        raise ServiceError(_("The code must be 2–32 capital letters, digits, dot, dash or underscore."),
                           "code", "bad_code")
    if not name:
        raise ServiceError(_("This field is required."), "name", "required")
    if kind not in PHYSICAL_KINDS:
        raise ServiceError(_("Unknown kind of location %(kind)s.", kind=kind), "kind", "unknown_kind")
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in ALLOWED_PARENTS[kind]:
        raise ServiceError(_("A location of this kind cannot be placed there."), "parent", "bad_parent")
    if db.session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise ServiceError(_("The code %(code)s is already used.", code=code), "code", "code_taken")
    if admin_unit_code and db.session.get(AdminUnit, admin_unit_code) is None:
        raise ServiceError(_("Unknown administrative unit %(code)s.", code=admin_unit_code), "admin_unit",
                           "unknown_admin_unit")
    location = Location(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                        admin_unit_code=admin_unit_code or None)
    db.session.add(location)
    db.session.flush()
    location.path = f"{parent.path if parent else '/'}{location.id}/"
    audit.record("location.create", location, user=user, details={"code": code, "kind": kind})
    return location


def virtual(kind):
    """The virtual location of ``kind`` (supplier, transit, consumed, wastage, adjustment).

    They are made once by the first migration and never change, so each app reads them once and later
    hands the session a copy without a query (every injection and receipt needs one)."""
    assert kind in VIRTUAL_KINDS, kind
    known = current_app.extensions.setdefault("warehouse.virtual_locations", {})
    if kind not in known:
        location = db.session.scalar(select(Location).where(Location.kind == kind))
        known[kind] = tuple(getattr(location, key) for key in column_keys(Location))
    return as_loaded(Location, known[kind])


def assign(user, location, actor=None):
    """Let ``user`` see and act on ``location`` and everything below it."""
    if location.is_virtual:
        raise ServiceError(_("Users are assigned to stores and sites, not to virtual locations."), "location",
                           "virtual_location")
    if db.session.get(UserLocation, (user.id, location.id)) is None:
        db.session.add(UserLocation(user_id=user.id, location_id=location.id))
        audit.record("location.assign", location, user=actor, details={"user": user.username})


def unassign(user, location, actor=None):
    assignment = db.session.get(UserLocation, (user.id, location.id))
    if assignment is not None:
        db.session.delete(assignment)
        audit.record("location.unassign", location, user=actor, details={"user": user.username})


def assignments_at(location):
    """The users assigned to exactly this location."""
    return db.session.scalars(select(User).join(UserLocation, UserLocation.user_id == User.id)
                              .where(UserLocation.location_id == location.id).order_by(User.username)).all()


def assigned_locations(user):
    return db.session.scalars(select(Location).join(UserLocation, UserLocation.location_id == Location.id)
                              .where(UserLocation.user_id == user.id).order_by(Location.path)).all()


def subtrees_query():
    """The ids of the locations a user is assigned to and of everything below them: one recursive query
    down the parent index. Built once (building it cost more than running it)."""
    subtree = (select(UserLocation.location_id.label("id")).where(UserLocation.user_id == bindparam("user_id"))
               .cte("subtree", recursive=True))
    subtree = subtree.union_all(select(Location.id).join(subtree, Location.parent_id == subtree.c.id))
    return Prepared(select(subtree.c.id))


SUBTREES = subtrees_query()


def scope_of(user):
    """Ids of the locations in the subtrees the user is assigned to (cached for the request)."""
    cache = g.setdefault("warehouse_scopes", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = frozenset(location_id for (location_id,) in SUBTREES.all({"user_id": user.id}))
    return cache[user.id]


def scope_select(user, scope):
    """``scope`` (``core.access.location_scope(user)``) as something ``in_()`` takes, never a list of thousands
    of ids: a select on the paths of the subtrees ``user`` is assigned to (a national viewer's scope holds
    ~11 000 ids, and as an IN list they cost the database more than the query they narrow). A plugin that
    narrows the scope answers its own set (another object than :func:`scope_of`'s, cached for the request):
    that set is taken as it is."""
    if scope is EVERYWHERE:
        return select(Location.id)
    if scope is not scope_of(user):
        return sorted(scope)
    return select(Location.id).where(or_(false(), *(Location.path.startswith(root.path)
                                                    for root in assigned_locations(user))))


LOCATION_BY_CODE = Prepared(select(*entity_columns(Location)).where(Location.code == bindparam("code")))


def by_code(code, scope=EVERYWHERE, field="location"):
    """The physical location with ``code`` inside ``scope``; outside it is as unknown as a wrong code."""
    row = LOCATION_BY_CODE.first({"code": (code or "").strip().upper()})
    location = None if row is None else as_loaded(Location, row)
    if location is None or location.is_virtual or location.id not in scope:
        raise NotFoundError(_("Unknown location %(code)s.", code=code), field, "unknown_location")
    return location


def by_id(location_id, scope=EVERYWHERE, field="location"):
    location = db.session.get(Location, location_id) if isinstance(location_id, int) else None
    if location is None or location.is_virtual or location.id not in scope:
        raise NotFoundError(_("Unknown location %(code)s.", code=location_id), field, "unknown_location")
    return location


def subtree_ids(location, scope=EVERYWHERE):
    """Ids of ``location`` and every location below it within ``scope``: a query of ids when the scope
    is everywhere (no list of thousands of ids), else a list."""
    ids = select(Location.id).where(Location.path.startswith(location.path))
    if scope is EVERYWHERE:
        return ids
    return [location_id for location_id in db.session.scalars(ids) if location_id in scope]


def physical_locations(scope=EVERYWHERE):
    """Stores and sites in ``scope``, in tree order."""
    query = select(Location).where(Location.kind.in_(PHYSICAL_KINDS), Location.active.is_(True))
    if scope is not EVERYWHERE:
        query = query.where(Location.id.in_(scope))
    return db.session.scalars(query.order_by(Location.path)).all()
