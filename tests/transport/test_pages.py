"""The shipment pages: create and pick, dispatch, temperatures, receipt — each refused submission shows
its error where it belongs and writes nothing; a shipment outside the user's locations is a 404."""
import re
from io import BytesIO
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core.db import db
from modules.lots.models import Lot
from modules.transport.models import DISPATCHED, PARTIALLY_RECEIVED, PICKED, Reading, Shipment
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from modules.warehouse.models import Move
from tests.conftest import csrf_token, log_in
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin


def make_world(app):
    """Vero Cell at the national store; a logistics officer there, staff at site A, a user elsewhere."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        lot = receive_lot(tree.national, vero, "VC-PAGES", doses=20 * vero.doses_per_vial)
        user_at("logistics_officer", tree.national, "lo")
        user_at("site_staff", tree.site_a, "site")
        user_at("site_staff", tree.other_site, "foreign")
        return SimpleNamespace(vero_code=vero.code, per_vial=vero.doses_per_vial, lot_id=lot.id,
                               national=tree.national.code, site=tree.site_a.code)


@pytest.fixture
def world(app):
    return make_world(app)


def post(client, url, form_url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, form_url), **data})


def error_of(response, field):
    found = re.search(rf'id="{field}-error"[^>]*>([^<]+)<', response.get_data(as_text=True))
    return found.group(1) if found else None


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Shipment)),
                db.session.scalar(select(func.count()).select_from(Move)),
                db.session.scalar(select(func.count()).select_from(Reading)))


def new_shipment(client, world, **changes):
    data = {"origin": world.national, "destination": world.site, "planned_date": "15/12/2026",
            "vehicle": "29C-123.45", "driver": "Nguyễn Văn An", "cold_box": "CB-07",
            "line_0_vaccine": world.vero_code, "line_0_vials": "4", **changes}
    return post(client, "/shipments/new", "/shipments/new", **data)


def created(app, client, world):
    log_in(client, "lo")
    response = new_shipment(client, world)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def dispatched(app, client, world):
    shipment_id = created(app, client, world)
    response = post(client, f"/shipments/{shipment_id}/dispatch", f"/shipments/{shipment_id}")
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/shipments")})
    return shipment_id


def state_of(app, shipment_id):
    with app.app_context():
        return db.session.get(Shipment, shipment_id).state


def test_creating_a_shipment_picks_it_and_shows_its_lines(app, client, world):
    shipment_id = created(app, client, world)
    assert state_of(app, shipment_id) == PICKED
    page = client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    assert "VC-PAGES" in page and "15/12/2026" in page and "29C-123.45" in page
    assert re.search(r'id="temperature-requirement">\s*2…8 °C', page)
    assert f"/api/v1/shipments/{shipment_id}/manifest.pdf?lang=vi" in page
    assert 'id="dispatch"' in page
    listing = client.get("/shipments").get_data(as_text=True)
    assert re.search(r"VC-\d{4}-\d{6}", listing)


@pytest.mark.parametrize("changes, field", [
    ({"line_0_vials": "999"}, "line_0_vials"),         # more than on hand: shortage on that row
    ({"line_0_vials": "ba"}, "line_0_vials"),
    ({"line_0_vaccine": ""}, "line_0_vaccine"),         # vials without a vaccine
    ({"destination": ""}, "destination"),
    ({"destination": "KHO-QG"}, "destination"),          # same as the origin
    ({"planned_date": "2026-12-15"}, "planned_date"),
])
def test_a_bad_shipment_is_refused_at_its_field_and_writes_nothing(app, client, world, changes, field):
    log_in(client, "lo")
    before = counts(app)
    response = new_shipment(client, world, **changes)
    assert response.status_code in (404, 409, 422)
    assert error_of(response, field), response.get_data(as_text=True)
    assert counts(app) == before


def test_the_error_of_a_second_line_shows_at_that_row(app, client, world):
    log_in(client, "lo")
    before = counts(app)
    response = new_shipment(client, world, line_2_vaccine=world.vero_code, line_2_vials="500")
    assert response.status_code == 409
    assert error_of(response, "line_2_vials") and not error_of(response, "line_0_vials")
    assert counts(app) == before


def test_dispatching_moves_the_doses_into_transit(app, client, world):
    shipment_id = created(app, client, world)
    response = post(client, f"/shipments/{shipment_id}/dispatch", f"/shipments/{shipment_id}")
    assert response.status_code == 302
    assert state_of(app, shipment_id) == DISPATCHED
    with app.app_context():
        assert ledger.on_hand(locations.by_code(world.national).id, world.lot_id) == 16 * world.per_vial
    page = client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    assert 'data-state="dispatched"' in page and 'id="dispatch"' not in page and 'id="cancel"' not in page


def test_a_logger_file_with_a_bad_line_is_refused_naming_it(app, client, world):
    shipment_id = created(app, client, world)
    before = counts(app)
    csv = b"Time;Temperature\n26/11/2026 08:00;4.5\n26/11/2026 08:10;abc\n"
    response = client.post(f"/shipments/{shipment_id}/temperatures", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/shipments/{shipment_id}"), "file": (BytesIO(csv), "logger.csv")})
    assert response.status_code == 422
    message = error_of(response, "file")
    assert message and "3" in message, message
    assert counts(app) == before


def test_a_logger_file_is_reported_with_its_chart(app, client, world):
    shipment_id = created(app, client, world)
    lines = [f"26/11/2026 {8 + i // 6:02d}:{i % 6 * 10:02d};{4.5 if i < 6 else 11.0}" for i in range(24)]
    response = client.post(f"/shipments/{shipment_id}/temperatures", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/shipments/{shipment_id}"),
        "file": (BytesIO(("\n".join(lines) + "\n").encode()), "logger.csv")})
    assert response.status_code == 302
    page = client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    assert 'id="excursions"' in page and "<svg" in page and "11.0" in page


def test_receipt_that_does_not_add_up_is_refused_at_its_row(app, client, world):
    shipment_id = dispatched(app, client, world)
    log_in(client, "site")
    with app.app_context():
        line_id = db.session.get(Shipment, shipment_id).lines[0].id
    before = counts(app)
    response = post(client, f"/shipments/{shipment_id}/receive", f"/shipments/{shipment_id}/receive",
                    **{f"accepted_{line_id}": "8", f"rejected_{line_id}": "1", f"reason_{line_id}": "damaged"})
    assert response.status_code == 422
    assert error_of(response, f"accepted_{line_id}")
    assert counts(app) == before and state_of(app, shipment_id) == DISPATCHED


def test_receiving_with_a_rejected_dose(app, client, world):
    shipment_id = dispatched(app, client, world)
    log_in(client, "site")
    with app.app_context():
        shipment = db.session.get(Shipment, shipment_id)
        number, line_id, doses = shipment.number, shipment.lines[0].id, shipment.lines[0].doses
    scanned = client.get("/receive", query_string={"number": number})
    assert scanned.status_code == 302 and scanned.headers["Location"].endswith(f"/shipments/{shipment_id}/receive")
    form = client.get(f"/shipments/{shipment_id}/receive").get_data(as_text=True)
    assert f'value="{doses}"' in form
    response = post(client, f"/shipments/{shipment_id}/receive", f"/shipments/{shipment_id}/receive",
                    **{f"accepted_{line_id}": str(doses - 1), f"rejected_{line_id}": "1",
                       f"reason_{line_id}": "damaged", f"vvm_{line_id}": "2"})
    assert response.status_code == 302
    assert state_of(app, shipment_id) == PARTIALLY_RECEIVED
    with app.app_context():
        assert ledger.on_hand(locations.by_code(world.site).id, world.lot_id) == doses - 1
    page = client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    assert 'data-state="partially_received"' in page


def test_a_shipment_not_dispatched_cannot_be_opened_for_receipt(app, client, world):
    shipment_id = created(app, client, world)
    with app.app_context():
        number = db.session.get(Shipment, shipment_id).number
    client.post("/logout", data={"csrf_token": csrf_token(client, "/shipments")})
    log_in(client, "site")
    response = client.get("/receive", query_string={"number": number})
    assert response.status_code == 422 and error_of(response, "number")


def test_a_foreign_user_gets_404(app, client, world):
    shipment_id = dispatched(app, client, world)
    with app.app_context():
        number = db.session.get(Shipment, shipment_id).number
    log_in(client, "foreign")
    assert client.get(f"/shipments/{shipment_id}").status_code == 404
    assert client.get(f"/shipments/{shipment_id}/receive").status_code == 404
    assert number not in client.get("/shipments").get_data(as_text=True)
    scanned = client.get("/receive", query_string={"number": number})
    assert scanned.status_code == 422 and error_of(scanned, "number")


def received(app, client, world):
    """A shipment dispatched by "lo" and received whole by "site" (who stays logged in)."""
    shipment_id = dispatched(app, client, world)
    log_in(client, "site")
    with app.app_context():
        line = db.session.get(Shipment, shipment_id).lines[0]
        line_id, doses = line.id, line.doses
    response = post(client, f"/shipments/{shipment_id}/receive", f"/shipments/{shipment_id}/receive",
                    **{f"accepted_{line_id}": str(doses), f"rejected_{line_id}": "0"})
    assert response.status_code == 302
    return shipment_id


def test_the_site_uploads_the_logger_after_receipt_and_an_excursion_holds_the_lot(app, client, world):
    shipment_id = received(app, client, world)
    lines = [f"26/11/2026 {8 + i // 6:02d}:{i % 6 * 10:02d};{4.5 if i < 6 else 11.0}" for i in range(24)]
    response = client.post(f"/shipments/{shipment_id}/temperatures", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/shipments/{shipment_id}"),
        "file": (BytesIO(("\n".join(lines) + "\n").encode()), "logger.csv")}, follow_redirects=True)
    assert "bị tạm giữ tại" in response.get_data(as_text=True)
    with app.app_context():
        assert stock.is_held(locations.by_code(world.site), db.session.get(Lot, world.lot_id))


def test_the_origin_closes_a_received_shipment(app, client, world):
    shipment_id = received(app, client, world)
    assert 'id="close"' not in client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/shipments")})
    log_in(client, "lo")
    assert 'id="close"' in client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    response = post(client, f"/shipments/{shipment_id}/close", f"/shipments/{shipment_id}")
    assert response.status_code == 302 and state_of(app, shipment_id) == "closed"
    again = post(client, f"/shipments/{shipment_id}/close", f"/shipments/{shipment_id}")
    assert again.status_code == 409 and state_of(app, shipment_id) == "closed"
