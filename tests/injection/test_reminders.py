"""Due doses: who is due or overdue for the next dose of an unfinished series, at the site of their last
dose; the /due page with its xlsx export; and `vaxchain reminders send` handing them to the senders."""
import io
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import event, select

from core import roles
from core.clock import local_today
from core.db import db
from core.hookspecs import hookimpl
from core.models import AuditEntry
from modules.injection import identity, people, reminders, reminders_views, rules, services
from modules.injection.models import Person
from modules.lots.models import Lot
from modules.warehouse.models import Location
from tests.conftest import VaxchainCliRunner, log_in
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

PHONES = {"Lan": "0912345678", "Bình": "0987654321", "Hoa": "0903000111"}


class RemindersCommand:
    """Puts `vaxchain reminders` on this test's app (the injection module's ``cli_commands`` does it too)."""

    @hookimpl
    def cli_commands(self):
        return [reminders.reminders_group]


def person(name, phone=None):
    someone = Person(full_name=f"Nguyễn Thị {name}", name_key=identity.fold(f"Nguyễn Thị {name}"),
                     gender="female", date_of_birth=date(1990, 5, 17), phone=phone or PHONES.get(name))
    db.session.add(someone)
    db.session.flush()
    return someone


def doses(someone, *given):
    """Record past doses, each ``(lot, site, days ago)``; returns the injections."""
    today = local_today()
    return [services.record_backlog(someone, lot, site, today - timedelta(days=days_ago))
            for lot, site, days_ago in given]


def make_world(app):
    """People at sites DT-PX (site A), DT-TB (site B, same district) and DT-HC (another province):

    - Lan: Vaxzevria 22 days ago at A: dose 2 due in 6 days.
    - Bình: Abdala 30 and 16 days ago at A: dose 3 due 2 days ago (overdue).
    - Cường: Vaxzevria twice at A: complete. Dũng: Janssen once at A: complete.
    - Em: Vaxzevria 50 days ago at A, a dose 2 twenty days ago corrected: dose 2 due 22 days ago.
    - Giang: one dose at A, corrected: nothing on record.
    - Hoa: Abdala 25 days ago at A, then 10 days ago at B: dose 3 due in 4 days, at B.
    - Khánh: Vaxzevria 21 days ago at DT-HC: dose 2 due in 7 days.
    Users: staff of A ("tram"), of the district ("quan"), of DT-HC ("xa"); a viewer and a warehouse manager
    of the national store; a logistics officer.
    """
    with app.app_context():
        tree = build_tree()
        az = receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=30)
        abdala = receive_lot(tree.site_a, vaccine_with_gtin("ABDALA"), "AB1", doses=30)
        janssen = receive_lot(tree.site_a, vaccine_with_gtin("JANSSEN"), "JN1", doses=5)
        a, b, hc = tree.site_a, tree.site_b, tree.other_site
        ids = {}
        for name, given in [("Lan", [(az, a, 22)]), ("Bình", [(abdala, a, 30), (abdala, a, 16)]),
                            ("Cường", [(az, a, 60), (az, a, 30)]), ("Dũng", [(janssen, a, 10)]),
                            ("Hoa", [(abdala, a, 25), (abdala, b, 10)]), ("Khánh", [(az, hc, 21)])]:
            someone = person(name)
            doses(someone, *given)
            ids[name] = someone.id
        em = person("Em")
        wrong = doses(em, (az, a, 50), (az, a, 20))[1]
        services.correct(wrong, "Nhập nhầm người")
        giang = person("Giang")
        services.correct(doses(giang, (az, a, 5))[0], "Nhập nhầm người")
        ids.update(Em=em.id, Giang=giang.id)
        user_at(roles.SITE_STAFF, a, "tram")
        user_at(roles.SITE_STAFF, tree.district, "quan")
        user_at(roles.SITE_STAFF, hc, "xa")
        user_at(roles.VIEWER, tree.national, "xem")
        user_at(roles.WAREHOUSE_MANAGER, tree.national, "kho")
        user_at(roles.LOGISTICS_OFFICER, tree.national, "vanchuyen")
        db.session.commit()
        return SimpleNamespace(ids=ids, site_a=a.id, site_b=b.id, other_site=hc.id)


@pytest.fixture
def world(app):
    return make_world(app)


def due(app, site_ids, start, end):
    """``{first name: (dose number, days from today, site code)}`` of ``reminders.due_between``."""
    today = local_today()
    with app.app_context():
        found = reminders.due_between(site_ids, start, end)
    return {reminder.full_name.removeprefix("Nguyễn Thị "): (reminder.dose_number, (reminder.due_on - today).days,
                                                            reminder.site) for reminder in found}


def days(n):
    return local_today() + timedelta(days=n)


# --- Who is due --------------------------------------------------------------------------------------------

def test_people_with_an_unfinished_series_are_due_at_the_site_of_their_last_dose(app, world):
    assert due(app, None, days(-30), days(7)) == {
        "Lan": (2, 6, "DT-PX"), "Bình": (3, -2, "DT-PX"), "Em": (2, -22, "DT-PX"), "Hoa": (3, 4, "DT-TB"),
        "Khánh": (2, 7, "DT-HC")}


def test_a_complete_series_is_due_for_a_booster_only_after_the_boosters_interval(app, world):
    names = set(due(app, None, None, days(59)))
    assert "Cường" not in names and "Dũng" not in names  # completed 30 and 10 days ago
    later = due(app, None, None, days(365))
    assert later["Cường"] == (3, 60, "DT-PX") and later["Dũng"] == (2, 80, "DT-PX")


def test_corrected_doses_do_not_count(app, world):
    found = due(app, None, None, days(365))
    assert found["Em"] == (2, -22, "DT-PX") and "Giang" not in found


def test_overdue_people_are_due_before_today_and_the_range_bounds_are_included(app, world):
    assert set(due(app, None, days(-2), days(6))) == {"Lan", "Bình", "Hoa"}
    assert set(due(app, None, days(0), days(7))) == {"Lan", "Hoa", "Khánh"}
    with app.app_context():
        [binh] = reminders.due_between(None, days(-2), days(-2))
    assert binh.is_overdue(local_today()) and binh.vaccine == "Abdala" and binh.phone == PHONES["Bình"]


def test_only_the_given_sites_are_listed(app, world):
    assert set(due(app, [world.site_a], None, days(30))) == {"Lan", "Bình", "Em"}
    assert set(due(app, [world.site_b], None, days(30))) == {"Hoa"}
    assert set(due(app, [world.site_a, world.other_site], None, days(30))) == {"Lan", "Bình", "Em", "Khánh"}


def test_a_merged_record_counts_for_the_person_kept(app, world):
    with app.app_context():
        abdala = db.session.scalar(select(Lot).where(Lot.lot_number == "AB1"))
        oanh, twin = person("Oanh"), person("Oanh")
        doses(oanh, (abdala, db.session.get(Location, world.site_a), 40))
        doses(twin, (abdala, db.session.get(Location, world.site_b), 20))  # dose 1 of the duplicate record
        people.merge(oanh, twin)
        db.session.commit()
        oanh_id = oanh.id
        found = [r for r in reminders.due_between(None, None, days(30)) if r.full_name.endswith("Oanh")]
    assert [(r.person_id, r.dose_number, r.due_on, r.site) for r in found] == [(oanh_id, 3, days(-6), "DT-TB")]


def test_the_due_list_takes_two_queries_however_many_people(app, world):
    with app.app_context():
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        found = reminders.due_between(None, None, days(30))
    # The presentations, then one row a person: never their dose histories.
    assert len(found) == 5 and len([sql for sql in statements if sql.startswith(("SELECT", "WITH"))]) == 2


# --- The page ------------------------------------------------------------------------------------------

def log_in_as(client, username):
    assert log_in(client, username).status_code == 302


def rows(page):
    """The person ids listed on the page, in order."""
    return [int(found) for found in re.findall(r'data-person="(\d+)"', page)]


def test_site_staff_see_who_is_due_at_their_site_overdue_first(app, client, world):
    log_in_as(client, "tram")
    response = client.get("/due")
    page = response.get_data(as_text=True)
    ids = world.ids
    assert response.status_code == 200
    assert rows(page) == [ids["Em"], ids["Bình"], ids["Lan"]]
    assert f'data-person="{ids["Bình"]}" data-overdue="yes"' in page
    assert f'data-person="{ids["Lan"]}" data-overdue="no"' in page
    assert PHONES["Lan"] in page  # staff call people: the full number


def test_a_user_of_a_district_sees_its_sites_and_may_choose_one(app, client, world):
    log_in_as(client, "quan")
    assert set(rows(client.get("/due").get_data(as_text=True))) == {
        world.ids[name] for name in ("Em", "Bình", "Lan", "Hoa")}
    assert rows(client.get("/due?site=DT-TB").get_data(as_text=True)) == [world.ids["Hoa"]]


def test_a_site_outside_the_users_scope_is_404(app, client, world):
    log_in_as(client, "tram")
    assert client.get("/due?site=DT-HC").status_code == 404
    assert client.get("/due?site=NOWHERE").status_code == 404


def test_the_date_range_filters_and_a_wrong_date_is_refused(app, client, world):
    log_in_as(client, "tram")
    since, until = days(0).strftime("%d/%m/%Y"), days(30).strftime("%d/%m/%Y")
    assert rows(client.get(f"/due?since={since}&until={until}").get_data(as_text=True)) == [world.ids["Lan"]]
    assert client.get("/due?since=31/02/2026").status_code == 422
    assert client.get(f"/due?since={until}&until={since}").status_code == 422


def test_viewers_see_every_site_with_phones_masked_but_for_the_last_three_digits(app, client, world):
    log_in_as(client, "xem")
    page = client.get("/due").get_data(as_text=True)
    assert world.ids["Khánh"] in rows(page) and len(rows(page)) == 5
    assert "•••••••678" in page and PHONES["Lan"] not in page and PHONES["Bình"] not in page


def test_admins_see_every_site_with_phones(app, client, world, login_as):
    login_as(roles.ADMIN)
    page = client.get("/due").get_data(as_text=True)
    assert len(rows(page)) == 5 and PHONES["Lan"] in page


def test_warehouse_managers_may_look_and_logistics_officers_may_not(app, client, world):
    log_in_as(client, "kho")
    page = client.get("/due").get_data(as_text=True)
    assert "•••••••678" in page and PHONES["Lan"] not in page  # they look; they do not call
    other = app.test_client()
    log_in_as(other, "vanchuyen")
    assert other.get("/due").status_code == 403


def workbook_rows(response):
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_list_exports_to_xlsx_as_filtered(app, client, world):
    log_in_as(client, "tram")
    response = client.get("/due?format=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="mui-den-han-')
    header, *lines = workbook_rows(response)
    assert len(header) == 8
    assert [line[0] for line in lines] == ["Nguyễn Thị Em", "Nguyễn Thị Bình", "Nguyễn Thị Lan"]
    assert lines[2][1:5] == [PHONES["Lan"], 2, kind_label(app, rules.PRIMARY), "Vaxzevria"]
    assert lines[2][5].date() == days(6) and lines[2][7] == "DT-PX"


def kind_label(app, kind):
    """How the page and the export name a kind of dose, in Vietnamese (the users' language)."""
    with app.test_request_context(), force_locale("vi"):
        return str(reminders_views.DOSE_KINDS[kind])


def test_the_export_of_people_to_call_is_for_site_staff_only(app, client, world):
    log_in_as(client, "xem")
    assert client.get("/due?format=xlsx").status_code == 403


# --- Handing over to the senders --------------------------------------------------------------------------

class Collector:
    """A reminder sender that keeps what it is handed."""

    def __init__(self):
        self.runs = []

    @hookimpl
    def doses_due(self, reminders):
        self.runs.append(list(reminders))


def test_send_due_hands_the_people_due_soon_or_overdue_to_the_senders(make_app, world):
    collector = Collector()
    app = make_app(plugins=[("collector", collector)])
    with app.app_context():
        handed = reminders.send_due(local_today(), days_ahead=4)
        db.session.commit()
        [run] = collector.runs
        assert run == handed
        assert {r.full_name.removeprefix("Nguyễn Thị ") for r in run} == {"Bình", "Em", "Hoa"}
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "injection.reminders_sent")).one()
        assert entry.details["reminders"] == 3 and entry.actor == "system"


def test_the_command_says_how_many_were_handed_over(make_app, world):
    collector = Collector()
    app = make_app(plugins=[("collector", collector), ("reminders_cli", RemindersCommand())])
    runner = VaxchainCliRunner(app)
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 people due or overdue")  # Bình and Em; Hoa is 4 days ahead
    result = runner.invoke(args=["reminders", "send", "--days-ahead", "7"])
    assert result.output.startswith("5 people") and len(collector.runs) == 2


def test_the_command_refuses_a_negative_number_of_days(make_app, world):
    runner = VaxchainCliRunner(make_app(plugins=[("reminders_cli", RemindersCommand())]))
    result = runner.invoke(args=["reminders", "send", "--days-ahead", "-1"])
    assert result.exit_code == 2



# --- Boosters ----------------------------------------------------------------------------------------------

def boosted_world(app, world):
    """Adds at site A, all on Vaxzevria (a 2-dose series, 28 days apart): Phương, series completed 100 days ago
    (booster due 10 days ago); Quang, series and both boosters given, the last 100 days ago (none left)."""
    with app.app_context():
        az = db.session.scalar(select(Lot).where(Lot.lot_number == "AZ1"))
        site = db.session.get(Location, world.site_a)
        phuong, quang = person("Phương", "0911000222"), person("Quang", "0911000333")
        doses(phuong, (az, site, 128), (az, site, 100))
        doses(quang, (az, site, 400), (az, site, 372), (az, site, 280), (az, site, 100))
        db.session.commit()
        return phuong.id, quang.id


def kinds(app, start, end):
    """``{first name: (dose number, kind, days from today)}`` of ``reminders.due_between`` at every site."""
    today = local_today()
    with app.app_context():
        return {r.full_name.removeprefix("Nguyễn Thị "): (r.dose_number, r.kind, (r.due_on - today).days)
                for r in reminders.due_between(None, start, end)}


def test_a_series_completed_100_days_ago_is_due_for_its_booster(app, world):
    boosted_world(app, world)
    found = kinds(app, days(-30), days(7))
    assert found["Phương"] == (3, rules.BOOSTER, -10)
    assert found["Lan"] == (2, rules.PRIMARY, 6)


def test_a_series_completed_30_days_ago_is_not_due_for_a_booster_yet(app, world):
    assert "Cường" not in kinds(app, None, days(59))  # completed 30 days ago: due in 60 days
    assert kinds(app, days(60), days(60))["Cường"] == (3, rules.BOOSTER, 60)


def test_someone_given_every_booster_is_never_due(app, world):
    boosted_world(app, world)
    assert "Quang" not in kinds(app, None, days(3650))


def test_the_booster_follows_the_rules_own_interval(app, world, monkeypatch):
    boosted_world(app, world)
    monkeypatch.setattr(rules, "BOOSTER_INTERVAL_DAYS", 120)
    assert kinds(app, None, days(30))["Phương"] == (3, rules.BOOSTER, 20)


def test_boosters_keep_the_due_list_to_two_queries(app, world):
    boosted_world(app, world)
    with app.app_context():
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        found = reminders.due_between(None, None, days(30))
    assert len(found) == 6 and len([sql for sql in statements if sql.startswith(("SELECT", "WITH"))]) == 2


def test_the_page_and_its_export_show_the_booster_as_such(app, client, world):
    phuong, quang = boosted_world(app, world)
    log_in_as(client, "tram")
    page = client.get("/due").get_data(as_text=True)
    assert phuong in rows(page) and quang not in rows(page)
    row = re.search(rf'<tr data-person="{phuong}".*?</tr>', page, re.S).group(0)
    assert 'data-kind="booster"' in row and kind_label(app, rules.BOOSTER) in row
    assert 'data-kind="primary"' in page  # Lan's, Bình's and Em's doses
    lines = workbook_rows(client.get("/due?format=xlsx"))[1:]
    [booster] = [line for line in lines if line[0] == "Nguyễn Thị Phương"]
    assert booster[2:5] == [3, kind_label(app, rules.BOOSTER), "Vaxzevria"] and booster[5].date() == days(-10)


def test_boosters_due_are_handed_to_the_senders(make_app, world):
    collector = Collector()
    app = make_app(plugins=[("collector", collector)])
    phuong, quang = boosted_world(app, world)
    with app.app_context():
        reminders.send_due(local_today(), days_ahead=0)
        db.session.commit()
    [run] = collector.runs
    [booster] = [reminder for reminder in run if reminder.person_id == phuong]
    assert (booster.dose_number, booster.kind, booster.is_booster) == (3, rules.BOOSTER, True)
    assert quang not in {reminder.person_id for reminder in run}
