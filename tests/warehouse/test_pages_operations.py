"""The operation pages: transfer with the FEFO suggestion, adjustment and wastage, physical count.

Every refused submission shows its error next to the field and writes nothing.
"""
import re

import pytest
from sqlalchemy import func, select

from core.db import db
from modules.lots.models import Lot
from modules.warehouse import ledger, locations
from modules.warehouse.models import Move
from tests.conftest import csrf_token, log_in
from tests.warehouse.helpers import days_from_today, receive_lot, vaccine_with_gtin
from tests.warehouse.pages_world import make_world


@pytest.fixture
def world(app):
    return make_world(app)


def on_hand(app, location_code, lot_number):
    with app.app_context():
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == lot_number))
        return ledger.on_hand(locations.by_code(location_code).id, lot.id)


def move_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Move))


def post(client, url, form_url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, form_url), **data})


def error_of(response, field):
    found = re.search(rf'id="{field}-error">([^<]+)<', response.get_data(as_text=True))
    return found.group(1) if found else None


# --- Transfer ------------------------------------------------------------------------------------

def test_a_manager_transfers_vials_to_a_site_below(app, client, world):
    log_in(client, "qg")
    response = post(client, "/transfer", "/transfer?source=KHO-QG", source="KHO-QG", destination="DT-PX",
                    lot=str(world.lots["AZ-NAT"]), quantity="5", unit="vials", note="Đợt 3")
    assert response.status_code == 302
    assert on_hand(app, "KHO-QG", "AZ-NAT") == 950 and on_hand(app, "DT-PX", "AZ-NAT") == 50


def test_the_transfer_page_offers_only_usable_lots_of_the_source(client, world):
    log_in(client, "kho_a")
    page = client.get("/transfer?source=DT-PX").get_data(as_text=True)
    lot_select = re.search(r'<select[^>]*id="lot".*?</select>', page, re.S).group(0)
    assert f'value="{world.lots["AZ-A1"]}"' in lot_select
    assert f'value="{world.lots["VC-A2"]}"' not in lot_select  # quarantined


@pytest.mark.parametrize("changes, field", [
    ({"quantity": ""}, "quantity"),
    ({"quantity": "ba"}, "quantity"),
    ({"quantity": "-2"}, "quantity"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "101"}, "quantity"),          # 1 010 doses, only 1 000 on hand
    ({"destination": ""}, "destination"),
    ({"destination": "KHO-QG"}, "destination"),  # the source itself
    ({"lot": ""}, "lot"),
])
def test_a_bad_transfer_is_refused_next_to_its_field_and_writes_nothing(app, client, world, changes, field):
    log_in(client, "qg")
    before = move_count(app)
    data = {"source": "KHO-QG", "destination": "DT-PX", "lot": str(world.lots["AZ-NAT"]), "quantity": "5",
            "unit": "vials", **changes}
    response = post(client, "/transfer", "/transfer?source=KHO-QG", **data)
    assert response.status_code in (404, 409, 422)
    assert error_of(response, field), response.get_data(as_text=True)
    assert move_count(app) == before and on_hand(app, "KHO-QG", "AZ-NAT") == 1000


def test_a_transfer_outside_ones_subtree_is_not_found(app, client, world):
    log_in(client, "pxa")
    before = move_count(app)
    lot = str(world.lots["AZ-A1"])
    to_foreign = post(client, "/transfer", "/transfer", source="DT-PX", destination="DT-TB", lot=lot, quantity="1",
                      unit="doses")
    assert to_foreign.status_code == 404 and error_of(to_foreign, "destination")
    from_foreign = post(client, "/transfer", "/transfer", source="DT-TB", destination="DT-PX",
                        lot=str(world.lots["AZ-B1"]), quantity="1", unit="doses")
    assert from_foreign.status_code == 404
    assert client.get("/transfer?source=DT-TB").status_code == 404
    assert move_count(app) == before


def test_a_lot_not_on_hand_at_the_source_is_not_found(app, client, world):
    log_in(client, "qg")
    response = post(client, "/transfer", "/transfer", source="DT-PX", destination="DT-TB",
                    lot=str(world.lots["AZ-B1"]), quantity="1", unit="doses")
    assert response.status_code == 404 and error_of(response, "lot")


def test_fefo_suggests_the_earliest_usable_expiry_first(app, client, world):
    with app.app_context():
        astra = vaccine_with_gtin("VAXZEVRIA")
        national = locations.by_code("KHO-QG")
        receive_lot(national, astra, "AZ-EARLY", doses=30, expiry=days_from_today(60))
        receive_lot(national, astra, "AZ-EXPIRED", doses=30, expiry=days_from_today(-5))
    log_in(client, "qg")
    page = client.get("/transfer?source=KHO-QG&vaccine=VAXZEVRIA&need=5&need_unit=vials").get_data(as_text=True)
    picks = re.search(r'id="fefo-picks".*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr><td>([^<]+)</td><td>[^<]+</td><td class=\"num\">([^<]+)</td>", picks)
    assert rows == [("AZ-EARLY", "30"), ("AZ-NAT", "20")]
    assert "AZ-EXPIRED" not in picks
    assert f"lot={world.lots['AZ-NAT']}" in picks  # "use" pre-fills the transfer form


def test_fefo_reports_a_shortage(client, world):
    log_in(client, "kho_a")
    page = client.get("/transfer?source=DT-PX&vaccine=VAXZEVRIA&need=50&need_unit=doses").get_data(as_text=True)
    assert 'id="fefo-shortage"' in page and ">30<" not in page.split('id="fefo-shortage"')[0][-50:]
    assert re.search(r'id="fefo-shortage">[^<]*30', page)


def test_fefo_with_a_bad_quantity_says_so(client, world):
    log_in(client, "qg")
    response = client.get("/transfer?source=KHO-QG&vaccine=VAXZEVRIA&need=abc")
    assert error_of(response, "need") and 'id="fefo-picks"' not in response.get_data(as_text=True)


# --- Adjustment and wastage --------------------------------------------------------------------

def test_broken_vials_go_to_wastage(app, client, world):
    log_in(client, "pxa")
    response = post(client, "/adjust", "/adjust?location=DT-PX", location="DT-PX", lot=str(world.lots["AZ-A1"]),
                    reason="broken", quantity="1", unit="vials")
    assert response.status_code == 302
    assert on_hand(app, "DT-PX", "AZ-A1") == 10
    with app.app_context():
        move = db.session.scalars(select(Move).order_by(Move.id.desc())).first()
        assert (move.kind, move.reason, move.to_location.kind) == ("wastage", "broken", "wastage")


def test_found_doses_are_added(app, client, world):
    log_in(client, "pxa")
    response = post(client, "/adjust", "/adjust", location="DT-PX", lot=str(world.lots["VC-A2"]), reason="found",
                    quantity="4", unit="doses")
    assert response.status_code == 302 and on_hand(app, "DT-PX", "VC-A2") == 34


def test_the_adjust_page_offers_the_reasons_of_the_service(client, world):
    from modules.warehouse.services import REASONS

    log_in(client, "pxa")
    page = client.get("/adjust").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*id="reason".*?</select>', page, re.S).group(0)
    assert re.findall(r'value="([a-z_]+)"', select_html) == list(REASONS)


@pytest.mark.parametrize("changes, field", [
    ({"reason": ""}, "reason"),
    ({"reason": "stolen"}, "reason"),
    ({"quantity": "3"}, "quantity"),     # 30 doses, 20 on hand
    ({"quantity": "1,5"}, "quantity"),
    ({"lot": "999999"}, "lot"),
])
def test_a_bad_adjustment_writes_nothing(app, client, world, changes, field):
    log_in(client, "pxa")
    before = move_count(app)
    data = {"location": "DT-PX", "lot": str(world.lots["AZ-A1"]), "reason": "broken", "quantity": "1",
            "unit": "vials", **changes}
    response = post(client, "/adjust", "/adjust", **data)
    assert response.status_code in (404, 409, 422) and error_of(response, field)
    assert move_count(app) == before and on_hand(app, "DT-PX", "AZ-A1") == 20


def test_an_adjustment_elsewhere_is_not_found(app, client, world):
    log_in(client, "pxa")
    assert client.get("/adjust?location=DT-TB").status_code == 404
    response = post(client, "/adjust", "/adjust", location="DT-TB", lot=str(world.lots["AZ-B1"]), reason="lost",
                    quantity="1", unit="doses")
    assert response.status_code == 404 and on_hand(app, "DT-TB", "AZ-B1") == 50


# --- Physical count ------------------------------------------------------------------------------

def count_url(code="DT-PX"):
    return f"/count/{code}"


def test_the_count_page_lists_the_lots_on_hand_with_an_input_each(client, world):
    log_in(client, "pxa")
    page = client.get(count_url()).get_data(as_text=True)
    assert f'name="lot_{world.lots["AZ-A1"]}"' in page and f'name="lot_{world.lots["VC-A2"]}"' in page
    assert f'name="lot_{world.lots["AZ-B1"]}"' not in page


def test_a_count_records_variances_and_shows_them(app, client, world):
    log_in(client, "pxa")
    response = post(client, count_url(), count_url(), unit="doses", note="Kiểm kê tháng 11",
                    **{f"lot_{world.lots['AZ-A1']}": "18", f"lot_{world.lots['VC-A2']}": "30"})
    assert response.status_code == 302
    assert on_hand(app, "DT-PX", "AZ-A1") == 18 and on_hand(app, "DT-PX", "VC-A2") == 30
    summary = client.get(response.headers["Location"]).get_data(as_text=True)
    variances = re.search(r'id="count-variances".*?</table>', summary, re.S).group(0)
    assert "AZ-A1" in variances and "-2" in variances and "VC-A2" not in variances
    assert 'id="count-variances"' not in client.get(count_url()).get_data(as_text=True)  # shown once


def test_a_count_in_vials_and_an_empty_line_skipped(app, client, world):
    log_in(client, "pxa")
    response = post(client, count_url(), count_url(), unit="vials", **{f"lot_{world.lots['AZ-A1']}": "3"})
    assert response.status_code == 302
    assert on_hand(app, "DT-PX", "AZ-A1") == 30 and on_hand(app, "DT-PX", "VC-A2") == 30


def test_a_bad_counted_quantity_is_shown_on_its_line_and_nothing_is_written(app, client, world):
    log_in(client, "pxa")
    before = move_count(app)
    field = f"lot_{world.lots['VC-A2']}"
    response = post(client, count_url(), count_url(), unit="doses",
                    **{f"lot_{world.lots['AZ-A1']}": "18", field: "mười"})
    assert response.status_code == 422 and error_of(response, field)
    assert move_count(app) == before and on_hand(app, "DT-PX", "AZ-A1") == 20


def test_a_count_with_nothing_entered_is_refused(app, client, world):
    log_in(client, "pxa")
    before = move_count(app)
    response = post(client, count_url(), count_url(), unit="doses")
    assert response.status_code == 422 and move_count(app) == before


def test_a_count_of_another_site_is_not_found(app, client, world):
    log_in(client, "pxa")
    assert client.get(count_url("DT-TB")).status_code == 404
    assert client.get(count_url("NOWHERE")).status_code == 404
    token = csrf_token(client, count_url())
    response = client.post(count_url("DT-TB"), data={"csrf_token": token, "unit": "doses",
                                                     f"lot_{world.lots['AZ-B1']}": "0"})
    assert response.status_code == 404 and on_hand(app, "DT-TB", "AZ-B1") == 50


def test_the_count_index_goes_straight_to_ones_only_location(client, world):
    log_in(client, "pxa")
    response = client.get("/count")
    assert response.status_code == 302 and response.headers["Location"].endswith(count_url())
    client_qg = client
    client_qg.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    log_in(client_qg, "qg")
    page = client_qg.get("/count").get_data(as_text=True)
    assert "/count/DT-TB" in page and "/count/KHO-QG" in page


@pytest.mark.parametrize("url", ["/transfer", "/adjust", "/count", "/scan"])
def test_readers_cannot_operate(client, world, url):
    log_in(client, "xem")
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ["/transfer?source=KHO-QG&vaccine=VAXZEVRIA&need=5", "/adjust", "/count/KHO-QG",
                                 "/stock", "/moves", "/lots/1", "/scan"])
def test_pages_have_no_inline_script_or_style(client, world, url):
    log_in(client, "qg")
    page = client.get(url).get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page and "<style" not in page, url
