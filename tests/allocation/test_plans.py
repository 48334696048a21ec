"""Allocation plans: shares by population, demand or hand; whole vials; never more than usable stock."""
import pytest

from core.db import db
from core.hookspecs import hookimpl
from core.service_errors import ServiceError
from modules.allocation import services
from modules.allocation.models import APPROVED, DEMAND, MANUAL, POPULATION
from modules.allocation.services import Destination
from modules.transport.models import PICKED
from modules.warehouse import ledger
from modules.warehouse.models import AdminUnit
from tests.allocation.conftest import stocked_tree
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, vaccine_with_gtin


@pytest.fixture
def world(app):
    with app.app_context():
        yield stocked_tree()


def test_shares_follow_the_target_population_in_whole_vials(world):
    tree, az = world
    plan = services.create_plan(az, tree.national, 400, POPULATION,
                                [Destination(tree.province), Destination(tree.other_province)])
    assert [(line.requested_doses, line.allocated_doses) for line in plan.lines] == [(300, 300), (100, 100)]
    assert all(line.allocated_doses % 10 == 0 for line in plan.lines)


def test_lots_expiring_within_the_lead_time_are_not_counted(world):
    tree, az = world
    plan = services.create_plan(az, tree.national, 700, POPULATION,
                                [Destination(tree.province), Destination(tree.other_province)], lead_days=30)
    assert sum(line.allocated_doses for line in plan.lines) == 500  # AZ-SOON expires within 30 days
    assert sum(line.shortage for line in plan.lines) == 200


def test_manual_shares_stop_where_the_stock_ends_and_show_the_shortage(world):
    tree, az = world
    plan = services.create_plan(az, tree.national, 1000, MANUAL,
                                [Destination(tree.province, 400), Destination(tree.other_province, 300)])
    assert [(line.allocated_doses, line.shortage) for line in plan.lines] == [(400, 0), (100, 200)]


def test_a_destination_without_a_target_population_is_named(world):
    tree, az = world
    with pytest.raises(ServiceError) as refused:
        services.create_plan(az, tree.national, 100, POPULATION, [Destination(tree.province),
                                                                   Destination(tree.site_a)])
    assert (refused.value.code, refused.value.field) == ("no_target_population", "destinations[1]")


def test_demand_is_the_target_doses_less_those_given(world):
    tree, az = world  # Hà Nội 3 000 people, Đà Nẵng 1 000; Vaxzevria's series is 2 doses; nothing given yet
    plan = services.create_plan(az, tree.national, 400, DEMAND, [Destination(tree.province),
                                                                  Destination(tree.other_province)])
    assert [(line.weight, line.allocated_doses) for line in plan.lines] == [(6000, 300), (2000, 100)]


def test_demand_needs_someone_to_know_it(make_app):
    app = make_app(VAXCHAIN_MODULES="lots,warehouse,transport,allocation")  # no injection module
    with app.app_context():
        tree, az = stocked_tree()
        with pytest.raises(ServiceError) as refused:
            services.create_plan(az, tree.national, 100, DEMAND, [Destination(tree.province)])
    assert refused.value.code == "demand_unknown"


def test_demand_comes_from_the_hook(make_app):
    class Demand:
        @hookimpl
        def remaining_demand(self, locations, presentation):
            return {location.id: 100 * (index + 1) for index, location in enumerate(locations)}

    app = make_app(plugins=[("demand", Demand())])
    with app.app_context():
        tree = build_tree()
        az = vaccine_with_gtin("VAXZEVRIA")
        receive_lot(tree.national, az, "AZ-D", doses=300, expiry=days_from_today(400))
        plan = services.create_plan(az, tree.national, 300, DEMAND, [Destination(tree.province),
                                                                      Destination(tree.other_province)])
        assert [line.allocated_doses for line in plan.lines] == [100, 200]


def test_approval_makes_one_picked_shipment_per_destination(world):
    tree, az = world
    plan = services.create_plan(az, tree.national, 400, POPULATION,
                                [Destination(tree.province), Destination(tree.other_province)])
    shipments = services.approve(plan)
    db.session.commit()
    assert plan.state == APPROVED and [s.state for s in shipments] == [PICKED, PICKED]
    assert [sum(line.doses for line in s.lines) for s in shipments] == [300, 100]
    assert {line.lot.lot_number for s in shipments for line in s.lines} == {"AZ-LONG"}
    assert ledger.check() == []
    with pytest.raises(ServiceError):
        services.approve(plan)


@pytest.mark.parametrize("kwargs, field", [
    ({"total_doses": 0}, "doses"), ({"strategy": "lottery"}, "strategy"), ({"lead_days": -1}, "lead_days")])
def test_bad_plans_are_refused_naming_the_field(world, kwargs, field):
    tree, az = world
    arguments = {"presentation": az, "source": tree.national, "total_doses": 100, "strategy": POPULATION,
                 "destinations": [Destination(tree.province)], **kwargs}
    with pytest.raises(ServiceError) as refused:
        services.create_plan(**arguments)
    assert refused.value.field == field


def test_a_store_without_a_unit_weighs_the_distinct_units_below_it(world):
    tree, az = world
    for code, name in [("00001", "Phúc Xá"), ("00004", "Trúc Bạch")]:
        db.session.add(AdminUnit(code=code, name=name, level="ward"))
    db.session.flush()
    tree.site_a.admin_unit_code, tree.site_b.admin_unit_code = "00001", "00004"
    services.set_target("00001", 700)
    services.set_target("00004", 300)
    assert services.populations([tree.district]) == [1000]
    tree.site_b.admin_unit_code = "00001"  # two sites serving one ward count it once
    assert services.populations([tree.district]) == [700]
    assert services.populations([tree.national]) == [4000]  # the provinces below: 3 000 + 1 000
