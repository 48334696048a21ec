"""PATCH /api/v1/persons/<id>, POST /api/v1/persons/<id>/merge and POST /api/v1/injections/<id>/correct, as a
site's tablet or an integrator meets them: errors name the field, refusals write nothing."""
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import roles
from core.db import db
from core.models import AuditEntry
from modules.injection import people
from modules.injection.models import Injection, Person
from tests.injection.test_api import LAN, on_hand, register
from tests.transport.test_api import bearer, error_of
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

# Illustrative CCCD: birth province 001, digit 4 "0" (a man born in the 20th century), born in (19)85.
BINH = {"national_id": "001085654321", "full_name": "Trần Văn Bình", "gender": "male",
        "date_of_birth": "1985-03-02", "phone": "0987654321"}


@pytest.fixture
def world(app):
    """As in test_api: site DT-PX holds Vaxzevria AZ1 (30 doses); staff at DT-PX ("site") and at DT-HC in another
    province ("other"); a viewer of the nation."""
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=30)
        headers = {"site": bearer(user_at(roles.SITE_STAFF, tree.site_a, "tram.px")),
                   "other": bearer(user_at(roles.SITE_STAFF, tree.other_site, "tram.hc")),
                   "viewer": bearer(user_at(roles.VIEWER, tree.national, "xem.qg"))}
        db.session.commit()
        return SimpleNamespace(headers=headers, lot_id=lot.id, site_id=tree.site_a.id)


def patch(app, world, person_id, who="site", **body):
    return app.test_client().patch(f"/api/v1/persons/{person_id}", json=body, headers=world.headers[who])


def merge(app, world, keep_id, body, who="site"):
    return app.test_client().post(f"/api/v1/persons/{keep_id}/merge", json=body, headers=world.headers[who])


def correct(app, world, injection_id, who="site", body=None):
    return app.test_client().post(f"/api/v1/injections/{injection_id}/correct",
                                  json={"reason": "Nhầm lô vắc xin"} if body is None else body,
                                  headers=world.headers[who])


def person_in_api(app, world, **person):
    """A person registered through POST /injections (one dose of AZ1 at DT-PX); ``(person id, injection id)``."""
    response = register(app, world, person={**LAN, **person}, injected_at="2026-01-05T09:00:00+07:00")
    assert response.status_code == 201, response.json
    return response.json["person_id"], response.json["id"]


def record(app, **details):
    """A person recorded without a dose; their id."""
    data = {**LAN, **details}
    data["date_of_birth"] = date.fromisoformat(data["date_of_birth"])
    with app.app_context():
        person = people.create_person(people.PersonData(**data))
        db.session.commit()
        return person.id


def stored(app, person_id):
    with app.app_context():
        person = db.session.get(Person, person_id)
        return (person.full_name, person.phone, person.national_id, person.merged_into_id)


def audited(app, action):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


# --- PATCH /persons/<id> --------------------------------------------------------------------------

def test_an_edit_answers_the_person_normalised(app, world):
    person_id = record(app)
    response = patch(app, world, person_id, phone="+84 977 123 456", full_name=" Nguyễn  Thị Lan Anh ",
                     ethnicity="Kinh")
    assert response.status_code == 200, response.json
    assert (response.json["id"], response.json["phone"], response.json["full_name"]) == (
        person_id, "0977123456", "Nguyễn Thị Lan Anh")
    assert stored(app, person_id) == ("Nguyễn Thị Lan Anh", "0977123456", LAN["national_id"], None)
    assert audited(app, "person.update") == 1


def test_an_empty_string_removes_an_optional_field_and_absent_ones_are_kept(app, world):
    person_id = record(app)
    response = patch(app, world, person_id, phone="")
    assert response.status_code == 200 and response.json["phone"] is None
    assert response.json["national_id"] == LAN["national_id"] and response.json["gender"] == "female"


@pytest.mark.parametrize("body, expected", [
    ({"national_id": "00119012"}, (422, "invalid_national_id", "national_id")),
    ({"gender": "male"}, (422, "gender_mismatch", "gender")),
    ({"date_of_birth": "1991-05-17"}, (422, "birth_year_mismatch", "date_of_birth")),
    ({"phone": "12345"}, (422, "invalid_phone", "phone")),
    ({"full_name": "   "}, (422, "required", "full_name")),
    ({"insurance_number": "AB12"}, (422, "invalid_insurance_number", "insurance_number")),
    ({"admin_unit": "99999"}, (422, "unknown_admin_unit", "admin_unit")),
    ({"date_of_birth": "17/05/1990"}, (400, "invalid_date", "date_of_birth")),
    ({"phone": 912345678}, (400, "not_a_string", "phone")),
    ({"nickname": "Lan"}, (400, "unknown_field", "nickname")),
])
def test_a_bad_edit_is_refused_naming_the_field_and_nothing_changes(app, world, body, expected):
    person_id = record(app)
    before = stored(app, person_id)
    assert error_of(patch(app, world, person_id, **body)) == expected
    assert stored(app, person_id) == before and audited(app, "person.update") == 0


def test_an_edit_that_would_duplicate_another_person_is_a_conflict(app, world):
    lan_id = record(app)
    binh_id = record(app, **BINH)
    response = patch(app, world, binh_id, national_id=LAN["national_id"], full_name=LAN["full_name"],
                     gender="female", date_of_birth=LAN["date_of_birth"])
    assert error_of(response) == (409, "duplicate_person", "national_id")
    assert str(lan_id) in response.json["error"]["message"]
    assert stored(app, binh_id)[2] == BINH["national_id"]


def test_only_registrars_edit_and_an_unknown_person_is_a_404(app, world):
    person_id = record(app)
    assert patch(app, world, person_id, who="viewer", phone="0977123456").status_code == 403
    assert error_of(patch(app, world, 999, phone="0977123456")) == (404, "unknown_person", None)


# --- POST /persons/<id>/merge ---------------------------------------------------------------------

def test_a_merge_answers_the_person_kept_with_every_dose(app, world):
    duplicate_id, _injection = person_in_api(app, world)
    keep_id = record(app, national_id=None, phone="0911111111")
    response = merge(app, world, keep_id, {"duplicate_id": duplicate_id})
    assert response.status_code == 200, response.json
    assert response.json["id"] == keep_id and response.json["national_id"] == LAN["national_id"]
    assert [dose["lot"] for dose in response.json["doses"]] == ["AZ1"]
    assert stored(app, duplicate_id)[3] == keep_id
    found = app.test_client().get(f"/api/v1/persons/{duplicate_id}", headers=world.headers["viewer"])
    assert found.json["id"] == keep_id
    assert audited(app, "person.merge") == 1


def test_a_merge_of_two_id_numbers_is_refused(app, world):
    keep_id, duplicate_id = record(app), record(app, **BINH)
    assert error_of(merge(app, world, keep_id, {"duplicate_id": duplicate_id})) == (409, "different_ids",
                                                                                    "national_id")
    assert stored(app, duplicate_id)[3] is None and audited(app, "person.merge") == 0


def test_a_merge_of_a_merged_record_or_of_oneself_is_refused(app, world):
    keep_id = record(app)
    duplicate_id = record(app, national_id=None, phone="0911111111")
    assert merge(app, world, keep_id, {"duplicate_id": duplicate_id}).status_code == 200
    other_id = record(app, national_id=None, phone="0922222222")
    assert error_of(merge(app, world, other_id, {"duplicate_id": duplicate_id})) == (409, "bad_merge", "person")
    assert error_of(merge(app, world, duplicate_id, {"duplicate_id": other_id})) == (409, "bad_merge", "person")
    assert error_of(merge(app, world, other_id, {"duplicate_id": other_id})) == (409, "bad_merge", "person")
    assert stored(app, duplicate_id)[3] == keep_id and stored(app, other_id)[3] is None


@pytest.mark.parametrize("body, expected", [
    ({}, (400, "required", "duplicate_id")),
    ({"duplicate_id": "2"}, (400, "not_an_integer", "duplicate_id")),
    ({"duplicate_id": 999}, (404, "unknown_person", "duplicate_id")),
    ({"duplicate_id": 2**40}, (404, "unknown_person", "duplicate_id")),
    ({"duplicate_id": 2, "keep": True}, (400, "unknown_field", "keep")),
])
def test_a_bad_merge_request_names_the_field(app, world, body, expected):
    keep_id = record(app)
    assert error_of(merge(app, world, keep_id, body)) == expected
    assert merge(app, world, keep_id, {"duplicate_id": keep_id}, who="viewer").status_code == 403


# --- POST /injections/<id>/correct ----------------------------------------------------------------

def test_a_correction_answers_201_and_the_dose_returns_to_the_site(app, world):
    person_id, injection_id = person_in_api(app, world)
    assert on_hand(app, world) == 29
    response = correct(app, world, injection_id)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["reverses_id"], body["person_id"], body["source"], body["reason"]) == (
        injection_id, person_id, "correction", "Nhầm lô vắc xin")
    assert (body["dose_number"], body["date"], body["lot"], body["site"], body["returned_to_stock"]) == (
        1, "2026-01-05", "AZ1", "DT-PX", True)
    assert on_hand(app, world) == 30
    shown = app.test_client().get(f"/api/v1/persons/{person_id}", headers=world.headers["site"]).json
    assert shown["doses"] == [] and shown["certificate"]["status"] == "none"


def test_correcting_twice_or_a_correction_is_a_conflict(app, world):
    _person, injection_id = person_in_api(app, world)
    correction_id = correct(app, world, injection_id).json["id"]
    assert error_of(correct(app, world, injection_id)) == (409, "already_corrected", "injection")
    assert error_of(correct(app, world, correction_id)) == (409, "correction_of_correction", "injection")
    assert on_hand(app, world) == 30
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Injection)) == 2


@pytest.mark.parametrize("body, expected", [
    ({}, (400, "required", "reason")),
    ({"reason": "  x "}, (422, "reason_required", "reason")),
    ({"reason": 12}, (400, "not_a_string", "reason")),
    ({"reason": "x" * 1001}, (400, "too_long", "reason")),
])
def test_a_correction_needs_a_reason(app, world, body, expected):
    _person, injection_id = person_in_api(app, world)
    assert error_of(correct(app, world, injection_id, body=body)) == expected
    assert on_hand(app, world) == 29


def test_an_injection_at_another_site_is_unknown_to_its_staff(app, world):
    _person, injection_id = person_in_api(app, world)
    assert error_of(correct(app, world, injection_id, who="other")) == (404, "unknown_injection", None)
    assert error_of(correct(app, world, 999)) == (404, "unknown_injection", None)
    assert correct(app, world, injection_id, who="viewer").status_code == 403
    assert on_hand(app, world) == 29


def test_the_new_endpoints_are_in_the_openapi_document(app):
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    assert {"get", "patch"} <= set(paths["/api/v1/persons/{person_id}"])
    assert paths["/api/v1/persons/{person_id}/merge"]["post"]["requestBody"]
    assert paths["/api/v1/injections/{injection_id}/correct"]["post"]["parameters"][0]["schema"]["type"] == "integer"
