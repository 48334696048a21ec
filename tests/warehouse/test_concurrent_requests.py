"""Real concurrent HTTP requests against a running server: stock never goes below zero."""
import json
import threading
import urllib.error
import urllib.request

from core import roles
from core.db import db
from core.tokens import create_token
from modules.warehouse import ledger
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

CLIENTS = 24


def post(url, token, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_clients_racing_for_the_last_doses_never_oversell(app, live_server):
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "RACE1", doses=10)
        staff = user_at(roles.SITE_STAFF, tree.site_a, "racer")
        _token, secret = create_token(staff)
        db.session.commit()
        lot_id, site_id = lot.id, tree.site_a.id
    start, results = threading.Barrier(CLIENTS), []

    def take_one():
        start.wait()
        results.append(post(f"{live_server}/api/v1/adjustments", secret,
                            {"location": "DT-PX", "lot_id": lot_id, "doses": -1, "reason": "broken"}))

    threads = [threading.Thread(target=take_one) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(status for status, _body in results)
    assert statuses.count(409) == CLIENTS - 10 and len(statuses) == CLIENTS
    assert all(status < 300 for status in statuses[:10]), statuses
    refusals = [body["error"] for status, body in results if status == 409]
    assert {error["code"] for error in refusals} == {"insufficient_stock"}
    assert {error["field"] for error in refusals} == {"doses"}
    with app.app_context():
        assert ledger.on_hand(site_id, lot_id) == 0
        assert ledger.check() == []
