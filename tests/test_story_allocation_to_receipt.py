"""One story, told through the JSON API the way the national store, a province store and their tools live it:
allocate → approve → (picked) → dispatch → print the manifest → upload the data logger with an excursion →
receive with a rejected line → the lots are held at the province → the ledger balances.

The manifest is read back as a person and a scanner would: its text by poppler's pdftotext, its barcodes by
zxing-cpp on the rendered pages, not by asking our writer what it meant to print.
"""
from io import BytesIO

import zxingcpp
from sqlalchemy import select

from core import roles
from core.db import db
from modules.lots.models import Lot
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from modules.warehouse.models import Move
from tests.allocation.conftest import stocked_tree
from tests.audit_coverage import assert_every_change_audited
from tests.reports.test_manifest import decode_rows, pdf_text, render
from tests.transport.test_api import bearer, logger_csv
from tests.warehouse.helpers import days_from_today, receive_lot, user_at


def test_from_allocation_to_a_held_receipt(app, runner, tmp_path):
    with app.app_context():
        tree, az = stocked_tree()  # AZ-LONG 500 (400 days), AZ-SOON 200 (20 days); targets HN 3 000, DN 1 000
        receive_lot(tree.national, az, "AZ-MID", doses=200, expiry=days_from_today(120))
        national = bearer(user_at(roles.LOGISTICS_OFFICER, tree.national, "dieu.phoi.qg"))
        hanoi = bearer(user_at(roles.WAREHOUSE_MANAGER, tree.province, "kho.hanoi"))
        gtin = az.gtins[0].gtin
        db.session.commit()
    client = app.test_client()

    # Allocate 600 doses by target population: 450 to Hà Nội, 150 to Đà Nẵng (AZ-SOON is within the lead days).
    plan = client.post("/api/v1/allocations", headers=national, json={
        "vaccine": "VAXZEVRIA", "source": "KHO-QG", "doses": 600, "strategy": "population",
        "destinations": ["KHO-HN", "KHO-DN"], "lead_days": 30}).json
    assert plan["usable_doses"] == 700 and plan["shortage"] == 0
    assert [(line["destination"], line["allocated_doses"]) for line in plan["lines"]] == [("KHO-HN", 450),
                                                                                         ("KHO-DN", 150)]

    # Approve: one picked shipment per province, earliest usable expiry first.
    approval = client.post(f"/api/v1/allocations/{plan['id']}/approve", headers=national)
    assert approval.status_code == 200, approval.json
    to_hanoi, to_danang = approval.json["shipments"]
    assert to_hanoi["state"] == to_danang["state"] == "picked"
    assert [(line["lot"], line["doses"]) for line in to_hanoi["lines"]] == [("AZ-MID", 200), ("AZ-LONG", 250)]
    assert [(line["lot"], line["doses"]) for line in to_danang["lines"]] == [("AZ-LONG", 150)]
    assert (to_hanoi["temperature_min"], to_hanoi["temperature_max"]) == (2, 8)

    # Dispatch to Hà Nội: 450 doses leave the national store for transit; dispatching twice is refused.
    dispatched = client.post(f"/api/v1/shipments/{to_hanoi['id']}/dispatch", headers=national)
    assert dispatched.status_code == 200 and dispatched.json["state"] == "dispatched"
    again = client.post(f"/api/v1/shipments/{to_hanoi['id']}/dispatch", headers=national)
    assert (again.status_code, again.json["error"]["code"]) == (409, "wrong_state")
    with app.app_context():
        lot_ids = {lot.lot_number: lot.id for lot in db.session.scalars(select(Lot))}
        origin = locations.by_code("KHO-QG").id
        assert ledger.on_hand(origin, lot_ids["AZ-MID"]) == 0 and ledger.on_hand(origin, lot_ids["AZ-LONG"]) == 250

    # The manifest, as printed and as scanned.
    manifest = client.get(f"/api/v1/shipments/{to_hanoi['id']}/manifest.pdf?lang=vi", headers=national)
    assert manifest.status_code == 200 and manifest.mimetype == "application/pdf"
    text = pdf_text(manifest.data, tmp_path)
    for expected in (to_hanoi["number"], "Kho vắc xin quốc gia", "Kho tỉnh Hà Nội", "AZ-MID", "AZ-LONG", "450",
                     "2…8 °C"):
        assert expected in text, expected
    [first_page] = render(manifest.data, tmp_path, page=1)
    shipment_codes = [b for b in zxingcpp.read_barcodes(first_page) if b.content_type == zxingcpp.ContentType.Text]
    assert [b.text for b in shipment_codes] == [to_hanoi["number"]]
    rows, _pages = decode_rows(manifest.data, tmp_path)
    yymmdd = {line["lot"]: line["expiry"][2:].replace("-", "") for line in to_hanoi["lines"]}
    assert sorted(b.text for row in rows.values() for b in row) == sorted(
        f"(01){gtin}(17){yymmdd[lot]}(10){lot}" for lot in ("AZ-MID", "AZ-LONG"))

    # The data logger: two hours above 8 °C on the way.
    report = client.post(f"/api/v1/shipments/{to_hanoi['id']}/temperatures", headers=national,
                         data={"file": (BytesIO(logger_csv([5, 5.5, 12, 13, 12.5, 11, 5])),
                                        "logger.csv")}, content_type="multipart/form-data")
    assert report.status_code == 200 and report.json["has_excursion"] is True
    assert report.json["minutes_above"] == 120

    # Hà Nội finds it by the manifest's number and receives it: 10 doses of AZ-LONG broken.
    lines = {line["lot"]: line["id"] for line in to_hanoi["lines"]}
    too_many = client.post(f"/api/v1/shipments/{to_hanoi['id']}/receive", headers=hanoi, json={"lines": [
        {"line_id": lines["AZ-MID"], "accepted": 201}, {"line_id": lines["AZ-LONG"], "accepted": 250}]})
    assert (too_many.status_code, too_many.json["error"]["field"]) == (422, "lines[0].accepted")
    received = client.post(f"/api/v1/shipments/{to_hanoi['id']}/receive", headers=hanoi, json={"lines": [
        {"line_id": lines["AZ-MID"], "accepted": 200, "vvm_stage": 1},
        {"line_id": lines["AZ-LONG"], "accepted": 240, "rejected": 10, "reason": "damaged", "vvm_stage": 2}]})
    assert received.status_code == 200, received.json
    assert received.json["state"] == "partially_received"
    twice = client.post(f"/api/v1/shipments/{to_hanoi['id']}/receive", headers=hanoi, json={"lines": [
        {"line_id": lines["AZ-MID"], "accepted": 200}, {"line_id": lines["AZ-LONG"], "accepted": 250}]})
    assert (twice.status_code, twice.json["error"]["code"]) == (409, "wrong_state")

    # The excursion holds both lots at Hà Nội (not at the national store) until someone releases them.
    stock_at_hanoi = client.get("/api/v1/stock?location=KHO-HN", headers=hanoi).json["lines"]
    assert [(line["lot"], line["doses"], line["held_doses"], line["blocked"]) for line in stock_at_hanoi] == [
        ("AZ-MID", 200, 200, True), ("AZ-LONG", 240, 240, True)]
    onward = client.post("/api/v1/transfers", headers=hanoi, json={
        "from": "KHO-HN", "to": "KHO-BD", "lot_id": lot_ids["AZ-MID"], "doses": 10})
    assert (onward.status_code, onward.json["error"]["code"]) == (409, "lot_on_hold")
    with app.app_context():
        hanoi_store, national_store = locations.by_code("KHO-HN"), locations.by_code("KHO-QG")
        for number in ("AZ-MID", "AZ-LONG"):
            lot = db.session.get(Lot, lot_ids[number])
            assert stock.is_held(hanoi_store, lot) and not stock.is_held(national_store, lot)
        wasted = db.session.scalars(select(Move).where(Move.kind == "rejection")).all()
        assert [(move.doses, move.reason, move.reference) for move in wasted] == [(10, "damaged", to_hanoi["number"])]

    # Every dose is accounted for: 900 received at the national store = 450 still there (AZ-SOON 200 +
    # AZ-LONG 250) + 440 at Hà Nội + 10 wasted; and the books agree with the moves.
    checked = runner.invoke(args=["stock", "check"])
    assert checked.exit_code == 0, checked.output
    with app.app_context():
        on_hand = {(code, number): ledger.on_hand(locations.by_code(code).id, lot_ids[number])
                   for code in ("KHO-QG", "KHO-HN") for number in ("AZ-SOON", "AZ-MID", "AZ-LONG")}
    assert sum(on_hand.values()) + 10 == 900
    with app.app_context():
        assert_every_change_audited()
