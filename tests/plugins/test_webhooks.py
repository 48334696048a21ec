"""The bundled webhook notifier: events are queued in their own transaction, and `vaxchain webhooks deliver`
POSTs them, signed as the Standard Webhooks specification says, to a real HTTP server on this machine;
failures are retried on the schedule, in order, and every attempt is in the delivery log an admin reads."""
import base64
import hashlib
import hmac
import html
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from core import audit, roles, schema
from core.clock import local_today
from core.config import ConfigError
from core.db import db, utcnow
from core.models import AuditEntry
from core.testing import recorded_statements
from modules.injection import services as injections
from modules.injection.models import Person
from modules.lots.models import Lot
from modules.transport import services as transport
from modules.transport.services import LineReceipt, Request
from modules.transport.temperature import Reading
from modules.warehouse.models import Location
from plugins import webhooks
from plugins.webhooks import sending, services
from plugins.webhooks.models import DELIVERED, FAILED, PENDING, WebhooksAttempt, WebhooksDelivery
from tests.conftest import VaxchainCliRunner, csrf_token, log_in
from tests.transport.test_api import bearer
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

ROOT = Path(__file__).resolve().parents[2]
VAXCHAIN = (sys.executable, "-c", "from core.cli import main; main()")  # the `vaxchain` command, in this Python
# 32 random bytes, as an operator would make them (README.md); the receiver below holds the same secret.
SECRET = "whsec_" + base64.b64encode(bytes(range(7, 39))).decode()
ALL_EVENTS = ["injection.registered", "shipment.dispatched", "shipment.received", "shipment.temperature_excursion"]
LAN = {"full_name": "Nguyễn Thị Lan", "gender": "female", "date_of_birth": "1990-05-17",
       "national_id": "001190123456", "phone": "0912345678"}


# --- A receiver: a real HTTP server on 127.0.0.1 ----------------------------------------------------------

class Receiver:
    """Records every request; answers each with the next scripted answer (a status, or "slow": no answer
    within the client's timeout), 200 when the script is spent."""

    def __init__(self):
        self.requests, self.answers = [], deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(SimpleNamespace(path=self.path, headers=self.headers,  # any case
                                                         body=body))
                answer = receiver.answers.popleft() if receiver.answers else 200
                if answer == "slow":
                    time.sleep(1.5)  # past the endpoint's 1 s timeout
                    answer = 200
                try:
                    self.send_response(answer)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/vaxchain"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self):
        return [json.loads(request.body) for request in self.requests]


@pytest.fixture
def receiver():
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def endpoint_setting(url, events=ALL_EVENTS, **extra):
    return json.dumps([{"url": url, "secret": SECRET, "events": events, "timeout": 1, **extra}])


def installed_through_the_entry_point():
    return any(ep.name == "webhooks" for ep in metadata.entry_points(group="vaxchain.plugins"))


def plugin():
    return [] if installed_through_the_entry_point() else [("webhooks", webhooks)]


@pytest.fixture
def app(make_app, receiver):
    """The app with the plugin (through its entry point once installed, else registered here) and the
    receiver configured for every event; its tables made if the test database predates them."""
    app = make_app(plugins=plugin(), VAXCHAIN_WEBHOOKS=endpoint_setting(receiver.url))
    with app.app_context():
        schema.upgrade()
    return app


@pytest.fixture
def world(app):
    """Site DT-PX holds Vero Cell VC1 (single-dose vials); a site staff token there; Vaxzevria AZ-LATE at the
    national store, to ship."""
    with app.app_context():
        tree = build_tree()
        receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "VC1", doses=20)
        vaxzevria = vaccine_with_gtin("VAXZEVRIA")
        receive_lot(tree.national, vaxzevria, "AZ-LATE", doses=100)
        headers = bearer(user_at(roles.SITE_STAFF, tree.site_a, "tram.px"))
        db.session.commit()
        return SimpleNamespace(headers=headers, site_id=tree.site_a.id, national_id=tree.national.id)


def register(app, world, person=None):
    body = {"person": person or LAN, "vaccine": "VEROCELL", "lot": "VC1", "site": "DT-PX"}
    response = app.test_client().post("/api/v1/injections", json=body, headers=world.headers)
    assert response.status_code == 201, response.json
    return response.json


def deliver(app):
    result = VaxchainCliRunner(app).invoke(args=["webhooks", "deliver", "--once"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def deliveries(app):
    with app.app_context():
        return [(d.event_type, d.status, d.attempts) for d in
                db.session.scalars(select(WebhooksDelivery).order_by(WebhooksDelivery.id))]


def attempts(app):
    with app.app_context():
        return [(a.http_status, a.error) for a in
                db.session.scalars(select(WebhooksAttempt).order_by(WebhooksAttempt.id))]


class Clock:
    """The worker's clock (``services.utcnow``), moved by hand from the real now."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, delta):
        self.now += delta


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(services, "utcnow", fake)
    return fake


def verifies(request, secret=SECRET):
    """The receiver's check, written from the Standard Webhooks specification with the standard library alone:
    HMAC-SHA256 keyed with the secret's base64 (after ``whsec_``) of ``id.timestamp.body``, sent as
    ``v1,<base64>`` among the space-separated signatures."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, given) for given in request.headers["webhook-signature"].split(" "))


# --- Registration, settings, tables ---------------------------------------------------------------------

def test_the_entry_point_line_is_ready_for_setup_cfg():
    if not installed_through_the_entry_point():
        pytest.skip("setup.cfg does not declare `webhooks = plugins.webhooks` yet; registered by the tests")
    assert metadata.entry_points(group="vaxchain.plugins")["webhooks"].value == "plugins.webhooks"


def test_it_is_registered_as_a_plugin_with_its_own_tables_matching_its_models(app):
    kinds = {info.name: info.kind for info in app.extensions["vaxchain"].plugins()}
    assert kinds["webhooks"] == "plugin"
    with app.app_context(), db.engine.connect() as connection:
        assert "webhooks_0001" in schema.applied_revisions()
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [difference for difference in compare_metadata(context, db.metadata)
                       if "webhooks_" in str(difference)]
    assert differences == []


@pytest.mark.parametrize("setting, message", [
    ("[{", "VAXCHAIN_WEBHOOKS is not valid JSON"),
    ('{"url": "https://a.example"}', "VAXCHAIN_WEBHOOKS must be a JSON list of endpoints, not dict"),
    ('[{"url": "ftp://his.example.vn/in", "secret": "%s", "events": ["shipment.received"]}]',
     r"VAXCHAIN_WEBHOOKS\[0\].url: 'ftp://his.example.vn/in' must start with https://"),
    ('[{"url": "http://his.example.vn/in", "secret": "%s", "events": ["shipment.received"]}]',
     r"VAXCHAIN_WEBHOOKS\[0\].url: 'http://his.example.vn/in' uses plain http"),
    ('[{"url": "https://his.example.vn/in", "events": ["shipment.received"]}]',
     r"VAXCHAIN_WEBHOOKS\[0\].secret is missing"),
    ('[{"url": "https://his.example.vn/in", "secret": "s3cret", "events": ["shipment.received"]}]',
     r"VAXCHAIN_WEBHOOKS\[0\].secret must be a string starting with whsec_"),
    ('[{"url": "https://his.example.vn/in", "secret": "whsec_c2hvcnQ=", "events": ["shipment.received"]}]',
     r"VAXCHAIN_WEBHOOKS\[0\].secret is 5 bytes long; it must be 24 to 64"),
    ('[{"url": "https://his.example.vn/in", "secret": "whsec_not base64!", "events": ["shipment.received"]}]',
     r"VAXCHAIN_WEBHOOKS\[0\].secret: what follows whsec_ is not base64"),
    ('[{"url": "https://his.example.vn/in", "secret": "%s", "events": ["injection.created"]}]',
     r"VAXCHAIN_WEBHOOKS\[0\].events: unknown event 'injection.created' \(known: injection.registered"),
    ('[{"url": "https://his.example.vn/in", "secret": "%s", "events": []}]',
     r"VAXCHAIN_WEBHOOKS\[0\].events must be a non-empty list"),
    ('[{"url": "https://his.example.vn/in", "secret": "%s", "events": ["shipment.received"], "retries": 3}]',
     r"VAXCHAIN_WEBHOOKS\[0\]: unknown key 'retries'"),
    ('[{"url": "https://his.example.vn/in", "secret": "%s", "events": ["shipment.received"], "timeout": 90}]',
     r"VAXCHAIN_WEBHOOKS\[0\].timeout must be a number of seconds from 1 to 30"),
    ('[{"url": "https://his.example.vn/in", "secret": "%s", "events": ["shipment.received"]},'
     ' {"url": "https://his.example.vn/in", "secret": "%s", "events": ["injection.registered"]}]',
     r"VAXCHAIN_WEBHOOKS\[1\].url: https://his.example.vn/in is already the URL of VAXCHAIN_WEBHOOKS\[0\]"),
])
def test_a_bad_setting_stops_the_start_up_naming_the_entry_and_the_reason(make_app, setting, message):
    with pytest.raises(ConfigError, match=message):
        make_app(plugins=plugin(), VAXCHAIN_WEBHOOKS=setting.replace("%s", SECRET))


def test_the_command_line_refuses_to_start_on_a_bad_setting_with_one_line(tmp_path):
    environment = {**os.environ, "VAXCHAIN_INSTANCE_PATH": str(tmp_path), "VAXCHAIN_WEBHOOKS": json.dumps(
        [{"url": "https://his.example.vn/in", "secret": SECRET, "events": ["injection.created"]}])}
    if not installed_through_the_entry_point():
        environment["VAXCHAIN_PLUGINS"] = "plugins.webhooks"
    result = subprocess.run([*VAXCHAIN, "plugins"], cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: VAXCHAIN_WEBHOOKS[0].events: unknown event 'injection.created' (known: injection.registered, "
        "shipment.dispatched, shipment.received, shipment.temperature_excursion)"]


def test_the_signature_is_the_standard_webhooks_reference_vector():
    """The specification's published test vector (its libraries' tests): any of its libraries verifies us."""
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert sending.signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# --- Events, queued in their transaction and posted by the worker ------------------------------------------

def test_a_registration_is_posted_signed_once_the_worker_runs(app, world, receiver):
    registered = register(app, world)
    assert receiver.requests == [] and deliveries(app) == [("injection.registered", PENDING, 0)]

    assert "1 delivered, 0 to retry, 0 failed" in deliver(app)

    [request] = receiver.requests
    assert request.path == "/hooks/vaxchain" and request.headers["Content-Type"] == "application/json"
    assert verifies(request) and not verifies(request, "whsec_" + base64.b64encode(b"x" * 32).decode())
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    body = json.loads(request.body)
    assert body["id"] == request.headers["webhook-id"] and body["id"].startswith("evt_")
    assert body["type"] == "injection.registered"
    assert abs(datetime.fromisoformat(body["occurred_at"]) - utcnow()) < timedelta(minutes=1)
    assert body["data"] == {
        "injection_id": registered["id"], "person_id": registered["person_id"],
        "site": {"id": world.site_id, "code": "DT-PX", "name": "Trạm Y tế phường Phúc Xá"},
        "vaccine": {"code": "VEROCELL", "name": "Vero Cell"},
        "lot": {"number": "VC1", "expiry": (local_today() + timedelta(days=365)).isoformat()}, "dose_number": 1,
        "injected_at": body["data"]["injected_at"]}
    assert abs(datetime.fromisoformat(body["data"]["injected_at"]) - utcnow()) < timedelta(minutes=1)
    assert "Lan" not in request.body.decode() and LAN["national_id"] not in request.body.decode()
    assert deliveries(app) == [("injection.registered", DELIVERED, 1)] and attempts(app) == [(200, None)]
    assert "0 delivered" in deliver(app) and len(receiver.requests) == 1  # sent once


def test_the_readmes_verification_example_accepts_a_delivery_and_refuses_a_changed_body(app, world, receiver):
    readme = (ROOT / "plugins" / "webhooks" / "README.md").read_text(encoding="utf-8")
    example = readme.split("### Verifying it")[1].split("```python\n")[1].split("```")[0]
    namespace = {}
    exec(example, namespace)  # noqa: S102 - the documented code, run as a receiver would
    register(app, world)
    deliver(app)
    [request] = receiver.requests
    assert namespace["verify"](SECRET, request.headers, request.body)
    changed = request.body.replace(b'"dose_number":1', b'"dose_number":2')
    assert changed != request.body and not namespace["verify"](SECRET, request.headers, changed)


def test_a_shipment_dispatched_then_received_after_an_excursion_is_posted_in_that_order(app, world, receiver):
    with app.app_context():
        national, site = db.session.get(Location, world.national_id), db.session.get(Location, world.site_id)
        azd = db.session.scalar(select(Lot).where(Lot.lot_number == "AZ-LATE"))
        shipment = transport.create_shipment(national, site, [Request(doses=20, lot=azd)])
        transport.pick(shipment)
        transport.dispatch(shipment)
        db.session.commit()
        start = utcnow() - timedelta(hours=4)
        readings = [Reading(start + timedelta(minutes=30 * i), celsius)
                    for i, celsius in enumerate([5, 5, 12, 13, 12, 11, 5])]
        transport.record_temperatures(shipment, readings)
        transport.receive(shipment, {shipment.lines[0].id: LineReceipt(accepted=18, rejected=2, reason="damaged")})
        db.session.commit()
        number, gtin = shipment.number, azd.presentation.gtins[0].gtin

    deliver(app)

    types = [body["type"] for body in receiver.bodies()]
    assert types == ["shipment.dispatched", "shipment.temperature_excursion", "shipment.received"]
    assert all(verifies(request) for request in receiver.requests)
    dispatched, excursion, received = (body["data"] for body in receiver.bodies())
    assert dispatched["number"] == number and dispatched["origin"]["code"] == "KHO-QG"
    assert dispatched["destination"] == {"id": world.site_id, "code": "DT-PX", "name": "Trạm Y tế phường Phúc Xá"}
    assert dispatched["temperature_range"] == {"min": 2, "max": 8}
    [line] = dispatched["lines"]
    assert (line["vaccine"]["code"], line["gtins"], line["lot"]["number"], line["doses"], line["vials"]) == \
        ("VAXZEVRIA", [gtin], "AZ-LATE", 20, 2)
    assert excursion["minutes_above"] == 120 and excursion["maximum"] == 13
    assert [(e["direction"], e["minutes"], e["extreme"]) for e in excursion["excursions"]] == [("above", 120, 13)]
    assert excursion["lots"] == [{"vaccine": "VAXZEVRIA", "number": "AZ-LATE"}]
    [line] = received["lines"]
    assert (line["accepted"], line["rejected"], line["reject_reason"]) == (18, 2, "damaged")
    assert received["state"] == "partially_received" and received["received_at"]


def test_a_rolled_back_registration_queues_nothing(app, world):
    with app.app_context():
        person = Person(full_name="Trần Văn Bình", name_key="tran van binh", gender="male",
                        date_of_birth=date(1985, 1, 2))
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == "VC1"))
        injections.register(person, lot, db.session.get(Location, world.site_id))
        assert db.session.scalar(select(func.count()).select_from(WebhooksDelivery)) == 1  # queued, uncommitted
        db.session.rollback()
    assert deliveries(app) == []


def test_only_the_events_an_endpoint_subscribed_to_are_queued_for_it(make_app, receiver, world):
    app = make_app(plugins=plugin(), VAXCHAIN_WEBHOOKS=endpoint_setting(receiver.url, ["shipment.received"]))
    register(app, world)
    assert deliveries(app) == []


# --- The hot path: no statement without an endpoint, one INSERT with -----------------------------------------

def registration_statements(app, world, person):
    """The statements of a new person's first dose, after one warm-up registration in this app."""
    app.extensions[audit.NEXT_SEAL] = math.inf  # no audit seal in the counted request
    warm_up = {**person, "full_name": person["full_name"] + " Khởi", "phone": "0977000" + person["phone"][-3:]}
    register(app, world, warm_up)
    with recorded_statements(app) as statements:
        register(app, world, person)
    return statements


NAMES = ("Lê Văn An", "Phạm Văn Bảo", "Hoàng Văn Cường", "Vũ Văn Dũng", "Đỗ Văn Đức", "Bùi Văn Giang",
         "Ngô Văn Hùng", "Dương Văn Khoa")


def someone(number):
    return {"full_name": NAMES[number], "gender": "male", "date_of_birth": "1980-01-01",
            "phone": f"0988000{number:03d}"}


def test_without_an_endpoint_a_registration_sends_the_same_statements_and_with_one_a_single_insert_more(
        make_app, receiver, world):
    without_plugin = make_app(VAXCHAIN_ENTRY_POINT_PLUGINS=False)
    unconfigured = make_app(plugins=plugin())
    elsewhere = make_app(plugins=plugin(), VAXCHAIN_WEBHOOKS=endpoint_setting(receiver.url, ["shipment.received"]))
    subscribed = make_app(plugins=plugin(), VAXCHAIN_WEBHOOKS=endpoint_setting(receiver.url))

    baseline = registration_statements(without_plugin, world, someone(1))
    assert registration_statements(unconfigured, world, someone(2)) == baseline
    assert registration_statements(elsewhere, world, someone(3)) == baseline
    with_endpoint = registration_statements(subscribed, world, someone(4))
    extra = [sql for sql in with_endpoint if "webhooks_delivery" in sql]
    assert len(with_endpoint) == len(baseline) + 1 and len(extra) == 1 and extra[0].startswith("INSERT")


# --- Retries, order, failure ------------------------------------------------------------------------------

def test_a_failure_is_retried_after_a_minute_then_five_until_delivered(app, world, receiver, clock):
    receiver.answers.extend([500, "slow"])
    register(app, world)

    assert "0 delivered, 1 to retry" in deliver(app)
    with app.app_context():
        delivery = db.session.scalar(select(WebhooksDelivery))
        assert delivery.next_attempt_at == clock.now + timedelta(minutes=1)
    deliver(app)
    assert len(receiver.requests) == 1  # not due yet
    clock.advance(timedelta(minutes=1))
    deliver(app)  # no answer within the timeout
    with app.app_context():
        delivery = db.session.scalar(select(WebhooksDelivery))
        assert delivery.next_attempt_at == clock.now + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    deliver(app)

    assert len(receiver.requests) == 3 and len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert all(verifies(request) for request in receiver.requests)
    assert deliveries(app) == [("injection.registered", DELIVERED, 3)]
    assert attempts(app) == [(500, None), (None, "timeout"), (200, None)]
    with app.app_context():
        durations = db.session.scalars(select(WebhooksAttempt.duration_ms).order_by(WebhooksAttempt.id)).all()
    assert durations[1] >= 1000  # the endpoint's timeout


def test_a_later_event_waits_while_an_earlier_one_to_the_same_endpoint_is_retried(app, world, receiver, clock):
    receiver.answers.append(503)
    first = register(app, world)
    second = register(app, world, someone(5))

    deliver(app)
    assert len(receiver.requests) == 1  # the second waits behind the first
    clock.advance(timedelta(minutes=1))
    deliver(app)

    ids = [body["data"]["injection_id"] for body in receiver.bodies()]
    assert ids == [first["id"], first["id"], second["id"]]
    assert [status for _type, status, _attempts in deliveries(app)] == [DELIVERED, DELIVERED]


def test_after_the_schedule_is_spent_the_delivery_fails(app, world, receiver, clock):
    receiver.answers.extend([500] * services.MAX_ATTEMPTS)
    register(app, world)
    waits = []
    for _attempt in range(services.MAX_ATTEMPTS):
        deliver(app)
        with app.app_context():
            due = db.session.scalar(select(WebhooksDelivery.next_attempt_at))
        if due is not None:
            waits.append(due - clock.now)
            clock.now = due
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                     timedelta(hours=6), timedelta(hours=12), timedelta(hours=24), timedelta(hours=24)]
    assert deliveries(app) == [("injection.registered", FAILED, 9)] and len(receiver.requests) == 9
    clock.advance(timedelta(days=3))
    deliver(app)
    assert len(receiver.requests) == 9


def test_deliveries_claimed_by_a_worker_that_died_are_sent_once_their_lease_runs_out(app, world, receiver, clock):
    register(app, world)
    with app.app_context():
        [claimed] = services.claim_due(services.configured().endpoints[0])  # a worker killed right after this
    deliver(app)
    assert receiver.requests == []  # another worker leaves it alone while it may still be on its way
    clock.advance(timedelta(seconds=1) + services.LEASE_MARGIN)  # the endpoint's 1 s timeout, and the margin
    deliver(app)
    assert [body["id"] for body in receiver.bodies()] == [claimed.event_id]
    assert deliveries(app) == [("injection.registered", DELIVERED, 1)]


def test_410_gone_fails_the_delivery_at_once(app, world, receiver):
    receiver.answers.append(410)
    register(app, world)
    assert "0 delivered, 0 to retry, 1 failed" in deliver(app)
    assert deliveries(app) == [("injection.registered", FAILED, 1)] and attempts(app) == [(410, None)]


def test_deliveries_to_an_endpoint_no_longer_configured_fail_naming_why_and_cannot_be_sent_again(
        app, make_app, world, receiver, make_user):
    register(app, world)
    moved = make_app(plugins=plugin(), VAXCHAIN_WEBHOOKS=endpoint_setting("https://new.example.vn/in"))
    assert "1 pending deliveries failed: endpoint no longer in VAXCHAIN_WEBHOOKS" in deliver(moved)
    assert receiver.requests == [] and deliveries(app) == [("injection.registered", FAILED, 0)]
    assert attempts(app) == [(None, services.REMOVED_ENDPOINT)]

    client = moved.test_client()
    log_in(client, make_user(roles.ADMIN))
    with app.app_context():
        failed_id = db.session.scalar(select(WebhooksDelivery.id))
    client.post(f"/admin/webhooks/{failed_id}/retry", data={"csrf_token": csrf_token(client, "/admin/webhooks/")})
    page = client.get("/admin/webhooks/").get_data(as_text=True)
    assert f"{receiver.url} không còn là địa chỉ nhận được cấu hình (VAXCHAIN_WEBHOOKS)." in page
    assert deliveries(app) == [("injection.registered", FAILED, 0)]


# --- The delivery log page ------------------------------------------------------------------------------------

def test_the_log_lists_deliveries_newest_first_by_status_and_sends_a_failed_one_again(
        app, world, receiver, client, login_as):
    receiver.answers.append(410)
    first = register(app, world)
    register(app, world, someone(6))
    deliver(app)  # the first fails (410), the second is delivered
    login_as(roles.ADMIN)

    page = client.get("/admin/webhooks/")
    listing = page.get_data(as_text=True)
    assert page.status_code == 200 and "Gửi webhook" in listing and 'href="/admin/webhooks/"' in listing  # menu
    assert listing.index('data-status="delivered"') < listing.index('data-status="failed"')  # newest first
    assert local_today().strftime("%d/%m/%Y") in listing and "Thất bại" in listing and "Đã gửi" in listing
    failed_page = client.get("/admin/webhooks/?status=failed").get_data(as_text=True)
    assert 'data-status="failed"' in failed_page and 'data-status="delivered"' not in failed_page
    assert client.get("/admin/webhooks/?status=lost").status_code == 404

    with app.app_context():
        failed_id = db.session.scalar(select(WebhooksDelivery.id).where(WebhooksDelivery.status == FAILED))
    detail = html.unescape(client.get(f"/admin/webhooks/{failed_id}").get_data(as_text=True))
    assert "410" in detail and f'"injection_id":{first["id"]}' in detail
    assert client.post(f"/admin/webhooks/{failed_id}/retry").status_code == 400  # no CSRF token
    answer = client.post(f"/admin/webhooks/{failed_id}/retry",
                         data={"csrf_token": csrf_token(client, "/admin/webhooks/"), "next": "/admin/webhooks/"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/webhooks/"
    assert "Gửi lại ngay" not in client.get("/admin/webhooks/?status=failed").get_data(as_text=True)
    deliver(app)
    assert [status for _type, status, _attempts in deliveries(app)] == [DELIVERED, DELIVERED]
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "webhooks.retry"))


def test_a_delivery_not_failed_cannot_be_sent_again(app, world, client, login_as):
    register(app, world)
    login_as(roles.ADMIN)
    with app.app_context():
        pending_id = db.session.scalar(select(WebhooksDelivery.id))
    client.post(f"/admin/webhooks/{pending_id}/retry", data={"csrf_token": csrf_token(client, "/admin/webhooks/")})
    assert "Chỉ gửi lại được lần gửi đã thất bại." in client.get("/admin/webhooks/").get_data(as_text=True)


def test_the_log_is_paged_fifty_at_a_time(app, client, login_as):
    with app.app_context():
        for number in range(55):
            services.queue("shipment.received", lambda number=number: {"n": number})
        db.session.commit()
    login_as(roles.ADMIN)
    first = client.get("/admin/webhooks/").get_data(as_text=True)
    second = client.get("/admin/webhooks/?page=2").get_data(as_text=True)
    assert first.count("data-id=") == 50 and second.count("data-id=") == 5
    assert "Dòng 1–50 trên tổng số 55" in first and 'rel="next"' in first and 'rel="prev"' in second


@pytest.mark.parametrize("role", [roles.SITE_STAFF, roles.VIEWER, roles.INTEGRATOR])
def test_the_log_is_for_admins_only(client, login_as, role):
    login_as(role)
    assert client.get("/admin/webhooks/").status_code == 403


# --- The worker as operators run it -----------------------------------------------------------------------------

def test_the_worker_keeps_delivering_until_sigterm_then_stops_cleanly(app, world, receiver, tmp_path):
    register(app, world)
    environment = {**os.environ, "VAXCHAIN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                   "VAXCHAIN_SECRET_KEY": app.config["SECRET_KEY"], "VAXCHAIN_INSTANCE_PATH": str(tmp_path),
                   "VAXCHAIN_WEBHOOKS": endpoint_setting(receiver.url)}
    if not installed_through_the_entry_point():
        environment["VAXCHAIN_PLUGINS"] = "plugins.webhooks"
    worker = subprocess.Popen([*VAXCHAIN, "webhooks", "deliver", "--interval", "0.2"], cwd=ROOT, env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        register(app, world, someone(7))  # queued while it runs
        while len(receiver.requests) < 2 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert len(receiver.requests) == 2 and output.rstrip().endswith("Stopped.")
