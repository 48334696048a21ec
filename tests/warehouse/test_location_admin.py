"""Admins build the locations tree and say who works where."""
import re

import pytest
from sqlalchemy import select

from core import roles
from core.accounts import find_user
from core.db import db
from modules.warehouse import locations
from modules.warehouse.models import Location, UserLocation
from tests.conftest import ALL_ROLES, csrf_token


def post_location(client, **data):
    data = {"csrf_token": csrf_token(client, "/admin/locations"), "admin_unit": "", "parent": "", **data}
    return client.post("/admin/locations", data=data)


def test_admin_builds_a_national_store_and_a_site_under_it(app, client, login_as):
    login_as(roles.ADMIN)
    assert post_location(client, code="kho-qg", name="Kho vắc xin quốc gia", kind="national").status_code == 302
    with app.app_context():
        national = locations.by_code("KHO-QG")
    response = post_location(client, code="DT-01", name="Điểm tiêm số 1", kind="site", parent=str(national.id))
    assert response.status_code == 302
    page = client.get("/admin/locations").get_data(as_text=True)
    assert "KHO-QG" in page and "Điểm tiêm số 1" in page
    with app.app_context():
        site = locations.by_code("DT-01")
        assert site.parent_id == national.id and site.path == f"/{national.id}/{site.id}/"


def test_a_district_cannot_sit_at_the_top(app, client, login_as):
    login_as(roles.ADMIN)
    response = post_location(client, code="KHO-Q1", name="Kho quận 1", kind="district")
    assert response.status_code == 200
    assert re.search(r'id="parent-error"', response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(Location).where(Location.code == "KHO-Q1")) is None


def test_admin_assigns_and_removes_a_user(app, client, login_as, make_user):
    login_as(roles.ADMIN)
    staff = make_user(roles.SITE_STAFF)
    with app.app_context():
        site = locations.create_location("DT-02", "Điểm tiêm số 2", "site", locations.create_location(
            "KHO-T", "Kho tỉnh", "province"))
        db.session.commit()
        site_id, staff_id = site.id, find_user(staff).id
    url = f"/admin/locations/{site_id}/users"
    client.post(url, data={"csrf_token": csrf_token(client, url), "user": str(staff_id)})
    assert staff in client.get(url).get_data(as_text=True)
    client.post(f"{url}/{staff_id}/remove", data={"csrf_token": csrf_token(client, url)})
    with app.app_context():
        assert db.session.get(UserLocation, (staff_id, site_id)) is None


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != roles.ADMIN])
def test_only_admins_manage_locations(client, login_as, role):
    login_as(role)
    assert client.get("/admin/locations").status_code == 403
