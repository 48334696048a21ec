"""A person's pages: their details, doses and certificate; editing them with the checks of a new person;
merging a duplicate record; cancelling a wrongly recorded injection — at one's own sites only."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import roles
from core.clock import local_today
from core.db import db
from core.models import AuditEntry
from modules.injection import people, services
from modules.injection.models import CORRECTION, Injection, Person
from modules.lots.models import Lot
from modules.warehouse import locations
from tests.audit_coverage import assert_every_change_audited
from tests.conftest import csrf_token, log_in
from tests.injection.test_pages import LAN, make_world, on_hand, page_of, record_lan
from tests.transport.test_pages import error_of
from tests.warehouse.helpers import user_at

# Illustrative CCCD: birth province 001, digit 4 "0" (a man born in the 20th century), born in (19)85.
BINH = {"full_name": "Trần Văn Bình", "gender": "male", "date_of_birth": "02/03/1985",
        "national_id": "001085654321", "phone": "0987 654 321", "address": ""}


@pytest.fixture
def world(app):
    return make_world(app)


def injected(app, person_id, lot_number="AZ1", site_code="DT-PX", backlog_days_ago=None):
    """A live injection now (or a backlog one ``backlog_days_ago``) recorded through the service; its id."""
    with app.app_context():
        person = db.session.get(Person, person_id)
        lot = db.session.scalar(select(Lot).where(Lot.lot_number == lot_number))
        site = locations.by_code(site_code)
        if backlog_days_ago is None:
            injection = services.register(person, lot, site)
        else:
            injection = services.record_backlog(person, lot, site, local_today() - timedelta(days=backlog_days_ago))
        db.session.commit()
        return injection.id


def person_row(app, person_id):
    with app.app_context():
        person = db.session.get(Person, person_id)
        return {name: getattr(person, name) for name in (
            "full_name", "gender", "date_of_birth", "national_id", "phone", "address", "insurance_number",
            "ethnicity", "merged_into_id")}


def section(html, section_id):
    found = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert found, section_id
    return found.group(0)


def row(html, injection_id):
    found = re.search(rf'<tr id="injection-{injection_id}".*?</tr>', html, re.S)
    assert found, injection_id
    return found.group(0)


def audited(app, action):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def edit(client, person_id, **changes):
    url = f"/persons/{person_id}/edit"
    return client.post(url, data={"csrf_token": csrf_token(client, url), **LAN, **changes})


def merge(client, keep_id, duplicate_id):
    url = f"/persons/{keep_id}/merge?duplicate={duplicate_id}"
    return client.post(f"/persons/{keep_id}/merge", data={"csrf_token": csrf_token(client, url),
                                                         "duplicate": str(duplicate_id)})


def correct(client, person_id, injection_id, reason="Nhầm người: tiêm cho người khác"):
    prefix = f"correct-{injection_id}"
    return client.post(f"/injections/{injection_id}/correct", data={
        f"{prefix}-csrf_token": csrf_token(client, f"/persons/{person_id}"), f"{prefix}-reason": reason})


def injection_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Injection))


# --- The person's page ----------------------------------------------------------------------------

def test_the_person_page_shows_the_details_the_doses_and_the_certificate(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id)
    log_in(client, "tram")
    html = page_of(client.get(f"/persons/{person_id}"))
    details = section(html, "person")
    assert "Nguyễn Thị Lan" in html and "17/05/1990" in details
    assert "••••••••3456" in details and "••••••5678" in details  # the last 4 digits, as on the register page
    assert "001190123456" not in html and "0912345678" not in html
    dose = row(html, injection_id)
    assert local_today().strftime("%d/%m/%Y") in dose and "AZ1" in dose and "Vaxzevria" in dose
    assert "Trạm Y tế phường Phúc Xá" in dose and 'data-corrected="no"' in dose
    assert f'id="correct-{injection_id}"' in dose and f'name="correct-{injection_id}-csrf_token"' in dose
    certificate = section(html, "certificate")
    assert 'data-color="yellow"' in certificate
    assert f'href="/api/v1/persons/{person_id}/certificate.pdf"' in certificate
    assert f'href="/persons/{person_id}/edit"' in html and f'href="/persons/{person_id}/merge"' in html
    assert client.get(f"/api/v1/persons/{person_id}/certificate.pdf").mimetype == "application/pdf"


def test_a_viewer_reads_the_page_without_edit_links_or_correction_forms(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id)
    log_in(client, "xem")
    html = page_of(client.get(f"/persons/{person_id}"))
    assert 'data-corrected="no"' in row(html, injection_id) and "••••••••3456" in html
    assert "/edit" not in html and "/merge" not in html and "correct-" not in html
    assert client.get(f"/persons/{person_id}/edit").status_code == 403
    assert client.get(f"/persons/{person_id}/merge").status_code == 403


def test_a_logistics_officer_does_not_look_people_up(app, client, world):
    person_id = record_lan(app)
    with app.app_context():
        user_at(roles.LOGISTICS_OFFICER, locations.by_code("KHO-QG"), "dieuphoi")
    log_in(client, "dieuphoi")
    assert client.get(f"/persons/{person_id}").status_code == 403
    assert client.get("/persons").status_code == 403


@pytest.mark.parametrize("person_id", ["999", "abc", "1234567890"])
def test_an_unknown_person_is_a_404(client, world, person_id):
    log_in(client, "tram")
    assert client.get(f"/persons/{person_id}").status_code == 404


def test_a_merged_record_leads_to_the_record_kept(app, client, world):
    keep_id = record_lan(app)
    duplicate_id = record_lan(app, national_id="", phone="0911 111 111")
    log_in(client, "tram")
    assert merge(client, keep_id, duplicate_id).status_code == 302
    for path in ("", "/edit", "/merge"):
        response = client.get(f"/persons/{duplicate_id}{path}")
        assert response.status_code == 302 and response.headers["Location"] == f"/persons/{keep_id}{path}"


def test_people_are_found_from_the_menu_and_the_register_page_links_to_them(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    assert 'href="/persons"' in re.search(r'<nav class="menu".*?</nav>', page_of(client.get("/")), re.S).group(0)
    results = section(page_of(client.get("/persons", query_string={"q": "nguyen thi"})), "results")
    assert f'href="/persons/{person_id}"' in results and "••••••••3456" in results
    found = section(page_of(client.get("/register", query_string={"q": "nguyen thi"})), "results")
    assert f'href="/persons/{person_id}"' in found
    injection_id = injected(app, person_id)
    done = section(page_of(client.get(f"/register?site={world.site}&done={injection_id}")), "result")
    assert f'href="/persons/{person_id}"' in done


# --- Editing --------------------------------------------------------------------------------------

def test_an_edit_is_saved_normalised_and_audited(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    edit_form = page_of(client.get(f"/persons/{person_id}/edit"))
    assert re.search(r'id="national_id"[^>]*value="001190123456"', edit_form)  # whole, to be edited
    assert re.search(r'id="date_of_birth"[^>]*value="17/05/1990"', edit_form)
    response = edit(client, person_id, full_name="  Nguye\u0302\u0303n Thị   Lan  Anh ", phone="+84 977 123 456",
                    address="5  Hàng Bài")
    assert response.status_code == 302 and response.headers["Location"] == f"/persons/{person_id}"
    saved = person_row(app, person_id)
    assert (saved["full_name"], saved["phone"], saved["address"]) == ("Nguyễn Thị Lan Anh", "0977123456",
                                                                "5 Hàng Bài")
    assert audited(app, "person.update") == 1


def test_an_edit_keeps_what_the_form_does_not_show(app, client, world):
    person_id = record_lan(app, insurance_number="DN4010123456789", ethnicity="Kinh")
    log_in(client, "tram")
    assert edit(client, person_id, phone="0977 123 456").status_code == 302
    saved = person_row(app, person_id)
    assert (saved["insurance_number"], saved["ethnicity"], saved["phone"]) == ("DN4010123456789", "Kinh", "0977123456")


def test_an_edit_is_refused_with_an_error_at_each_wrong_field_and_nothing_changed(app, client, world):
    person_id = record_lan(app)
    before = person_row(app, person_id)
    log_in(client, "tram")
    response = edit(client, person_id, full_name="Lan 2", gender="", date_of_birth="31/02/1990",
                    national_id="12345", phone="12345")
    assert response.status_code == 422
    for field in ("full_name", "gender", "date_of_birth", "national_id", "phone"):
        assert error_of(response, field), field
    assert person_row(app, person_id) == before and audited(app, "person.update") == 0


@pytest.mark.parametrize("changes, field", [
    ({"gender": "male"}, "gender"),                      # the CCCD is a woman's
    ({"date_of_birth": "17/05/1991"}, "date_of_birth"),  # the CCCD says born in 1990
    ({"full_name": "   "}, "full_name"),
    ({"address": "x" * 301}, "address"),
])
def test_an_edit_that_does_not_add_up_is_refused_at_its_field(app, client, world, changes, field):
    person_id = record_lan(app)
    before = person_row(app, person_id)
    log_in(client, "tram")
    response = edit(client, person_id, **changes)
    assert response.status_code == 422 and error_of(response, field)
    assert person_row(app, person_id) == before


def test_an_edit_that_would_duplicate_another_person_names_them_and_offers_a_merge(app, client, world):
    lan_id = record_lan(app)
    other_id = record_lan(app, **BINH)
    log_in(client, "tram")
    response = edit(client, other_id, **{**BINH, "national_id": LAN["national_id"], "full_name": LAN["full_name"],
                                         "gender": "female", "date_of_birth": "17/05/1990"})
    assert response.status_code == 422 and error_of(response, "national_id")
    assert "Nguyễn Thị Lan" in error_of(response, "national_id")
    assert f'href="/persons/{other_id}/merge?duplicate={lan_id}"' in page_of(response)
    assert person_row(app, other_id)["national_id"] == BINH["national_id"]


def test_an_edit_needs_its_csrf_token_and_a_registrar(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    assert client.post(f"/persons/{person_id}/edit", data=LAN).status_code == 400
    viewer = app.test_client()
    log_in(viewer, "xem")
    assert viewer.post(f"/persons/{person_id}/edit", data={
        "csrf_token": csrf_token(viewer, "/"), **LAN, "phone": "0977 123 456"}).status_code == 403
    assert person_row(app, person_id)["phone"] == "0912345678"


# --- Merging --------------------------------------------------------------------------------------

def test_candidates_are_shown_side_by_side_with_their_doses(app, client, world):
    keep_id = record_lan(app)
    duplicate_id = record_lan(app, national_id="", phone="0911 111 111")
    injected(app, duplicate_id, lot_number="VC1", backlog_days_ago=40)
    log_in(client, "tram")
    html = page_of(client.get(f"/persons/{keep_id}/merge", query_string={"q": "nguyen thi lan"}))
    assert f'id="candidate-{keep_id}"' not in html  # not offered to be merged into itself
    candidate = section(html, f"candidate-{duplicate_id}")
    assert "VC1" in candidate and "••••••1111" in candidate
    assert f'href="/persons/{keep_id}/merge?duplicate={duplicate_id}"' in candidate
    confirm = page_of(client.get(f"/persons/{keep_id}/merge?duplicate={duplicate_id}"))
    assert "VC1" in section(confirm, "duplicate") and 'id="merge-form"' in confirm
    assert f'href="/persons/{duplicate_id}/merge?duplicate={keep_id}"' in confirm  # keep the other one instead


def test_a_merge_folds_the_duplicate_into_the_record_kept(app, client, world):
    keep_id = record_lan(app, national_id="")
    duplicate_id = record_lan(app, phone="0911 111 111")
    injection_id = injected(app, duplicate_id, lot_number="VC1", backlog_days_ago=40)
    log_in(client, "tram")
    response = merge(client, keep_id, duplicate_id)
    assert response.status_code == 302 and response.headers["Location"] == f"/persons/{keep_id}"
    assert person_row(app, duplicate_id)["merged_into_id"] == keep_id
    assert person_row(app, keep_id)["national_id"] == LAN["national_id"]  # the ID moves to the record kept
    html = page_of(client.get(f"/persons/{keep_id}"))
    assert 'class="flash flash-success"' in html and 'data-corrected="no"' in row(html, injection_id)
    assert audited(app, "person.merge") == 1
    with app.app_context():
        assert_every_change_audited()


@pytest.mark.parametrize("merged_first", [False, True])
def test_a_merge_of_two_id_numbers_or_of_a_merged_record_is_refused(app, client, world, merged_first):
    keep_id = record_lan(app)
    duplicate_id = record_lan(app, **BINH)
    log_in(client, "tram")
    if merged_first:  # the duplicate was already merged into another record
        duplicate_id = record_lan(app, national_id="", phone="0911 111 111")
        assert merge(client, keep_id, duplicate_id).status_code == 302
        keep_id = record_lan(app, national_id="", phone="0922 222 222")
    response = merge(client, keep_id, duplicate_id)
    assert response.status_code == 409
    assert re.search(r'id="form-error"[^>]*>[^<]+<', page_of(response))
    assert person_row(app, keep_id)["merged_into_id"] is None
    assert audited(app, "person.merge") == (1 if merged_first else 0)


def test_merging_an_unknown_record_is_a_404(app, client, world):
    keep_id = record_lan(app)
    log_in(client, "tram")
    assert client.get(f"/persons/{keep_id}/merge?duplicate=999").status_code == 404
    assert merge(client, keep_id, 999).status_code == 404


# --- Correcting -----------------------------------------------------------------------------------

def test_correcting_a_live_injection_returns_its_dose_to_the_site(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id)
    assert on_hand(app, world, world.az_id) == 29
    log_in(client, "tram")
    response = correct(client, person_id, injection_id)
    assert response.status_code == 302 and response.headers["Location"] == f"/persons/{person_id}"
    assert on_hand(app, world, world.az_id) == 30
    html = page_of(client.get(f"/persons/{person_id}"))
    flash = re.search(r'<div class="flash flash-success".*?</div>', html, re.S).group(0)
    assert "AZ1" in flash and "Trạm Y tế phường Phúc Xá" in flash
    dose = row(html, injection_id)
    assert 'data-corrected="yes"' in dose and "Nhầm người: tiêm cho người khác" in dose and "<form" not in dose
    assert 'data-color="none"' in section(html, "certificate")
    assert audited(app, "injection.correct") == 1


def test_correcting_twice_is_refused(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id)
    log_in(client, "tram")
    assert correct(client, person_id, injection_id).status_code == 302
    again = correct(client, person_id, injection_id)
    assert again.status_code == 409 and 'class="flash flash-error"' in page_of(again)
    assert on_hand(app, world, world.az_id) == 30 and injection_count(app) == 2


def test_a_correction_needs_a_reason(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id)
    log_in(client, "tram")
    response = correct(client, person_id, injection_id, reason=" x ")
    assert response.status_code == 422 and error_of(response, f"correct-{injection_id}-reason")
    assert on_hand(app, world, world.az_id) == 29 and injection_count(app) == 1


def test_correcting_a_backlog_injection_moves_no_stock(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id, backlog_days_ago=40)
    log_in(client, "tram")
    assert correct(client, person_id, injection_id).status_code == 302
    assert on_hand(app, world, world.az_id) == 30
    with app.app_context():
        assert db.session.scalar(select(Injection.source).where(Injection.reverses_id == injection_id)) == CORRECTION


def test_staff_of_another_site_cannot_correct_and_see_no_form(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id)
    log_in(client, "xa")
    client.get(f"/persons?q={LAN['national_id']}")  # found by the whole ID, at the desk: the page opens
    html = page_of(client.get(f"/persons/{person_id}"))
    assert 'data-corrected="no"' in row(html, injection_id) and "correct-" not in row(html, injection_id)
    assert correct(client, person_id, injection_id).status_code == 404
    assert on_hand(app, world, world.az_id) == 29 and injection_count(app) == 1


def test_district_staff_correct_at_the_sites_below_them(app, client, world):
    person_id = record_lan(app)
    injection_id = injected(app, person_id)
    log_in(client, "quan")
    assert correct(client, person_id, injection_id).status_code == 302
    assert on_hand(app, world, world.az_id) == 30


def test_the_whole_record_lists_corrected_doses_and_those_of_merged_records(app, world):
    keep_id = record_lan(app, national_id="")
    duplicate_id = record_lan(app, phone="0911 111 111")
    corrected_id = injected(app, keep_id, lot_number="VC1", backlog_days_ago=50)
    kept_id = injected(app, duplicate_id, lot_number="VC1", backlog_days_ago=40)
    with app.app_context():
        keep = db.session.get(Person, keep_id)
        people.merge(keep, db.session.get(Person, duplicate_id))
        correction = services.correct(db.session.get(Injection, corrected_id), "Nhập nhầm")
        record = [(injection.id, reversal.id if reversal else None) for injection, reversal in services.record_of(keep)]
        assert record == [(corrected_id, correction.id), (kept_id, None)]
        assert [injection.id for injection in services.history(keep)] == [kept_id]
