"""The rules the race and crash tests rely on, checked in one process: a transaction cancelled for a
deadlock runs again (and is refused clearly when it keeps losing), a transfer of several lots is all or
nothing, and a running import job whose process is gone is found and marked interrupted."""
import os
import socket
import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from core import roles
from core.db import db, utcnow
from core.models import User
from modules.injection.models import ImportJob
from modules.warehouse import ledger, locations, services
from tests.conftest import log_in
from tests.transport.test_api import bearer
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin


class Deadlock(Exception):
    sqlstate = "40P01"


def deadlock():
    return OperationalError("UPDATE warehouse_balance ...", {}, Deadlock("deadlock detected"))


@pytest.fixture
def world(app):
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        first, second = (receive_lot(tree.site_a, vero, number, doses=50) for number in ("TL1", "TL2"))
        manager = bearer(user_at(roles.WAREHOUSE_MANAGER, tree.district, "kho.bd"))
        db.session.commit()
        return SimpleNamespace(manager=manager, lots=[first.id, second.id])


def adjust(app, world):
    return app.test_client().post("/api/v1/adjustments", headers=world.manager, json={
        "location": "DT-PX", "lot_id": world.lots[0], "doses": -1, "reason": "broken"})


def test_a_transaction_cancelled_by_a_deadlock_runs_again_and_commits_once(app, world, monkeypatch):
    adjust_once, failures = services.adjust, [deadlock()]

    def loses_the_first_race(*args, **kwargs):
        moves = adjust_once(*args, **kwargs)
        if failures:
            raise failures.pop()
        return moves

    monkeypatch.setattr(services, "adjust", loses_the_first_race)
    assert adjust(app, world).status_code == 201
    with app.app_context():
        assert ledger.on_hand(ledger_site(), world.lots[0]) == 49 and ledger.check() == []


def ledger_site():
    return locations.by_code("DT-PX").id


def test_a_transaction_that_keeps_losing_is_refused_with_a_clear_409_and_nothing_saved(app, world, monkeypatch):
    monkeypatch.setattr("core.db.time.sleep", lambda _seconds: None)

    def always_deadlocked(*args, **kwargs):
        raise deadlock()

    monkeypatch.setattr(services, "adjust", always_deadlocked)
    response = adjust(app, world)
    assert response.status_code == 409 and response.json["error"]["code"] == "busy"
    with app.app_context():
        assert ledger.on_hand(ledger_site(), world.lots[0]) == 50


def test_a_transfer_of_several_lots_moves_them_all_or_none(app, world):
    client = app.test_client()
    both = {"from": "DT-PX", "to": "DT-TB", "lines": [{"lot_id": world.lots[1], "doses": 5},
                                                     {"lot_id": world.lots[0], "doses": 7}]}
    moved = client.post("/api/v1/transfers", headers=world.manager, json=both)
    assert moved.status_code == 201 and sorted((m["lot_id"], m["doses"]) for m in moved.json["moves"]) == [
        (world.lots[0], 7), (world.lots[1], 5)]
    too_many = {**both, "lines": [{"lot_id": world.lots[0], "doses": 1}, {"lot_id": world.lots[1], "doses": 46}]}
    refused = client.post("/api/v1/transfers", headers=world.manager, json=too_many)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "insufficient_stock"
    twice = {**both, "lines": [{"lot_id": world.lots[0], "doses": 1}, {"lot_id": world.lots[0], "doses": 1}]}
    assert client.post("/api/v1/transfers", headers=world.manager, json=twice).json["error"]["field"] == \
        "lines[1].lot_id"
    mixed = {**both, "lot_id": world.lots[0]}
    assert client.post("/api/v1/transfers", headers=world.manager, json=mixed).status_code == 400
    with app.app_context():
        assert ledger.on_hand(ledger_site(), world.lots[0]) == 43 and ledger.check() == []


# --- Import jobs whose process is gone ----------------------------------------------------------------------

def ended_process():
    """The pid of a process that ran here and has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


@pytest.mark.parametrize("owner, heartbeat_minutes, expected", [
    (f"{socket.gethostname()}:{{dead}}", 0, "interrupted"),        # its process ended on this host
    (f"{socket.gethostname()}:{{alive}}", 1, "running"),           # alive here, heard from a minute ago
    (f"{socket.gethostname()}:{{this}}", 0, "interrupted"),        # this process, but no import of it going on
    ("other-host:123", 1, "running"),                              # another host, heard from a minute ago
    ("other-host:123", 11, "interrupted"),                         # another host, silent for longer than STALE_AFTER
    (None, 11, "interrupted"),                                     # from before owners were recorded
])
def test_a_running_job_whose_process_is_gone_is_shown_and_stored_as_interrupted(
        app, client, make_user, owner, heartbeat_minutes, expected):
    username = make_user(roles.SITE_STAFF)
    owner = owner and owner.format(dead=ended_process(), alive=os.getppid(), this=os.getpid())
    with app.app_context():
        user = db.session.query(User).filter_by(username=username).one()
        then = utcnow() - timedelta(minutes=heartbeat_minutes)
        job = ImportJob(filename="so-tiem.xlsx", file_sha256="0" * 64, created_by=user.id, owner=owner,
                        heartbeat_at=then, created_at=then)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    log_in(client, username)
    assert client.get(f"/imports/{job_id}/status.json").json["status"] == expected
    with app.app_context():
        stored = db.session.get(ImportJob, job_id)
        assert stored.status == expected
        assert (stored.finished_at is not None) == (expected == "interrupted")
        assert bool(stored.message) == (expected == "interrupted")  # says what happened and what to do
