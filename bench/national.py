"""National scale (issue 8): 10 000 000 injections over 180 days at ~10 000 sites in 63 provinces, ~5 000 000
people, 8 vaccines, on PostgreSQL; the dashboard (nation, a province, a site; a day, a week, the period), the
people search, a lot's recipients (first and deep page), the reconciliation report and the due list timed
through the WSGI app in this process, each beside a raw SQL reference run in the same process: for the
dashboard, the grouped count over the injections that the daily tally replaces.

    python bench/national.py                                    # a throwaway cluster, 10 M injections
    python bench/national.py --database postgresql://postgres@127.0.0.1:5432/postgres
    python bench/national.py --injections 1000000 --plans docs/query-plans.md   # EXPLAIN the hot queries

The data is made by INSERT ... SELECT generate_series (secondary indexes and foreign key checks off during the
load, built afterwards), then the tally is filled from it as the migration does. PostgreSQL only: a national
deployment runs on it (DESIGN §6).
"""
import argparse
import json
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, machine, percentiles, timed, write_result  # noqa: E402
from core import create_app, roles, schema  # noqa: E402
from core.accounts import create_user  # noqa: E402
from core.clock import local_today  # noqa: E402
from core.db import db  # noqa: E402
from modules.injection import tally  # noqa: E402
from modules.injection.reconciliation_views import RECIPIENTS_PAGE  # noqa: E402
from modules.lots.gs1 import gtin_check_digit  # noqa: E402
from modules.lots.models import Gtin, Presentation  # noqa: E402
from modules.warehouse import locations  # noqa: E402
from modules.warehouse.models import DISTRICT, NATIONAL, PROVINCE  # noqa: E402

PASSWORD = "bench-password-2026"
LOTS_PER_VACCINE = 40
SECOND_DOSE_AFTER = 28
# Share of the doses per vaccine (percent), roughly as the campaign used them; Janssen is one dose.
SHARES = {"VAXZEVRIA": 35, "COMIRNATY": 25, "VEROCELL": 20, "SPIKEVAX": 8, "SPUTNIKV": 4, "HAYATVAX": 3,
          "JANSSEN": 3, "ABDALA": 2}
FAMILY = [("Nguyễn", "nguyen"), ("Trần", "tran"), ("Lê", "le"), ("Phạm", "pham"), ("Hoàng", "hoang"),
          ("Huỳnh", "huynh"), ("Phan", "phan"), ("Vũ", "vu"), ("Võ", "vo"), ("Đặng", "dang"), ("Bùi", "bui"),
          ("Đỗ", "do"), ("Hồ", "ho"), ("Ngô", "ngo"), ("Dương", "duong"), ("Lý", "ly")]
MIDDLE = [("Văn", "van"), ("Thị", "thi"), ("Minh", "minh"), ("Ngọc", "ngoc"), ("Đức", "duc"), ("Thanh", "thanh")]
GIVEN = [("An", "an"), ("Bình", "binh"), ("Cường", "cuong"), ("Dung", "dung"), ("Hoa", "hoa"), ("Hùng", "hung"),
         ("Lan", "lan"), ("Linh", "linh"), ("Mai", "mai"), ("Nam", "nam"), ("Phương", "phuong"), ("Quân", "quan"),
         ("Sơn", "son"), ("Thảo", "thao"), ("Trang", "trang"), ("Tuấn", "tuan"), ("Việt", "viet"), ("Yến", "yen")]


# --- The data -------------------------------------------------------------------------------------------

def seed_tree(province_count, district_count, site_count):
    """The national store, provinces and districts through the service; the sites in one statement (their
    ids consecutive), spread over the districts. Returns (national, provinces, first site id)."""
    national = locations.create_location("KHO-QG", "Kho vắc xin quốc gia", NATIONAL)
    provinces = [locations.create_location(f"T{n:02d}", f"Kho tỉnh {n:02d}", PROVINCE, national)
                 for n in range(province_count)]
    for n in range(district_count):  # in order: the first provinces, whose sites get the most doses, come first
        locations.create_location(f"H{n:03d}", f"Kho huyện {n:03d}", DISTRICT,
                                  provinces[n * province_count // district_count])
    db.session.commit()
    db.session.execute(text(
        "INSERT INTO warehouse_location (code, name, kind, parent_id, path, active) "
        "SELECT 'DT-' || lpad(g::text, 5, '0'), 'Điểm tiêm ' || g, 'site', d.id, '', true "
        "FROM generate_series(0, :sites - 1) g "
        "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM warehouse_location WHERE kind = 'district') d "
        "ON d.n = g * :districts / :sites ORDER BY g"), {"sites": site_count, "districts": district_count})
    db.session.execute(text(
        "UPDATE warehouse_location s SET path = d.path || s.id || '/' FROM warehouse_location d "
        "WHERE s.kind = 'site' AND d.id = s.parent_id"))
    first_site = db.session.scalar(text("SELECT min(id) FROM warehouse_location WHERE kind = 'site'"))
    db.session.commit()
    return national, provinces, first_site


def seed_lots(today, days):
    """LOTS_PER_VACCINE lots per vaccine, used one after the other over the period."""
    db.session.execute(text(
        "INSERT INTO lots_lot (presentation_id, lot_number, expiry, status, created_at) "
        "SELECT p.id, p.code || '-' || lpad(g::text, 3, '0'), CAST(:expiry AS date), 'available', now() "
        "FROM lots_presentation p, generate_series(0, :per - 1) g ORDER BY p.id, g"),
        {"per": LOTS_PER_VACCINE, "expiry": today + timedelta(days=365)})
    for presentation in db.session.scalars(select(Presentation)):
        body = f"0289{presentation.id:09d}"
        db.session.add(Gtin(gtin=body + gtin_check_digit(body), presentation_id=presentation.id))
    db.session.commit()


def vaccine_case(column, presentations, what):
    """A CASE over ``column`` (0..99) giving each vaccine's ``what`` by its share of the doses."""
    branches, upper = [], 0
    for presentation in presentations:
        upper += SHARES.get(presentation.code, 0)
        branches.append(f"WHEN {column} < {upper} THEN {what(presentation)}")
    return f"(CASE {' '.join(branches)} ELSE {what(presentations[0])} END)"


def seed_people_and_injections(people, site_count, first_site, days, today):
    """``people`` people, each with 1, 2 or 3 doses (a quarter, a half, a quarter: two on average) of one
    vaccine at one site, 28 days apart, all within the period that ends today; a fifth of them backlog.
    Sites are chosen with a skew (the first provinces are the big cities). Pseudo-random by multiplicative
    hashing, so that a run is reproducible."""
    presentations = db.session.scalars(select(Presentation).order_by(Presentation.id)).all()
    first_lot = dict(db.session.execute(text(
        "SELECT presentation_id, min(id) FROM lots_lot GROUP BY presentation_id")).all())
    start = today - timedelta(days=days - 1)
    connection = db.session.connection()
    connection.exec_driver_sql("SET session_replication_role = replica")  # no foreign key checks in the load
    connection.exec_driver_sql("SET maintenance_work_mem = '1GB'")
    dropped = drop_secondary_indexes(connection, ["injection_person", "injection_injection"])
    connection.execute(text(
        "INSERT INTO injection_person (national_id, id_kind, full_name, name_key, gender, date_of_birth, phone, "
        "ethnicity, nationality, address, created_at) "
        "SELECT lpad((1000000000 + g)::text, 12, '0'), 'cccd', "
        "  (CAST(:family AS text[]))[1 + h % 16] || ' ' || (CAST(:middle AS text[]))[1 + (h / 16) % 6] || ' ' || "
        "  (CAST(:given AS text[]))[1 + (h / 96) % 18], "
        "  (CAST(:family_key AS text[]))[1 + h % 16] || ' ' || (CAST(:middle_key AS text[]))[1 + (h / 16) % 6] "
        "  || ' ' || "
        "  (CAST(:given_key AS text[]))[1 + (h / 96) % 18], "
        "  CASE WHEN (h / 7) % 2 = 0 THEN 'male' ELSE 'female' END, "
        "  DATE '1940-01-01' + ((h / 11) % 25000)::int, '09' || lpad(((h / 3) % 100000000)::text, 8, '0'), "
        "  'Kinh', 'Việt Nam', '', now() "
        "FROM (SELECT g, (g::bigint * 2654435761) % 4294967296 AS h FROM generate_series(1, :people) g) s"),
        {"people": people, "family": [f for f, _k in FAMILY], "family_key": [k for _f, k in FAMILY],
         "middle": [m for m, _k in MIDDLE], "middle_key": [k for _m, k in MIDDLE],
         "given": [g for g, _k in GIVEN], "given_key": [k for _g, k in GIVEN]})
    # One record in 2 000 is a duplicate merged into the record before it.
    connection.execute(text("UPDATE injection_person SET merged_into_id = id - 1 WHERE id % 2000 = 0"))
    series = vaccine_case("v", presentations, lambda p: p.series_length)
    presentation = vaccine_case("v", presentations, lambda p: p.id)
    lot = vaccine_case("v", presentations, lambda p: first_lot[p.id])
    connection.execute(text(
        "INSERT INTO injection_injection (person_id, presentation_id, lot_id, site_id, injected_at, injected_on, "
        "dose_number, source, note, created_at) "
        "SELECT p, pres, lot0 + (d1 + (k - 1) * :gap) * :lots / :days, site, "
        "  ((CAST(:start AS date) + d1 + (k - 1) * :gap) + time '07:30' + ((h / 19) % 600) * interval '1 minute')"
        "    AT TIME ZONE 'Asia/Ho_Chi_Minh', "
        "  CAST(:start AS date) + d1 + (k - 1) * :gap, k, "
        "  CASE WHEN (h / 23) % 10 < 2 THEN 'backlog' ELSE 'live' END, '', now() "
        "FROM (SELECT p, h, pres, lot0, n, site, ((h / 17) % (:days - (n - 1) * :gap))::int AS d1 FROM ("
        f"  SELECT p, h, {presentation} AS pres, {lot} AS lot0, "
        f"    LEAST({series}, CASE WHEN h % 4 = 0 THEN 1 WHEN h % 4 = 3 THEN 3 ELSE 2 END) AS n, "
        "    :first_site + floor(:sites * power(((h / 7) % 1000003) / 1000003.0, 1.6))::int AS site "
        "  FROM (SELECT p, (p::bigint * 2654435761) % 4294967296 AS h, "
        "               ((p::bigint * 40503) % 65536) % 100 AS v FROM generate_series(1, :people) p) hashed"
        "  ) chosen) dosed, generate_series(1, 3) k WHERE k <= n ORDER BY d1, p, k"),
        {"people": people, "gap": SECOND_DOSE_AFTER, "lots": LOTS_PER_VACCINE, "days": days, "start": start,
         "sites": site_count, "first_site": first_site})
    # One injection in 2 000 was corrected: a correction reverses it.
    connection.execute(text(
        "INSERT INTO injection_injection (person_id, presentation_id, lot_id, site_id, injected_at, injected_on, "
        "dose_number, source, reverses_id, note, created_at) "
        "SELECT person_id, presentation_id, lot_id, site_id, injected_at, injected_on, dose_number, 'correction', "
        "id, 'Nhập nhầm', now() FROM injection_injection WHERE id % 2000 = 7"))
    restore_indexes(connection, dropped)
    connection.exec_driver_sql("SET session_replication_role = origin")
    tally.rebuild()
    db.session.commit()


def seed_stock():
    """The ledger the sites would hold: per site and lot injected from, one receipt from the supplier of what the
    live injections that count took plus a tenth spare (the spare on hand), and one move to "consumed" of all
    those doses (a real site has one per injection: no page reads them, the reconciliation reads the balances'
    running totals), with every balance and total as the ledger writes them. ``ledger.check()`` holds on it."""
    connection = db.session.connection()
    connection.execute(text(
        "CREATE TEMP TABLE bench_stock AS SELECT site_id, lot_id, count(*) AS injected, count(*) / 10 + 5 AS spare "
        "FROM injection_injection i WHERE source = 'live' AND NOT EXISTS "
        "(SELECT 1 FROM injection_injection c WHERE c.reverses_id = i.id) GROUP BY site_id, lot_id"))
    supplier, consumed = locations.virtual("supplier").id, locations.virtual("consumed").id
    for source, destination, doses, kind in ((":supplier", "site_id", "injected + spare", "receipt"),
                                             ("site_id", ":consumed", "injected", "injection")):
        connection.execute(text(
            "INSERT INTO warehouse_move (at, lot_id, from_location_id, to_location_id, doses, kind, note) "
            f"SELECT now(), lot_id, {source}, {destination}, {doses}, '{kind}', '' FROM bench_stock"),
            {"supplier": supplier, "consumed": consumed})
    connection.execute(text(
        "INSERT INTO warehouse_balance (location_id, lot_id, doses, received, sent_on, wasted, injected) "
        "SELECT site_id, lot_id, spare, injected + spare, 0, 0, injected FROM bench_stock UNION ALL "
        "SELECT :supplier, lot_id, -sum(injected + spare), 0, 0, 0, 0 FROM bench_stock GROUP BY lot_id UNION ALL "
        "SELECT :consumed, lot_id, sum(injected), 0, 0, 0, 0 FROM bench_stock GROUP BY lot_id"),
        {"supplier": supplier, "consumed": consumed})
    connection.execute(text("DROP TABLE bench_stock"))
    db.session.commit()


def drop_secondary_indexes(connection, tables):
    """Drop every index of ``tables`` but their primary keys (rows are appended in key order); returns
    what builds them again. Building an index once over 10 M rows is far faster than keeping it."""
    rebuild = []
    for table in tables:
        for name, definition in connection.execute(text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype = 'u'"), {"t": table}).all():
            connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name, definition in connection.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))"), {"t": table}).all():
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
            rebuild.append(definition)
    return rebuild


def restore_indexes(connection, statements):
    for statement in statements:
        connection.exec_driver_sql(statement)


def vacuum():
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


# --- The requests ---------------------------------------------------------------------------------------

def logged_in_client(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def day_text(day):
    return f"{day:%d/%m/%Y}"


def old_dashboard_sql(sites_sql):
    """The grouped count over the injections the tally replaces (doses per day), as the dashboard ran it."""
    return ("SELECT i.injected_on, count(i.id) FROM injection_injection i "
            "WHERE i.source IN ('live', 'backlog') AND NOT EXISTS "
            "(SELECT 1 FROM injection_injection c WHERE c.reverses_id = i.id) "
            f"AND i.injected_on BETWEEN %(start)s AND %(end)s AND i.site_id IN ({sites_sql}) "
            "GROUP BY i.injected_on")


def raw(connection, sql, params):
    cursor = connection.cursor()
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    cursor.close()
    return rows


def measure(client, path, params, reference, repeat):
    """Time the page (it must answer 200) and its raw SQL reference alike: p50/p95 of each, and the ratio."""
    def page():
        response = client.get(path, query_string=params)
        assert response.status_code == 200, (path, params, response.status_code)

    page()
    reference()  # warm both
    app_times, raw_times = percentiles(timed(page, repeat)), percentiles(timed(reference, repeat))
    return {"path": path, "params": params, "app": app_times, "raw_sql": raw_times,
            "ratio_p50": round(app_times["p50_ms"] / max(raw_times["p50_ms"], 0.001), 2)}


def scenarios(facts, today, days):
    """(name, path, query, reference SQL, reference parameters)."""
    week = today - timedelta(days=6)
    first = today - timedelta(days=days - 1)
    all_sites = "SELECT id FROM warehouse_location WHERE kind = 'site'"
    province_sites = ("SELECT id FROM warehouse_location WHERE kind = 'site' AND path LIKE "
                      f"'{facts['province_path']}%%'")
    site_only = str(facts["site_id"])
    found = []
    for where, code, sites in (("national", None, all_sites), ("province", facts["province_code"], province_sites),
                               ("site", facts["site_code"], site_only)):
        for period, since in (("day", today), ("week", week), ("period", first)):
            params = {"since": day_text(since), "until": day_text(today)}
            if code:
                params["location"] = code
            found.append((f"dashboard_{where}_{period}", "/dashboard", params, old_dashboard_sql(sites),
                          {"start": since, "end": today}))
    person_sql = ("SELECT * FROM injection_person WHERE (national_id = %(q)s OR phone = %(q)s) "
                  "AND merged_into_id IS NULL ORDER BY name_key, date_of_birth, id LIMIT 20")
    found.append(("persons_by_id", "/persons", {"q": facts["national_id"]}, person_sql, {"q": facts["national_id"]}))
    found.append(("persons_by_phone", "/persons", {"q": facts["phone"]}, person_sql, {"q": facts["phone"]}))
    name_sql = ("SELECT * FROM injection_person WHERE name_key LIKE %(q)s AND merged_into_id IS NULL "
                "ORDER BY name_key, date_of_birth, id LIMIT 20")
    found.append(("persons_by_name_first_page", "/persons", {"q": "nguyen van an"}, name_sql,
                  {"q": "nguyen van an%"}))
    recipients_sql = ("SELECT i.*, p.full_name FROM injection_injection i JOIN injection_person p "
                      "ON p.id = i.person_id WHERE i.lot_id = %(lot)s AND (i.injected_on, i.id) < "
                      "(SELECT injected_on, id FROM injection_injection WHERE id = %(before)s) "
                      f"ORDER BY i.injected_on DESC, i.id DESC LIMIT {RECIPIENTS_PAGE + 1}")
    found.append(("lot_recipients_first_page", f"/lots/{facts['lot_id']}/recipients", {},
                  recipients_sql.replace("AND (i.injected_on, i.id) < (SELECT injected_on, id FROM "
                                         "injection_injection WHERE id = %(before)s) ", ""),
                  {"lot": facts["lot_id"]}))
    found.append(("lot_recipients_deep_page", f"/lots/{facts['lot_id']}/recipients", {"before": facts["deep_before"]},
                  recipients_sql, {"lot": facts["lot_id"], "before": facts["deep_before"]}))
    entered_sql = ("SELECT site_id, day, sum(doses) FROM injection_daily_tally WHERE day BETWEEN %(start)s "
                   f"AND %(end)s AND site_id IN ({province_sites}) GROUP BY site_id, day")
    found.append(("reconciliation_province_week_by_site", "/reconciliation",
                  {"location": facts["province_code"], "since": day_text(week), "until": day_text(today),
                   "level": "site"}, entered_sql, {"start": week, "end": today}))
    found.append(("reconciliation_national_week_by_province", "/reconciliation",
                  {"since": day_text(week), "until": day_text(today), "level": "province"},
                  entered_sql.replace(province_sites, all_sites), {"start": week, "end": today}))
    due_sql = ("SELECT person_id, max(injected_on) FROM injection_injection WHERE site_id = %(site)s "
               "AND injected_on BETWEEN %(since)s AND %(until)s GROUP BY person_id")
    found.append(("due_list_site", "/due", {"site": facts["site_code"]}, due_sql,
                  {"site": facts["site_id"], "since": today - timedelta(days=400), "until": today}))
    locations_sql = ("SELECT * FROM warehouse_location WHERE kind IN ('national', 'regional', 'province', "
                     "'district', 'site') AND active ORDER BY path LIMIT %(limit)s")
    found.append(("api_locations_first_page", "/api/v1/locations", {}, locations_sql, {"limit": 501}))
    # A store chosen stands for its sites: the busiest site's district, and the biggest province.
    for where, code, path in (("district", facts["district_code"], facts["district_path"]),
                              ("province", facts["province_code"], facts["province_path"])):
        area_sql = due_sql.replace("site_id = %(site)s", "site_id IN (SELECT id FROM warehouse_location WHERE "
                                   f"path LIKE '{path}%%')")
        found.append((f"due_list_{where}", "/due", {"site": code}, area_sql,
                      {"since": today - timedelta(days=400), "until": today}))
    return found


# --- The plans ------------------------------------------------------------------------------------------

# What each plan is expected to show, and why that is right; written beside the plan.
PLAN_NOTES = {
    "dashboard_national_week": "The doses come from the area tally (day, province, vaccine, dose number) by its "
    "primary key range on the week: a few hundred rows a day for the whole country, never the injections; the "
    "viewer's areas come as a select on the locations' paths, not as an IN list of ~10 000 ids. The people "
    "figure still reads the injections (by the (injected_on, site_id) index), joined only to the merged people "
    "(their partial index, a few hundred rows) instead of hashing the whole person table; it still dominates the "
    "page at national scope (see docs/benchmarks.md).",
    "dashboard_site_period": "One site over the whole period: the tally by its (site_id, day) index, and the people "
    "by the injections' (site_id, injected_on) index with each person fetched by primary key: work proportional "
    "to that site's doses.",
    "persons_by_id": "An ID number or a phone is an equality on the unique (national_id) or the (phone) index: a "
    "handful of rows read whatever the number of people.",
    "persons_by_name_first_page": "A name prefix is a range on the (name_key, date_of_birth) index, read in the "
    "order the page shows and stopped at the page's size; the certificates of the page's people come by "
    "(person_id, injected_on) for those ids only.",
    "lot_recipients_first_page": "A lot's recipients are read off the (lot_id, injected_on, id) index backwards, "
    "newest first, and stop after a page (201 rows: the last says whether more follow); the viewer's sites come "
    "as a select on the locations' paths, not an IN list. Nothing is counted: a deep page (`?before=` the last "
    "row shown) starts on the index at that row and costs the same.",
    "due_list_site": "The candidates are the records with a dose at the site in the window, straight from the "
    "(site_id, injected_on) index (no join to the people); the holders add the few merged records (their "
    "partial index), whose doses are then read by (person_id, injected_on) and summarised per person by window "
    "functions: work proportional to the site's candidates, never a scan of people or injections. The due day "
    "itself is the dose rules' (Python), on one short row a person.",
    "lot_recipients_deep_page": "Nine tenths down the list: the same backward index scan, started at the row the "
    "page follows ((injected_on, id) below that row's, one primary key lookup), so it reads a page's rows, not "
    "the rows above it as OFFSET did.",
    "due_list_district": "A district chosen stands for its sites: the same plan as one site's over the "
    "district's ~15 sites (ids of its subtree); linear in the candidates, ~5 times one busy site's here.",
    "registration_lookups": "Registering reads the person's history by (person_id, injected_on) and the "
    "corrections by the unique reverses_id index: index scans of a few rows, whatever the table's size.",
    "scan_lot_lookup": "A scan looks the GTIN up by its unique index and the lot by (presentation, lot number): "
    "index lookups of one row each.",
}


class Statements:
    """The SELECTs an engine runs while this is on, with their parameters."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.note)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.note)

    def note(self, _conn, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and not executemany:
            self.seen.append((statement, parameters))


def explain(engine, statement, parameters):
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        lines = [row[0] for row in cursor.fetchall()]
        cursor.close()
    return lines


def heavy(statement):
    """The statements worth a plan: those over injections, people or the tally (not users, sessions, menus)."""
    return any(name in statement for name in ("injection_injection", "injection_person", "injection_daily_tally",
                                               "injection_area_tally", "lots_gtin"))


def plans(app, client, engine, facts, today, scope_user):
    """Run each hot operation once, capture its statements and EXPLAIN (ANALYZE, BUFFERS) the heavy ones."""
    week = today - timedelta(days=6)
    first = today - timedelta(days=facts["days"] - 1)
    operations = {
        "dashboard_national_week": ("/dashboard", {"since": day_text(week), "until": day_text(today)}),
        "dashboard_site_period": ("/dashboard", {"since": day_text(first), "until": day_text(today),
                                                 "location": facts["site_code"]}),
        "persons_by_id": ("/persons", {"q": facts["national_id"]}),
        "persons_by_name_first_page": ("/persons", {"q": "nguyen van an"}),
        "lot_recipients_first_page": (f"/lots/{facts['lot_id']}/recipients", {}),
        "lot_recipients_deep_page": (f"/lots/{facts['lot_id']}/recipients", {"before": facts["deep_before"]}),
        "due_list_site": ("/due", {"site": facts["site_code"]}),
        "due_list_district": ("/due", {"site": facts["district_code"]}),
    }
    found = {}
    for name, (path, params) in operations.items():
        with Statements(engine) as statements:
            assert client.get(path, query_string=params).status_code == 200, name
        found[name] = [(sql, args) for sql, args in statements.seen if heavy(sql)]
    with app.test_request_context():
        from modules.injection import services
        from modules.injection.models import Person
        from modules.lots import services as lots
        person = db.session.get(Person, facts["person_id"])
        with Statements(engine) as statements:
            services.history(person)
            db.session.scalar(text("SELECT id FROM injection_injection WHERE reverses_id = :id"),
                              {"id": facts["injection_id"]})
        found["registration_lookups"] = [(sql, args) for sql, args in statements.seen if heavy(sql)]
        with Statements(engine) as statements:
            lots.lot_from_scan(f"]d201{facts['gtin']}10{facts['lot_number']}\x1d")
        found["scan_lot_lookup"] = [(sql, args) for sql, args in statements.seen if heavy(sql)]
        db.session.rollback()
    return {name: [(sql, explain(engine, sql, args)) for sql, args in captured] for name, captured in found.items()}


def write_plans(path, explained, data, facts, requested):
    def spaced(number):
        return f"{number:,}".replace(",", " ")

    lines = ["# Query plans at national scale", "",
             f"Generated by `python bench/national.py --injections {requested} --plans docs/query-plans.md` on "
             f"PostgreSQL ({facts['database']}); do not edit by hand. Data: {spaced(data['injections'])} injections, "
             f"{spaced(data['people'])} people, {spaced(data['sites'])} sites, {data['days']} days, "
             f"{spaced(data['tally_rows'])} tally rows. Each operation was run once through the app; its statements "
             "over injections, people, the tallies and GTINs are shown with `EXPLAIN (ANALYZE, BUFFERS)`.", ""]
    for name, statements in explained.items():
        lines += [f"## {name.replace('_', ' ')}", "", PLAN_NOTES.get(name, ""), ""]
        for sql, plan in statements:
            lines += ["```sql", sql.strip(), "```", "", "```", *plan, "```", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")


# --- Main -----------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: a throwaway cluster)")
    parser.add_argument("--injections", type=int, default=10_000_000,
                        help="about this many (1.75 a person on average)")
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--provinces", type=int, default=63)
    parser.add_argument("--districts", type=int, default=700)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--requests", type=int, default=20, help="timed runs of each page and reference")
    parser.add_argument("--reuse", help="measure a database an earlier --keep run filled (its URL)")
    parser.add_argument("--only", default="", help="measure only the pages whose name matches this regex")
    parser.add_argument("--keep", action="store_true", help="keep the database (and cluster) afterwards")
    parser.add_argument("--plans", help="write EXPLAIN (ANALYZE, BUFFERS) of the hot queries to this file")
    args = parser.parse_args()
    cluster = None
    if not args.database:
        from bench.cluster import Cluster
        cluster = Cluster(fsync="off")
        args.database = cluster.url
    url, drop = (args.reuse, lambda: None) if args.reuse else fresh_database(args.database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": "/tmp/vaxchain-bench-instance",
                      "SECRET_KEY": "bench-" + "x" * 32})
    try:
        timings = {}
        with app.app_context():
            schema.upgrade()
            facts = machine(db.engine)
            today = local_today()
            if not args.reuse:
                started = time.perf_counter()
                national, _provinces, first_site = seed_tree(args.provinces, args.districts, args.sites)
                seed_lots(today, args.days)
                seed_people_and_injections(args.injections * 4 // 7, args.sites, first_site, args.days, today)
                seed_stock()
                timings["load_s"] = round(time.perf_counter() - started, 1)
                started = time.perf_counter()
                vacuum()
                timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
                user = create_user("quocgia", PASSWORD, roles.VIEWER)
                locations.assign(user, national)
                db.session.commit()
            elif not db.session.scalar(text("SELECT count(*) FROM warehouse_move")):
                seed_stock()  # a database made before the bench wrote the sites' ledger
            provinces = [locations.by_code(f"T{n:02d}") for n in range(args.provinces)]
            count = db.session.scalar
            data = {"injections": count(text("SELECT count(*) FROM injection_injection")),
                    "people": count(text("SELECT count(*) FROM injection_person")),
                    "sites": args.sites, "provinces": args.provinces, "days": args.days,
                    "tally_rows": count(text("SELECT count(*) FROM injection_daily_tally")),
                    "area_tally_rows": count(text("SELECT count(*) FROM injection_area_tally")),
                    "site_lot_balances": count(text("SELECT count(*) FROM warehouse_balance b JOIN warehouse_location"
                                                    " l ON l.id = b.location_id WHERE l.kind = 'site'")),
                    "area_tally_matches_tally": count(text("SELECT sum(doses) FROM injection_area_tally")) == count(
                        text("SELECT sum(doses) FROM injection_daily_tally")),
                    "tally_matches_injections": count(text(
                        "SELECT sum(doses) FROM injection_daily_tally")) == count(text(
                        "SELECT count(*) FROM injection_injection i WHERE source IN ('live', 'backlog') AND NOT "
                        "EXISTS (SELECT 1 FROM injection_injection c WHERE c.reverses_id = i.id)"))}
            province = provinces[0]  # the biggest: sites are skewed towards the first
            site_id, site_code = db.session.execute(text(
                "SELECT site_id, l.code FROM injection_daily_tally t JOIN warehouse_location l ON l.id = t.site_id "
                "WHERE l.path LIKE :p GROUP BY site_id, l.code ORDER BY sum(doses) DESC LIMIT 1"),
                {"p": province.path + "%"}).one()
            district_code, district_path = db.session.execute(text(
                "SELECT d.code, d.path FROM warehouse_location s JOIN warehouse_location d ON d.id = s.parent_id "
                "WHERE s.id = :id"), {"id": site_id}).one()
            person_id, national_id, phone = db.session.execute(text(
                "SELECT id, national_id, phone FROM injection_person WHERE id = :id"),
                {"id": args.injections // 4 + 1}).one()  # not a merged one
            lot_id, lot_number, lot_doses = db.session.execute(text(
                "SELECT lot_id, l.lot_number, count(*) FROM injection_injection i JOIN lots_lot l ON l.id = i.lot_id "
                "GROUP BY lot_id, l.lot_number ORDER BY count(*) DESC LIMIT 1")).one()
            injection_id = count(text("SELECT max(id) FROM injection_injection WHERE source = 'live'"))
            # The row a deep page of the lot's recipients follows: nine tenths of the way down the list.
            deep_before = count(text("SELECT id FROM injection_injection WHERE lot_id = :lot "
                                     "ORDER BY injected_on DESC, id DESC OFFSET :n LIMIT 1"),
                                {"lot": lot_id, "n": lot_doses * 9 // 10})
            gtin = count(text("SELECT g.gtin FROM lots_gtin g JOIN lots_lot l ON l.presentation_id = g.presentation_id "
                              "WHERE l.id = :id LIMIT 1"), {"id": lot_id})
            facts.update({"province_code": province.code, "province_path": province.path, "site_id": site_id,
                          "site_code": site_code, "district_code": district_code, "district_path": district_path,
                          "person_id": person_id, "national_id": national_id,
                          "phone": phone, "lot_id": lot_id, "lot_number": lot_number, "days": args.days,
                          "deep_before": deep_before,
                          "injection_id": injection_id, "gtin": gtin})
            data["lot_recipients"] = lot_doses
            raw_connection = db.engine.raw_connection()
            engine = db.engine
        client = logged_in_client(app, "quocgia")
        results = {}
        for name, path, params, sql, sql_params in scenarios(facts, today, args.days):
            if not re.search(args.only, name):
                continue
            results[name] = measure(client, path, params, lambda s=sql, p=sql_params: raw(raw_connection, s, p),
                                    args.requests)
            print(f"{name}: app p50 {results[name]['app']['p50_ms']} ms, p95 {results[name]['app']['p95_ms']} ms;"
                  f" raw p50 {results[name]['raw_sql']['p50_ms']} ms", flush=True)
        with app.app_context():
            for period, since in (("week", today - timedelta(days=6)),
                                  ("period", today - timedelta(days=args.days - 1))):
                from modules.injection import dashboard
                where = dashboard.Where(since, today)
                results[f"people_figure_national_{period}"] = {
                    "app": percentiles(timed(lambda w=where: dashboard.people(w), max(3, args.requests // 4)))}
        if args.plans:
            explained = plans(app, client, engine, facts, today, "quocgia")
            write_plans(args.plans, explained, data, facts, args.injections)
        raw_connection.close()
        result = {"benchmark": "national", "machine": {k: facts[k] for k in ("cpu", "cores", "python", "database",
                                                                             "commit")},
                  "data": data, "timings": timings, "pages": results}
        path = write_result(f"national-{data['injections']}", result)
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        print(f"written to {path}")
    finally:
        with app.app_context():
            db.engine.dispose()
        if args.keep:
            print(f"kept: {url}")
        else:
            drop()
        if cluster is not None and not args.keep:
            cluster.stop()


if __name__ == "__main__":
    main()
