"""The registration page at a site: find the person (or record a new one), scan or choose the lot, save — a
refused submission shows its error where it belongs and writes nothing; other sites' records are 404s."""
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import roles
from core.accounts import create_user
from core.clock import local_today
from core.db import db
from modules.injection import people, services
from modules.injection.models import Injection, Person
from modules.lots.models import Lot
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from tests.conftest import PASSWORD, csrf_token, log_in
from tests.injection.test_register import at
from tests.transport.test_pages import error_of
from tests.transport.test_repick import gs1
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin

# Illustrative CCCD numbers: birth province 001 (Hà Nội), century/gender digit, year, then six digits.
LAN = {"full_name": "Nguyễn Thị Lan", "gender": "female", "date_of_birth": "17/05/1990",
       "national_id": "001190123456", "phone": "0912 345 678", "address": "12 Phó Đức Chính, Ba Đình"}


def make_world(app):
    """Site DT-PX holds Vaxzevria AZ1 (3 vials of 10) and Vero Cell VC1 (5 doses); its staff "tram", staff of
    the district ("quan": both its sites), of another province ("xa") and of nowhere ("moi"); a viewer."""
    with app.app_context():
        tree = build_tree()
        az = receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=30)
        vero = receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "VC1", doses=5)
        user_at(roles.SITE_STAFF, tree.site_a, "tram")
        user_at(roles.SITE_STAFF, tree.district, "quan")
        user_at(roles.SITE_STAFF, tree.other_site, "xa")
        user_at(roles.VIEWER, tree.national, "xem")
        create_user("moi", PASSWORD, roles.SITE_STAFF)
        db.session.commit()
        return SimpleNamespace(site=tree.site_a.code, site_id=tree.site_a.id, site_b=tree.site_b.code,
                               other_site=tree.other_site.code, other_site_id=tree.other_site.id,
                               az_id=az.id, az_scan=gs1(az), vero_id=vero.id, vero_scan=gs1(vero))


@pytest.fixture
def world(app):
    return make_world(app)


def page_of(response):
    return response.get_data(as_text=True)


def record_lan(app, **changes):
    with app.app_context():
        data = {**LAN, **changes}
        born = date(*reversed([int(part) for part in data.pop("date_of_birth").split("/")]))
        person = people.create_person(people.PersonData(date_of_birth=born, **data))
        db.session.commit()
        return person.id


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Person)),
                db.session.scalar(select(func.count()).select_from(Injection)))


def on_hand(app, world, lot_id):
    with app.app_context():
        return ledger.on_hand(world.site_id, lot_id)


def new_person(client, world, **changes):
    data = {"csrf_token": csrf_token(client, f"/register?new=1&site={world.site}"), "step": "person",
            "site": world.site, **LAN, **changes}
    return client.post("/register", data=data)


def dose(client, world, person_id, **data):
    url = f"/register?site={world.site}&person={person_id}"
    return client.post("/register", data={"csrf_token": csrf_token(client, url), "step": "dose",
                                          "site": world.site, "person": str(person_id), **data})


def done_id(response):
    assert response.status_code == 302, page_of(response)
    found = re.search(r"done=(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def autofocused(html):
    return re.findall(r'<(?:input|select|a)\b[^>]*\bautofocus\b[^>]*\bid="([^"]+)"|'
                      r'<(?:input|select|a)\b[^>]*\bid="([^"]+)"[^>]*\bautofocus\b', html)


def focused_id(html):
    [found] = autofocused(html)
    return found[0] or found[1]


# --- Search ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["001190123456", "0912345678", "+84 912 345 678", "nguyen thi", "NGUYỄN THỊ LAN"])
def test_a_person_is_found_by_id_phone_or_name_without_accents(app, client, world, text):
    person_id = record_lan(app)
    log_in(client, "tram")
    html = page_of(client.get("/register", query_string={"q": text}))
    results = re.search(r'<section[^>]*id="results".*?</section>', html, re.S).group(0)
    assert "Nguyễn Thị Lan" in results and "17/05/1990" in results
    assert "••••••••3456" in results and "••••••5678" in results  # only the last 4 digits
    assert "001190123456" not in results and "0912345678" not in results
    assert f"person={person_id}" in results
    assert focused_id(html) == f"choose-{person_id}"  # the only one found is one Enter away


def test_an_unknown_person_offers_a_new_record_with_what_was_typed(app, client, world):
    log_in(client, "tram")
    html = page_of(client.get("/register", query_string={"q": "001190123456"}))
    assert 'id="no-result"' in html and focused_id(html) == "new-person"
    form = page_of(client.get(f"/register?site={world.site}&new=1&q=001190123456"))
    assert re.search(r'id="national_id"[^>]*value="001190123456"', form)
    assert focused_id(form) == "full_name"


# --- A new person ---------------------------------------------------------------------------------

def test_a_new_person_is_recorded_and_goes_to_the_dose(app, client, world):
    log_in(client, "tram")
    response = new_person(client, world)
    assert response.status_code == 302, page_of(response)
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert (person.full_name, person.phone, person.gender) == ("Nguyễn Thị Lan", "0912345678", "female")
    assert response.headers["Location"].endswith(f"/register?site={world.site}&person={person.id}")
    html = page_of(client.get(response.headers["Location"]))
    assert 'id="next-dose"' in html and focused_id(html) == "code"


def test_a_new_person_is_refused_with_an_error_at_each_wrong_field_and_nothing_written(app, client, world):
    log_in(client, "tram")
    response = new_person(client, world, full_name="Lan 2", gender="", date_of_birth="31/02/1990",
                          national_id="12345", phone="12345")
    assert response.status_code == 422
    for field in ("full_name", "gender", "date_of_birth", "national_id", "phone"):
        assert error_of(response, field), field
    assert focused_id(page_of(response)) == "full_name"
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("changes, field", [
    ({"gender": "male"}, "gender"),                 # the CCCD is a woman's
    ({"date_of_birth": "17/05/1991"}, "date_of_birth"),  # the CCCD says born in 1990
    ({"date_of_birth": "01/01/2090", "national_id": ""}, "date_of_birth"),
])
def test_an_identity_that_does_not_add_up_is_refused_at_its_field(app, client, world, changes, field):
    log_in(client, "tram")
    response = new_person(client, world, **changes)
    assert response.status_code == 422 and error_of(response, field)
    assert focused_id(page_of(response)) == field
    assert counts(app) == (0, 0)


def test_a_person_already_recorded_is_not_recorded_twice(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    response = new_person(client, world)
    assert response.status_code == 422 and error_of(response, "national_id")
    assert f"person={person_id}" in page_of(response)  # a link to the record to use
    assert counts(app) == (1, 0)


# --- The dose -------------------------------------------------------------------------------------

def test_registering_by_scanning_the_pack_shows_the_result_and_focuses_the_search(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    injection_id = done_id(dose(client, world, person_id, code=world.az_scan))
    assert counts(app) == (1, 1) and on_hand(app, world, world.az_id) == 29
    html = page_of(client.get(f"/register?site={world.site}&done={injection_id}"))
    panel = re.search(r'<section[^>]*id="result".*?</section>', html, re.S).group(0)
    assert 'id="result-dose">1<' in panel and 'data-color="yellow"' in panel
    assert (local_today() + timedelta(days=28)).strftime("%d/%m/%Y") in panel
    assert focused_id(html) == "q"


def test_registering_by_choosing_the_lot(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    done_id(dose(client, world, person_id, lot=str(world.vero_id)))
    assert on_hand(app, world, world.vero_id) == 4
    html = page_of(client.get(f"/register?site={world.site}&person={person_id}"))
    history = re.search(r'id="history".*?</section>', html, re.S).group(0)
    assert "VC1" in history and local_today().strftime("%d/%m/%Y") in history


def test_a_dose_without_a_lot_is_refused_at_the_scan_field(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    response = dose(client, world, person_id)
    assert response.status_code == 422 and error_of(response, "code")
    assert counts(app) == (1, 0)


def test_too_early_shows_the_earliest_day_and_takes_nothing(app, client, world):
    person_id = record_lan(app)
    with app.app_context():
        services.register(db.session.get(Person, person_id), db.session.get(Lot, world.az_id),
                          locations.by_code(world.site), injected_at=at(10))
        db.session.commit()
    earliest = (at(10) + timedelta(days=28)).strftime("%d/%m/%Y")
    log_in(client, "tram")
    html = page_of(client.get(f"/register?site={world.site}&person={person_id}"))
    assert earliest in re.search(r'id="too-early"[^>]*>([^<]+)<', html).group(1)
    response = dose(client, world, person_id, code=world.az_scan)
    assert response.status_code == 422
    assert earliest in re.search(r'id="form-error"[^>]*>([^<]+)<', page_of(response)).group(1)
    assert counts(app) == (1, 1) and on_hand(app, world, world.az_id) == 29


def test_a_held_lot_is_not_offered_and_is_refused_saying_why(app, client, world):
    person_id = record_lan(app)
    with app.app_context():
        stock.place_hold(locations.by_code(world.site), db.session.get(Lot, world.vero_id), "checking")
        db.session.commit()
        site_name = locations.by_code(world.site).name
    log_in(client, "tram")
    html = page_of(client.get(f"/register?site={world.site}&person={person_id}"))
    assert f'value="{world.vero_id}"' not in html and f'value="{world.az_id}"' in html
    for data, field in (({"lot": str(world.vero_id)}, "lot"), ({"code": world.vero_scan}, "code")):
        response = dose(client, world, person_id, **data)
        assert response.status_code == 422
        assert "VC1" in error_of(response, field) and site_name in error_of(response, field)
    assert counts(app) == (1, 0) and on_hand(app, world, world.vero_id) == 5


def test_an_expired_or_unknown_pack_is_refused_at_the_scan_field(app, client, world):
    person_id = record_lan(app)
    with app.app_context():
        old = receive_lot(locations.by_code(world.site), vaccine_with_gtin("JANSSEN"), "JN-OLD", doses=5,
                          expiry=days_from_today(-1))
        expired, unknown = gs1(old), gs1(old).replace("JN-OLD", "JN-NONE")
    log_in(client, "tram")
    for scan in (expired, unknown, "not a barcode"):
        response = dose(client, world, person_id, code=scan)
        assert response.status_code == 422 and error_of(response, "code"), scan
        assert focused_id(page_of(response)) == "code"
    assert "JN-OLD" in error_of(dose(client, world, person_id, code=expired), "code")
    assert counts(app) == (1, 0)


def test_a_scan_that_disagrees_with_the_chosen_lot_is_refused(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    response = dose(client, world, person_id, code=world.az_scan, lot=str(world.vero_id))
    assert response.status_code == 422 and "AZ1" in error_of(response, "code")
    assert counts(app) == (1, 0)


# --- Sites and access -----------------------------------------------------------------------------

def test_a_user_of_several_sites_chooses_one_and_it_is_kept(app, client, world):
    log_in(client, "quan")
    html = page_of(client.get("/register"))
    assert 'id="site-chooser"' in html and world.site in html and world.site_b in html
    html = page_of(client.get(f"/register?site={world.site_b}"))
    assert 'id="search-form"' in html and f'name="site" value="{world.site_b}"' in html


def test_a_user_without_a_site_is_told_so(app, client, world):
    log_in(client, "moi")
    assert 'id="no-site"' in page_of(client.get("/register"))


def test_another_sites_page_and_injections_are_404(app, client, world):
    person_id = record_lan(app)
    log_in(client, "tram")
    injection_id = done_id(dose(client, world, person_id, code=world.az_scan))
    assert client.get(f"/register?site={world.other_site}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/register")})
    log_in(client, "xa")
    assert client.get(f"/register?done={injection_id}").status_code == 404
    response = client.post("/register", data={"csrf_token": csrf_token(client, "/register"), "step": "dose",
                                              "site": world.site, "person": str(person_id),
                                              "code": world.az_scan})
    assert response.status_code == 404 and counts(app) == (1, 1)


def test_a_viewer_may_not_register(app, client, world):
    log_in(client, "xem")
    assert client.get("/register").status_code == 403


def test_closing_the_session_writes_off_the_open_vials(app, client, world):
    log_in(client, "tram")
    with app.app_context():
        site = locations.by_code("DT-PX")
        services.register(people.create_person(people.PersonData(
            full_name="Đỗ Văn Hải", gender="male", date_of_birth=date(1980, 1, 1))), db.session.get(Lot, world.az_id),
            site)
        db.session.commit()
    page = client.get("/register?site=DT-PX").get_data(as_text=True)
    assert 'id="open-vials"' in page
    token = csrf_token(client, "/register?site=DT-PX")
    response = client.post("/register/close-session?site=DT-PX", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert services.open_vials(locations.by_code("DT-PX")) == []
    assert 'id="open-vials"' not in client.get("/register?site=DT-PX").get_data(as_text=True)
