"""The allocation pages: a plan from the form to its preview and approval; target populations from a
CSV file. A refused submission shows its error where it belongs and writes nothing."""
import re
from io import BytesIO

import pytest
from sqlalchemy import func, select

from core import roles
from core.db import db
from modules.allocation.models import Plan, Target
from modules.transport.models import Shipment
from modules.warehouse.models import AdminUnit, Location
from tests.allocation.conftest import stocked_tree
from tests.conftest import csrf_token, log_in
from tests.warehouse.helpers import user_at


@pytest.fixture
def world(app):
    """A logistics officer at the national store ("lo") and one at the Hà Nội store ("lo.hn")."""
    with app.app_context():
        tree, _az = stocked_tree()
        user_at(roles.LOGISTICS_OFFICER, tree.national, "lo")
        user_at(roles.LOGISTICS_OFFICER, tree.province, "lo.hn")
        user_at(roles.VIEWER, tree.province, "viewer.hn")
        ids = {location.code: location.id for location in db.session.scalars(select(Location))}
        db.session.commit()
        return ids


def logged_in(app, username):
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def plan_form(client, ids, *destinations, **fields):
    data = {"csrf_token": csrf_token(client, "/allocations/new"), "source": "KHO-QG", "vaccine": "VAXZEVRIA",
            "doses": "400", "strategy": "population", "lead_days": "30", "pack_vials": "1", **fields}
    for code, doses in destinations:
        data[f"to_{ids[code]}"] = "y"
        if doses is not None:
            data[f"doses_{ids[code]}"] = doses
    return data


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def error_near(response, field_id):
    found = re.search(rf'id="{field_id}-error"[^>]*>([^<]+)<', response.get_data(as_text=True))
    return found.group(1) if found else None


def test_the_form_offers_the_places_two_levels_below_the_store(app, world):
    page = logged_in(app, "lo").get("/allocations/new").get_data(as_text=True)
    for code in ("KHO-HN", "KHO-BD", "KHO-DN", "DT-HC"):
        assert f'name="to_{world[code]}"' in page
    assert f'name="to_{world["DT-PX"]}"' not in page  # three levels down: the district allocates it


def test_a_plan_goes_from_preview_to_approved_shipments(app, world):
    client = logged_in(app, "lo")
    response = client.post("/allocations/new", data=plan_form(client, world, ("KHO-HN", None), ("KHO-DN", None)))
    assert response.status_code == 302, response.get_data(as_text=True)
    plan_url = response.headers["Location"]
    preview = client.get(plan_url).get_data(as_text=True)
    assert 'id="allocated-total">400<' in preview and "Kho tỉnh Đà Nẵng" in preview
    assert count(app, Shipment) == 0
    token = csrf_token(client, plan_url)
    approved = client.post(plan_url + "/approve", data={"csrf_token": token}, follow_redirects=True)
    page = approved.get_data(as_text=True)
    assert "2 chuyến hàng" in page and 'data-state="approved"' in page
    assert len(re.findall(r'href="/shipments/\d+"', page)) == 2
    assert count(app, Shipment) == 2


def test_by_hand_each_ticked_place_needs_its_doses(app, world):
    client = logged_in(app, "lo")
    response = client.post("/allocations/new", data=plan_form(client, world, ("KHO-HN", "300"), ("KHO-DN", None),
                                                              strategy="manual"))
    assert response.status_code == 422
    assert error_near(response, f"doses_{world['KHO-DN']}") == "Nhập số liều cho nơi nhận này."
    assert count(app, Plan) == 0


def test_a_place_without_a_target_population_is_named_on_its_row(app, world):
    client = logged_in(app, "lo")
    response = client.post("/allocations/new", data=plan_form(client, world, ("KHO-HN", None), ("DT-HC", None)))
    assert response.status_code == 422
    assert "Trạm Y tế Hải Châu" in error_near(response, f"doses_{world['DT-HC']}")
    assert count(app, Plan) == 0


def test_no_destination_ticked_is_refused(app, world):
    client = logged_in(app, "lo")
    response = client.post("/allocations/new", data=plan_form(client, world))
    assert response.status_code == 422 and 'id="destinations-error"' in response.get_data(as_text=True)


def test_a_store_outside_the_officers_locations_is_not_found(app, world):
    client = logged_in(app, "lo.hn")
    assert client.get("/allocations/new?source=KHO-QG").status_code == 404
    response = client.post("/allocations/new", data=plan_form(client, world, ("KHO-BD", None)))
    assert response.status_code == 404
    page = client.get("/allocations/new").get_data(as_text=True)
    assert f'name="to_{world["KHO-DN"]}"' not in page


def test_plans_of_other_stores_are_not_shown(app, world):
    client = logged_in(app, "lo")
    client.post("/allocations/new", data=plan_form(client, world, ("KHO-HN", None)))
    with app.app_context():
        plan_id = db.session.scalar(select(Plan.id))
    other = logged_in(app, "lo.hn")
    assert other.get(f"/allocations/{plan_id}").status_code == 404
    assert f"/allocations/{plan_id}" not in other.get("/allocations").get_data(as_text=True)


def test_a_viewer_sees_targets_but_cannot_load_them(app, world):
    client = logged_in(app, "viewer.hn")
    assert "3.000" in client.get("/allocations/targets").get_data(as_text=True)
    token = csrf_token(client, "/allocations/targets")
    response = client.post("/allocations/targets", data={"csrf_token": token,
                                                         "file": (BytesIO(b"code,population\n01,1\n"), "t.csv")})
    assert response.status_code == 403


def test_a_target_file_is_loaded_whole_or_not_at_all(app, world):
    client = logged_in(app, "lo")
    token = csrf_token(client, "/allocations/targets")
    bad = b"code,population\n01;2\n48,1.200\n99,5\n"
    response = client.post("/allocations/targets", data={"csrf_token": token, "file": (BytesIO(bad), "t.csv")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Dòng 2" in page and "Dòng 4, cột code" in page
    with app.app_context():
        assert db.session.get(Target, "48").population == 1000
    good = "\ufeffcode;population\n48;1.200\n".encode()
    token = csrf_token(client, "/allocations/targets")
    response = client.post("/allocations/targets", data={"csrf_token": token, "file": (BytesIO(good), "t.csv")},
                           follow_redirects=True)
    assert response.status_code == 200 and "1.200" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Target, "48").population == 1200
        assert db.session.get(AdminUnit, "48") is not None


def test_a_province_officer_cannot_load_another_provinces_target(app, world):
    client = logged_in(app, "lo.hn")
    token = csrf_token(client, "/allocations/targets")
    response = client.post("/allocations/targets", data={
        "csrf_token": token, "file": (BytesIO(b"code,population\n01,3100\n48,5\n"), "t.csv")})
    assert response.status_code == 422 and "Dòng 3, cột code" in response.get_data(as_text=True)
    with app.app_context():
        assert (db.session.get(Target, "01").population, db.session.get(Target, "48").population) == (3000, 1000)
