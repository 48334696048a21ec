"""The Ministry's reconciliation: sites' daily tallies against the injections entered, per site and day and
rolled up; each site's stock by lot, whose gap shows doses gone with no record; the recall list of a lot —
each only within the reader's locations, on screen and as xlsx."""
import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import roles
from core.clock import local_today
from core.db import db
from core.models import AuditEntry
from core.service_errors import ServiceError
from modules.injection import reconciliation, services
from modules.injection.models import DailyTally, Injection
from modules.lots.models import Lot
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from modules.warehouse.models import DISTRICT, PROVINCE, Location
from tests.conftest import csrf_token, log_in
from tests.injection.test_register import person
from tests.transport.test_pages import error_of
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin


def make_world(app):
    """Phúc Xá (DT-PX) receives 20 doses of Vero Cell VC1 and 20 of Vaxzevria AZ1, sends 5 of VC1 on to Trúc
    Bạch (DT-TB), breaks one; today it injects 3 people (one entered by mistake, then corrected) and one from
    AZ1 (the session's open vial then goes to wastage), and enters 2 doses from paper two days ago, its tally
    saying 5 today and 2 then. Trúc Bạch enters 1 dose from yesterday and reports no tally. Hải Châu (another
    province) injects 1 from VC2 and reports 4. Users: "tram" (DT-PX staff), "xem" (national viewer), "dn"
    (viewer of the other province), "kho" (warehouse manager of the first province)."""
    with app.app_context():
        tree = build_tree()
        vero, az = vaccine_with_gtin("VEROCELL"), vaccine_with_gtin("VAXZEVRIA")
        vc1 = receive_lot(tree.site_a, vero, "VC1", doses=20)
        az1 = receive_lot(tree.site_a, az, "AZ1", doses=20)
        vc2 = receive_lot(tree.other_site, vero, "VC2", doses=10)
        stock.transfer(tree.site_a, tree.site_b, vc1, 5)
        stock.adjust(tree.site_a, vc1, -1, "broken")
        today = local_today()
        live = [services.register(person(f"Người {n}"), vc1, tree.site_a) for n in range(3)]
        services.correct(live[0], "Nhập nhầm người")
        services.register(person("Người AZ"), az1, tree.site_a)
        services.close_session(tree.site_a)
        for n in range(2):
            services.record_backlog(person(f"Giấy {n}"), vc1, tree.site_a, today - timedelta(days=2))
        services.record_backlog(person("Trúc Bạch"), vc1, tree.site_b, today - timedelta(days=1))
        services.register(person("Hải Châu"), vc2, tree.other_site)
        reconciliation.set_tally(tree.site_a, today, 5, None)
        reconciliation.set_tally(tree.site_a, today - timedelta(days=2), 2, None)
        reconciliation.set_tally(tree.other_site, today, 4, None)
        user_at(roles.SITE_STAFF, tree.site_a, "tram")
        user_at(roles.VIEWER, tree.national, "xem")
        user_at(roles.VIEWER, tree.other_province, "dn")
        user_at(roles.WAREHOUSE_MANAGER, tree.province, "kho")
        db.session.commit()
        return SimpleNamespace(today=today, vc1=vc1.id, az1=az1.id, vc2=vc2.id, corrected=live[0].person_id,
                               **{name: getattr(tree, name).id for name in vars(tree)})


@pytest.fixture
def world(app):
    return make_world(app)


def everywhere():
    return select(Location.id)


def by_place(rows):
    return {(row.place.code, row.day): (row.tally, row.entered, row.backlog, row.untallied) for row in rows}


def by_site_and_lot(rows):
    return {(row.site.code, row.lot.lot_number): (row.received, row.sent_on, row.injected, row.wasted, row.on_hand,
                                                  row.gap) for row in rows}


# --- Per site and day -------------------------------------------------------------------------------

def test_each_site_day_shows_its_tally_the_doses_entered_and_the_backlog(app, world):
    today = world.today
    with app.app_context():
        rows = by_place(reconciliation.daily_rows(everywhere(), today - timedelta(days=6), today))
    assert rows == {
        ("DT-PX", today): (5, 3, 2, 0),  # 4 registered, one of them corrected
        ("DT-PX", today - timedelta(days=2)): (2, 2, 0, 0),
        ("DT-TB", today - timedelta(days=1)): (None, 1, None, 1),
        ("DT-HC", today): (4, 1, 3, 0),
    }


def test_a_corrected_injection_is_not_entered(app, world):
    with app.app_context():
        [row] = [row for row in reconciliation.daily_rows(everywhere(), world.today, world.today)
                 if row.place.code == "DT-PX"]
        counted = db.session.scalar(select(func.count()).select_from(Injection).where(
            Injection.site_id == world.site_a, Injection.injected_on == world.today, Injection.source == "live"))
    assert counted == 4 and row.entered == 3


def test_days_outside_the_period_and_sites_outside_the_locations_are_left_out(app, world):
    with app.app_context():
        rows = reconciliation.daily_rows([world.site_a], world.today - timedelta(days=1), world.today)
    assert list(by_place(rows)) == [("DT-PX", world.today)]


def test_rows_roll_up_to_districts_and_provinces(app, world):
    today = world.today
    with app.app_context():
        week = everywhere(), today - timedelta(days=6), today
        districts = by_place(reconciliation.daily_rows(*week, DISTRICT))
        provinces = by_place(reconciliation.daily_rows(*week, PROVINCE))
        total = reconciliation.daily_total(reconciliation.daily_keys(*week))
    assert districts == {
        ("KHO-BD", today): (5, 3, 2, 0),
        ("KHO-BD", today - timedelta(days=2)): (2, 2, 0, 0),
        ("KHO-BD", today - timedelta(days=1)): (None, 1, None, 1),
        ("DT-HC", today): (4, 1, 3, 0),  # a site right under its province has no district: it stays itself
    }
    assert provinces == {
        ("KHO-HN", today): (5, 3, 2, 0),
        ("KHO-HN", today - timedelta(days=2)): (2, 2, 0, 0),
        ("KHO-HN", today - timedelta(days=1)): (None, 1, None, 1),
        ("KHO-DN", today): (4, 1, 3, 0),
    }
    assert (total.tally, total.entered, total.backlog, total.untallied) == (11, 7, 5, 1)


def test_rolling_up_to_an_unknown_level_is_refused(app, world):
    with app.app_context(), pytest.raises(ServiceError) as refused:
        reconciliation.daily_rows(everywhere(), world.today, world.today, "ward")
    assert refused.value.field == "level"


# --- The tally --------------------------------------------------------------------------------------

def test_a_tally_is_replaced_not_doubled_and_audited(app, world):
    with app.app_context():
        site = db.session.get(Location, world.site_a)
        reconciliation.set_tally(site, world.today, 7, None)
        db.session.commit()
        tallies = db.session.scalars(select(DailyTally).where(DailyTally.site_id == site.id,
                                                              DailyTally.day == world.today)).all()
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "injection.tally")
                                   .order_by(AuditEntry.id.desc())).first()
    assert [tally.doses for tally in tallies] == [7]
    assert entry.details["doses"] == 7 and entry.details["previous"] == 5


@pytest.mark.parametrize(("where", "days", "doses", "field"), [
    ("district", 0, 3, "site"),
    ("site_a", -1, 3, "day"),
    ("site_a", 0, -1, "doses"),
    ("site_a", 0, 2.5, "doses"),
    ("site_a", 0, True, "doses"),
])
def test_a_wrong_tally_is_refused_on_its_field(app, world, where, days, doses, field):
    with app.app_context():
        place = db.session.get(Location, getattr(world, where))
        with pytest.raises(ServiceError) as refused:
            reconciliation.set_tally(place, world.today - timedelta(days=days), doses, None)
    assert refused.value.field == field


def test_zero_doses_is_a_tally(app, world):
    with app.app_context():
        tally = reconciliation.set_tally(db.session.get(Location, world.site_b), world.today, 0, None)
    assert tally.doses == 0


# --- Per site and lot -------------------------------------------------------------------------------

def test_after_normal_activity_every_stock_gap_is_zero(app, world):
    with app.app_context():
        rows = by_site_and_lot(reconciliation.stock_rows(everywhere()))
    assert rows == {
        # received, sent on, injected (live, corrected one out), wasted, on hand, gap
        ("DT-PX", "VC1"): (20, 5, 2, 1, 12, 0),
        ("DT-PX", "AZ1"): (20, 0, 1, 9, 10, 0),  # the rest of the open vial went to wastage
        ("DT-TB", "VC1"): (5, 0, 0, 0, 5, 0),  # backlog injections took nothing from stock
        ("DT-HC", "VC2"): (10, 0, 1, 0, 9, 0),
    }


def test_a_count_that_finds_fewer_doses_opens_a_gap_of_that_many(app, world):
    with app.app_context():
        site = db.session.get(Location, world.site_a)
        stock.count(site, {db.session.get(Lot, world.vc1): 9})
        db.session.commit()
        rows = by_site_and_lot(reconciliation.stock_rows([world.site_a]))
    assert rows[("DT-PX", "VC1")] == (20, 5, 2, 1, 9, 3)
    assert rows[("DT-PX", "AZ1")][-1] == 0


def test_a_reversed_transfer_is_neither_received_nor_sent(app, world):
    with app.app_context():
        [move] = stock.transfer(db.session.get(Location, world.site_a), db.session.get(Location, world.site_b),
                                db.session.get(Lot, world.vc1), 2)
        ledger.reverse(move)
        db.session.commit()
        rows = by_site_and_lot(reconciliation.stock_rows(everywhere()))
    assert rows[("DT-PX", "VC1")] == (20, 5, 2, 1, 12, 0)
    assert rows[("DT-TB", "VC1")] == (5, 0, 0, 0, 5, 0)


def test_stock_rows_keep_to_the_sites_asked_for(app, world):
    with app.app_context():
        province = db.session.get(Location, world.other_province)
        rows = reconciliation.stock_rows(locations.subtree_ids(province))
    assert {row.site.code for row in rows} == {"DT-HC"}


def test_the_stock_table_pages_in_the_database_and_totals_every_row(app, world):
    with app.app_context():
        every = reconciliation.stock_rows(everywhere())
        pages = [reconciliation.stock_rows(everywhere(), first, 3) for first in range(0, len(every), 3)]
        count, total = reconciliation.stock_total(everywhere())
    assert [row for page in pages for row in page] == every and [len(page) for page in pages] == [3, 1]
    assert count == 4
    assert total == {name: sum(getattr(row, name) for row in every)
                     for name in ("received", "sent_on", "injected", "wasted", "on_hand", "gap")}
    assert total["injected"] == 4 and total["gap"] == 0


# --- Pages ------------------------------------------------------------------------------------------

def page(response):
    return response.get_data(as_text=True)


def sheet_rows(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(("role", "status"), [(roles.VIEWER, 200), (roles.WAREHOUSE_MANAGER, 200),
                                              (roles.LOGISTICS_OFFICER, 200), (roles.SITE_STAFF, 200),
                                              (roles.ADMIN, 200), (roles.INTEGRATOR, 403)])
def test_the_report_is_for_readers_of_the_supply_chain(client, login_as, role, status):
    login_as(role)
    assert client.get("/reconciliation").status_code == status


def test_the_report_shows_both_tables_with_totals(client, world):
    log_in(client, "xem")
    response = client.get("/reconciliation")
    text = page(response)
    assert response.status_code == 200
    assert f'data-place="DT-PX" data-day="{world.today.isoformat()}"' in text
    assert 'id="daily-total"' in text and 'id="stock-total"' in text
    assert 'data-site="DT-PX" data-lot="VC1"' in text


def test_the_report_rolls_up_per_district_on_screen(client, world):
    log_in(client, "xem")
    text = page(client.get("/reconciliation?level=district"))
    yesterday = (world.today - timedelta(days=1)).isoformat()
    assert f'data-place="KHO-BD" data-day="{yesterday}"' in text
    assert 'data-place="DT-PX"' not in text and 'data-col="untallied"' in text


def test_a_viewer_of_one_province_sees_nothing_of_another(client, world):
    log_in(client, "dn")
    text = page(client.get("/reconciliation"))
    assert "DT-HC" in text
    assert "DT-PX" not in text and "DT-TB" not in text and "KHO-HN" not in text
    assert client.get("/reconciliation?location=KHO-HN").status_code == 404
    rows = sheet_rows(client.get("/reconciliation?format=xlsx&table=stock"))
    assert {row[0] for row in rows[1:-1]} == {"DT-HC"}


def test_a_period_longer_than_92_days_is_refused_on_the_end_date(client, world):
    log_in(client, "xem")
    response = client.get("/reconciliation?since=01/01/2025&until=30/06/2025")
    assert response.status_code == 422
    assert "92" in error_of(response, "until")
    assert 'id="daily-rows"' not in page(response)


def test_the_daily_xlsx_holds_the_same_numbers_rolled_up(client, world):
    log_in(client, "xem")
    today = world.today
    since = (today - timedelta(days=6)).strftime("%d/%m/%Y")
    rows = sheet_rows(client.get(f"/reconciliation?level=province&since={since}&format=xlsx&table=daily"))
    assert len(rows[0]) == 7
    lines = {(row[0], row[2].date()): tuple(row[3:]) for row in rows[1:-1]}
    assert lines == {
        ("KHO-HN", today - timedelta(days=2)): (2, 2, 0, 0),
        ("KHO-HN", today - timedelta(days=1)): (None, 1, None, 1),
        ("KHO-HN", today): (5, 3, 2, 0),
        ("KHO-DN", today): (4, 1, 3, 0),
    }
    assert rows[-1][3:] == [11, 7, 5, 1]


def test_the_stock_xlsx_holds_the_same_numbers_and_the_gap(client, world, app):
    with app.app_context():
        stock.count(db.session.get(Location, world.site_a), {db.session.get(Lot, world.vc1): 10})
        db.session.commit()
    log_in(client, "kho")
    rows = sheet_rows(client.get("/reconciliation?location=KHO-BD&format=xlsx&table=stock"))
    lines = {(row[0], row[3]): tuple(row[5:]) for row in rows[1:-1]}
    assert lines == {("DT-PX", "VC1"): (20, 5, 2, 1, 10, 2), ("DT-PX", "AZ1"): (20, 0, 1, 9, 10, 0),
                     ("DT-TB", "VC1"): (5, 0, 0, 0, 5, 0)}
    assert rows[-1][5:] == [45, 5, 3, 10, 25, 2]


# --- The tally form ---------------------------------------------------------------------------------

def tallies(app):
    with app.app_context():
        return {(tally.site_id, tally.day): tally.doses for tally in db.session.scalars(select(DailyTally))}


def post_tally(client, **data):
    token = csrf_token(client, "/reconciliation/tally")
    return client.post("/reconciliation/tally", data={"csrf_token": token, **data})


def test_site_staff_enter_the_days_tally(client, app, world):
    log_in(client, "tram")
    form = page(client.get("/reconciliation/tally"))
    assert world.today.strftime("%d/%m/%Y") in form
    yesterday = world.today - timedelta(days=1)
    response = post_tally(client, site="DT-PX", day=yesterday.strftime("%d/%m/%Y"), doses="12")
    assert response.status_code == 302
    assert tallies(app)[(world.site_a, yesterday)] == 12


@pytest.mark.parametrize(("data", "field"), [
    ({"site": "DT-PX", "day": "+1", "doses": "3"}, "day"),
    ({"site": "DT-PX", "day": "31/02/2025", "doses": "3"}, "day"),
    ({"site": "DT-PX", "day": "", "doses": "3"}, "day"),
    ({"site": "DT-PX", "day": "today", "doses": "-2"}, "doses"),
    ({"site": "DT-PX", "day": "today", "doses": "ba"}, "doses"),
    ({"site": "DT-PX", "day": "today", "doses": ""}, "doses"),
    ({"site": "DT-HC", "day": "today", "doses": "3"}, "site"),
    ({"site": "", "day": "today", "doses": "3"}, "site"),
])
def test_a_wrong_tally_shows_its_error_and_writes_nothing(client, app, world, data, field):
    log_in(client, "tram")
    before = tallies(app)
    days = {"today": world.today, "+1": world.today + timedelta(days=1)}
    data = {**data, "day": days[data["day"]].strftime("%d/%m/%Y") if data["day"] in days else data["day"]}
    response = post_tally(client, **data)
    assert response.status_code == 422
    assert error_of(response, field)
    assert tallies(app) == before


def test_a_tally_without_the_forms_token_writes_nothing(client, app, world):
    log_in(client, "tram")
    before = tallies(app)
    response = client.post("/reconciliation/tally", data={"site": "DT-PX", "day": world.today.strftime("%d/%m/%Y"),
                                                          "doses": "9"})
    assert response.status_code == 400 and tallies(app) == before


def test_only_site_staff_enter_tallies(client, world):
    log_in(client, "xem")
    assert client.get("/reconciliation/tally").status_code == 403


# --- Recall -----------------------------------------------------------------------------------------

def test_the_recall_view_lists_everyone_injected_from_the_lot(client, app, world):
    log_in(client, "xem")
    response = client.get(f"/lots/{world.vc1}/recipients")
    text = page(response)
    assert response.status_code == 200
    for name in ("Người 1", "Người 2", "Giấy 0", "Giấy 1", "Trúc Bạch"):
        assert name in text
    assert "Người 0" not in text  # corrected
    assert "Hải Châu" not in text and "Người AZ" not in text  # other lots
    assert len(re.findall(r'data-person="', text)) == 5 and 'id="recipients-pages"' not in text  # one page


def test_the_recall_view_keeps_to_the_readers_sites(client, world):
    log_in(client, "dn")
    assert "data-person=" not in page(client.get(f"/lots/{world.vc1}/recipients"))
    assert client.get(f"/lots/{world.vc1}/recipients?format=xlsx").status_code == 403  # warehouse managers
    assert "Hải Châu" in page(client.get(f"/lots/{world.vc2}/recipients"))


def test_the_recall_xlsx_lists_the_same_people(client, world):
    log_in(client, "kho")
    rows = sheet_rows(client.get(f"/lots/{world.vc1}/recipients?format=xlsx"))
    assert sorted(row[0] for row in rows[1:]) == ["Giấy 0", "Giấy 1", "Người 1", "Người 2", "Trúc Bạch"]


def test_the_recall_view_is_for_supply_chain_readers(client, app, world):
    log_in(client, "xem")
    assert client.get("/lots/999999/recipients").status_code == 404
    staff = app.test_client()
    log_in(staff, "tram")
    assert staff.get(f"/lots/{world.vc1}/recipients").status_code == 403



# --- The lot's page points to the recall list --------------------------------------------------------

def recall_link(text):
    """``(injections, people, href)`` of the lot page's pointer to the recall list, or ``None``."""
    found = re.search(r'id="lot-recall-list" data-injections="(\d+)" data-people="(\d+)">.*?href="([^"]+)"',
                      text, re.S)
    return (int(found.group(1)), int(found.group(2)), found.group(3)) if found else None


def test_the_lot_page_counts_the_people_injected_and_links_to_the_recall_list(client, world):
    log_in(client, "xem")
    assert recall_link(page(client.get(f"/lots/{world.vc1}"))) == (5, 5, f"/lots/{world.vc1}/recipients")


def test_the_lot_page_counts_only_the_readers_sites(client, app, world):
    log_in(client, "kho")
    assert recall_link(page(client.get(f"/lots/{world.vc1}")))[:2] == (5, 5)
    other = app.test_client()
    log_in(other, "dn")
    assert recall_link(page(other.get(f"/lots/{world.vc1}")))[:2] == (0, 0)
    assert recall_link(page(other.get(f"/lots/{world.vc2}")))[:2] == (1, 1)


def test_site_staff_see_the_lot_page_without_the_recall_link(client, world):
    log_in(client, "tram")
    text = page(client.get(f"/lots/{world.vc1}"))
    assert 'id="lot-recipients"' in text and recall_link(text) is None and "/recipients" not in text


def test_a_scoped_reader_gets_the_newest_recipients_of_their_own_sites(client, app, world, monkeypatch):
    from modules.warehouse import views as warehouse_views

    monkeypatch.setattr(warehouse_views, "RECIPIENTS_SHOWN", 1)
    with app.app_context():
        user_at(roles.VIEWER, db.session.get(Location, world.site_b), "tb")
    log_in(client, "tb")  # DT-TB's one dose of VC1 is older than DT-PX's of today
    table = page(client.get(f"/lots/{world.vc1}")).split('id="lot-recipients"')[1].split("</table>")[0]
    assert table.split("<tbody>")[1].count("<tr>") == 1 and "Trúc Bạch" in table


def test_the_recipients_service_chooses_the_sites_before_the_limit(app, world):
    with app.app_context():
        lot = db.session.get(Lot, world.vc1)
        assert [row["person"] for row in services.recipients(lot, 1, [world.site_b])] == ["Trúc Bạch"]
        assert [row["site"] for row in services.recipients(lot, 1)] == ["DT-PX"]
        assert services.recipients(lot, 5, [world.other_site]) == []
