"""The catalogue pages (list, add, edit a vaccine presentation) and the lots list."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import roles
from core.clock import local_today
from core.db import db
from core.models import AuditEntry
from modules.lots import services as lots
from modules.lots.gs1 import gtin_check_digit
from modules.lots.models import Gtin, Presentation
from modules.lots.views import LOTS_PAGE
from tests.conftest import csrf_token

READERS = (roles.WAREHOUSE_MANAGER, roles.LOGISTICS_OFFICER, roles.VIEWER)
NOT_ADMINS = (roles.WAREHOUSE_MANAGER, roles.LOGISTICS_OFFICER, roles.VIEWER, roles.SITE_STAFF, roles.INTEGRATOR)


def gtin13(number):
    """An illustrative GTIN-13 in GS1's restricted-circulation range (prefix 2): never a real product's."""
    body = f"2{number:011d}"
    return body + gtin_check_digit(body)


def covaxin(**overrides):
    data = {"code": "covaxin", "name": "Covaxin", "manufacturer": "Bharat Biotech",
            "gtins": f"{gtin13(1)}\r\n\r\n0{gtin13(2)}\r\n", "doses_per_vial": "10", "storage_min_c": "2",
            "storage_max_c": "8", "freeze_sensitive": "y", "hours_after_opening": "24", "series_length": "2",
            "min_interval_days": "28", "active": "y"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


def error_of(page, field):
    """The error shown next to ``field`` (its <p class="error" id="<field>-error">), or None."""
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    return found.group(1) if found else None


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def presentation(app, code):
    with app.app_context():
        found = db.session.scalar(select(Presentation).where(Presentation.code == code))
        if found is None:
            return None
        return {"name": found.name, "gtins": [g.gtin for g in found.gtins], "hours": found.hours_after_opening,
                "intervals": found.min_interval_days, "freeze": found.freeze_sensitive, "active": found.active,
                "doses_per_vial": found.doses_per_vial, "id": found.id}


def seeded_id(app, code):
    return presentation(app, code)["id"]


@pytest.fixture
def admin(login_as):
    return login_as(roles.ADMIN, locale="en")


# --- Adding a presentation -------------------------------------------------------------------------

def test_admin_adds_a_presentation_with_its_gtins_and_intervals(app, client, admin):
    response = post(client, "/catalogue/new", covaxin())

    assert response.status_code == 302 and response.location.endswith("/catalogue")
    saved = presentation(app, "COVAXIN")
    assert saved["name"] == "Covaxin" and saved["doses_per_vial"] == 10 and saved["freeze"] is True
    assert saved["gtins"] == sorted(["0" + gtin13(1), "0" + gtin13(2)])  # padded to 14, blank lines ignored
    assert saved["intervals"] == [28] and saved["hours"] == 24


def test_adding_a_presentation_is_audited_with_the_admin_as_actor(app, client, admin):
    post(client, "/catalogue/new", covaxin())

    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "presentation.create"))
        assert entry.actor == admin and entry.details["code"] == "COVAXIN"


def test_the_new_presentation_appears_in_the_catalogue(client, admin):
    post(client, "/catalogue/new", covaxin())

    page = client.get("/catalogue").get_data(as_text=True)
    assert "Covaxin" in page and "0" + gtin13(1) in page and "Bharat Biotech" in page


def test_a_single_dose_vial_has_no_hours_after_opening(app, client, admin):
    post(client, "/catalogue/new", covaxin(hours_after_opening="", doses_per_vial="1"))

    assert presentation(app, "COVAXIN")["hours"] is None


def test_intervals_are_read_from_a_comma_separated_list(app, client, admin):
    post(client, "/catalogue/new", covaxin(series_length="3", min_interval_days="14, 14"))

    assert presentation(app, "COVAXIN")["intervals"] == [14, 14]


# --- Refusals: the message next to its field, nothing written ----------------------------------------

def assert_nothing_written(app, before):
    assert (count(app, Presentation), count(app, Gtin), count(app, AuditEntry)) == before


def snapshot(app):
    return count(app, Presentation), count(app, Gtin), count(app, AuditEntry)


def test_a_wrong_gtin_check_digit_is_shown_next_to_the_gtins_and_nothing_is_written(app, client, admin):
    wrong = gtin13(1)[:-1] + str((int(gtin13(1)[-1]) + 1) % 10)
    before = snapshot(app)

    response = post(client, "/catalogue/new", covaxin(gtins=f"{gtin13(2)}\n{wrong}"))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "wrong check digit" in error_of(page, "gtins") and wrong in error_of(page, "gtins")
    assert_nothing_written(app, before)


def test_a_gtin_that_is_not_digits_is_refused(app, client, admin):
    response = post(client, "/catalogue/new", covaxin(gtins="0950600013435X"))

    assert "is not a GTIN" in error_of(response.get_data(as_text=True), "gtins")
    assert presentation(app, "COVAXIN") is None


def test_a_gtin_of_another_presentation_is_refused(app, client, admin):
    with app.app_context():
        vero = lots.presentation_by_code("VEROCELL")
        vero.gtins.append(Gtin(gtin="0" + gtin13(1)))
        db.session.commit()
    before = snapshot(app)

    response = post(client, "/catalogue/new", covaxin(gtins=gtin13(1)))

    assert "already belongs to Vero Cell" in error_of(response.get_data(as_text=True), "gtins")
    assert_nothing_written(app, before)


def test_intervals_that_are_not_whole_numbers_are_refused(app, client, admin):
    response = post(client, "/catalogue/new", covaxin(min_interval_days="21 days"))

    assert "whole numbers of days" in error_of(response.get_data(as_text=True), "min_interval_days")
    assert presentation(app, "COVAXIN") is None


def test_one_interval_is_needed_per_dose_after_the_first(app, client, admin):
    response = post(client, "/catalogue/new", covaxin(series_length="3", min_interval_days="28"))

    assert "one minimum interval for each dose after the first" in error_of(
        response.get_data(as_text=True), "min_interval_days")
    assert presentation(app, "COVAXIN") is None


def test_a_missing_name_is_shown_next_to_the_name(app, client, admin):
    response = post(client, "/catalogue/new", covaxin(name=""))

    assert error_of(response.get_data(as_text=True), "name") == "This field is required."
    assert presentation(app, "COVAXIN") is None


def test_a_number_field_holding_text_asks_for_a_whole_number(app, client, admin):
    response = post(client, "/catalogue/new", covaxin(doses_per_vial="ten"))

    assert error_of(response.get_data(as_text=True), "doses_per_vial") == "Enter a whole number."


def test_an_inverted_storage_range_is_refused(app, client, admin):
    response = post(client, "/catalogue/new", covaxin(storage_min_c="8", storage_max_c="2"))

    assert "must be below the highest" in error_of(response.get_data(as_text=True), "storage_min_c")
    assert presentation(app, "COVAXIN") is None


def test_a_code_already_used_is_refused(app, client, admin):
    before = snapshot(app)

    response = post(client, "/catalogue/new", covaxin(code="verocell"))

    assert "already used" in error_of(response.get_data(as_text=True), "code")
    assert_nothing_written(app, before)


def test_a_post_without_the_csrf_token_writes_nothing(app, client, admin):
    before = snapshot(app)

    response = client.post("/catalogue/new", data=covaxin())

    assert response.status_code == 400
    assert_nothing_written(app, before)


# --- Editing ---------------------------------------------------------------------------------------------

def test_the_edit_page_is_filled_with_the_presentation(app, client, admin):
    page = client.get(f"/catalogue/{seeded_id(app, 'ABDALA')}/edit").get_data(as_text=True)

    assert 'value="ABDALA"' in page and 'value="CIGB"' in page and 'value="14, 14"' in page


def test_admin_edits_a_presentation(app, client, admin):
    vero_id = seeded_id(app, "VEROCELL")
    data = covaxin(code="VEROCELL", name="Vero Cell", manufacturer="Sinopharm (BIBP)", gtins=gtin13(7),
                   doses_per_vial="1", hours_after_opening="", min_interval_days="21", freeze_sensitive="y")

    response = post(client, f"/catalogue/{vero_id}/edit", data)

    assert response.status_code == 302
    saved = presentation(app, "VEROCELL")
    assert saved["gtins"] == ["0" + gtin13(7)] and saved["intervals"] == [21] and saved["id"] == vero_id
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "presentation.update"))
        assert entry.actor == admin and entry.object_id == str(vero_id)


def test_editing_can_remove_a_gtin_and_take_a_presentation_out_of_use(app, client, admin):
    post(client, "/catalogue/new", covaxin())
    covaxin_id = seeded_id(app, "COVAXIN")

    post(client, f"/catalogue/{covaxin_id}/edit", covaxin(gtins=gtin13(2), active=None))

    saved = presentation(app, "COVAXIN")
    assert saved["gtins"] == ["0" + gtin13(2)] and saved["active"] is False
    assert count(app, Gtin) == 1


def test_a_refused_edit_leaves_the_presentation_unchanged(app, client, admin):
    vero_id = seeded_id(app, "VEROCELL")
    before = presentation(app, "VEROCELL")
    wrong = gtin13(3)[:-1] + str((int(gtin13(3)[-1]) + 1) % 10)

    response = post(client, f"/catalogue/{vero_id}/edit",
                    covaxin(code="VEROCELL", name="Renamed", gtins=wrong, doses_per_vial="1", hours_after_opening=""))

    assert "wrong check digit" in error_of(response.get_data(as_text=True), "gtins")
    assert presentation(app, "VEROCELL") == before


def test_editing_an_unknown_presentation_is_not_found(client, admin):
    assert client.get("/catalogue/99999/edit").status_code == 404


# --- Who may do what ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_reach_the_add_and_edit_pages(app, client, login_as, role):
    login_as(role)
    vero_id = seeded_id(app, "VEROCELL")
    before = snapshot(app)
    token = csrf_token(client, "/account")

    assert client.get("/catalogue/new").status_code == 403
    assert client.get(f"/catalogue/{vero_id}/edit").status_code == 403
    assert client.post("/catalogue/new", data={**covaxin(), "csrf_token": token}).status_code == 403
    assert client.post(f"/catalogue/{vero_id}/edit", data={**covaxin(), "csrf_token": token}).status_code == 403
    assert_nothing_written(app, before)


@pytest.mark.parametrize("role", READERS)
def test_the_catalogue_is_readable_by_stores_and_dashboards(client, login_as, role):
    login_as(role, locale="en")

    response = client.get("/catalogue")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for name in ("Vaxzevria", "Comirnaty", "Spikevax", "Vero Cell", "Sputnik V", "Hayat-Vax", "Janssen", "Abdala"):
        assert name in page
    assert "-90…-60 °C" in page and "14, 14" in page
    assert "/catalogue/new" not in page and "/edit" not in page


def test_the_admin_sees_links_to_add_and_edit(client, admin):
    page = client.get("/catalogue").get_data(as_text=True)

    assert "/catalogue/new" in page and page.count("/edit") == 8


@pytest.mark.parametrize("role", (roles.SITE_STAFF, roles.INTEGRATOR))
def test_roles_without_the_catalogue_in_their_work_are_refused(client, login_as, role):
    login_as(role)

    assert client.get("/catalogue").status_code == 403
    assert client.get("/lots").status_code == 403


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client):
    response = client.get("/catalogue/new")

    assert response.status_code == 302 and "/login" in response.location


# --- The lots list -----------------------------------------------------------------------------------

@pytest.fixture
def some_lots(app):
    """Lot numbers → ids: a usable lot, one expiring in 10 days, one expired, one quarantined (Vero Cell)."""
    today = local_today()
    with app.app_context():
        astra, vero = lots.presentation_by_code("VAXZEVRIA"), lots.presentation_by_code("VEROCELL")
        made = [lots.create_lot(astra, "AZ-FAR", today + timedelta(days=300)),
                lots.create_lot(astra, "AZ-SOON", today + timedelta(days=10)),
                lots.create_lot(vero, "VC-OLD", today - timedelta(days=3)),
                lots.create_lot(vero, "VC-HELD", today + timedelta(days=200))]
        lots.change_status(made[3], "quarantined", "Temperature excursion on delivery")
        db.session.commit()
        return {lot.lot_number: lot.id for lot in made}


def listed(client, query=""):
    response = client.get(f"/lots{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return page, re.findall(r'<a href="/lots/\d+"><code>([^<]+)</code></a>', page)


@pytest.fixture
def reader(login_as):
    return login_as(roles.WAREHOUSE_MANAGER, locale="en")


def test_lots_are_listed_newest_first_with_links_to_their_page(client, reader, some_lots):
    page, numbers = listed(client)

    assert numbers == ["VC-HELD", "VC-OLD", "AZ-SOON", "AZ-FAR"]
    assert f'href="/lots/{some_lots["AZ-FAR"]}"' in page


def test_an_expired_lot_is_shown_expired_whatever_its_status(client, reader, some_lots):
    page, _numbers = listed(client, "?lot=VC-OLD")

    assert "lot-expired" in page and "lot-status-available" in page


def test_a_lot_expiring_soon_is_highlighted(client, reader, some_lots):
    page, _numbers = listed(client, "?lot=AZ-SOON")

    assert "expires in 10 days" in page


def test_a_lot_expiring_today_is_still_usable_and_says_so(app, client, reader):
    with app.app_context():
        lots.create_lot(lots.presentation_by_code("SPIKEVAX"), "MD-TODAY", local_today())
        db.session.commit()

    page, numbers = listed(client)

    assert numbers == ["MD-TODAY"] and "expires today" in page and "lot-expired" not in page


def test_lots_filtered_by_vaccine(client, reader, some_lots):
    assert listed(client, "?vaccine=VEROCELL")[1] == ["VC-HELD", "VC-OLD"]


def test_lots_filtered_by_status(client, reader, some_lots):
    assert listed(client, "?status=quarantined")[1] == ["VC-HELD"]


def test_the_expired_filter_uses_the_date_not_the_status(client, reader, some_lots):
    assert listed(client, "?status=expired")[1] == ["VC-OLD"]


def test_lots_expiring_within_some_days_leave_out_expired_ones(client, reader, some_lots):
    assert listed(client, "?expiring_within=30")[1] == ["AZ-SOON"]
    assert listed(client, "?expiring_within=250")[1] == ["VC-HELD", "AZ-SOON"]


def test_the_lot_number_search_is_partial_and_ignores_case(client, reader, some_lots):
    assert listed(client, "?lot=az-")[1] == ["AZ-SOON", "AZ-FAR"]


def test_the_lot_number_search_takes_percent_and_underscore_literally(client, reader, some_lots):
    assert listed(client, "?lot=%25")[1] == [] and listed(client, "?lot=_")[1] == []


def test_filters_combine(client, reader, some_lots):
    assert listed(client, "?vaccine=VAXZEVRIA&expiring_within=30&lot=az")[1] == ["AZ-SOON"]


def test_a_bad_number_of_days_is_shown_and_not_applied(client, reader, some_lots):
    page, numbers = listed(client, "?expiring_within=soon")

    assert error_of(page, "expiring_within") == "Enter a whole number."
    assert page.count('id="expiring_within-error"') == 1
    assert len(numbers) == 4


def test_a_number_of_days_out_of_range_is_shown_and_not_applied(client, reader, some_lots):
    page, numbers = listed(client, "?expiring_within=0")

    assert error_of(page, "expiring_within") == "Enter a number of days from 1 to 3650."
    assert len(numbers) == 4


def test_an_unknown_status_is_shown_and_not_applied(client, reader, some_lots):
    page, numbers = listed(client, "?status=lost")

    assert error_of(page, "status") == "Unknown status."
    assert len(numbers) == 4


def test_the_list_pages_by_id_keeping_the_filters(app, client, reader):
    today = local_today()
    with app.app_context():
        astra = lots.presentation_by_code("VAXZEVRIA")
        made = [lots.create_lot(astra, f"P{n:03d}", today + timedelta(days=100)) for n in range(LOTS_PAGE + 5)]
        lots.create_lot(lots.presentation_by_code("VEROCELL"), "P-VERO", today + timedelta(days=100))
        db.session.commit()
        ids = [lot.id for lot in made]

    page, first = listed(client, "?vaccine=VAXZEVRIA")
    older = re.search(r'<a href="([^"]+)" rel="next">', page).group(1).replace("&amp;", "&")
    second_page, second = listed(client, older.removeprefix("/lots"))

    assert first == [f"P{n:03d}" for n in range(LOTS_PAGE + 4, 4, -1)]
    assert f"before={ids[5]}" in older and "vaccine=VAXZEVRIA" in older
    assert second == ["P004", "P003", "P002", "P001", "P000"]
    assert 'rel="next"' not in second_page


@pytest.mark.parametrize("role", READERS)
def test_the_lots_list_is_readable_by_stores_and_dashboards(client, login_as, some_lots, role):
    login_as(role)

    assert len(listed(client)[1]) == 4
