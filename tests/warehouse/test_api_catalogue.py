"""GET /api/v1/vaccines and lot labels; every new endpoint documented; an integrator's token at work."""
from datetime import date
from types import SimpleNamespace

import pytest

from core import roles
from core.accounts import create_user
from core.db import db
from core.tokens import create_token
from tests.conftest import PASSWORD
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

NEW_PATHS = {"/api/v1/vaccines", "/api/v1/lots", "/api/v1/lots/{lot_id}/labels.pdf", "/api/v1/scan",
             "/api/v1/receipts", "/api/v1/adjustments", "/api/v1/transfers", "/api/v1/locations", "/api/v1/stock",
             "/api/v1/moves"}


def bearer(user):
    _token, secret = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(app):
    """Vero Cell lots VC2607 and LONGLOTNUMBER1234 at site DT-PX; a warehouse manager assigned nowhere
    (labels and the catalogue need no location); an integrator of the site's district."""
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        lot = receive_lot(tree.site_a, vero, "VC2607", doses=10, expiry=date(2030, 6, 30))
        long_lot = receive_lot(tree.site_a, vero, "LONGLOTNUMBER1234", doses=1, expiry=date(2030, 6, 30))
        manager = create_user("kho.nhan", PASSWORD, roles.WAREHOUSE_MANAGER)
        integrator = user_at(roles.INTEGRATOR, tree.district, "his.badinh")
        return SimpleNamespace(headers=bearer(manager), integrator=bearer(integrator), lot_id=lot.id,
                               long_lot_id=long_lot.id, gtin=vero.gtins[0].gtin)


def test_the_catalogue_lists_every_vaccine_with_its_rules(app, world):
    response = app.test_client().get("/api/v1/vaccines", headers=world.headers)
    assert response.status_code == 200
    vaccines = {item["code"]: item for item in response.json["items"]}
    assert len(vaccines) == 8
    assert vaccines["VEROCELL"] == {
        "code": "VEROCELL", "name": "Vero Cell", "manufacturer": "Sinopharm (BIBP)", "gtins": [world.gtin],
        "doses_per_vial": 1, "storage_min_c": 2, "storage_max_c": 8, "freeze_sensitive": True,
        "hours_after_opening": None, "series_length": 2, "min_interval_days": [21], "active": True}
    assert vaccines["ABDALA"]["min_interval_days"] == [14, 14] and vaccines["ABDALA"]["gtins"] == []


def labels(app, world, query=""):
    return app.test_client().get(f"/api/v1/lots/{world.lot_id}/labels.pdf{query}", headers=world.headers)


@pytest.mark.parametrize("query", ["", "?count=20", "?format=thermal&count=3", "?count=1000&format=a4"])
def test_labels_of_a_lot_are_a_pdf(app, world, query):
    response = labels(app, world, query)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")


@pytest.mark.parametrize("query, field", [("?count=0", "count"), ("?count=1001", "count"), ("?count=-1", "count"),
                                          ("?count=2.5", "count"), ("?count=abc", "count"), ("?format=x", "format"),
                                          ("?format=A5", "format"), ("?gtin=09506000134352", "gtin")])
def test_bad_label_parameters_are_refused_with_400_naming_the_parameter(app, world, query, field):
    response = labels(app, world, query)
    assert response.status_code == 400
    assert (response.json["error"]["code"], response.json["error"]["field"]) == ("invalid_parameter", field)


def test_labels_of_an_unknown_lot_are_404(app, world):
    response = app.test_client().get("/api/v1/lots/999999/labels.pdf", headers=world.headers)
    assert response.status_code == 404 and response.json["error"]["field"] == "lot_id"


def test_a_lot_too_long_for_a_thermal_label_is_refused_naming_the_format(app, world):
    url = f"/api/v1/lots/{world.long_lot_id}/labels.pdf"
    response = app.test_client().get(url + "?format=thermal", headers=world.headers)
    assert response.status_code == 422 and response.json["error"]["field"] == "format"
    assert app.test_client().get(url, headers=world.headers).status_code == 200


def test_a_lot_number_a_barcode_cannot_carry_is_refused(app, world):
    with app.app_context():
        from modules.warehouse import locations
        lot = receive_lot(locations.by_code("DT-PX"), vaccine_with_gtin("VEROCELL"), "VC 26", expiry=date(2030, 1, 31))
        lot_id = lot.id
    response = app.test_client().get(f"/api/v1/lots/{lot_id}/labels.pdf", headers=world.headers)
    assert response.status_code == 422
    assert (response.json["error"]["code"], response.json["error"]["field"]) == ("lot_not_printable", "lot_id")


def test_labels_of_a_vaccine_without_gtin_are_refused(app, world):
    with app.app_context():
        from modules.lots.models import Lot, Presentation
        lot = Lot(presentation=db.session.query(Presentation).filter_by(code="ABDALA").one(), lot_number="AB1",
                  expiry=date(2030, 1, 31))
        db.session.add(lot)
        db.session.commit()
        lot_id = lot.id
    response = app.test_client().get(f"/api/v1/lots/{lot_id}/labels.pdf", headers=world.headers)
    assert response.status_code == 422 and response.json["error"]["code"] == "no_gtin"


def test_openapi_documents_every_new_endpoint(client):
    document = client.get("/api/v1/openapi.json").json
    assert NEW_PATHS <= set(document["paths"])
    receipts = document["paths"]["/api/v1/receipts"]["post"]
    assert receipts["requestBody"]["content"]["application/json"]["schema"]["required"] == ["location", "lines"]
    stock_parameters = {p["name"]: p for p in document["paths"]["/api/v1/stock"]["get"]["parameters"]}
    assert stock_parameters["location"]["required"] is True and "include_children" in stock_parameters
    assert {"limit", "cursor"} <= {p["name"] for p in document["paths"]["/api/v1/moves"]["get"]["parameters"]}


def test_an_integrators_token_works_within_its_locations(app, world):
    client = app.test_client()
    stock = client.get("/api/v1/stock?location=DT-PX", headers=world.integrator)
    assert stock.status_code == 200 and [line["lot"] for line in stock.json["lines"]] == ["LONGLOTNUMBER1234",
                                                                                            "VC2607"]
    scan = client.post("/api/v1/scan", headers=world.integrator,
                       json={"code": f"]d201{world.gtin}1730063010VC2607", "location": "DT-PX"})
    assert scan.status_code == 200 and scan.json["on_hand_doses"] == 10
    moved = client.post("/api/v1/transfers", headers=world.integrator,
                        json={"from": "DT-PX", "to": "DT-TB", "lot_id": world.lot_id, "doses": 4})
    assert moved.status_code == 201
    assert client.get("/api/v1/stock?location=KHO-HN", headers=world.integrator).status_code == 404


def test_the_api_refuses_a_request_without_credentials(client):
    response = client.get("/api/v1/stock?location=DT-PX")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
