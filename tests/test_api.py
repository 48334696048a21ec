"""The JSON API plumbing: tokens, sessions, errors, bodies, pagination and the OpenAPI document."""
import re
from datetime import timedelta

import pytest
from flask import jsonify

from core import roles
from core.accounts import find_user
from core.api import ApiBlueprint, ApiError, json_body
from core.db import db, utcnow
from core.hookspecs import hookimpl
from core.tokens import create_token, revoke_token
from tests.conftest import csrf_token


def echo_plugin():
    """A plugin with one POST endpoint, to exercise the plumbing as a module would."""
    api = ApiBlueprint("echo", __name__, url_prefix="/echo")

    @api.endpoint("", methods=["POST"], roles=[roles.SITE_STAFF], summary="Echo a name",
                  request_schema={"type": "object", "required": ["name"],
                                  "properties": {"name": {"type": "string"}}})
    def echo():
        body = json_body()
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise ApiError(422, "invalid_field", "name must be a non-empty string", "name")
        return jsonify({"name": body["name"]})

    class Plugin:
        @hookimpl
        def api_blueprints(self):
            return [api]

    return Plugin()


@pytest.fixture
def echo_app(make_app):
    return make_app(plugins=[("echo", echo_plugin())])


def bearer(app, username, **kwargs):
    with app.app_context():
        _token, secret = create_token(find_user(username), **kwargs)
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_a_bearer_token_authenticates(app, client, make_user):
    username = make_user(roles.INTEGRATOR)
    response = client.get("/api/v1/me", headers=bearer(app, username))
    assert response.status_code == 200
    assert response.json["username"] == username and response.json["role"] == roles.INTEGRATOR


@pytest.mark.parametrize("header", ["Bearer vxc_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_a_bad_token_gets_401_json(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.json["error"]) == {"code", "message", "field"}


def test_an_expired_token_is_refused_as_invalid(app, client, make_user):
    username = make_user(roles.INTEGRATOR)
    headers = bearer(app, username, expires_in_days=1)
    with app.app_context():
        from core.models import ApiToken
        token = db.session.query(ApiToken).one()
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"


def test_a_revoked_token_is_refused(app, client, make_user):
    username = make_user(roles.INTEGRATOR)
    headers = bearer(app, username)
    with app.app_context():
        from core.models import ApiToken
        revoke_token(db.session.query(ApiToken).one())
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_only_the_token_hash_is_stored(app, make_user):
    username = make_user(roles.INTEGRATOR)
    secret = bearer(app, username)["Authorization"].split()[1]
    with app.app_context():
        from core.models import ApiToken
        stored = db.session.query(ApiToken).one()
        assert secret not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64


def test_token_post_needs_no_csrf(echo_app, make_user):
    client = echo_app.test_client()
    with echo_app.app_context():
        from core.accounts import create_user
        create_user("siteapi", "long-enough-pass-1", roles.SITE_STAFF)
        db.session.commit()
    response = client.post("/api/v1/echo", json={"name": "Nguyễn Văn A"}, headers=bearer(echo_app, "siteapi"))
    assert response.status_code == 200 and response.json == {"name": "Nguyễn Văn A"}


def test_session_post_needs_the_csrf_header(echo_app):
    client = echo_app.test_client()
    with echo_app.app_context():
        from core.accounts import create_user
        create_user("sitestaff", "long-enough-pass-1", roles.SITE_STAFF)
        db.session.commit()
    token = csrf_token(client)
    client.post("/login", data={"username": "sitestaff", "password": "long-enough-pass-1", "csrf_token": token})
    refused = client.post("/api/v1/echo", json={"name": "A"})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    accepted = client.post("/api/v1/echo", json={"name": "A"}, headers={"X-CSRFToken": csrf_token(client, "/")})
    assert accepted.status_code == 200


@pytest.mark.parametrize("body, content_type, message_part", [
    ("{not json", "application/json", "JSON"),
    ("[1, 2]", "application/json", "JSON"),
    ("name=x", "application/x-www-form-urlencoded", "application/json"),
])
def test_a_malformed_body_gets_a_400_saying_why(echo_app, body, content_type, message_part):
    with echo_app.app_context():
        from core.accounts import create_user
        create_user("siteapi", "long-enough-pass-1", roles.SITE_STAFF)
        db.session.commit()
    response = echo_app.test_client().post("/api/v1/echo", data=body, content_type=content_type,
                                           headers=bearer(echo_app, "siteapi"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"
    assert message_part in response.json["error"]["message"]


def test_a_business_error_names_the_field(echo_app):
    with echo_app.app_context():
        from core.accounts import create_user
        create_user("siteapi", "long-enough-pass-1", roles.SITE_STAFF)
        db.session.commit()
    response = echo_app.test_client().post("/api/v1/echo", json={"name": "  "},
                                           headers=bearer(echo_app, "siteapi"))
    assert response.status_code == 422
    assert response.json == {"error": {"code": "invalid_field", "message": "name must be a non-empty string",
                                       "field": "name"}}


def test_unknown_api_path_and_wrong_method_answer_json(app, client, make_user):
    headers = bearer(app, make_user(roles.ADMIN))
    missing = client.get("/api/v1/no-such-thing", headers=headers)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/me", headers=headers)
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"


def test_lists_are_paginated_by_cursor(app, client, make_user):
    admin = make_user(roles.ADMIN)
    for _ in range(4):
        make_user(roles.VIEWER)
    headers = bearer(app, admin)
    first = client.get("/api/v1/users?limit=2", headers=headers).json
    second = client.get(f"/api/v1/users?limit=2&cursor={first['next_cursor']}", headers=headers).json
    third = client.get(f"/api/v1/users?limit=2&cursor={second['next_cursor']}", headers=headers).json
    ids = [u["id"] for page in (first, second, third) for u in page["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert third["next_cursor"] is None


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=abc", "limit"), ("limit=100000", "limit"),
                                          ("cursor=%%%", "cursor")])
def test_bad_pagination_parameters_name_the_parameter(app, client, make_user, query, field):
    response = client.get(f"/api/v1/users?{query}", headers=bearer(app, make_user(roles.ADMIN)))
    assert response.status_code == 400 and response.json["error"]["field"] == field


def test_api_errors_are_in_the_callers_language(app, client):
    vi = client.get("/api/v1/me", headers={"Accept-Language": "vi"}).json["error"]["message"]
    en = client.get("/api/v1/me", headers={"Accept-Language": "en"}).json["error"]["message"]
    assert vi.startswith("Yêu cầu xác thực") and en.startswith("Authentication is required")


def test_openapi_lists_every_endpoint_of_every_module(echo_app):
    document = echo_app.test_client().get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/me", "/api/v1/users", "/api/v1/audit", "/api/v1/echo"} <= set(document["paths"])
    echo = document["paths"]["/api/v1/echo"]["post"]
    assert echo["requestBody"]["content"]["application/json"]["schema"]["required"] == ["name"]
    assert echo["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_openapi_path_parameters_are_exactly_those_of_each_path_and_typed(app, client):
    document = client.get("/api/v1/openapi.json").json
    for path, operations in document["paths"].items():
        in_path = re.findall(r"{(\w+)}", path)
        for method, operation in operations.items():
            declared = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
            assert declared == in_path, f"{method.upper()} {path}"
    shipment = document["paths"]["/api/v1/shipments/{shipment_id}"]["get"]["parameters"]
    assert shipment == [{"name": "shipment_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
