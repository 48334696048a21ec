"""The access matrix: every route of the URL map and of the OpenAPI document × every role (and nobody) ×
a record of one's own province or of another, answered as ``routes.py`` says — and never showing another
province's records, whether in a page, a list, a search, a workbook or a PDF, nor by guessing ids in turn."""
import re

import pytest
from flask import Blueprint

from core import access
from core.hookspecs import hookimpl
from tests.conftest import ALL_ROLES
from tests.security.probe import API, Caller, changes, leaked, routes, snapshot, url_for_side
from tests.security.routes import ANY_USER, ANYONE, FOREIGN_FILTERS, FOREIGN_SEARCHES, PAGES
from tests.security.routes import API as API_ROWS

ROWS = {**PAGES, **API_ROWS}
CALLERS = [*ALL_ROLES, None]  # None: not logged in


@pytest.fixture(scope="module")
def caller(world_app, world, clients):
    return Caller(world_app, world, clients)


def unlisted(app):
    """Routes of ``app`` without a row in the table, and rows of routes ``app`` no longer has."""
    endpoints = {rule.endpoint for rule, _method in routes(app)}
    return sorted(endpoints - set(ROWS)), sorted(set(ROWS) - endpoints)


def test_every_route_has_a_row_in_the_table(world_app):
    assert unlisted(world_app) == ([], []), "add a row to tests/security/routes.py (or remove it)"


def test_a_plugins_new_route_without_a_row_fails_the_table_check(make_app):
    new = Blueprint("newcomer", __name__)

    @new.route("/newcomer/<int:shipment_id>")
    @access.login_required
    def peek(shipment_id):
        return "a shipment"

    class Plugin:
        @hookimpl
        def web_blueprints(self):
            return [new]

    assert unlisted(make_app(plugins=[("newcomer", Plugin())])) == (["newcomer.peek"], [])


def test_the_openapi_document_lists_exactly_the_api_routes(world_app, caller):
    document = caller.send(None, "GET", "/api/v1/openapi.json").json
    documented = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    mounted = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
               for rule, method in routes(world_app) if rule.rule.startswith(API)}
    assert documented == mounted


def test_the_table_agrees_with_the_rules_the_views_declare(world_app):
    with world_app.test_request_context():
        for endpoint, row in ROWS.items():
            rule = access.rule_for(endpoint)
            if row.roles == ANYONE:
                assert rule.public, endpoint
            else:
                declared = rule.roles | {"admin"} if rule.roles else ANY_USER
                assert not rule.public and declared == row.roles, endpoint


def expected_status(row, role, url, foreign):
    """What a GET of ``url`` by ``role`` must answer."""
    if row.roles == ANYONE:
        return dict(row.statuses).get(role, 200)
    if role is None:
        return 401 if url.startswith(API) else 302
    if role not in row.roles:
        return 403
    if foreign and row.scoped and role != "admin":
        return row.foreign_status
    return dict(row.statuses).get(role, row.own_status)


def get_routes(app):
    return [(rule, ROWS[rule.endpoint]) for rule, method in routes(app) if method == "GET"]


@pytest.mark.parametrize("role", CALLERS, ids=str)
def test_every_page_and_endpoint_answers_each_role_as_the_table_says(world_app, world, caller, role):
    wrong, leaks = [], []
    for rule, row in get_routes(world_app):
        for side, foreign in ((world.own, False), (world.foreign, True)):
            if foreign and not rule.arguments:
                continue
            url = url_for_side(rule, side.ids, row, own=world.own)
            response = caller.send(role, "GET", url)
            expected = expected_status(row, role, url, foreign)
            if response.status_code != expected:
                wrong.append((url, response.status_code, expected))
            if role not in ("admin", None):
                leaks += [(url, text) for text in leaked(response, world.foreign.texts)]
    assert (wrong, leaks) == ([], []), f"(url, answered, expected); another province's records shown to {role}"


def test_site_staff_cannot_open_another_provinces_shipment_person_injection_or_import(world, caller):
    foreign = world.foreign.ids
    for url in (f"/shipments/{foreign['shipment_id']}", f"/api/v1/shipments/{foreign['shipment_id']}/manifest.pdf",
                f"/persons/{foreign['person_id']}", f"/api/v1/persons/{foreign['person_id']}/certificate.pdf",
                f"/register?done={foreign['injection_id']}", f"/imports/{foreign['job_id']}",
                f"/count/{foreign['code']}"):
        assert caller.send("site_staff", "GET", url).status_code == 404, url


def test_a_viewer_cannot_open_another_provinces_allocation_plan_or_person(world, caller):
    foreign = world.foreign.ids
    for url in (f"/allocations/{foreign['plan_id']}", f"/api/v1/allocations/{foreign['plan_id']}",
                f"/persons/{foreign['person_id']}", f"/api/v1/persons/{foreign['person_id']}"):
        assert caller.send("viewer", "GET", url).status_code == 404, url


def test_an_anonymous_page_request_is_sent_to_the_login_page(world_app, caller):
    response = caller.send(None, "GET", "/shipments/1")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_an_anonymous_api_request_is_a_401(caller):
    response = caller.send(None, "GET", "/api/v1/shipments/1")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "admin"])
def test_lists_filtered_by_another_provinces_location_show_none_of_it(world, caller, role):
    wrong = []
    for template in FOREIGN_FILTERS:
        url = template.format(**world.foreign.ids, national_id=world.foreign.people[0][0],
                              own_lot_id=world.own.ids["lot_id"], own_person_id=world.own.ids["person_id"])
        response = caller.send(role, "GET", url)
        if response.status_code not in (200, 403, 404, 422) or leaked(response, world.foreign.texts):
            wrong.append((url, response.status_code, leaked(response, world.foreign.texts)))
    assert wrong == []


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "admin"])
def test_searches_do_not_find_another_provinces_people_by_name(world, caller, role):
    name = world.foreign.names[0]  # the foreign person injected today
    wrong = []
    for template in FOREIGN_SEARCHES:
        url = template.format(name=name.split()[0] + " " + name.split()[1], own_person_id=world.own.ids["person_id"])
        response = caller.send(role, "GET", url)
        if leaked(response, world.foreign.texts):
            wrong.append((url, leaked(response, world.foreign.texts)))
    assert wrong == []


SCOPED_GETS = [endpoint for endpoint, row in ROWS.items() if row.scoped]


@pytest.mark.parametrize("role", ["site_staff", "warehouse_manager", "viewer", "integrator", "logistics_officer"])
def test_ids_guessed_in_turn_reach_only_ones_own_records(world_app, world, caller, role):
    """Every id from 1 to a little past the largest in use, on every scoped GET route the role may use."""
    leaks = []
    for rule, row in get_routes(world_app):
        if not row.scoped or role not in row.roles:
            continue
        parameter = next(iter(rule.arguments))
        name = dict(row.params).get(parameter, parameter)
        if name not in world.max_ids:
            continue
        for guess in range(1, world.max_ids[name] + 3):
            url = url_for_side(rule, {**world.own.ids, name: guess}, row)
            response = caller.send(role, "GET", url)
            assert response.status_code < 500, url
            leaks += [(url, text) for text in leaked(response, world.foreign.texts)]
    assert leaks == []


QUERY_IDS = [("/register?person={}", "person_id"), ("/register?done={}", "injection_id"),
             ("/persons/{own}/merge?duplicate={}", "person_id"), ("/persons/{}", "due_person_id")]


def test_ids_guessed_in_turn_in_the_query_string_reach_only_ones_own_records(world, caller):
    leaks = []
    for template, name in QUERY_IDS:
        for guess in range(1, world.max_ids[name] + 3):
            url = template.replace("{own}", str(world.own.ids["person_id"])).format(guess)
            response = caller.send("site_staff", "GET", url)
            assert response.status_code in (200, 302, 404), url
            leaks += [(url, text) for text in leaked(response, world.foreign.texts)]
    assert leaks == []


def state_changing_routes(app):
    return [(rule, method, ROWS[rule.endpoint]) for rule, method in routes(app) if method != "GET"]


def refusal(row, role, url):
    """The statuses refusing a write by ``role`` to another province's record at ``url``; None if allowed."""
    api = url.startswith(API)
    if role is None:
        return {401} if api else {302, 400}  # 400: no CSRF token (checked first)
    if role not in row.roles:
        return {403}
    if row.scoped and role != "admin":
        return {400, 404, 422} if api else {row.foreign_status}
    return None


def test_state_changing_routes_refuse_other_roles_and_another_provinces_records(world_app, world, caller):
    """With a valid CSRF token (pages) or token (API): a role not allowed gets 403, nobody 302/401, and an
    allowed role naming another province's record gets a 404 (or a 400/422 refusing the empty body first) —
    and nothing is written."""
    before = snapshot(world_app)
    wrong = []
    for rule, method, row in state_changing_routes(world_app):
        if row.roles == ANYONE:
            continue
        url = url_for_side(rule, world.foreign.ids, row)
        for role in CALLERS:
            expected = refusal(row, role, url)
            if expected is None:
                continue  # allowed, on an unscoped route: posting would do something (the CSRF tests post)
            answered = caller.send(role, method, url).status_code
            if answered not in expected:
                wrong.append((method, url, role, answered))
    assert wrong == []
    assert changes(before, snapshot(world_app)) == {}
