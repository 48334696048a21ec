"""The viewers' dashboard: the doses that count per day, dose number, vaccine and province within the viewer's
locations, drawn as SVG charts with their numbers in tables, in a number of queries that does not grow with
the injections."""
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from core import roles
from core.access import EVERYWHERE, location_scope
from core.db import db
from core.models import User
from core.testing import recorded_statements
from modules.injection import dashboard, people, services
from modules.lots.models import Lot
from modules.warehouse import locations
from modules.warehouse.models import SITE, Location
from tests.conftest import log_in
from tests.injection.test_register import at, person
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin

MAX_STATEMENTS = 20


def day_text(day):
    return day.strftime("%d/%m/%Y")


@pytest.fixture
def world(app):
    """Hà Nội (district Ba Đình: sites DT-PX and DT-TB) and Đà Nẵng (site DT-HC), over the last week:

    - Lan: Vero Cell dose 1 at DT-PX 30 days ago (backlog), dose 2 there 5 days ago (live);
    - Minh: Vaxzevria dose 1 at DT-TB 5 days ago; Cường: Vaxzevria dose 1 at DT-TB yesterday;
    - Bình: Vero Cell dose 1 at DT-HC 2 days ago (backlog);
    - Hoa: Vero Cell dose 1 at DT-PX 2 days ago, then corrected: it does not count.

    Users: a national viewer "quocgia", a Hà Nội viewer "hanoi", staff of DT-PX "tram".
    """
    with app.app_context():
        tree = build_tree()
        vero, az = vaccine_with_gtin("VEROCELL"), vaccine_with_gtin("VAXZEVRIA")
        vc_px = receive_lot(tree.site_a, vero, "VC1", doses=20)
        az_tb = receive_lot(tree.site_b, az, "AZ1", doses=30)
        vc_hc = receive_lot(tree.other_site, vero, "VC2", doses=10)
        lan = person("Nguyễn Thị Lan")
        services.record_backlog(lan, vc_px, tree.site_a, days_from_today(-30))
        services.register(lan, vc_px, tree.site_a, injected_at=at(days_ago=5))
        services.register(person("Trần Văn Minh"), az_tb, tree.site_b, injected_at=at(days_ago=5))
        services.register(person("Lê Văn Cường"), az_tb, tree.site_b, injected_at=at(days_ago=1))
        services.record_backlog(person("Phạm Thị Bình"), vc_hc, tree.other_site, days_from_today(-2))
        wrong = services.register(person("Đỗ Thị Hoa"), vc_px, tree.site_a, injected_at=at(days_ago=2))
        services.correct(wrong, "Nhập nhầm người")
        db.session.commit()
        user_at(roles.VIEWER, tree.national, "quocgia")
        user_at(roles.VIEWER, tree.province, "hanoi")
        user_at(roles.SITE_STAFF, tree.site_a, "tram")
        return SimpleNamespace(national=tree.national.id, province=tree.province.id, district=tree.district.id,
                               site_a=tree.site_a.id, site_b=tree.site_b.id, vc_px=vc_px.id)


def last_week(sites=EVERYWHERE):
    return dashboard.Where(days_from_today(-6), days_from_today(0), sites)


def names(rows):
    return [(place.name if place else None, doses) for place, doses in rows]


# --- The figures ---------------------------------------------------------------------------------------

def test_doses_are_counted_per_day_over_every_day_of_the_period(app, world):
    with app.app_context():
        per_day = dashboard.doses_per_day(last_week())
    assert [day for day, _doses in per_day] == [days_from_today(offset) for offset in range(-6, 1)]
    assert [doses for _day, doses in per_day] == [0, 2, 0, 0, 1, 1, 0]


def test_doses_are_counted_per_dose_number_vaccine_and_province(app, world):
    with app.app_context():
        where = last_week()
        assert dashboard.doses_per_dose_number(where) == [(1, 3), (2, 1)]
        assert dashboard.doses_per_vaccine(where) == [("Vaxzevria", 2), ("Vero Cell", 2)]
        assert names(dashboard.doses_per_province(where)) == [("Kho tỉnh Hà Nội", 3), ("Kho tỉnh Đà Nẵng", 1)]


def test_the_totals_count_doses_and_each_person_once(app, world):
    with app.app_context():
        assert dashboard.totals(last_week()) == (4, 4)
        month = dashboard.Where(days_from_today(-30), days_from_today(0))
        assert dashboard.totals(month) == (5, 4)  # Lan's two doses, one person
        summary = dashboard.summary(month)
        assert sum(doses for _day, doses in summary.per_day) == summary.doses == 5


def test_a_person_recorded_twice_and_merged_counts_once(app, world):
    with app.app_context():
        site = db.session.get(Location, world.site_a)
        first, second = person("Ngô Văn Tú"), person("Ngô Văn Tú")
        services.record_backlog(first, db.session.get(Lot, world.vc_px), site, days_from_today(-40))
        services.register(second, db.session.get(Lot, world.vc_px), site, injected_at=at(days_ago=3))
        people.merge(first, second)
        db.session.commit()
        assert dashboard.totals(dashboard.Where(days_from_today(-40), days_from_today(0))) == (7, 5)


def test_a_corrected_injection_does_not_count(app, world):
    with app.app_context():
        two_days_ago = dashboard.Where(days_from_today(-2), days_from_today(-2))
        assert dashboard.totals(two_days_ago) == (1, 1)  # Bình's; Hoa's was corrected
        assert names(dashboard.doses_per_province(two_days_ago)) == [("Kho tỉnh Đà Nẵng", 1)]


def test_only_the_given_sites_are_counted(app, world):
    with app.app_context():
        hanoi = locations.subtree_ids(db.session.get(Location, world.province))
        assert dashboard.totals(last_week(hanoi)) == (3, 3)
        assert names(dashboard.doses_per_province(last_week(hanoi))) == [("Kho tỉnh Hà Nội", 3)]
        ids = frozenset({world.province, world.district, world.site_b})
        assert dashboard.doses_per_vaccine(last_week(ids)) == [("Vaxzevria", 2)]
        assert dashboard.summary(last_week(frozenset())).doses == 0


def test_a_viewers_sites_are_a_select_of_exactly_their_scope(app, world):
    """A national scope holds thousands of ids: the queries get them as a select on the paths, which must
    name exactly the scope's locations, whole or narrowed to a store; a scope some other plugin narrowed
    further (not the warehouse's own set) is used as given. Provinces and above are whole areas, a district
    is not."""
    start, end = days_from_today(-6), days_from_today(0)
    with app.test_request_context():
        for username, narrowed_to in (("quocgia", world.province), ("hanoi", world.district)):
            user = db.session.scalar(select(User).where(User.username == username))
            scope = location_scope(user)
            where = dashboard.within(user, scope, start, end)
            assert hasattr(where.sites, "subquery") and set(db.session.scalars(where.sites)) == set(scope)
            assert where.areas is where.sites
            store = db.session.get(Location, narrowed_to)
            below = dashboard.within(user, scope, start, end, store)
            assert set(db.session.scalars(below.sites)) == set(locations.subtree_ids(store, scope))
            assert (below.areas is None) == (narrowed_to == world.district)
        other = frozenset({world.site_a})
        assert dashboard.within(user, other, start, end).sites is other
        assert dashboard.within(user, EVERYWHERE, start, end) == dashboard.Where(start, end)


def test_the_area_tally_gives_the_same_figures_as_the_daily_tally(app, world):
    with app.test_request_context():
        national_site = locations.create_location("DT-QG", "Điểm tiêm Viện Vệ sinh Dịch tễ", SITE,
                                                  db.session.get(Location, world.national))
        lot = receive_lot(national_site, vaccine_with_gtin("VEROCELL"), "VC3", doses=5)
        services.register(person("Vũ Văn An"), lot, national_site, injected_at=at(days_ago=3))
        db.session.commit()
        for username in ("quocgia", "hanoi"):
            user = db.session.scalar(select(User).where(User.username == username))
            by_area = dashboard.within(user, location_scope(user), days_from_today(-30), days_from_today(0))
            by_site = dashboard.Where(by_area.start, by_area.end, by_area.sites)
            assert by_area.areas is not None and by_site.areas is None
            assert dashboard.summary(by_area) == dashboard.summary(by_site)
        assert names(dashboard.doses_per_province(last_week())) == [
            ("Kho tỉnh Hà Nội", 3), ("Kho tỉnh Đà Nẵng", 1), (None, 1)]


def test_a_site_under_no_province_counts_apart(app, world):
    with app.app_context():
        national = db.session.get(Location, world.national)
        national_site = locations.create_location("DT-QG", "Điểm tiêm Viện Vệ sinh Dịch tễ", SITE, national)
        lot = receive_lot(national_site, vaccine_with_gtin("VEROCELL"), "VC3", doses=5)
        services.register(person("Vũ Văn An"), lot, national_site, injected_at=at(days_ago=3))
        db.session.commit()
        assert names(dashboard.doses_per_province(last_week())) == [
            ("Kho tỉnh Hà Nội", 3), ("Kho tỉnh Đà Nẵng", 1), (None, 1)]


def test_the_scoped_queries_walk_the_site_and_day_index(app, world):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the plan is checked on SQLite; PostgreSQL chooses by its statistics")
        query = dashboard.counted(last_week([world.site_a, world.site_b]),
                                  dashboard.Injection.injected_on, dashboard.func.count(dashboard.Injection.id))
        compiled = query.group_by(dashboard.Injection.injected_on).compile(
            db.engine, compile_kwargs={"literal_binds": True})
        plan = " ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_injection_injection_site_day" in plan, plan


# --- The charts ----------------------------------------------------------------------------------------

def test_a_chart_names_itself_labels_its_numbers_and_escapes_its_text(app):
    with app.test_request_context():
        chart = str(dashboard.row_chart([('Vero <Cell> & "co"', 1234), ("Vaxzevria", 5)], "Liều <theo> vắc xin"))
    assert chart.startswith("<svg") and 'role="img"' in chart
    assert 'aria-label="Liều &lt;theo&gt; vắc xin"' in chart and "<title>Liều &lt;theo&gt; vắc xin</title>" in chart
    assert "Vero &lt;Cell&gt; &amp; &#34;co&#34;" in chart and "<Cell>" not in chart
    assert ">1.234</text>" in chart and ">5</text>" in chart  # Vietnamese thousands
    assert "style" not in chart and "<script" not in chart


def test_a_day_chart_numbers_its_bars_when_there_is_room(app):
    days = [(days_from_today(offset), doses) for offset, doses in ((-2, 3), (-1, 0), (0, 12))]
    with app.test_request_context():
        chart = str(dashboard.day_chart(days, "Doses per day"))
        empty = str(dashboard.day_chart([(day, 0) for day, _doses in days], "Doses per day"))
    assert chart.count("<rect") == 3 and ">12</text>" in chart and ">3</text>" in chart
    assert f"<title>{day_text(days[2][0])}: 12" in chart
    assert "<rect" not in empty and "<desc>" in empty


# --- The page ------------------------------------------------------------------------------------------

def page(client, username=None, **params):
    """The dashboard over the last week, as ``username`` (logged in first, if given)."""
    if username:
        log_in(client, username)
    week = {"since": day_text(days_from_today(-6)), "until": day_text(days_from_today(0))}
    return client.get("/dashboard", query_string={**week, **params})


def section(html, name):
    found = re.search(rf'<section[^>]*id="{name}".*?</section>', html, re.S)
    assert found, name
    return found.group(0)


def table_rows(html):
    return [(label.strip(), number.strip()) for label, number in
            re.findall(r'<tr><th scope="row">(.*?)</th><td class="num">(.*?)</td></tr>', html, re.S)]


def test_the_page_draws_each_chart_with_its_numbers(client, world):
    response = page(client, "quocgia")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    charts = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(charts) == 4 and not any("style=" in chart or "<script" in chart for chart in charts)
    vaccines = section(html, "per-vaccine")
    assert table_rows(vaccines) == [("Vaxzevria", "2"), ("Vero Cell", "2")]
    assert re.search(r"<title>Vaxzevria: 2 [^<]*</title>", vaccines)
    assert table_rows(section(html, "per-province")) == [("Kho tỉnh Hà Nội", "3"), ("Kho tỉnh Đà Nẵng", "1")]
    assert [number for _label, number in table_rows(section(html, "per-dose-number"))] == ["3", "1"]
    per_day = table_rows(section(html, "per-day"))
    assert len(per_day) == 7 and per_day[1] == (day_text(days_from_today(-5)), "2")
    assert re.search(r'<dd>4</dd>\s*<dt>[^<]*</dt><dd>4</dd>', section_totals(html))


def section_totals(html):
    return re.search(r'<dl class="facts card" id="totals">.*?</dl>', html, re.S).group(0)


def test_a_province_viewer_sees_only_its_province(client, world):
    html = page(client, "hanoi").get_data(as_text=True)
    assert table_rows(section(html, "per-province")) == [("Kho tỉnh Hà Nội", "3")]
    assert "Đà Nẵng" not in html
    assert page(client, location="DT-HC").status_code == 404
    narrowed = page(client, location="DT-TB").get_data(as_text=True)
    assert table_rows(section(narrowed, "per-vaccine")) == [("Vaxzevria", "2")]


def test_the_period_defaults_to_the_last_30_days(client, world):
    log_in(client, "quocgia")
    html = client.get("/dashboard").get_data(as_text=True)
    assert f'value="{day_text(days_from_today(-29))}"' in html and f'value="{day_text(days_from_today(0))}"' in html
    assert re.search(r"<dd>4</dd>", section_totals(html))  # Lan's first dose was 30 days ago


# Made when the test runs, not when it is collected: a run that crosses midnight (Vietnam's) would send today.
@pytest.mark.parametrize("params", [lambda: {"since": "31/02/2026"}, lambda: {"since": day_text(days_from_today(1))},
                                    lambda: {"since": "01/01/2024", "until": "01/01/2025"}],
                         ids=["31-02", "tomorrow", "2024-2025"])
def test_a_bad_period_is_refused_and_draws_nothing(client, world, params):
    response = page(client, "quocgia", **params())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error"' in html and "<svg" not in html


@pytest.mark.parametrize("role, expected", [(roles.VIEWER, 200), (roles.LOGISTICS_OFFICER, 200),
                                            (roles.WAREHOUSE_MANAGER, 200), (roles.ADMIN, 200),
                                            (roles.SITE_STAFF, 403), (roles.INTEGRATOR, 403)])
def test_the_dashboard_is_for_viewers_and_the_stores(client, login_as, role, expected):
    login_as(role)
    assert client.get("/dashboard").status_code == expected


def test_the_page_takes_the_same_few_queries_however_many_injections(app, client, world):
    def statements_for_page():
        with recorded_statements(app) as statements:
            assert page(client).status_code == 200
        return len(statements)

    log_in(client, "quocgia")
    before = statements_for_page()
    with app.app_context():
        lot = db.session.get(Lot, world.vc_px)
        site = db.session.get(Location, world.site_a)
        for index in range(15):
            services.record_backlog(person(f"Người {index}"), lot, site, days_from_today(-(index % 7)))
        db.session.commit()
    assert statements_for_page() == before <= MAX_STATEMENTS
