"""Every route declares who may reach it, and the rule holds for every role."""
import pytest

from core import access, roles
from core.hookspecs import hookimpl
from tests.conftest import ALL_ROLES

# Routes anyone may reach, by design. Anything else must demand a login.
PUBLIC_ENDPOINTS = {"core.login", "core.language", "api.core_api.openapi", "certificates.verify", "certificates.lookup",
                    "api.injection.certificate_public_key", "api.injection.certificate_verify", "health.check"}
ADMIN_PAGES = ["/admin/users", "/admin/modules", "/admin/audit", "/login-journal", "/admin/locations"]


def test_every_route_declares_an_access_rule(app):
    with app.test_request_context():
        undeclared = sorted(rule.endpoint for rule in app.url_map.iter_rules()
                            if access.rule_for(rule.endpoint) is None)
    assert undeclared == [], f"routes without an access rule: {undeclared}"


def test_only_the_intended_routes_are_public(app):
    with app.test_request_context():
        public = {rule.endpoint for rule in app.url_map.iter_rules()
                  if access.rule_for(rule.endpoint).public and not rule.endpoint.endswith("static")}
    assert public == PUBLIC_ENDPOINTS


def test_a_route_without_a_rule_is_refused(make_app, login_as, app):
    from flask import Blueprint

    from core.hookspecs import hookimpl

    careless = Blueprint("careless", __name__)

    @careless.route("/careless")
    def forgot_the_rule():
        return "secret"

    class Plugin:
        @hookimpl
        def web_blueprints(self):
            return [careless]

    client = make_app(plugins=[("careless", Plugin())]).test_client()
    assert client.get("/careless").status_code == 403


@pytest.mark.parametrize("role", ALL_ROLES)
def test_admin_pages_are_for_admins_only(client, login_as, role):
    login_as(role)
    for page in ADMIN_PAGES:
        expected = 200 if role == roles.ADMIN else 403
        assert client.get(page).status_code == expected, (role, page)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reaches_home_and_account(client, login_as, role):
    login_as(role)
    assert client.get("/").status_code == 200
    assert client.get("/account").status_code == 200


def test_anonymous_api_call_gets_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_role_on_the_api_gets_403_json(client, login_as):
    login_as(roles.SITE_STAFF)
    response = client.get("/api/v1/users")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


class RegionalViewerScope:
    @hookimpl(tryfirst=True)
    def location_scope(self, user):
        return frozenset({1, 2, 3}) if user.role == roles.VIEWER else None


def test_location_scope_is_everywhere_for_admins_and_when_nobody_answers(make_app):
    from core.accounts import create_user
    from core.db import db

    app = make_app(VAXCHAIN_MODULES="lots")  # no module owns locations
    with app.app_context():
        admin = create_user("scopeadmin", "long-enough-pass-1", roles.ADMIN)
        staff = create_user("scopestaff", "long-enough-pass-1", roles.SITE_STAFF)
        db.session.commit()
        assert access.location_scope(admin) is access.EVERYWHERE
        assert 12345 in access.location_scope(staff)


def test_location_scope_takes_the_first_answer(make_app):
    from core.accounts import create_user
    from core.db import db

    app = make_app(plugins=[("regions", RegionalViewerScope())])
    with app.app_context():
        viewer = create_user("regionviewer", "long-enough-pass-1", roles.VIEWER)
        admin = create_user("regionadmin", "long-enough-pass-1", roles.ADMIN)
        db.session.commit()
        scope = access.location_scope(viewer)
        assert 2 in scope and 4 not in scope
        assert access.location_scope(admin) is access.EVERYWHERE
