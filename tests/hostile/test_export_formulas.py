"""Exports neutralise formula injection: a person registered with a name that a spreadsheet would run
(``=HYPERLINK(...)``, ``+...``, ``-...``, ``@...``) comes out of the real export endpoints as text.

``reports.excel.safe_text`` writes such a cell as a string with an apostrophe put in front, so Excel,
LibreOffice and Google Sheets show it literally and never evaluate it. The stock export (a lot number
``=1+2``) is covered in tests/warehouse/test_pages_stock.py; here: names typed by people, through the
recall list of a lot (``/lots/<id>/recipients?format=xlsx``) and the doses due (``/due?format=xlsx``).
"""
import io

import pytest
from openpyxl import load_workbook

from core import roles
from core.accounts import find_user
from core.db import db
from core.tokens import create_token
from modules.warehouse import locations
from tests.conftest import log_in
from tests.warehouse.helpers import user_at

NAMES = ['=HYPERLINK("http://evil.example","Bấm vào đây")', "+Lê Thị Hoa", "-Trần Văn An", "@Phạm Thị Lan"]


@pytest.fixture
def injected(app):
    """Site DT-PX's lot AZ1 injected into one person per dangerous name (by the API, as site staff "tram"),
    and a warehouse manager over the whole country ("kho"), who may export a recall list."""
    from tests.injection.test_pages import make_world
    world = make_world(app)
    with app.app_context():
        user_at(roles.WAREHOUSE_MANAGER, locations.by_code("KHO-QG"), "kho")
        _token, secret = create_token(find_user("tram"))
        db.session.commit()
    client = app.test_client()
    for number, name in enumerate(NAMES):
        response = client.post("/api/v1/injections", headers={"Authorization": f"Bearer {secret}"}, json={
            "person": {"full_name": name, "gender": "female", "date_of_birth": f"199{number}-03-15"},
            "vaccine": "VAXZEVRIA", "site": "DT-PX", "lot": "AZ1"})
        assert response.status_code == 201, response.get_json()
    return world


def cells_of(response):
    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None]


def assert_literal(cells, names):
    """Every dangerous name is a text cell holding the name behind an apostrophe, and no cell is a formula."""
    assert all(cell.data_type != "f" for cell in cells)
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    for name in names:
        assert "'" + name in texts, (name, texts)
        assert name not in texts


def test_the_recall_list_of_a_lot_writes_formula_like_names_as_text(app, injected):
    client = app.test_client()
    log_in(client, "kho")
    assert_literal(cells_of(client.get(f"/lots/{injected.az_id}/recipients?format=xlsx")), NAMES)


def test_the_doses_due_export_writes_formula_like_names_as_text(app, injected):
    client = app.test_client()
    log_in(client, "tram")
    assert_literal(cells_of(client.get("/due?format=xlsx&since=&until=31/12/2099")), NAMES)
