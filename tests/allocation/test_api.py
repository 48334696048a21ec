"""/api/v1/allocations and /api/v1/targets as a logistics officer's client meets them."""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import roles
from core.db import db
from core.models import AuditEntry
from modules.allocation.models import Plan, Target
from modules.transport.models import Shipment
from tests.allocation.conftest import stocked_tree
from tests.transport.test_api import bearer, error_of
from tests.warehouse.helpers import user_at


@pytest.fixture
def world(app):
    """A logistics officer at the national store, one at the Hà Nội store, site staff at Phúc Xá."""
    with app.app_context():
        tree, _az = stocked_tree()
        headers = {"national": bearer(user_at(roles.LOGISTICS_OFFICER, tree.national, "dieu.phoi")),
                   "hanoi": bearer(user_at(roles.LOGISTICS_OFFICER, tree.province, "dieu.phoi.hn")),
                   "site": bearer(user_at(roles.SITE_STAFF, tree.site_a, "tram.px"))}
        db.session.commit()
        return SimpleNamespace(headers=headers)


def post(app, world, url, who="national", **kwargs):
    return app.test_client().post(url, headers=world.headers[who], **kwargs)


def preview(app, world, who="national", **body):
    body = {"vaccine": "VAXZEVRIA", "source": "KHO-QG", "doses": 400, "strategy": "population",
            "destinations": ["KHO-HN", "KHO-DN"], **body}
    return post(app, world, "/api/v1/allocations", who, json=body)


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_preview_shares_by_population_in_whole_vials(app, world):
    response = preview(app, world)
    assert response.status_code == 201, response.json
    plan = response.json
    assert plan["state"] == "draft" and plan["usable_doses"] == 500  # AZ-SOON is within the 30 lead days
    assert [(line["destination"], line["weight"], line["allocated_doses"], line["vials"])
            for line in plan["lines"]] == [("KHO-HN", 3000, 300, 30), ("KHO-DN", 1000, 100, 10)]
    assert count(app, Shipment) == 0  # a preview moves nothing


def test_the_preview_shows_shortages_when_stock_is_short(app, world):
    plan = preview(app, world, doses=900).json
    assert plan["allocated_doses"] == 500 and plan["shortage"] == 400
    assert [line["shortage"] for line in plan["lines"]] == [300, 100]


def test_shares_round_to_packs_when_asked(app, world):
    plan = preview(app, world, doses=500, pack_vials=20).json  # packs of 200 doses: 2 packs fit
    assert plan["unit_doses"] == 200
    # 3 000 : 1 000 of 2 packs is 1.5 : 0.5; the tied half goes to the larger population
    assert [line["allocated_doses"] for line in plan["lines"]] == [400, 0]
    assert [line["requested_doses"] for line in plan["lines"]] == [400, 0]


def test_manual_shares_take_doses_per_destination(app, world):
    plan = preview(app, world, strategy="manual", doses=300, destinations=[
        {"location": "KHO-DN", "doses": 250}, {"location": "DT-PX", "doses": 50}]).json
    assert [(line["destination"], line["allocated_doses"]) for line in plan["lines"]] == [("KHO-DN", 250),
                                                                                         ("DT-PX", 50)]


def test_approval_answers_the_picked_shipments(app, world):
    plan = preview(app, world).json
    response = post(app, world, f"/api/v1/allocations/{plan['id']}/approve")
    assert response.status_code == 200, response.json
    assert response.json["plan"]["state"] == "approved"
    shipments = response.json["shipments"]
    assert [(s["destination"], s["state"], sum(line["doses"] for line in s["lines"])) for s in shipments] == [
        ("KHO-HN", "picked", 300), ("KHO-DN", "picked", 100)]
    assert {line["lot"] for s in shipments for line in s["lines"]} == {"AZ-LONG"}
    assert [line["shipment_id"] for line in response.json["plan"]["lines"]] == [s["id"] for s in shipments]
    again = post(app, world, f"/api/v1/allocations/{plan['id']}/approve")
    assert error_of(again) == (409, "wrong_state", "state")
    assert count(app, Shipment) == 2
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.in_(["allocation.create", "allocation.approve"])).order_by(AuditEntry.id)).all()
    assert actions == ["allocation.create", "allocation.approve"]


def test_a_destination_outside_the_officers_subtree_is_refused_and_nothing_is_written(app, world):
    response = preview(app, world, who="hanoi", source="KHO-HN", destinations=["KHO-BD", "KHO-DN"])
    assert error_of(response) == (404, "unknown_location", "destinations[1]")
    assert count(app, Plan) == 0


def test_a_source_outside_the_officers_locations_is_refused(app, world):
    response = preview(app, world, who="hanoi")
    assert error_of(response) == (404, "unknown_location", "source")


@pytest.mark.parametrize("change, expected", [
    ({"strategy": "lottery"}, (400, "unknown_strategy", "strategy")),
    ({"doses": "400"}, (400, "not_an_integer", "doses")),
    ({"destinations": []}, (422, "no_destinations", "destinations")),
    ({"destinations": ["KHO-HN", "KHO-HN"]}, (422, "bad_destination", "destinations[1]")),
    ({"destinations": ["KHO-QG"]}, (422, "bad_destination", "destinations[0]")),
    ({"destinations": ["KHO-HN", "DT-PX"]}, (422, "no_target_population", "destinations[1]")),
    ({"strategy": "manual"}, (422, "required", "destinations[0].doses")),
    ({"strategy": "demand", "destinations": ["KHO-HN", "DT-PX"]}, (422, "no_target_population", "destinations[1]")),
    ({"lead_days": 400}, (422, "out_of_range", "lead_days")),
    ({"pack_vials": 0}, (422, "out_of_range", "pack_vials")),
    ({"destinations": [{"location": "KHO-HN", "vials": 3}]}, (400, "unknown_field", "destinations[0].vials")),
    ({"vaccine": "NOPE"}, (404, "unknown_vaccine", "vaccine")),
    ({"strategy": "manual", "destinations": [{"location": "KHO-HN", "doses": 105}]},
     (422, "partial_unit", "destinations[0].doses")),
    ({"strategy": "manual", "doses": 100, "destinations": [{"location": "KHO-HN", "doses": 300}]},
     (422, "more_than_total", "doses")),
    ({"source": "KHO-HN", "destinations": ["KHO-BD", "KHO-DN"]}, (422, "not_below_source", "destinations[1]")),
    ({"source": "DT-PX", "destinations": ["KHO-HN"]}, (422, "source_is_site", "source")),
])
def test_bad_requests_name_the_field_and_write_nothing(app, world, change, expected):
    response = preview(app, world, **change)
    assert error_of(response) == expected
    assert count(app, Plan) == 0


def test_plans_are_seen_only_from_their_source(app, world):
    plan = preview(app, world).json
    client = app.test_client()
    assert client.get(f"/api/v1/allocations/{plan['id']}", headers=world.headers["national"]).status_code == 200
    foreign = client.get(f"/api/v1/allocations/{plan['id']}", headers=world.headers["hanoi"])
    assert error_of(foreign) == (404, "unknown_plan", None)
    assert client.get("/api/v1/allocations", headers=world.headers["hanoi"]).json["items"] == []
    assert [p["id"] for p in client.get("/api/v1/allocations", headers=world.headers["national"]).json["items"]] == [
        plan["id"]]
    assert post(app, world, f"/api/v1/allocations/{plan['id']}/approve", who="hanoi").status_code == 404
    assert post(app, world, f"/api/v1/allocations/{plan['id']}/approve", who="site").status_code == 403


def test_a_cancelled_plan_cannot_be_approved(app, world):
    plan = preview(app, world).json
    assert post(app, world, f"/api/v1/allocations/{plan['id']}/cancel").json["state"] == "cancelled"
    assert error_of(post(app, world, f"/api/v1/allocations/{plan['id']}/approve")) == (409, "wrong_state", "state")
    assert count(app, Shipment) == 0


def test_target_populations_are_listed_and_set(app, world):
    client = app.test_client()
    headers = world.headers["national"]
    response = client.put("/api/v1/targets/48", headers=headers, json={"population": 1200})
    assert response.status_code == 200 and response.json == {"admin_unit": "48", "name": "Đà Nẵng",
                                                             "population": 1200}
    assert client.get("/api/v1/targets", headers=headers).json["items"] == [
        {"admin_unit": "01", "name": "Hà Nội", "population": 3000},
        {"admin_unit": "48", "name": "Đà Nẵng", "population": 1200}]
    assert error_of(client.put("/api/v1/targets/99", headers=headers, json={"population": 1})) == (
        404, "unknown_admin_unit", "code")
    assert error_of(client.put("/api/v1/targets/48", headers=headers, json={"population": -1})) == (
        422, "bad_population", "population")


def test_a_province_officer_sets_targets_only_within_the_province(app, world):
    client = app.test_client()
    headers = world.headers["hanoi"]
    assert client.put("/api/v1/targets/01", headers=headers, json={"population": 3100}).status_code == 200
    assert error_of(client.put("/api/v1/targets/48", headers=headers, json={"population": 1})) == (
        404, "unknown_admin_unit", "code")
    with app.app_context():
        assert db.session.get(Target, "48").population == 1000
