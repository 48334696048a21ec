"""Every state-changing form refuses a POST without its CSRF token (400, nothing written), whoever sends
it; the API, exempt for bearer tokens, refuses a write that relies on the session cookie alone."""
import pytest
from flask_babel import force_locale

from core.errors import CSRF_MESSAGE
from tests.security.probe import API, changes, routes, snapshot, url_for_side
from tests.security.routes import ANYONE
from tests.security.test_access_matrix import ROWS

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def csrf_message(app):
    with app.test_request_context("/"), force_locale("vi"):
        return str(CSRF_MESSAGE)


def writer(row):
    """A role allowed to use the route: not an admin when another role may (admins pass every check)."""
    if row.roles == ANYONE:
        return "site_staff"
    return sorted(row.roles - {"admin"})[0] if row.roles - {"admin"} else "admin"


def writes(app, api):
    return [(rule, method, ROWS[rule.endpoint]) for rule, method in routes(app)
            if method in WRITES and rule.rule.startswith(API) == api]


def test_every_form_refuses_a_post_without_its_csrf_token_and_writes_nothing(world_app, world, clients):
    before, wrong, message = snapshot(world_app), [], csrf_message(world_app)
    checked = writes(world_app, api=False)
    for rule, method, row in checked:
        url = url_for_side(rule, world.own.ids, row)
        response = clients[writer(row)].open(url, method=method, data={"reason": "no token", "doses": "10"})
        if response.status_code != 400 or message not in response.get_data(as_text=True):
            wrong.append((method, url, writer(row), response.status_code))
    assert len(checked) > 30 and wrong == []
    assert changes(before, snapshot(world_app)) == {}


def test_a_post_with_a_token_of_another_session_is_refused_too(world_app, world, clients):
    stolen = clients["viewer"].get("/account").get_data(as_text=True).split('name="csrf_token" value="')[1][:80]
    stolen = stolen.split('"')[0]
    response = clients["site_staff"].post("/reconciliation/tally", data={"csrf_token": stolen, "doses": "7"})
    assert response.status_code == 400


def test_the_api_refuses_a_write_relying_on_the_session_cookie_alone(world_app, world, clients):
    before, wrong = snapshot(world_app), []
    checked = writes(world_app, api=True)
    for rule, method, row in checked:
        if row.roles == ANYONE:
            continue  # public (certificate verification): no session to ride on
        url = url_for_side(rule, world.own.ids, row)
        response = clients[writer(row)].open(url, method=method, json={})
        if response.status_code != 400 or "csrf" not in response.get_data(as_text=True).lower():
            wrong.append((method, url, writer(row), response.status_code, response.get_data(as_text=True)[:200]))
    assert len(checked) >= 20 and wrong == []
    assert changes(before, snapshot(world_app)) == {}


@pytest.mark.parametrize("header", ["X-CSRFToken", "X-CSRF-Token"])
def test_the_api_takes_a_session_write_with_the_pages_csrf_token_in_a_header(world_app, world, clients, header):
    token = clients["site_staff"].get("/account").get_data(as_text=True).split('name="csrf_token" value="')[1]
    response = clients["site_staff"].post("/api/v1/scan", json={"code": "not a barcode"},
                                          headers={header: token.split('"')[0]})
    assert response.status_code != 400 or "csrf" not in response.get_data(as_text=True).lower()
