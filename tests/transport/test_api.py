"""/api/v1/shipments: create + pick, dispatch, receive, temperatures and the manifest, as API clients meet them."""
from datetime import timedelta
from io import BytesIO
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import roles
from core.clock import LOCAL_ZONE
from core.db import db, utcnow
from core.tokens import create_token
from modules.lots.models import Lot
from modules.transport.models import Shipment
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from modules.warehouse.models import Move
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin


def bearer(user):
    _token, secret = create_token(user)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(app):
    """At the national store: Vero Cell (2–8 °C) lots VC-LATE (100 doses) and VC-SOON (40, expiring first),
    Comirnaty (−90…−60 °C) FK5618 (60); at the Đà Nẵng store Vero Cell VC-DN (50). A logistics officer at
    the national store, site staff at Phúc Xá, a warehouse manager at Phúc Xá and one at Đà Nẵng."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        late = receive_lot(tree.national, vero, "VC-LATE", doses=100, expiry=days_from_today(300))
        soon = receive_lot(tree.national, vero, "VC-SOON", doses=40, expiry=days_from_today(30))
        frozen = receive_lot(tree.national, vaccine_with_gtin("COMIRNATY"), "FK5618", doses=60)
        danang = receive_lot(tree.other_province, vero, "VC-DN", doses=50)
        headers = {
            "officer": bearer(user_at(roles.LOGISTICS_OFFICER, tree.national, "dieu.phoi")),
            "site": bearer(user_at(roles.SITE_STAFF, tree.site_a, "tram.phucxa")),
            "site_manager": bearer(user_at(roles.WAREHOUSE_MANAGER, tree.site_a, "quanly.phucxa")),
            "danang": bearer(user_at(roles.WAREHOUSE_MANAGER, tree.other_province, "kho.danang")),
        }
        db.session.commit()
        return SimpleNamespace(headers=headers, late=late.id, soon=soon.id, frozen=frozen.id, danang_lot=danang.id)


def post(app, world, url, who="officer", **kwargs):
    return app.test_client().post(url, headers=world.headers[who], **kwargs)


def get(app, world, url, who="officer"):
    return app.test_client().get(url, headers=world.headers[who])


def create(app, world, lines, destination="DT-PX", origin="KHO-QG", who="officer", **extra):
    body = {"origin": origin, "destination": destination, "lines": lines, **extra}
    return post(app, world, "/api/v1/shipments", who, json=body)


def created_shipment(app, world, lines=None, **kwargs):
    response = create(app, world, lines or [{"lot_id": world.late, "doses": 20}], **kwargs)
    assert response.status_code == 201, response.json
    return response.json


def on_hand(app, code, lot_id):
    with app.app_context():
        return ledger.on_hand(locations.by_code(code).id, lot_id)


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Shipment)),
                db.session.scalar(select(func.count()).select_from(Move)))


def error_of(response):
    return response.status_code, response.json["error"]["code"], response.json["error"]["field"]


# --- Create + pick ------------------------------------------------------------------------------------

def test_a_shipment_is_created_and_picked_earliest_expiry_first(app, world):
    body = created_shipment(app, world, [{"vaccine": "VEROCELL", "doses": 50}], planned_date="2030-01-15",
                            vehicle="29C-123.45", driver="Nguyễn Văn An", cold_box="CB-07")
    assert body["state"] == "picked" and body["number"].startswith("VC-")
    assert (body["origin"], body["destination"], body["planned_date"]) == ("KHO-QG", "DT-PX", "2030-01-15")
    assert (body["temperature_min"], body["temperature_max"]) == (2, 8)
    assert [(line["lot"], line["lot_id"], line["doses"], line["vaccine"]) for line in body["lines"]] == [
        ("VC-SOON", world.soon, 40, "VEROCELL"), ("VC-LATE", world.late, 10, "VEROCELL")]
    assert all(line["accepted"] is None and line["id"] for line in body["lines"])
    shown = get(app, world, f"/api/v1/shipments/{body['id']}")
    assert shown.status_code == 200 and shown.json == body
    assert on_hand(app, "KHO-QG", world.soon) == 40  # picking moves nothing


def test_lots_that_cannot_travel_together_are_refused_by_name_and_nothing_is_written(app, world):
    before = counts(app)
    response = create(app, world, [{"lot_id": world.late, "doses": 10}, {"lot_id": world.frozen, "doses": 6}])
    assert error_of(response) == (409, "incompatible_temperatures", "lines")
    assert "VC-LATE" in response.json["error"]["message"] and "FK5618" in response.json["error"]["message"]
    assert counts(app) == before


@pytest.mark.parametrize("body, status, field", [
    ({"origin": "KHO-QG", "destination": "DT-PX"}, 400, "lines"),
    ({"origin": "KHO-QG", "destination": "DT-PX", "lines": []}, 400, "lines"),
    ({"origin": "KHO-QG", "destination": "DT-PX", "lines": [{"doses": 10}]}, 400, "lines[0].lot_id"),
    ({"origin": "KHO-QG", "destination": "DT-PX", "lines": [{"vaccine": "VEROCELL", "doses": "10"}]}, 400,
     "lines[0].doses"),
    ({"origin": "KHO-QG", "destination": "DT-PX", "lines": [{"vaccine": "NOPE", "doses": 10}]}, 404,
     "lines[0].vaccine"),
    ({"origin": "KHO-QG", "destination": "DT-PX", "lines": [{"vaccine": "VEROCELL", "doses": 5000}]}, 409,
     "lines[0].doses"),
    ({"origin": "KHO-QG", "destination": "NOWHERE", "lines": [{"vaccine": "VEROCELL", "doses": 10}]}, 404,
     "destination"),
    ({"origin": "KHO-QG", "destination": "DT-PX", "planned_date": "15/01/2030",
      "lines": [{"vaccine": "VEROCELL", "doses": 10}]}, 400, "planned_date"),
    ({"origin": "KHO-QG", "destination": "DT-PX", "colour": "blue",
      "lines": [{"vaccine": "VEROCELL", "doses": 10}]}, 400, "colour"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(app, world, body, status, field):
    before = counts(app)
    response = post(app, world, "/api/v1/shipments", json=body)
    assert (response.status_code, response.json["error"]["field"]) == (status, field), response.json
    assert counts(app) == before


def test_the_origin_must_be_one_of_yours_but_the_destination_may_be_anyones(app, world):
    before = counts(app)
    foreign = create(app, world, [{"lot_id": world.late, "doses": 10}], who="danang", destination="DT-HC")
    assert error_of(foreign) == (404, "unknown_location", "origin")
    assert counts(app) == before
    down_the_tree = create(app, world, [{"lot_id": world.danang_lot, "doses": 10}], origin="KHO-DN",
                           destination="DT-PX", who="danang")
    assert down_the_tree.status_code == 201 and down_the_tree.json["destination"] == "DT-PX"


def test_site_staff_may_not_create_shipments(app, world):
    assert create(app, world, [{"lot_id": world.late, "doses": 10}], who="site").status_code == 403


# --- Dispatch -----------------------------------------------------------------------------------------

def test_dispatch_moves_the_doses_into_transit_once(app, world):
    shipment = created_shipment(app, world)
    dispatched = post(app, world, f"/api/v1/shipments/{shipment['id']}/dispatch")
    assert dispatched.status_code == 200 and dispatched.json["state"] == "dispatched"
    assert dispatched.json["dispatched_at"] is not None
    assert on_hand(app, "KHO-QG", world.late) == 80
    again = post(app, world, f"/api/v1/shipments/{shipment['id']}/dispatch")
    assert error_of(again) == (409, "wrong_state", "state")
    assert on_hand(app, "KHO-QG", world.late) == 80


@pytest.mark.parametrize("who, code, field", [("danang", "unknown_shipment", None),
                                              ("site_manager", "unknown_location", "origin")])
def test_dispatch_from_a_foreign_origin_is_unknown_and_moves_nothing(app, world, who, code, field):
    shipment = created_shipment(app, world)
    before = counts(app)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/dispatch", who)
    assert error_of(response) == (404, code, field)
    assert counts(app) == before and on_hand(app, "KHO-QG", world.late) == 100
    assert get(app, world, f"/api/v1/shipments/{shipment['id']}").json["state"] == "picked"


def test_a_picked_shipment_can_be_cancelled_but_not_a_dispatched_one(app, world):
    first, second = created_shipment(app, world), created_shipment(app, world)
    cancelled = post(app, world, f"/api/v1/shipments/{first['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    assert post(app, world, f"/api/v1/shipments/{second['id']}/dispatch").status_code == 200
    assert error_of(post(app, world, f"/api/v1/shipments/{second['id']}/cancel")) == (409, "wrong_state", "state")


# --- Receipt ------------------------------------------------------------------------------------------

def dispatched_shipment(app, world, lines=None):
    shipment = created_shipment(app, world, lines)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/dispatch")
    assert response.status_code == 200, response.json
    return response.json


def test_a_receipt_by_lot_puts_accepted_doses_in_stock_and_records_rejections(app, world):
    shipment = dispatched_shipment(app, world)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "site", json={"lines": [
        {"lot_id": world.late, "accepted": 18, "rejected": 2, "reason": "damaged", "vvm_stage": 1}]})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "partially_received"
    line = response.json["lines"][0]
    assert (line["accepted"], line["rejected"], line["reason"], line["vvm_stage"]) == (18, 2, "damaged", 1)
    assert on_hand(app, "DT-PX", world.late) == 18


def test_receiving_more_than_shipped_is_refused_naming_the_line(app, world):
    shipment = dispatched_shipment(app, world)
    before = counts(app)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "site",
                    json={"lines": [{"line_id": shipment["lines"][0]["id"], "accepted": 25}]})
    assert error_of(response) == (422, "does_not_add_up", "lines[0].accepted")
    assert counts(app) == before and on_hand(app, "DT-PX", world.late) == 0


def test_a_shipment_cannot_be_received_twice(app, world):
    shipment = dispatched_shipment(app, world)
    body = {"lines": [{"line_id": shipment["lines"][0]["id"], "accepted": 20}]}
    assert post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "site", json=body).status_code == 200
    again = post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "site", json=body)
    assert error_of(again) == (409, "wrong_state", "state")
    assert on_hand(app, "DT-PX", world.late) == 20


def test_only_the_destination_receives(app, world):
    shipment = dispatched_shipment(app, world)
    body = {"lines": [{"line_id": shipment["lines"][0]["id"], "accepted": 20}]}
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "danang", json=body)
    assert error_of(response) == (404, "unknown_shipment", None)


@pytest.mark.parametrize("line, status, field", [
    ({"line_id": 999999, "accepted": 20}, 422, "lines[0].line_id"),
    ({"lot_id": 999999, "accepted": 20}, 422, "lines[0].lot_id"),
    ({"accepted": 20}, 400, "lines[0].line_id"),
    ({"lot_id": "x", "accepted": 20}, 400, "lines[0].lot_id"),
    ({"lot_id": "LATE", "accepted": 10, "rejected": 10.0, "reason": "vvm"}, 400, "lines[0].rejected"),
    ({"lot_id": "LATE", "accepted": 10, "rejected": 10}, 422, "lines[0].reason"),
    ({"lot_id": "LATE", "accepted": 20, "vvm_stage": 5}, 422, "lines[0].vvm_stage"),
    ({"lot_id": "LATE", "accepted": 20, "note": "ok"}, 400, "lines[0].note"),
])
def test_bad_receipt_lines_are_refused_naming_the_field(app, world, line, status, field):
    shipment = dispatched_shipment(app, world)
    if line.get("lot_id") == "LATE":
        line = dict(line, lot_id=world.late)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "site", json={"lines": [line]})
    assert (response.status_code, response.json["error"]["field"]) == (status, field), response.json
    assert on_hand(app, "DT-PX", world.late) == 0


# --- Temperatures ---------------------------------------------------------------------------------------

def logger_csv(temperatures):
    """A data-logger export: a header, then local dd/mm/yyyy HH:MM;°C with a decimal comma, every 30 min."""
    start = (utcnow() - timedelta(hours=6)).astimezone(LOCAL_ZONE)
    rows = [f"{start + timedelta(minutes=30 * i):%d/%m/%Y %H:%M};{str(celsius).replace('.', ',')}"
            for i, celsius in enumerate(temperatures)]
    return ("Thời gian;Nhiệt độ (°C)\n" + "\n".join(rows) + "\n").encode()


def upload(app, world, shipment_id, data, who="officer"):
    return post(app, world, f"/api/v1/shipments/{shipment_id}/temperatures", who,
                data={"file": (BytesIO(data), "logger.csv")}, content_type="multipart/form-data")


def test_an_excursion_in_the_logger_file_holds_the_lots_at_the_destination(app, world):
    shipment = dispatched_shipment(app, world)
    report = upload(app, world, shipment["id"], logger_csv([5, 5.5, 12, 13, 12.5, 11, 5]))
    assert report.status_code == 200, report.json
    assert report.json["readings"] == 7 and report.json["has_excursion"] is True
    assert report.json["minutes_above"] == 120 and report.json["maximum"] == 13
    excursion = report.json["excursions"][0]
    assert (excursion["direction"], excursion["minutes"], excursion["extreme"]) == ("above", 120, 13)
    received = post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "site",
                    json={"lines": [{"lot_id": world.late, "accepted": 20}]})
    assert received.status_code == 200, received.json
    with app.app_context():
        lot = db.session.get(Lot, world.late)
        assert stock.is_held(locations.by_code("DT-PX"), lot)
        assert not stock.is_held(locations.by_code("KHO-QG"), lot)
    transfer = post(app, world, "/api/v1/transfers", "officer",
                    json={"from": "DT-PX", "to": "DT-TB", "lot_id": world.late, "doses": 1})
    assert error_of(transfer) == (409, "lot_on_hold", "lot_id")
    assert on_hand(app, "DT-PX", world.late) == 20 and on_hand(app, "DT-TB", world.late) == 0


def test_a_malformed_logger_file_is_refused_naming_the_line_and_nothing_is_kept(app, world):
    shipment = dispatched_shipment(app, world)
    response = upload(app, world, shipment["id"], logger_csv([5, 5]) + b"26/11/2026 08:30;hot\n")
    assert error_of(response) == (422, "bad_logger_file", "file")
    assert "4" in response.json["error"]["message"]
    assert error_of(post(app, world, f"/api/v1/shipments/{shipment['id']}/temperatures",
                         data={}, content_type="multipart/form-data")) == (400, "required", "file")


def readings(*temperatures):
    start = utcnow().astimezone(LOCAL_ZONE) - timedelta(hours=3)
    return [{"at": (start + timedelta(minutes=30 * i)).isoformat(), "celsius": celsius}
            for i, celsius in enumerate(temperatures)]


def test_json_readings_are_kept_and_analysed(app, world):
    shipment = dispatched_shipment(app, world)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/temperatures",
                    json={"readings": readings(4, 5.5, 6)})
    assert response.status_code == 200, response.json
    assert (response.json["readings"], response.json["minimum"], response.json["maximum"]) == (3, 4, 6)
    assert response.json["has_excursion"] is False and response.json["excursions"] == []


@pytest.mark.parametrize("body, status, field", [
    ({"readings": readings(5, 400)}, 422, "readings[1].celsius"),
    ({"readings": readings(-273.15)}, 422, "readings[0].celsius"),
    ({"readings": readings("5")}, 400, "readings[0].celsius"),
    ({"readings": [{"at": "2026-11-26T08:30:00", "celsius": 5}]}, 400, "readings[0].at"),
    ({"readings": [{"at": "yesterday", "celsius": 5}]}, 400, "readings[0].at"),
    ({"readings": []}, 422, "readings"),
    ({"readings": {"at": "x"}}, 400, "readings"),
])
def test_impossible_readings_are_refused_naming_the_reading(app, world, body, status, field):
    shipment = dispatched_shipment(app, world)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/temperatures", json=body)
    assert (response.status_code, response.json["error"]["field"]) == (status, field), response.json


def test_readings_far_outside_physical_range_are_impossible(app, world):
    shipment = dispatched_shipment(app, world)
    response = post(app, world, f"/api/v1/shipments/{shipment['id']}/temperatures",
                    json={"readings": readings(1000)})
    assert error_of(response) == (422, "impossible_temperature", "readings[0].celsius")


# --- Manifest, list, documentation --------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["vi", "en", None])
def test_the_manifest_is_a_pdf(app, world, lang):
    shipment = created_shipment(app, world, [{"vaccine": "VEROCELL", "doses": 50}], driver="Nguyễn Văn An")
    url = f"/api/v1/shipments/{shipment['id']}/manifest.pdf" + (f"?lang={lang}" if lang else "")
    response = get(app, world, url, "site")  # the destination may print it too
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_a_manifest_in_an_unknown_language_is_refused(app, world):
    shipment = created_shipment(app, world)
    response = get(app, world, f"/api/v1/shipments/{shipment['id']}/manifest.pdf?lang=xx")
    assert error_of(response) == (400, "invalid_parameter", "lang")


def test_someone_elses_shipment_is_unknown(app, world):
    shipment = created_shipment(app, world)
    for url in (f"/api/v1/shipments/{shipment['id']}", f"/api/v1/shipments/{shipment['id']}/manifest.pdf"):
        assert error_of(get(app, world, url, "danang")) == (404, "unknown_shipment", None)
    assert get(app, world, "/api/v1/shipments/999999").status_code == 404


def test_the_list_shows_only_shipments_from_or_to_your_locations(app, world):
    to_phuc_xa = created_shipment(app, world)
    to_hai_chau = created_shipment(app, world, destination="DT-HC")
    cancelled = created_shipment(app, world, destination="DT-TB")
    post(app, world, f"/api/v1/shipments/{cancelled['id']}/cancel")

    def ids(who, query=""):
        response = get(app, world, f"/api/v1/shipments{query}", who)
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids("officer") == [cancelled["id"], to_hai_chau["id"], to_phuc_xa["id"]]
    assert ids("site") == [to_phuc_xa["id"]]
    assert ids("danang") == [to_hai_chau["id"]]
    assert ids("officer", "?state=cancelled") == [cancelled["id"]]
    assert ids("officer", "?location=DT-HC") == [to_hai_chau["id"]]
    page = get(app, world, "/api/v1/shipments?limit=2").json
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert [item["id"] for item in get(app, world, f"/api/v1/shipments?limit=2&cursor={page['next_cursor']}")
            .json["items"]] == [to_phuc_xa["id"]]
    assert error_of(get(app, world, "/api/v1/shipments?location=KHO-QG", "danang")) == (
        404, "unknown_location", "location")
    assert error_of(get(app, world, "/api/v1/shipments?state=lost")) == (400, "invalid_parameter", "state")


def test_openapi_lists_the_shipment_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    expected = {"/api/v1/shipments", "/api/v1/shipments/{shipment_id}", "/api/v1/shipments/{shipment_id}/dispatch",
                "/api/v1/shipments/{shipment_id}/receive", "/api/v1/shipments/{shipment_id}/cancel",
                "/api/v1/shipments/{shipment_id}/temperatures", "/api/v1/shipments/{shipment_id}/manifest.pdf"}
    assert expected <= set(paths), sorted(paths)
    assert set(paths["/api/v1/shipments"]) == {"get", "post"}
    assert paths["/api/v1/shipments"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "required"] == ["origin", "destination", "lines"]



def test_a_received_shipment_is_closed_by_its_origin_only_once(app, world):
    shipment = dispatched_shipment(app, world)
    early = post(app, world, f"/api/v1/shipments/{shipment['id']}/close")
    assert error_of(early) == (409, "wrong_state", "state")
    received = post(app, world, f"/api/v1/shipments/{shipment['id']}/receive", "site",
                    json={"lines": [{"lot_id": world.late, "accepted": 20}]})
    assert received.status_code == 200, received.json
    assert post(app, world, f"/api/v1/shipments/{shipment['id']}/close", "site").status_code == 403
    closed = post(app, world, f"/api/v1/shipments/{shipment['id']}/close")
    assert closed.status_code == 200 and closed.json["state"] == "closed"
    assert error_of(post(app, world, f"/api/v1/shipments/{shipment['id']}/close")) == (409, "wrong_state", "state")
