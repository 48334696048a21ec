"""POST /api/v1/injections and the people endpoints, as a site's tablet or an integrator meets them."""
import math
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from core import audit, audit_chain, roles
from core.db import db
from core.testing import recorded_statements
from modules.injection.models import Injection, Person
from modules.warehouse import ledger
from modules.warehouse.models import Location
from tests.transport.test_api import bearer, error_of
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

# Counted between the audit log's seals (core/audit.py: at most one a second per process, 3-4 statements of its own).
# The area tally's upsert is one of them; a process's first dose at a site also looks up the site's area.
MAX_STATEMENTS = 25  # a second dose from an open vial: 25 on SQLite, 23 on PostgreSQL
MAX_STATEMENTS_NEW_PERSON = 21  # 21 on SQLite, 18 on PostgreSQL
# Illustrative CCCD numbers: birth province 001 (Hà Nội), century/gender digit, year, then six digits.
LAN = {"national_id": "001190123456", "full_name": "Nguyễn Thị Lan", "gender": "female",
       "date_of_birth": "1990-05-17", "phone": "+84 912 345 678"}


@pytest.fixture
def world(app):
    """Site DT-PX holds Vaxzevria AZ1 (3 vials of 10); staff at DT-PX and at DT-HC (another province)."""
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=30)
        headers = {"site": bearer(user_at(roles.SITE_STAFF, tree.site_a, "tram.px")),
                   "other": bearer(user_at(roles.SITE_STAFF, tree.other_site, "tram.hc")),
                   "viewer": bearer(user_at(roles.VIEWER, tree.national, "xem.qg"))}
        db.session.commit()
        return SimpleNamespace(headers=headers, lot_id=lot.id, site_id=tree.site_a.id)


def register(app, world, who="site", key=None, **changes):
    body = {"person": LAN, "vaccine": "VAXZEVRIA", "lot": "AZ1", "site": "DT-PX", **changes}
    headers = dict(world.headers[who])
    if key is not None:
        headers["Idempotency-Key"] = key
    return app.test_client().post("/api/v1/injections", json=body, headers=headers)


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Person)),
                db.session.scalar(select(func.count()).select_from(Injection)))


def on_hand(app, world):
    with app.app_context():
        return ledger.on_hand(world.site_id, world.lot_id)


def test_a_first_registration_creates_the_person_and_takes_a_dose(app, world):
    response = register(app, world)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["dose_number"] == 1 and body["certificate"] == {"status": "partial", "color": "yellow"}
    assert body["next_dose_due"] is not None
    assert counts(app) == (1, 1) and on_hand(app, world) == 29
    with app.app_context():
        person = db.session.get(Person, body["person_id"])
        assert (person.phone, person.full_name, person.id_kind) == ("0912345678", "Nguyễn Thị Lan", "cccd")


def test_the_same_idempotency_key_gives_the_same_single_record(app, world):
    first = register(app, world, key="tablet-7:000123")
    again = register(app, world, key="tablet-7:000123")
    assert (first.status_code, again.status_code) == (201, 201) and first.json == again.json
    assert counts(app) == (1, 1) and on_hand(app, world) == 29


def test_a_known_person_is_found_by_id_and_the_interval_is_checked(app, world):
    assert register(app, world, injected_at="2026-01-05T09:00:00+07:00").status_code == 201
    too_early = register(app, world, injected_at="2026-01-20T09:00:00+07:00")
    assert error_of(too_early) == (422, "interval_too_short", "injected_at")
    assert "02/02/2026" in too_early.json["error"]["message"]
    second = register(app, world, injected_at="2026-02-02T09:00:00+07:00")
    assert second.status_code == 201 and second.json["certificate"]["color"] == "green"
    assert counts(app) == (1, 2)


@pytest.mark.parametrize("person, expected", [
    ({"national_id": "001190123"[:8]}, (422, "invalid_national_id", "person.national_id")),
    ({"gender": "male"}, (422, "gender_mismatch", "person.gender")),
    ({"date_of_birth": "1991-05-17"}, (422, "birth_year_mismatch", "person.date_of_birth")),
    ({"date_of_birth": "2090-01-01", "national_id": None}, (422, "invalid_date_of_birth", "person.date_of_birth")),
    ({"phone": "12345"}, (422, "invalid_phone", "person.phone")),
    ({"full_name": "   "}, (422, "required", "person.full_name")),
    ({"date_of_birth": "17/05/1990"}, (400, "invalid_date", "person.date_of_birth")),
    ({"nickname": "Lan"}, (400, "unknown_field", "person.nickname")),
])
def test_bad_people_are_refused_naming_the_field_and_nothing_is_written(app, world, person, expected):
    response = register(app, world, person={**LAN, **person})
    assert error_of(response) == expected
    assert counts(app) == (0, 0) and on_hand(app, world) == 30


@pytest.mark.parametrize("changes, expected", [
    ({"site": "DT-HC"}, (404, "unknown_location", "site")),
    ({"lot": "NOPE"}, (404, "unknown_lot", "lot")),
    ({"vaccine": "VEROCELL"}, (404, "unknown_lot", "lot")),
    ({"injected_at": "2030-01-01T08:00:00+07:00"}, (422, "in_the_future", "injected_at")),
    ({"injected_at": "2026-01-05 09:00"}, (400, "invalid_datetime", "injected_at")),
    ({"dose_number": 2}, (422, "wrong_dose_number", "dose_number")),
])
def test_bad_injections_are_refused_and_take_nothing(app, world, changes, expected):
    response = register(app, world, **changes)
    assert error_of(response) == expected
    assert counts(app) == (0, 0) and on_hand(app, world) == 30


def test_an_id_recorded_for_someone_else_is_refused(app, world):
    assert register(app, world).status_code == 201
    other = register(app, world, person={**LAN, "full_name": "Trần Văn Bình", "gender": "female"},
                     injected_at="2026-01-01T09:00:00+07:00")
    assert error_of(other) == (409, "id_belongs_to_other", "person.national_id")


def test_only_site_staff_and_integrators_register(app, world):
    assert register(app, world, who="viewer").status_code == 403
    assert register(app, world, who="other").status_code == 404  # DT-PX is not theirs


def test_people_are_found_by_id_phone_or_name_without_accents(app, world):
    person_id = register(app, world).json["person_id"]
    client = app.test_client()
    for query in ("q=001190123456", "q=0912%20345%20678", "q=nguyen%20thi", "q=NGUYỄN", "national_id=001190123456"):
        found = client.get(f"/api/v1/persons?{query}", headers=world.headers["viewer"]).json["items"]
        assert [person["id"] for person in found] == [person_id], query
    shown = client.get(f"/api/v1/persons/{person_id}", headers=world.headers["site"]).json
    assert [(dose["dose_number"], dose["lot"], dose["site"]) for dose in shown["doses"]] == [(1, "AZ1", "DT-PX")]
    assert client.get("/api/v1/persons/999", headers=world.headers["site"]).status_code == 404


def test_a_registration_takes_few_queries(app, world):
    """The hot path: a known person's second dose from an open vial. Its statements are counted so that
    they cannot silently grow (a query in a loop, a lazy load)."""
    app.extensions[audit.NEXT_SEAL] = math.inf  # no seal in the counted request
    assert register(app, world, injected_at="2026-01-05T09:00:00+07:00").status_code == 201
    with recorded_statements(app) as statements:
        response = register(app, world, injected_at="2026-02-02T09:00:00+07:00")
    assert response.status_code == 201
    assert len(statements) <= MAX_STATEMENTS, (len(statements), statements)


def test_a_new_persons_first_dose_takes_few_queries(app, world):
    """The benchmark's path (bench/registration.py): a new person's first dose from a single-dose vial."""
    app.extensions[audit.NEXT_SEAL] = math.inf
    with app.app_context():
        receive_lot(db.session.get(Location, world.site_id), vaccine_with_gtin("VEROCELL"), "VC1", doses=5)
        db.session.commit()
    with recorded_statements(app) as statements:
        response = register(app, world, vaccine="VEROCELL", lot="VC1")
    assert response.status_code == 201, response.json
    assert len(statements) <= MAX_STATEMENTS_NEW_PERSON, (len(statements), statements)


def test_ids_that_grow_with_every_dose_go_past_integer(app, world):
    """5 million injections a day pass INTEGER's 2 147 483 647 within months: audit entries, moves and
    injections are BIGINT (SQLite's rowid is 64-bit already)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite's INTEGER primary key is 64-bit")
        for sequence in ("core_audit_log_id_seq", "warehouse_move_id_seq", "injection_injection_id_seq"):
            db.session.execute(text(f"SELECT setval('{sequence}', 3000000000)"))
        db.session.commit()
    response = register(app, world)
    assert response.status_code == 201, response.json
    assert response.json["id"] > 2**31
    with app.app_context():
        injection = db.session.get(Injection, response.json["id"])
        assert injection.move_id > 2**31
        assert audit_chain.verify(db.engine, audit_chain.chain_key(app.config)).problems == []
