"""Who may reach which view. Every view declares a rule; a view without one answers 403.

    @bp.route("/stock")
    @roles_required(roles.WAREHOUSE_MANAGER, roles.VIEWER)
    def stock(): ...

Rules are checked before the view runs (``enforce``), so they hold for pages and the API alike.
Location scoping (which records inside a page a user may see) is the ``location_scope`` hook.
"""
from dataclasses import dataclass

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from core import plugins, roles

ATTRIBUTE = "vaxchain_access"


@dataclass(frozen=True)
class Rule:
    public: bool = False
    roles: frozenset = frozenset()  # empty: any logged-in user


def public(view):
    """Anyone, logged in or not (login page, public lookups)."""
    setattr(view, ATTRIBUTE, Rule(public=True))
    return view


def login_required(view):
    """Any logged-in user, whatever the role."""
    setattr(view, ATTRIBUTE, Rule())
    return view


def roles_required(*wanted):
    """Logged-in users holding one of ``wanted`` (admins always pass)."""
    if not wanted:
        raise ValueError("roles_required needs at least one role; use login_required for any user")

    def decorate(view):
        setattr(view, ATTRIBUTE, Rule(roles=frozenset(wanted)))
        return view

    return decorate


def rule_for(endpoint):
    """The rule of an endpoint; static files are public; None when the view declared nothing."""
    if endpoint == "static" or endpoint.endswith(".static"):
        return Rule(public=True)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ATTRIBUTE, None)


def is_api_request():
    return request.path.startswith("/api/")


def enforce():
    """before_request: apply the endpoint's rule (404s and 405s are left to routing)."""
    if request.endpoint is None:
        return None
    rule = rule_for(request.endpoint)
    if rule is None:
        abort(403)
    if rule.public:
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        return redirect(url_for("core.login", next=request.full_path.rstrip("?")))
    if rule.roles and not current_user.has_role(*rule.roles):
        abort(403)
    return None


def allowed(endpoint, user):
    """May ``user`` open ``endpoint``? (Used to filter menus.)"""
    rule = rule_for(endpoint)
    if rule is None:
        return False
    if rule.public:
        return True
    return user.is_authenticated and (not rule.roles or user.has_role(*rule.roles))


class _Everywhere:
    """The scope of a user restricted to no location."""

    def __contains__(self, location_id):
        return True

    def __repr__(self):
        return "EVERYWHERE"


EVERYWHERE = _Everywhere()


def location_scope(user):
    """The location ids ``user`` may act on: a frozenset, or ``EVERYWHERE``.

    Admins act everywhere; otherwise the ``location_scope`` hook decides (see core/hookspecs.py).
    Either answer supports ``location_id in scope``.
    """
    if user.role == roles.ADMIN:
        return EVERYWHERE
    answer = plugins.hook().location_scope(user=user)
    return EVERYWHERE if answer is None else answer
