"""Receipts, transfers, adjustments, counts and FEFO, as a warehouse manager meets them."""
import pytest
from sqlalchemy import func, select

from core.db import db
from core.service_errors import ConflictError, NotFoundError, ServiceError
from modules.lots import services as lots
from modules.lots.gs1 import gs1_element_string
from modules.lots.models import Lot
from modules.warehouse import ledger, locations, services
from modules.warehouse.models import Move
from modules.warehouse.services import ReceiptLine
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, vaccine_with_gtin

GS = "\x1d"


@pytest.fixture
def tree(app):
    with app.app_context():
        yield build_tree()


def raw_scan(gtin, lot, expiry):
    return f"]C101{gtin}17{expiry:%y%m%d}10{lot}{GS}"


def moves_count():
    return db.session.scalar(select(func.count()).select_from(Move))


def test_receiving_a_scanned_pack_adds_one_vial(tree):
    vero = vaccine_with_gtin("VEROCELL")
    receive_lot(tree.national, vero, "VC100", doses=10)
    expiry = db.session.scalar(select(Lot.expiry))
    services.receive(tree.national, [ReceiptLine(code=raw_scan(vero.gtins[0].gtin, "VC100", expiry))])
    db.session.commit()
    assert ledger.on_hand(tree.national.id, lots.find_lot(vero, "VC100").id) == 11


def test_bracketed_text_typed_by_hand_is_a_scan_too(tree):
    az = vaccine_with_gtin("VAXZEVRIA")
    expiry = days_from_today(200)
    code = gs1_element_string(az.gtins[0].gtin, expiry, "ABV5811")
    result = services.receive(tree.national, [ReceiptLine(code=code, vials=3, confirm_new_lot=True)])
    assert result.moves[0].doses == 30 and result.new_lots[0].lot_number == "ABV5811"


def test_an_unknown_lot_is_created_only_when_the_user_confirms(tree):
    az = vaccine_with_gtin("VAXZEVRIA")
    line = ReceiptLine(gtin=az.gtins[0].gtin, lot="NEW1", expiry=days_from_today(300), vials=1)
    with pytest.raises(ServiceError) as refused:
        services.receive(tree.national, [line])
    assert (refused.value.field, refused.value.code, refused.value.status) == (
        "lines[0].confirm_new_lot", "new_lot", 409)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Lot)) == 0


def test_a_bad_second_line_writes_nothing_and_names_the_line(tree):
    vero = vaccine_with_gtin("VEROCELL")
    good = ReceiptLine(gtin=vero.gtins[0].gtin, lot="VC1", expiry=days_from_today(100), doses=5,
                       confirm_new_lot=True)
    bad = ReceiptLine(gtin="09506000134353", lot="X", expiry=days_from_today(100), doses=5)
    with pytest.raises(ServiceError) as refused:
        services.receive(tree.national, [good, bad])
    db.session.rollback()
    assert refused.value.field.startswith("lines[1]") and "2" in refused.value.message
    assert moves_count() == 0 and db.session.scalar(select(func.count()).select_from(Lot)) == 0


def test_doses_must_be_whole_vials(tree):
    az = vaccine_with_gtin("VAXZEVRIA")
    line = ReceiptLine(gtin=az.gtins[0].gtin, lot="AZ1", expiry=days_from_today(100), doses=15,
                       confirm_new_lot=True)
    with pytest.raises(ServiceError) as refused:
        services.receive(tree.national, [line])
    assert refused.value.code == "partial_vial" and refused.value.field == "lines[0].doses"


def test_an_expiry_that_contradicts_the_stored_one_is_refused(tree):
    vero = vaccine_with_gtin("VEROCELL")
    receive_lot(tree.national, vero, "VC7", expiry=days_from_today(100))
    line = ReceiptLine(gtin=vero.gtins[0].gtin, lot="VC7", expiry=days_from_today(101), doses=1)
    with pytest.raises(ServiceError) as refused:
        services.receive(tree.national, [line])
    assert (refused.value.code, refused.value.status) == ("expiry_mismatch", 409)


def test_a_recalled_lot_cannot_be_received_or_issued(tree):
    vero = vaccine_with_gtin("VEROCELL")
    lot = receive_lot(tree.national, vero, "VC8")
    lots.recall(lot, "Manufacturer recall notice 12/2026")
    db.session.commit()
    with pytest.raises(ConflictError) as refused:
        services.transfer(tree.national, tree.site_a, lot, 1)
    assert refused.value.code == "lot_blocked"
    line = ReceiptLine(gtin=vero.gtins[0].gtin, lot="VC8", doses=1)
    with pytest.raises(ServiceError) as refused:
        services.receive(tree.national, [line])
    assert refused.value.code == "lot_blocked"


def test_an_expired_lot_cannot_be_issued(tree):
    vero = vaccine_with_gtin("VEROCELL")
    lot = receive_lot(tree.national, vero, "VC9", expiry=days_from_today(-1))
    with pytest.raises(ConflictError) as refused:
        services.transfer(tree.national, tree.site_a, lot, 1)
    assert refused.value.code == "lot_expired"


@pytest.mark.parametrize("doses, reason, code", [
    (5, "broken", "positive_not_found"), (-5, "found", "negative_found"), (0, "lost", "not_a_number"),
    (-1, "stolen", "unknown_reason")])
def test_adjustments_need_a_sensible_quantity_and_reason(tree, doses, reason, code):
    lot = receive_lot(tree.national, vaccine_with_gtin("VEROCELL"), "VC10")
    with pytest.raises(ServiceError) as refused:
        services.adjust(tree.national, lot, doses, reason)
    assert refused.value.code == code


def test_found_doses_come_from_adjustment(tree):
    lot = receive_lot(tree.national, vaccine_with_gtin("VEROCELL"), "VC11", doses=10)
    move = services.adjust(tree.national, lot, 2, "found")[0]
    assert move.from_location.kind == "adjustment" and ledger.on_hand(tree.national.id, lot.id) == 12


def test_a_count_records_only_the_differences(tree):
    vero = vaccine_with_gtin("VEROCELL")
    short = receive_lot(tree.national, vero, "VC12", doses=10)
    exact = receive_lot(tree.national, vero, "VC13", doses=10)
    over = receive_lot(tree.national, vero, "VC14", doses=10)
    moves = services.count(tree.national, {short: 7, exact: 10, over: 12})
    db.session.commit()
    assert sorted((m.lot_id, m.doses) for m in moves) == sorted([(short.id, 3), (over.id, 2)])
    assert [ledger.on_hand(tree.national.id, lot.id) for lot in (short, exact, over)] == [7, 10, 12]
    assert ledger.check() == []


def test_fefo_suggests_the_earliest_usable_expiry_first(tree):
    vero = vaccine_with_gtin("VEROCELL")
    receive_lot(tree.national, vero, "LATE", doses=50, expiry=days_from_today(300))
    receive_lot(tree.national, vero, "SOON", doses=20, expiry=days_from_today(20))
    receive_lot(tree.national, vero, "GONE", doses=20, expiry=days_from_today(-3))
    picks, shortage = services.fefo(tree.national, vero, 30)
    assert [(lot.lot_number, doses) for lot, doses in picks] == [("SOON", 20), ("LATE", 10)]
    assert shortage == 0
    assert services.fefo(tree.national, vero, 100)[1] == 30


def test_a_users_scope_is_their_subtree(tree):
    from core import roles
    from tests.warehouse.helpers import user_at

    user = user_at(roles.SITE_STAFF, tree.district, "districtstaff")
    scope = locations.scope_of(user)
    assert {tree.district.id, tree.site_a.id, tree.site_b.id} == set(scope)
    with pytest.raises(NotFoundError):
        locations.by_code("KHO-DN", scope)
    assert locations.by_code("dt-px", scope) == tree.site_a


def test_locations_refuse_a_bad_place_in_the_tree(tree):
    with pytest.raises(ServiceError) as refused:
        locations.create_location("KHO-X", "Kho", "district", tree.national)
    assert refused.value.field == "parent"
    with pytest.raises(ServiceError) as refused:
        locations.create_location("kho x!", "Kho", "site", tree.district)
    assert refused.value.field == "code"
