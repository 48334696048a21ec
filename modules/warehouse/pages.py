"""Helpers the pages of every module share for locations and service errors: select options in tree
order, the ids of a user's locations, a 404 for a place outside them, and a service's error shown on
the form field it names. Public: other modules' pages use them."""
from flask import abort, flash
from sqlalchemy import select

from core.access import EVERYWHERE
from core.service_errors import NotFoundError
from modules.warehouse import locations
from modules.warehouse.models import PHYSICAL_KINDS, Location


def scope_ids(scope):
    """The physical location ids of ``scope``, as something ``in_()`` takes (a subquery for everywhere)."""
    if scope is EVERYWHERE:
        return select(Location.id).where(Location.kind.in_(PHYSICAL_KINDS))
    return sorted(scope)


def place_in_scope(code, scope, field="location"):
    """The location with ``code`` in ``scope``; a foreign or unknown one is a 404 page, never data."""
    try:
        return locations.by_code(code, scope, field)
    except NotFoundError:
        abort(404)


def location_choices(places, blank=None):
    """Select options for ``places`` in tree order, indented by depth."""
    top = min((place.depth for place in places), default=0)
    choices = [("", blank)] if blank is not None else []
    return choices + [(place.code, "\u00a0\u00a0" * (place.depth - top) + f"{place.name} ({place.code})")
                      for place in places]


def field_error(form, error, fields):
    """Show a service's error next to the form field it names (``fields`` maps service → form names)."""
    name = (error.field or "").rsplit(".", 1)[-1]
    target = getattr(form, fields.get(name, name), None) if name else None
    if target is None or not hasattr(target, "errors"):
        flash(error.message, "error")
        return
    target.errors = [*target.errors, error.message]
