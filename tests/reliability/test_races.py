"""Races between real concurrent requests, served by gunicorn in worker processes of its own (as in
production) on the test's database: stock never oversold, no deadlock reaching a user, one record per
Idempotency-Key, and a consistent ledger after a randomised mixed load."""
import random
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from core import roles
from core.db import db
from modules.injection.models import Injection
from modules.warehouse import ledger, locations
from tests.reliability.conftest import server_environment
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin

CLIENTS = 50
REFUSED = (409, 422)


def at_once(count, call):
    """Run ``call(i)`` for i in range(count) from ``count`` client threads released together; the results in
    order and the seconds they took."""
    start = threading.Barrier(count)

    def client(index):
        start.wait()
        return call(index)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(client, range(count)))
    return results, time.perf_counter() - began


def person(number):
    """A distinct adult with a well-formed CCCD (Hà Nội, a woman born in 1990)."""
    return {"national_id": f"001190{number:06d}", "full_name": f"Nguyễn Thị {GIVEN[number % len(GIVEN)]}",
            "gender": "female", "date_of_birth": f"1990-{1 + number % 12:02d}-{1 + number % 28:02d}",
            "phone": f"0912{number:06d}"}


GIVEN = ["An", "Bình", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Lan", "Linh", "Mai", "Nga", "Phương", "Tâm",
         "Thảo", "Trang", "Vân", "Yến"]


def retries_in(server):
    return server.log_text().count("transaction retried")


@dataclass
class World:
    site_staff: str
    manager: str
    lots: list
    vero_gtin: str
    expiry: str


@pytest.fixture
def world(app, token_for):
    """Sites DT-PX and DT-TB under district KHO-BD; a manager of the district, staff at DT-PX."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        expiry = days_from_today(365)
        lots = [receive_lot(tree.site_a, vero, f"RACE{index}", doses=1000, expiry=expiry) for index in range(3)]
        manager = token_for(user_at(roles.WAREHOUSE_MANAGER, tree.district, "kho.bd"))
        staff = token_for(user_at(roles.SITE_STAFF, tree.site_a, "tram.px"))
        return World(staff, manager, [lot.id for lot in lots], vero.gtins[0].gtin, expiry.isoformat())


def balances(app, lot_ids, codes=("DT-PX", "DT-TB")):
    with app.app_context():
        places = [locations.by_code(code) for code in codes]
        return {(place.code, lot_id): ledger.on_hand(place.id, lot_id) for place in places for lot_id in lot_ids}


def ledger_problems(app):
    with app.app_context():
        return ledger.check()


def test_fifty_clients_registering_from_a_lot_of_ten_doses_get_ten_injections_and_forty_clear_refusals(
        app, world, gunicorn_server):
    with app.app_context():
        site = locations.by_code("DT-PX")
        lot_id, site_id = receive_lot(site, vaccine_with_gtin("VEROCELL"), "LAST10", doses=10).id, site.id
    server = gunicorn_server()

    def register(index):
        return server.post("/api/v1/injections", world.site_staff,
                           {"person": person(index), "vaccine": "VEROCELL", "lot_id": lot_id, "site": "DT-PX"})

    results, seconds = at_once(CLIENTS, register)
    statuses = [status for status, _body in results]
    refusals = [body["error"] for status, body in results if status in REFUSED]
    print(f"\n{CLIENTS} clients for 10 doses: {statuses.count(201)} registered, {len(refusals)} refused, "
          f"{seconds:.2f} s, retries {retries_in(server)}")
    assert statuses.count(201) == 10 and len(refusals) == CLIENTS - 10, results
    assert {(error["code"], error["field"]) for error in refusals} == {("no_stock", "lot_id")}
    assert all(error["message"] for error in refusals)
    with app.app_context():
        assert ledger.on_hand(site_id, lot_id) == 0
        assert db.session.query(Injection).filter_by(lot_id=lot_id).count() == 10
        assert ledger.check() == []


TRANSFERS = 60


def test_transfers_both_ways_with_lines_in_opposite_orders_all_commit_and_no_deadlock_reaches_a_user(
        app, world, gunicorn_server):
    server = gunicorn_server()
    spread = server.post("/api/v1/transfers", world.manager, {"from": "DT-PX", "to": "DT-TB", "lines": [
        {"lot_id": lot_id, "doses": 500} for lot_id in world.lots]})
    assert spread[0] == 201, spread
    before = balances(app, world.lots)

    def transfer(index):
        forward = index % 2 == 0
        lines = [{"lot_id": lot_id, "doses": 1 + index % 3} for lot_id in world.lots]
        return server.post("/api/v1/transfers", world.manager, {
            "from": "DT-PX" if forward else "DT-TB", "to": "DT-TB" if forward else "DT-PX",
            "lines": lines if forward else lines[::-1]})

    results, seconds = at_once(TRANSFERS, transfer)
    statuses = [status for status, _body in results]
    print(f"\n{TRANSFERS} transfers A→B / B→A, 3 lines each: {statuses.count(201)} committed, "
          f"{TRANSFERS - statuses.count(201)} refused, {seconds:.2f} s, retries {retries_in(server)}")
    assert all(status == 201 or status in REFUSED and body["error"]["message"] for status, body in results), results
    assert "deadlock" not in str(results).lower() and "locked" not in str(results).lower()
    assert statuses.count(201) == TRANSFERS, results  # 500 doses each way: nothing may run short
    moved = {lot_id: 0 for lot_id in world.lots}
    for index, (_status, body) in enumerate(results):
        sign = 1 if index % 2 == 0 else -1
        for move in body["moves"]:
            moved[move["lot_id"]] += sign * move["doses"]
    assert balances(app, world.lots) == {
        **{("DT-PX", lot_id): before["DT-PX", lot_id] - moved[lot_id] for lot_id in world.lots},
        **{("DT-TB", lot_id): before["DT-TB", lot_id] + moved[lot_id] for lot_id in world.lots}}
    assert ledger_problems(app) == []


def test_the_same_injection_posted_ten_times_at_once_with_one_key_is_one_record_with_one_answer(
        app, world, gunicorn_server):
    server = gunicorn_server()
    body = {"person": person(7), "vaccine": "VEROCELL", "lot_id": world.lots[0], "site": "DT-PX"}
    results, seconds = at_once(10, lambda _index: server.post(
        "/api/v1/injections", world.site_staff, body, headers={"Idempotency-Key": "tablet-3:000042"}))
    print(f"\n10 posts, one Idempotency-Key: statuses {sorted(status for status, _body in results)}, {seconds:.2f} s")
    assert [status for status, _body in results] == [201] * 10, [answer for answer in results if answer[0] != 201]
    assert len({str(answer) for _status, answer in results}) == 1
    with app.app_context():
        assert db.session.query(Injection).filter_by(idempotency_key="tablet-3:000042").count() == 1
        assert db.session.query(Injection).count() == 1
        assert ledger.check() == []


MIXED_CLIENTS = 8
MIXED_STEPS = 20


def mixed_step(server, world, rng, client, step):
    """One random operation, as a manager or a site's staff would send it."""
    choice = rng.random()
    lot_id = rng.choice(world.lots)
    if choice < 0.2:
        return server.post("/api/v1/receipts", world.manager, {"location": rng.choice(["DT-PX", "DT-TB"]), "lines": [
            {"gtin": world.vero_gtin, "lot": f"RACE{world.lots.index(lot_id)}", "expiry": world.expiry,
             "doses": rng.randint(1, 20)}]})
    if choice < 0.45:
        return server.post("/api/v1/adjustments", world.manager, {
            "location": rng.choice(["DT-PX", "DT-TB"]), "lot_id": lot_id, "doses": -rng.randint(1, 30),
            "reason": rng.choice(["broken", "lost", "expired"])})
    if choice < 0.75:
        chosen = rng.sample(world.lots, rng.randint(1, 3))
        lines = [{"lot_id": lot, "doses": rng.randint(1, 40)} for lot in chosen]
        source, destination = rng.sample(["DT-PX", "DT-TB"], 2)
        return server.post("/api/v1/transfers", world.manager, {"from": source, "to": destination, "lines": lines})
    return server.post("/api/v1/injections", world.site_staff, {
        "person": person(1000 + client * MIXED_STEPS + step), "vaccine": "VEROCELL", "lot_id": lot_id,
        "site": "DT-PX"}, headers={"Idempotency-Key": f"mixed-{client}-{step}"})


def test_after_a_randomised_mixed_load_the_stock_check_command_finds_the_books_right(
        app, world, gunicorn_server, test_database_url, tmp_path):
    server = gunicorn_server()

    def client(index):
        rng = random.Random(2021 + index)
        return [mixed_step(server, world, rng, index, step) for step in range(MIXED_STEPS)]

    results, seconds = at_once(MIXED_CLIENTS, client)
    answers = [answer for batch in results for answer in batch]
    statuses = [status for status, _body in answers]
    print(f"\nmixed load: {len(answers)} requests, {statuses.count(201)} committed, "
          f"{sum(status in REFUSED for status in statuses)} refused, {seconds:.2f} s, retries {retries_in(server)}")
    assert all(status == 201 or status in REFUSED and body["error"]["message"] for status, body in answers), answers
    assert statuses.count(201) > len(answers) // 2
    checked = subprocess.run(["vaxchain", "stock", "check"], capture_output=True, text=True, timeout=120,
                             env=server_environment(test_database_url, tmp_path / "instance"))
    assert (checked.returncode, checked.stderr) == (0, ""), checked
    assert "consistent" in checked.stdout
