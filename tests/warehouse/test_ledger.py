"""The stock ledger: double entry, no negative stock even under concurrent requests, reversals."""
import importlib.util
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from core.db import db
from modules.lots.models import Lot
from modules.warehouse import ledger, locations, services
from modules.warehouse.ledger import InsufficientStock, Transfer
from modules.warehouse.models import SUPPLIER, WASTAGE, Balance, Location, Move
from tests.warehouse.helpers import build_tree, receive_lot, vaccine_with_gtin


@pytest.fixture
def stocked(app):
    """A tree with 100 doses of one Vero Cell lot at the national store."""
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.national, vaccine_with_gtin("VEROCELL"), "VC001", doses=100)
        yield tree, lot


def balance(location, lot):
    return ledger.on_hand(location.id, lot.id)


def test_a_receipt_is_one_move_from_the_supplier(app, stocked):
    tree, lot = stocked
    move = db.session.scalars(select(Move)).one()
    assert (move.from_location.kind, move.to_location_id, move.doses) == (SUPPLIER, tree.national.id, 100)
    assert balance(tree.national, lot) == 100
    assert balance(locations.virtual(SUPPLIER), lot) == -100


def test_every_lot_nets_to_zero_and_balances_equal_the_moves(app, stocked):
    tree, lot = stocked
    services.transfer(tree.national, tree.site_a, lot, 30)
    services.adjust(tree.site_a, lot, -2, "broken")
    db.session.commit()
    assert ledger.check() == []
    total = db.session.scalar(select(func.sum(Balance.doses)).where(Balance.lot_id == lot.id))
    assert total == 0


def test_taking_more_than_on_hand_is_refused_and_changes_nothing(app, stocked):
    tree, lot = stocked
    with pytest.raises(InsufficientStock) as refused:
        services.transfer(tree.national, tree.site_a, lot, 101)
    db.session.rollback()
    assert refused.value.on_hand == 100 and refused.value.status == 409
    assert balance(tree.national, lot) == 100 and balance(tree.site_a, lot) == 0
    assert db.session.scalar(select(func.count()).select_from(Move)) == 1


def test_a_multi_line_operation_is_all_or_nothing(app, stocked):
    tree, lot = stocked
    lines = [Transfer(lot, tree.national, tree.site_a, 60), Transfer(lot, tree.national, tree.site_b, 60)]
    with pytest.raises(InsufficientStock):
        ledger.post(lines, "transfer")
    db.session.rollback()
    assert balance(tree.national, lot) == 100 and balance(tree.site_a, lot) == 0


@pytest.mark.parametrize("doses", [0, -5, 10_000_001, 2.5, "10", True])
def test_absurd_quantities_are_refused_naming_the_field(app, stocked, doses):
    tree, lot = stocked
    with pytest.raises(ledger.ServiceError) as refused:
        ledger.post([Transfer(lot, tree.national, tree.site_a, doses)], "transfer")
    assert refused.value.field == "doses"


def test_a_reversal_is_the_opposite_move_and_only_once(app, stocked):
    tree, lot = stocked
    move = services.transfer(tree.national, tree.site_a, lot, 40)[0]
    db.session.commit()
    back = ledger.reverse(move)
    db.session.commit()
    assert (back.from_location_id, back.to_location_id, back.doses, back.reverses_id) == (
        tree.site_a.id, tree.national.id, 40, move.id)
    assert balance(tree.national, lot) == 100
    with pytest.raises(ledger.ConflictError):
        ledger.reverse(move)
    with pytest.raises(ledger.ConflictError):
        ledger.reverse(back)


def test_the_database_refuses_a_move_of_zero_doses(app, stocked):
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(text("UPDATE warehouse_move SET doses = 0"))
    db.session.rollback()


def test_stock_check_finds_a_tampered_balance(app, stocked):
    tree, lot = stocked
    db.session.execute(text("UPDATE warehouse_balance SET doses = doses + 1 WHERE location_id = :l"),
                       {"l": tree.national.id})
    db.session.commit()
    problems = ledger.check()
    assert any(f"location {tree.national.id}, lot {lot.id}" in problem for problem in problems)


def totals(location, lot):
    row = db.session.get(Balance, (location.id, lot.id))
    return row.received, row.sent_on, row.wasted, row.injected


def test_a_balance_keeps_running_totals_of_its_moves_net_of_reversals(app, stocked):
    tree, lot = stocked
    services.transfer(tree.national, tree.site_a, lot, 30)
    services.transfer(tree.site_a, tree.site_b, lot, 4)
    services.adjust(tree.site_a, lot, -2, "broken")  # to wastage
    services.adjust(tree.site_a, lot, -1, "lost")  # to adjustment: in no total, the gap shows it
    services.adjust(tree.site_a, lot, 5, "found")  # from adjustment: not received either
    consumed = ledger.post([Transfer(lot, tree.site_a, locations.virtual("consumed"), 3)], "injection")[0]
    ledger.reverse(consumed)  # an injection corrected: its doses go back and are injected no more
    db.session.commit()
    # received, sent on, wasted, injected
    assert totals(tree.national, lot) == (100, 30, 0, 0)
    assert totals(tree.site_a, lot) == (30, 4, 2, 0)
    assert totals(tree.site_b, lot) == (4, 0, 0, 0)
    services.transfer(tree.site_b, tree.site_a, lot, 4)
    db.session.commit()
    assert totals(tree.site_a, lot) == (34, 4, 2, 0) and totals(tree.site_b, lot) == (4, 4, 0, 0)
    assert ledger.check() == []


def test_a_reversed_transfer_takes_itself_off_both_totals(app, stocked):
    tree, lot = stocked
    move = services.transfer(tree.national, tree.site_a, lot, 30)[0]
    db.session.commit()
    ledger.reverse(move)
    db.session.commit()
    assert totals(tree.national, lot) == (100, 0, 0, 0) and totals(tree.site_a, lot) == (0, 0, 0, 0)
    assert ledger.check() == []


def test_stock_check_finds_a_tampered_running_total(app, stocked):
    tree, lot = stocked
    db.session.execute(text("UPDATE warehouse_balance SET received = received + 1 WHERE location_id = :l"),
                       {"l": tree.national.id})
    db.session.commit()
    assert any(f"location {tree.national.id}, lot {lot.id}: running totals" in problem for problem in ledger.check())


def test_the_migration_fills_the_running_totals_from_the_moves(app, stocked):
    """warehouse_0004 adds the totals to a ledger that has moves: its SQL must give what the ledger keeps."""
    tree, lot = stocked
    services.transfer(tree.national, tree.site_a, lot, 30)
    services.adjust(tree.site_a, lot, -2, "broken")
    services.adjust(tree.site_a, lot, -1, "lost")
    ledger.reverse(ledger.post([Transfer(lot, tree.site_a, locations.virtual("consumed"), 3)], "injection")[0])
    ledger.post([Transfer(lot, tree.site_a, locations.virtual("consumed"), 1)], "injection")
    ledger.reverse(services.transfer(tree.site_a, tree.site_b, lot, 5)[0])
    db.session.commit()
    kept = {(row.location_id, row.lot_id): (row.received, row.sent_on, row.wasted, row.injected)
            for row in db.session.scalars(select(Balance))}
    db.session.execute(text("UPDATE warehouse_balance SET received = 0, sent_on = 0, wasted = 0, injected = 0"))
    db.session.execute(text(migration("warehouse_0004_balance_flows").FILL))
    db.session.commit()
    db.session.expire_all()
    assert {(row.location_id, row.lot_id): (row.received, row.sent_on, row.wasted, row.injected)
            for row in db.session.scalars(select(Balance))} == kept
    assert kept[tree.site_a.id, lot.id] == (30, 0, 2, 1)


def migration(name):
    path = Path(ledger.__file__).parent / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wastage_goes_to_the_wastage_location(app, stocked):
    tree, lot = stocked
    move = services.adjust(tree.national, lot, -3, "vvm")[0]
    db.session.commit()
    assert move.to_location.kind == WASTAGE and move.kind == "wastage" and move.reason == "vvm"


def test_virtual_balances_are_written_at_commit_and_lost_with_a_rollback(app, stocked):
    """The shared virtual rows (here wastage) are locked for the commit only, and only if it happens."""
    tree, lot = stocked
    wastage = locations.virtual(WASTAGE)
    services.adjust(tree.national, lot, -3, "vvm")
    assert (balance(tree.national, lot), balance(wastage, lot)) == (97, 0)
    db.session.rollback()
    assert (balance(tree.national, lot), balance(wastage, lot)) == (100, 0)
    services.adjust(tree.national, lot, -3, "vvm")
    services.adjust(tree.national, lot, -2, "vvm")
    db.session.commit()
    assert (balance(tree.national, lot), balance(wastage, lot)) == (95, 5)
    assert ledger.check() == []


def test_concurrent_takers_never_oversell(make_app):
    """20 threads, each its own connection and transaction, race for 10 doses held at one site."""
    app = make_app()
    with app.app_context():
        tree = build_tree()
        lot = receive_lot(tree.national, vaccine_with_gtin("VEROCELL"), "VC002", doses=10)
        site_id, national_id, lot_id = tree.site_a.id, tree.national.id, lot.id
    outcomes, start = [], threading.Barrier(20)

    def take_one():
        start.wait()
        with app.app_context():
            national, site = db.session.get(Location, national_id), db.session.get(Location, site_id)
            the_lot = db.session.get(Lot, lot_id)
            try:
                services.transfer(national, site, the_lot, 1)
                db.session.commit()
                outcomes.append("ok")
            except InsufficientStock:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=take_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * 10 + ["refused"] * 10
    with app.app_context():
        assert ledger.on_hand(national_id, lot_id) == 0 and ledger.on_hand(site_id, lot_id) == 10
        assert ledger.check() == []
