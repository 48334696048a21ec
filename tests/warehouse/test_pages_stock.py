"""The stock-on-hand page and its Excel export: filters, highlights, totals, scope."""
import io
import re

import openpyxl
import pytest

from core.db import db
from reports.excel import MIMETYPE
from tests.conftest import log_in
from tests.warehouse.helpers import receive_lot, vaccine_with_gtin
from tests.warehouse.pages_world import make_world

HEADERS = ["Location code", "Location", "Vaccine", "Lot", "Expiry date", "Status", "Vials", "Doses"]


@pytest.fixture
def world(app):
    return make_world(app)


def stock_rows(page):
    """(location code, lot number, row classes) of each line of the stock table."""
    return [(location, lot, classes) for classes, lot, location in re.findall(
        r'<tr class="([^"]*)" data-lot="([^"]+)" data-location="([^"]+)">', page)]


def lots_shown(client, url):
    return sorted(lot for _, lot, _ in stock_rows(client.get(url).get_data(as_text=True)))


def workbook(response):
    assert response.status_code == 200
    assert response.mimetype == MIMETYPE
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def test_a_national_manager_sees_the_stock_of_the_whole_tree(client, world):
    log_in(client, "qg")
    response = client.get("/stock")
    assert response.status_code == 200
    assert lots_shown(client, "/stock") == ["AZ-A1", "AZ-B1", "AZ-NAT", "VC-A2", "VC-HC"]


def test_site_staff_see_only_their_site(client, world):
    log_in(client, "pxa")
    page = client.get("/stock").get_data(as_text=True)
    assert {location for location, _, _ in stock_rows(page)} == {"DT-PX"}
    assert "AZ-B1" not in page and "VC-HC" not in page and "AZ-NAT" not in page


def test_a_lot_expiring_soon_and_a_blocked_lot_are_marked_in_words_too(client, world):
    log_in(client, "pxa")
    page = client.get("/stock").get_data(as_text=True)
    classes = {lot: row_classes for _, lot, row_classes in stock_rows(page)}
    assert "expiring" in classes["AZ-A1"] and "blocked" not in classes["AZ-A1"]
    assert "blocked" in classes["VC-A2"]
    row = re.search(r'data-lot="VC-A2".*?</tr>', page, re.S).group(0)
    assert 'class="badge bad"' in row  # the status in words, not only a red row
    row = re.search(r'data-lot="AZ-A1".*?</tr>', page, re.S).group(0)
    assert 'class="badge warn"' in row


def test_filters_by_location_with_or_without_sub_locations(client, world):
    log_in(client, "qg")
    assert lots_shown(client, "/stock?filtered=1&location=KHO-HN&sub=y") == ["AZ-A1", "AZ-B1", "VC-A2"]
    assert lots_shown(client, "/stock?filtered=1&location=KHO-HN") == []
    assert lots_shown(client, "/stock?filtered=1&location=DT-TB") == ["AZ-B1"]


def test_filters_by_vaccine_and_blocked_only(client, world):
    log_in(client, "qg")
    assert lots_shown(client, "/stock?filtered=1&vaccine=VEROCELL&sub=y") == ["VC-A2", "VC-HC"]
    assert lots_shown(client, "/stock?filtered=1&blocked=y&sub=y") == ["VC-A2"]


def test_totals_per_vaccine_in_doses_and_vials(client, world):
    log_in(client, "xem")
    page = client.get("/stock").get_data(as_text=True)
    totals = re.search(r'id="stock-totals".*?</table>', page, re.S).group(0)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", totals)
    # Vaxzevria (10 doses a vial): 20 + 50 doses in the province; Vero Cell: 30 doses
    assert cells == ["Vaxzevria", "7", "70", "Vero Cell", "30", "30"]


def test_a_location_outside_ones_scope_is_not_found(client, world):
    log_in(client, "pxa")
    assert client.get("/stock?filtered=1&location=DT-TB").status_code == 404
    assert client.get("/stock?filtered=1&location=NOWHERE").status_code == 404


def test_only_warehouse_roles_open_the_stock_page(client, world, make_user):
    log_in(client, make_user("integrator"))
    assert client.get("/stock").status_code == 403


def test_the_export_holds_the_filtered_rows_under_the_same_headers(client, world):
    log_in(client, "qg")
    sheet = workbook(client.get("/stock?filtered=1&location=KHO-HN&sub=y&format=xlsx"))
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows[0]) == len(HEADERS) and all(rows[0])
    assert sorted(row[3] for row in rows[1:]) == ["AZ-A1", "AZ-B1", "VC-A2"]
    az_a1 = next(row for row in rows if row[3] == "AZ-A1")
    assert az_a1[0] == "DT-PX" and az_a1[2] == "Vaxzevria" and az_a1[6:] == (2, 20)
    assert az_a1[4].date() == world.expiry["AZ-A1"]
    assert sheet.cell(row=2, column=5).number_format.upper() == "DD/MM/YYYY"


def test_the_export_headers_are_the_page_headers(client, world):
    log_in(client, "qg")
    page = client.get("/stock").get_data(as_text=True)
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", re.search(r'id="stock-lines".*?</thead>', page, re.S).group(0))
    sheet = workbook(client.get("/stock?filtered=1&format=xlsx"))
    exported = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert headers == exported[1:]  # the page shows the location code under the name


def test_the_export_file_is_named_with_the_date(client, world):
    log_in(client, "qg")
    response = client.get("/stock?filtered=1&format=xlsx")
    assert re.search(r'attachment; filename="ton-kho-\d{4}-\d{2}-\d{2}\.xlsx"',
                     response.headers["Content-Disposition"])


def test_the_export_never_holds_rows_of_another_site(client, world):
    log_in(client, "pxa")
    sheet = workbook(client.get("/stock?filtered=1&sub=y&format=xlsx"))
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"DT-PX"}


def test_the_export_neutralises_formulas(app, client, world):
    with app.app_context():
        from modules.warehouse import locations
        receive_lot(locations.by_code("DT-PX"), vaccine_with_gtin("VAXZEVRIA"), "=1+2", doses=10)
        db.session.commit()
    log_in(client, "pxa")
    sheet = workbook(client.get("/stock?filtered=1&sub=y&format=xlsx"))
    values = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'=1+2" in values
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_a_foreign_location_is_not_exported(client, world):
    log_in(client, "pxa")
    assert client.get("/stock?filtered=1&location=KHO-DN&format=xlsx").status_code == 404
