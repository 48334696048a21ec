"""``vaxchain stock check``: clean after real operations, exit 1 naming the place when the books were tampered with."""
import pytest
from sqlalchemy import select, text

from core import roles
from core.accounts import create_user
from core.db import db
from modules.lots.models import Lot
from modules.warehouse import ledger, services
from modules.warehouse.models import Move
from tests.conftest import PASSWORD
from tests.warehouse.helpers import build_tree, receive_lot, vaccine_with_gtin


@pytest.fixture
def operated(app):
    """Stock moved by every kind of operation: receipt, transfers, adjustments (wastage, lost, found), a count.

    Returns the codes and ids the tests need (the app context that made them is closed).
    """
    with app.app_context():
        user = create_user("kho.qg", PASSWORD, roles.WAREHOUSE_MANAGER)
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        lot = receive_lot(tree.national, vero, "VC001", doses=500, user=user)
        other = receive_lot(tree.national, vaccine_with_gtin("VAXZEVRIA"), "AZ001", doses=200, user=user)
        services.transfer(tree.national, tree.province, lot, 300, user=user)
        services.transfer(tree.province, tree.district, lot, 200, user=user)
        services.transfer(tree.district, tree.site_a, lot, 120, user=user)
        services.transfer(tree.national, tree.other_site, other, 50, user=user)
        services.adjust(tree.site_a, lot, -4, "broken", user=user)
        services.adjust(tree.district, lot, -2, "lost", user=user)
        services.adjust(tree.district, lot, 1, "found", user=user)
        services.count(tree.site_a, {lot: 110}, user=user)
        services.count(tree.other_site, {other: 52}, user=user)
        db.session.commit()
        return {"site": tree.site_a.id, "site_code": tree.site_a.code, "lot": lot.id, "lot_number": lot.lot_number}


def stock_check(runner):
    return runner.invoke(args=["stock", "check"])


def test_the_ledger_is_consistent_on_a_new_database(runner):
    result = stock_check(runner)

    assert result.exit_code == 0, result.output
    assert "Stock ledger is consistent." in result.output


def test_the_ledger_is_consistent_after_receipts_transfers_adjustments_and_counts(runner, operated):
    result = stock_check(runner)

    assert result.exit_code == 0, result.output
    assert "Stock ledger is consistent." in result.output


def test_the_ledger_is_consistent_after_a_reversal(app, runner, operated):
    with app.app_context():
        move = db.session.scalars(select(Move).where(Move.kind == "wastage")).first()
        ledger.reverse(move, note="Vial found intact")
        db.session.commit()

    assert stock_check(runner).exit_code == 0


def test_a_balance_changed_behind_the_ledger_fails_naming_the_location_and_lot(app, runner, operated):
    with app.app_context():
        db.session.execute(text("UPDATE warehouse_balance SET doses = doses + 10 "
                                "WHERE location_id = :location AND lot_id = :lot"),
                           {"location": operated["site"], "lot": operated["lot"]})
        db.session.commit()

    result = stock_check(runner)

    assert result.exit_code == 1
    assert "Stock ledger is consistent." not in result.output
    problem = next(line for line in result.output.splitlines() if f"location {operated['site']}," in line)
    assert f"lot {operated['lot']}:" in problem and "balance 120 but the moves add up to 110" in problem
    assert operated["site_code"] in problem and f"lot {operated['lot_number']} of Vero Cell" in problem
    assert f"lot {operated['lot']}: balances over all locations add up to 10, not 0" in result.output


def test_a_deleted_move_fails_the_check(app, runner, operated):
    with app.app_context():
        move = db.session.scalars(select(Move).where(Move.kind == "transfer").order_by(Move.id)).first()
        db.session.execute(text("DELETE FROM warehouse_move WHERE id = :id"), {"id": move.id})
        db.session.commit()

    result = stock_check(runner)

    assert result.exit_code == 1
    assert "but the moves add up to" in result.output


def test_a_balance_row_deleted_behind_the_ledger_fails_the_check(app, runner, operated):
    with app.app_context():
        db.session.execute(text("DELETE FROM warehouse_balance WHERE location_id = :location AND lot_id = :lot"),
                           {"location": operated["site"], "lot": operated["lot"]})
        db.session.commit()

    result = stock_check(runner)

    assert result.exit_code == 1
    assert f"location {operated['site']}, lot {operated['lot']}: balance 0 but the moves add up to 110" in result.output


def test_the_check_reads_only(app, runner, operated):
    with app.app_context():
        before = db.session.execute(text("SELECT location_id, lot_id, doses FROM warehouse_balance "
                                         "ORDER BY location_id, lot_id")).all()
        lots_before = db.session.scalars(select(Lot.status)).all()

    stock_check(runner)

    with app.app_context():
        assert db.session.execute(text("SELECT location_id, lot_id, doses FROM warehouse_balance "
                                       "ORDER BY location_id, lot_id")).all() == before
        assert db.session.scalars(select(Lot.status)).all() == lots_before
