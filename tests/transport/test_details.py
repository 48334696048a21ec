"""A shipment's transport details (planned date, vehicle, driver, cold box) filled in after it was made — a
shipment from an approved allocation plan has none — until it is dispatched, on its page and through
``PATCH /api/v1/shipments/<id>``; the manifest then prints them. A refused change writes nothing."""
import re
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core import roles
from core.db import db
from core.models import AuditEntry
from core.service_errors import ConflictError, ServiceError
from core.tokens import create_token
from modules.allocation import services as allocation
from modules.allocation.models import MANUAL
from modules.allocation.services import Destination
from modules.transport import services
from modules.transport.models import PICKED, Shipment
from tests.audit_coverage import assert_every_change_audited
from tests.conftest import csrf_token, log_in
from tests.reports.test_manifest import pdf_text
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

VEHICLE, DRIVER, COLD_BOX = "29C-123.45", "Nguyễn Văn An", "Hòm lạnh CB-07"


def bearer(user):
    _token, secret = create_token(user)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(app):
    """An approved plan's picked shipment of Vero Cell from the national store to the Phúc Xá site, with no
    vehicle, driver or cold box; a logistics officer at the national store, staff at Phúc Xá and a warehouse
    manager at the Đà Nẵng store (who cannot see it)."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        receive_lot(tree.national, vero, "VC-DETAILS", doses=20 * vero.doses_per_vial)
        officer = user_at(roles.LOGISTICS_OFFICER, tree.national, "lo")
        headers = {"officer": bearer(officer),
                   "site": bearer(user_at(roles.SITE_STAFF, tree.site_a, "site")),
                   "danang": bearer(user_at(roles.WAREHOUSE_MANAGER, tree.other_province, "danang"))}
        plan = allocation.create_plan(vero, tree.national, 4 * vero.doses_per_vial, MANUAL,
                                      [Destination(tree.site_a, 4 * vero.doses_per_vial)], user=officer)
        [shipment] = allocation.approve(plan, user=officer)
        db.session.commit()
        assert (shipment.state, shipment.vehicle, shipment.driver, shipment.cold_box) == (PICKED, "", "", "")
        return SimpleNamespace(shipment_id=shipment.id, headers=headers, planned=shipment.planned_date)


def details_of(app, shipment_id):
    with app.app_context():
        shipment = db.session.get(Shipment, shipment_id)
        return shipment.planned_date, shipment.vehicle, shipment.driver, shipment.cold_box


def detail_entries(app):
    with app.app_context():
        return db.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "shipment.details")
                                  .order_by(AuditEntry.id)).all()


def dispatch(app, world):
    response = api(app, world, "post", f"/api/v1/shipments/{world.shipment_id}/dispatch")
    assert response.status_code == 200, response.json


# --- The page ---------------------------------------------------------------------------------------------

def page_post(client, shipment_id, **changes):
    data = {"planned_date": "20/12/2030", "vehicle": VEHICLE, "driver": DRIVER, "cold_box": COLD_BOX, **changes}
    return client.post(f"/shipments/{shipment_id}/details",
                       data={"csrf_token": csrf_token(client, "/shipments"), **data})


def error_of(response, field):
    found = re.search(rf'id="{field}-error"[^>]*>([^<]+)<', response.get_data(as_text=True))
    return found.group(1) if found else None


def test_the_page_fills_in_a_plan_shipments_details_and_the_manifest_prints_them(app, client, world, tmp_path):
    log_in(client, "lo")
    page = client.get(f"/shipments/{world.shipment_id}").get_data(as_text=True)
    assert 'id="details-form"' in page and "Chi tiết vận chuyển" in page
    assert f'value="{world.planned:%d/%m/%Y}"' in page  # the form starts from the shipment's details
    blank = client.get(f"/api/v1/shipments/{world.shipment_id}/manifest.pdf?lang=vi").data
    assert DRIVER not in pdf_text(blank, tmp_path)

    response = page_post(client, world.shipment_id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/shipments/{world.shipment_id}")
    assert details_of(app, world.shipment_id) == (date(2030, 12, 20), VEHICLE, DRIVER, COLD_BOX)
    shown = client.get(f"/shipments/{world.shipment_id}").get_data(as_text=True)
    assert "đã lưu chi tiết vận chuyển" in shown and VEHICLE in shown
    manifest = client.get(f"/api/v1/shipments/{world.shipment_id}/manifest.pdf?lang=vi").data
    text = pdf_text(manifest, tmp_path)
    assert VEHICLE in text and DRIVER in text and COLD_BOX in text


@pytest.mark.parametrize("changes, field, message", [
    ({"vehicle": "X" * 65}, "vehicle", "Tối đa 64 ký tự."),
    ({"driver": "Đ" * 121}, "driver", "Tối đa 120 ký tự."),
    ({"planned_date": "2030-12-20"}, "planned_date", None),
    ({"planned_date": ""}, "planned_date", None),
])
def test_bad_input_on_the_page_is_shown_at_its_field_and_nothing_is_written(app, client, world, changes, field,
                                                                          message):
    log_in(client, "lo")
    before = details_of(app, world.shipment_id)
    response = page_post(client, world.shipment_id, **changes)
    error = error_of(response, field)
    assert response.status_code == 422 and error is not None and (message is None or error == message)
    assert details_of(app, world.shipment_id) == before and detail_entries(app) == []


def test_a_dispatched_shipment_is_refused_on_the_page_and_unchanged(app, client, world):
    dispatch(app, world)
    log_in(client, "lo")
    page = client.get(f"/shipments/{world.shipment_id}").get_data(as_text=True)
    assert 'id="details-form"' not in page
    before = details_of(app, world.shipment_id)
    response = page_post(client, world.shipment_id)
    assert response.status_code == 422
    assert "đang ở trạng thái Đã xuất kho: không thể thực hiện" in response.get_data(as_text=True)
    assert details_of(app, world.shipment_id) == before and detail_entries(app) == []


def test_site_staff_cannot_fill_in_the_details_on_the_page(app, client, world):
    log_in(client, "site")
    assert 'id="details-form"' not in client.get(f"/shipments/{world.shipment_id}").get_data(as_text=True)
    before = details_of(app, world.shipment_id)
    assert page_post(client, world.shipment_id).status_code == 403
    assert details_of(app, world.shipment_id) == before


def test_a_store_that_cannot_see_the_shipment_gets_a_404_on_the_page(app, client, world):
    log_in(client, "danang")
    assert page_post(client, world.shipment_id).status_code == 404


# --- The API ----------------------------------------------------------------------------------------------

def api(app, world, method, url, who="officer", **kwargs):
    return getattr(app.test_client(), method)(url, headers=world.headers[who], **kwargs)


def patch(app, world, body, who="officer"):
    return api(app, world, "patch", f"/api/v1/shipments/{world.shipment_id}", who, json=body)


def api_error(response):
    return response.status_code, response.json["error"]["code"], response.json["error"]["field"]


def test_the_api_changes_only_the_fields_given_and_audits_the_change(app, world):
    response = patch(app, world, {"vehicle": f"  {VEHICLE} ", "driver": DRIVER})
    assert response.status_code == 200, response.json
    assert (response.json["vehicle"], response.json["driver"], response.json["cold_box"]) == (VEHICLE, DRIVER, "")
    assert response.json["planned_date"] == world.planned.isoformat() and response.json["state"] == "picked"
    assert api(app, world, "get", f"/api/v1/shipments/{world.shipment_id}").json == response.json
    later = patch(app, world, {"planned_date": "2030-12-31", "cold_box": COLD_BOX})
    assert later.status_code == 200 and later.json["vehicle"] == VEHICLE
    assert details_of(app, world.shipment_id) == (date(2030, 12, 31), VEHICLE, DRIVER, COLD_BOX)
    assert detail_entries(app)[0]["changes"] == {"vehicle": ["", VEHICLE], "driver": ["", DRIVER]}
    assert detail_entries(app)[1]["changes"] == {"planned_date": [world.planned.isoformat(), "2030-12-31"],
                                                 "cold_box": ["", COLD_BOX]}
    with app.app_context():
        assert_every_change_audited()


def test_the_same_details_saved_again_change_nothing_and_leave_no_entry(app, world):
    assert patch(app, world, {"vehicle": VEHICLE, "driver": DRIVER}).status_code == 200
    again = patch(app, world, {"vehicle": VEHICLE, "driver": f" {DRIVER}"})
    assert again.status_code == 200 and again.json["driver"] == DRIVER
    assert len(detail_entries(app)) == 1


@pytest.mark.parametrize("body, status, code, field", [
    ({"vehicle": 29}, 400, "not_a_string", "vehicle"),
    ({"driver": "A" * 121}, 400, "too_long", "driver"),
    ({"cold_box": "C" * 65}, 400, "too_long", "cold_box"),
    ({"planned_date": "20/12/2030"}, 400, "invalid_date", "planned_date"),
    ({"vehicle": VEHICLE, "colour": "blue"}, 400, "unknown_field", "colour"),
    ({"state": "dispatched"}, 400, "unknown_field", "state"),
    ({}, 400, "nothing_to_change", None),
])
def test_bad_input_through_the_api_names_the_field_and_nothing_is_written(app, world, body, status, code, field):
    before = details_of(app, world.shipment_id)
    assert api_error(patch(app, world, body)) == (status, code, field)
    assert details_of(app, world.shipment_id) == before and detail_entries(app) == []


def test_a_dispatched_shipment_is_refused_through_the_api_and_unchanged(app, world):
    dispatch(app, world)
    before = details_of(app, world.shipment_id)
    response = patch(app, world, {"vehicle": VEHICLE})
    assert api_error(response) == (409, "wrong_state", "state")
    assert details_of(app, world.shipment_id) == before and detail_entries(app) == []


@pytest.mark.parametrize("who, status", [("site", 403), ("danang", 404)])
def test_only_the_origins_shippers_change_the_details(app, world, who, status):
    before = details_of(app, world.shipment_id)
    assert patch(app, world, {"vehicle": VEHICLE}, who).status_code == status
    assert details_of(app, world.shipment_id) == before


def test_the_service_refuses_a_cancelled_shipment(app, world):
    with app.app_context():
        shipment = db.session.get(Shipment, world.shipment_id)
        services.cancel(shipment)
        with pytest.raises(ConflictError) as refused:
            services.update_transport_details(shipment, vehicle=VEHICLE)
        assert (refused.value.field, refused.value.code) == ("state", "wrong_state")
        assert shipment.vehicle == ""


def test_the_openapi_document_describes_the_patch(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/shipments/{shipment_id}"]["patch"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"planned_date", "vehicle", "driver", "cold_box"}
    assert schema["additionalProperties"] is False


def test_the_service_checks_the_lengths_as_at_creation_and_strips_the_text(app, world):
    with app.app_context():
        shipment = db.session.get(Shipment, world.shipment_id)
        with pytest.raises(ServiceError) as refused:
            services.update_transport_details(shipment, vehicle=VEHICLE, driver="Đ" * 121)
        assert (refused.value.field, refused.value.code) == ("driver", "too_long")
        assert shipment.vehicle == ""  # checked before anything changes
        services.update_transport_details(shipment, cold_box=f" {COLD_BOX}\n")
        assert (shipment.vehicle, shipment.cold_box) == ("", COLD_BOX)
