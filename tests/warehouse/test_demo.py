"""``vaxchain init --demo``: a tree of stores and sites, users assigned, lots of every kind, stock spread by real
moves so that ``vaxchain stock check`` passes, and nothing changed when it runs again."""
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from core.access import location_scope
from core.accounts import find_user
from core.clock import local_today
from core.db import db
from modules.lots.gs1 import normalise_gtin
from modules.lots.models import AVAILABLE, QUARANTINED, Lot, Presentation, StatusChange
from modules.warehouse import locations
from modules.warehouse.models import (
    DISTRICT,
    NATIONAL,
    PROVINCE,
    REGIONAL,
    SITE,
    AdminUnit,
    Balance,
    Location,
    Move,
)
from tests.audit_coverage import assert_every_change_audited
from tests.conftest import VaxchainCliRunner


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        yield app


def location(code):
    return db.session.scalar(select(Location).where(Location.code == code))


def of_kind(kind):
    return db.session.scalars(select(Location).where(Location.kind == kind).order_by(Location.code)).all()


def row_counts():
    tables = sorted(inspect(db.engine).get_table_names())
    return {table: db.session.scalar(select(func.count()).select_from(db.metadata.tables[table]))
            for table in tables if table in db.metadata.tables}


def physical_holders(lot):
    """Codes of the stores and sites holding doses of ``lot``."""
    return {row.code for row in db.session.execute(
        select(Location.code).join(Balance, Balance.location_id == Location.id)
        .where(Balance.lot_id == lot.id, Balance.doses > 0, Location.kind.in_((NATIONAL, REGIONAL, PROVINCE,
                                                                                 DISTRICT, SITE))))}


# --- The tree -----------------------------------------------------------------------------------------

def test_the_national_store_is_at_the_top_with_two_regional_stores_under_it(demo):
    national = location("KHO-QG")

    assert (national.name, national.kind, national.parent_id) == ("Kho vắc xin quốc gia", NATIONAL, None)
    regional = of_kind(REGIONAL)
    assert [store.code for store in regional] == ["KHO-MB", "KHO-MN"]
    assert all(store.parent_id == national.id for store in regional)


def test_three_provincial_stores_hang_under_the_regional_ones_linked_to_their_province(demo):
    provinces = {store.code: store for store in of_kind(PROVINCE)}

    assert {code: store.admin_unit.name for code, store in provinces.items()} == {
        "KHO-HN": "Thành phố Hà Nội", "KHO-DN": "Thành phố Đà Nẵng", "KHO-HCM": "Thành phố Hồ Chí Minh"}
    assert all(store.parent.kind == REGIONAL for store in provinces.values())


def test_the_provinces_have_districts_and_at_least_six_vaccination_sites(demo):
    districts, sites = of_kind(DISTRICT), of_kind(SITE)

    assert {district.parent.code for district in districts} == {"KHO-HN", "KHO-DN", "KHO-HCM"}
    assert len(sites) >= 6
    assert location("DT-HN-PX").name == "Trạm Y tế phường Phúc Xá"
    assert location("DT-HN-PX").admin_unit.name == "Phường Phúc Xá"
    for site in sites:
        assert site.path.startswith(site.parent.path) and site.parent.kind in (DISTRICT, PROVINCE)
        province = next(store for store in of_kind(PROVINCE) if site.path.startswith(store.path))
        assert province is not None, site.code


def test_the_demo_administrative_units_are_loaded(demo):
    provinces = db.session.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.level == "province"))

    assert provinces == 63
    assert db.session.get(AdminUnit, "26740").name == "Phường Bến Nghé"


# --- Users --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("username", "code"), [("warehouse", "KHO-QG"), ("logistics", "KHO-QG"),
                                                ("integrator", "KHO-QG"), ("site", "DT-HN-PX"),
                                                ("viewer", "KHO-HN")])
def test_demo_users_are_assigned_to_their_location(demo, username, code):
    assert [assigned.code for assigned in locations.assigned_locations(find_user(username))] == [code]


def test_the_admin_needs_no_location(demo):
    assert locations.assigned_locations(find_user("admin")) == []


def test_the_viewer_sees_hanoi_and_the_site_user_only_the_site(demo):
    viewer, site = location_scope(find_user("viewer")), location_scope(find_user("site"))

    assert location("DT-HN-TB").id in viewer and location("KHO-DN").id not in viewer
    assert site == frozenset({location("DT-HN-PX").id})


# --- Catalogue and lots -------------------------------------------------------------------------------

def test_every_demo_vaccine_has_an_illustrative_gtin_with_a_correct_check_digit(demo):
    for presentation in db.session.scalars(select(Presentation)):
        assert len(presentation.gtins) == 1, presentation.code
        gtin = presentation.gtins[0].gtin
        assert gtin.startswith("02") and normalise_gtin(gtin) == gtin  # GS1 restricted circulation


def test_the_lots_cover_several_vaccines_and_every_kind_of_expiry_and_status(demo):
    today = local_today()
    demo_lots = db.session.scalars(select(Lot)).all()
    days = {lot.lot_number: (lot.expiry - today).days for lot in demo_lots}

    assert len({lot.presentation_id for lot in demo_lots}) >= 4
    soon = [lot for lot in demo_lots if 0 <= days[lot.lot_number] <= 30]
    expired = [lot for lot in demo_lots if lot.is_expired(today)]
    quarantined = [lot for lot in demo_lots if lot.status == QUARANTINED]
    assert len(soon) == 1 and soon[0].status == AVAILABLE
    assert len(expired) == 1 and len(quarantined) == 1
    others = set(demo_lots) - set(soon) - set(expired) - set(quarantined)
    assert len(others) >= 3
    assert all(timedelta(days=180) <= lot.expiry - today <= timedelta(days=550) for lot in others)


def test_the_quarantine_went_through_the_status_machine_with_a_reason(demo):
    lot = db.session.scalars(select(Lot).where(Lot.status == QUARANTINED)).one()
    change = db.session.scalars(select(StatusChange).where(StatusChange.lot_id == lot.id)).one()

    assert change.reason and change.user_id == find_user("warehouse").id
    assert len(physical_holders(lot)) > 1  # distributed before it was held


def test_the_expired_lot_stays_at_the_national_store(demo):
    expired = next(lot for lot in db.session.scalars(select(Lot)) if lot.is_expired(local_today()))

    assert physical_holders(expired) == {"KHO-QG"}


# --- Stock --------------------------------------------------------------------------------------------

def test_stock_is_at_six_sites_or_more(demo):
    sites = db.session.scalar(
        select(func.count(func.distinct(Balance.location_id))).join(Location, Balance.location_id == Location.id)
        .where(Location.kind == SITE, Balance.doses > 0))

    assert sites >= 6


def test_stock_came_by_receipt_transfers_adjustment_wastage_and_count(demo):
    kinds = set(db.session.scalars(select(Move.kind).distinct()))
    receipts = db.session.scalars(select(Move).where(Move.kind == "receipt")).all()

    assert {"receipt", "transfer", "adjustment", "wastage", "count"} <= kinds
    assert {move.to_location.code for move in receipts} == {"KHO-QG"}
    stock_users = select(Move.user_id).where(Move.kind != "injection").distinct()
    assert set(db.session.scalars(stock_users)) == {find_user("warehouse").id}


def test_the_stock_check_passes(demo, runner):
    result = runner.invoke(args=["stock", "check"])

    assert result.exit_code == 0, result.output
    assert "Stock ledger is consistent." in result.output


# --- Running it again ---------------------------------------------------------------------------------

def test_running_it_again_changes_nothing(demo, runner):
    before = row_counts()
    balances = db.session.execute(select(Balance.location_id, Balance.lot_id, Balance.doses)
                                  .order_by(Balance.location_id, Balance.lot_id)).all()
    db.session.remove()

    again = runner.invoke(args=["init", "--demo"])

    assert again.exit_code == 0, again.output
    assert row_counts() == before
    assert db.session.execute(select(Balance.location_id, Balance.lot_id, Balance.doses)
                              .order_by(Balance.location_id, Balance.lot_id)).all() == balances
    assert before["warehouse_move"] > 0 and before["core_audit_log"] > 0 and len(before) >= 10


def test_it_builds_a_new_database_from_nothing(empty_app):
    runner = VaxchainCliRunner(empty_app)

    created = runner.invoke(args=["init", "--demo"])
    checked = runner.invoke(args=["stock", "check"])

    assert created.exit_code == 0, created.output
    assert checked.exit_code == 0, checked.output
    with empty_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Location).where(Location.kind == SITE)) >= 6


def test_every_change_the_demo_makes_is_in_a_verified_audit_log(demo, runner):
    assert_every_change_audited()
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
