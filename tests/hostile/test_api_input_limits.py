"""What schemathesis found, kept as plain regression tests (its examples are drawn at random): input the
database cannot store is refused as bad input before it gets there, and what slips through is a 422, never
a 500. On PostgreSQL each of these was a 500: ids are INTEGER (32 bits) and text cannot hold NUL."""
import pytest
from sqlalchemy.exc import DataError

from core import access, roles
from core.accounts import create_user
from core.db import db
from core.tokens import create_token
from tests.warehouse.helpers import build_tree


@pytest.fixture
def admin_headers(app):
    with app.app_context():
        _token, secret = create_token(create_user("limits-admin", "correct-horse-battery-9", roles.ADMIN))
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("method, url", [
    ("GET", "/api/v1/persons/2147483648"), ("PATCH", "/api/v1/persons/11926435791"),
    ("GET", "/api/v1/shipments/9223372036854775808"), ("POST", "/api/v1/shipments/9223372036854775808/repick"),
    ("GET", "/api/v1/lots/99999999999999999999999/labels.pdf"),
])
def test_an_id_no_row_can_have_is_unknown_not_a_server_error(app, admin_headers, method, url):
    response = app.test_client().open(url, method=method, json={}, headers=admin_headers)
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "not_found")


def test_the_largest_id_a_row_can_have_is_still_looked_up(app, admin_headers):
    response = app.test_client().get("/api/v1/persons/2147483647", headers=admin_headers)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_person"


@pytest.mark.parametrize("url", ["/api/v1/holds?location=%00", "/api/v1/lots?vaccine=KHO%00",
                                 "/api/v1/persons?q=a&q=%00", "/api/v1/stock?location=%00"])
def test_a_nul_in_the_address_is_refused_as_bad_input(app, admin_headers, url):
    response = app.test_client().get(url, headers=admin_headers)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_character")


def test_a_nul_in_a_path_segment_is_refused_as_bad_input(app, admin_headers):
    response = app.test_client().put("/api/v1/targets/01%00", json={"population": 1}, headers=admin_headers)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_character")


def test_a_nul_in_json_text_is_refused_naming_the_field(app, admin_headers):
    response = app.test_client().post("/api/v1/shipments", headers=admin_headers, json={
        "origin": "KHO\x00", "destination": "DT-PX", "lines": [{"vaccine": "VEROCELL", "doses": 10}]})
    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (400, "invalid_character", "origin")


def test_a_json_integer_past_the_database_s_is_refused_naming_the_field(app, admin_headers):
    with app.app_context():
        build_tree()
    response = app.test_client().post("/api/v1/shipments", headers=admin_headers, json={
        "origin": "KHO-QG", "destination": "DT-PX", "lines": [{"vaccine": "VEROCELL", "doses": 2**40}]})
    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (422, "out_of_range", "lines[0].doses")


def test_a_json_id_past_the_database_s_is_unknown_or_unstorable_never_a_server_error(app, admin_headers):
    with app.app_context():
        build_tree()
    response = app.test_client().post("/api/v1/shipments", headers=admin_headers, json={
        "origin": "KHO-QG", "destination": "DT-PX", "lines": [{"lot_id": 2**40, "doses": 10}]})
    # SQLite looks the id up and finds nothing; PostgreSQL cannot compare it with an INTEGER column
    assert (response.status_code, response.get_json()["error"]["code"]) in ((404, "unknown_lot"),
                                                                            (422, "unstorable_value"))


def test_a_value_the_database_refuses_is_a_422_not_a_500(app, admin_headers):
    def refused_by_the_database():
        raise DataError("INSERT ...", {}, ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))

    app.add_url_rule("/api/v1/test-data-error", "test_data_error", access.public(refused_by_the_database))
    response = app.test_client().get("/api/v1/test-data-error", headers=admin_headers)
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "unstorable_value")


def test_created_operations_are_documented_as_201(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    created = {f"{method.upper()} {path}" for path, operations in paths.items()
               for method, operation in operations.items() if "201" in operation["responses"]}
    assert created == {"POST /api/v1/shipments", "POST /api/v1/allocations", "POST /api/v1/injections",
                       "POST /api/v1/injections/{injection_id}/correct", "POST /api/v1/receipts",
                       "POST /api/v1/adjustments", "POST /api/v1/transfers"}
    assert all("409" in operation["responses"] for operations in paths.values() for operation in operations.values())
