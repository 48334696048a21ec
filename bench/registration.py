"""Live registrations per second over HTTP (issues 5 and 8): ``POST /api/v1/injections`` served by gunicorn
on PostgreSQL or on a SQLite file, each request a NEW person's first dose, load from a separate process;
beside a raw reference doing the same writes with the driver alone (person, balance decrement, consumed
balance upsert, move, injection, the three audit rows; one transaction each) at the same concurrency.

    python bench/registration.py                               # throwaway PostgreSQL 15 cluster, 60 s each side
    python bench/registration.py --database sqlite             # gunicorn on a SQLite file; raw sqlite3 reference
    python bench/registration.py --duration 10 --clients 8     # quick look
    python bench/registration.py --database postgresql://postgres@127.0.0.1:PORT/postgres   # your server

Each client connection is one site's tablet (its own staff user and token); all sites draw from one lot,
as when a lot is shipped to many sites. Afterwards: ``vaxchain stock check`` must pass, the injections
must equal the 201s and the balances must have dropped by exactly that.
"""
import argparse
import http.client
import json
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import http_load  # noqa: E402
from bench.cluster import Cluster, free_port  # noqa: E402
from bench.common import fresh_database, write_result  # noqa: E402

LOT = "BENCH-REG-1"
TARGET = {"per_second": 500, "p99_ms": 100, "errors": 0, "duration_s": 60}


# --- The load generator (its own process) -------------------------------------------------------------

def http_clients(port, world, clients, warmup, duration, measuring, results, _release):
    """``clients`` threads, each one site's tablet on its own connection (kept alive by gthread workers;
    sync workers close it after each answer, as they would behind a proxy), for warmup + duration s."""
    codes = http_load.provinces()
    started = time.perf_counter()
    measure_from, stop_at = started + warmup, started + warmup + duration
    per_thread = [None] * clients

    def tablet(index):
        site = world["clients"][index % len(world["clients"])]
        headers = {"Authorization": f"Bearer {site['token']}", "Content-Type": "application/json"}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, statuses, created, number = [], {}, 0, index * 200_000
        while (now := time.perf_counter()) < stop_at:
            body = json.dumps({"person": http_load.person(number, codes), "vaccine": world["vaccine"],
                               "lot": world["lot"], "site": site["site"]})
            number += 1
            status, _body = http_load.post(connection, "/api/v1/injections", body, headers)
            took = time.perf_counter() - now
            created += status == 201
            if now >= measure_from:
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()
        per_thread[index] = (latencies, statuses, created)

    run_threads(tablet, clients, measure_from, measuring, results, per_thread)


def raw_clients(url, world, clients, warmup, duration, measuring, results, release):
    """The reference: the same writes per registration with the driver alone, one transaction each, same
    threads (psycopg on PostgreSQL, sqlite3 on SQLite)."""
    codes = http_load.provinces()
    started = time.perf_counter()
    measure_from, stop_at = started + warmup, started + warmup + duration
    per_thread, connections = [None] * clients, []
    register = RawPostgres(url) if url.startswith("postgresql") else RawSqlite(url)

    def tablet(index):
        site = world["clients"][index % len(world["clients"])]
        connection = register.connect()
        connections.append(connection)
        latencies, created, number = [], 0, 50_000_000 + index * 200_000
        while (now := time.perf_counter()) < stop_at:
            register(connection, world, site, http_load.person(number, codes))
            number += 1
            took = time.perf_counter() - now
            created += 1
            if now >= measure_from:
                latencies.append(took)
        per_thread[index] = (latencies, {201: len(latencies)}, created)

    run_threads(tablet, clients, measure_from, measuring, results, per_thread)
    release.wait()  # the backends' CPU is read before they exit
    for connection in connections:
        connection.close()


def run_threads(tablet, clients, measure_from, measuring, results, per_thread):
    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu_before = http_load.own_cpu()
    measuring.set()
    for thread in threads:
        thread.join()
    results.put(http_load.merge(per_thread, http_load.own_cpu() - cpu_before))


def audit_details(world, site, person_id, move_id, injection_id):
    return [("person.create", "injection_person", person_id, {}),
            ("stock.injection", "warehouse_move", move_id,
             {"lot": world["lot_id"], "from": site["site_id"], "to": world["consumed_id"], "doses": 1, "reason": None}),
            ("injection.register", "injection_injection", injection_id,
             {"person": person_id, "lot": world["lot"], "site": site["site"], "dose_number": 1})]


class RawPostgres:
    """The app's writes for a new person's first dose from a single-dose vial, in the app's order."""

    def __init__(self, url):
        from psycopg.types.json import Jsonb
        self.dsn, self.jsonb = url.replace("postgresql+psycopg://", "postgresql://"), Jsonb

    def connect(self):
        import psycopg
        return psycopg.connect(self.dsn)

    def __call__(self, connection, world, site, who):
        from modules.injection.identity import fold
        lot_id, site_id, user_id = world["lot_id"], site["site_id"], site["user_id"]
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO injection_person (national_id, id_kind, full_name, name_key, gender, date_of_birth,"
                " phone, ethnicity, nationality, address, created_at, created_by) VALUES (%s, 'cccd', %s, %s, %s,"
                " %s, %s, '', '', '', now(), %s) RETURNING id",
                (who["national_id"], who["full_name"], fold(who["full_name"]), who["gender"], who["date_of_birth"],
                 who["phone"], user_id))
            person_id = cursor.fetchone()[0]
            cursor.execute("UPDATE warehouse_balance SET doses = doses - 1, injected = injected + 1"
                           " WHERE location_id = %s AND lot_id = %s AND doses >= 1", (site_id, lot_id))
            if cursor.rowcount != 1:
                raise RuntimeError("no stock left for the reference")
            cursor.execute(
                "INSERT INTO warehouse_balance (location_id, lot_id, doses) VALUES (%s, %s, 1) ON CONFLICT"
                " (location_id, lot_id) DO UPDATE SET doses = warehouse_balance.doses + excluded.doses",
                (world["consumed_id"], lot_id))
            cursor.execute(
                "INSERT INTO warehouse_move (at, lot_id, from_location_id, to_location_id, doses, kind, note,"
                " user_id) VALUES (now(), %s, %s, %s, 1, 'injection', '', %s) RETURNING id",
                (lot_id, site_id, world["consumed_id"], user_id))
            move_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO injection_injection (person_id, presentation_id, lot_id, site_id, injected_at,"
                " injected_on, dose_number, source, move_id, note, created_at, created_by) VALUES (%s, %s, %s, %s,"
                " now(), current_date, 1, 'live', %s, '', now(), %s) RETURNING id",
                (person_id, world["presentation_id"], lot_id, site_id, move_id, user_id))
            injection_id = cursor.fetchone()[0]
            rows = audit_details(world, site, person_id, move_id, injection_id)
            cursor.execute(
                "INSERT INTO core_audit_log (at, user_id, actor, action, object_type, object_id, details) VALUES"
                + ", ".join(["(now(), %s, %s, %s, %s, %s, %s)"] * len(rows)),
                [value for action, kind, key, details in rows
                 for value in (user_id, site["username"], action, kind, str(key), self.jsonb(details))])


class RawSqlite:
    """The same writes with the standard library's sqlite3, with the app's pragmas and BEGIN IMMEDIATE."""

    def __init__(self, url):
        self.path = url.removeprefix("sqlite:///")

    def connect(self):
        import sqlite3
        connection = sqlite3.connect(self.path, timeout=15, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "busy_timeout=15000", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        return connection

    def __call__(self, connection, world, site, who):
        from modules.injection.identity import fold
        lot_id, site_id, user_id = world["lot_id"], site["site_id"], site["user_id"]
        moment = datetime.now(UTC)
        now, today = moment.strftime("%Y-%m-%d %H:%M:%S.%f"), moment.date().isoformat()
        connection.execute("BEGIN IMMEDIATE")
        try:
            person_id = connection.execute(
                "INSERT INTO injection_person (national_id, id_kind, full_name, name_key, gender, date_of_birth,"
                " phone, ethnicity, nationality, address, created_at, created_by) VALUES (?, 'cccd', ?, ?, ?, ?, ?,"
                " '', '', '', ?, ?) RETURNING id",
                (who["national_id"], who["full_name"], fold(who["full_name"]), who["gender"], who["date_of_birth"],
                 who["phone"], now, user_id)).fetchone()[0]
            taken = connection.execute("UPDATE warehouse_balance SET doses = doses - 1, injected = injected + 1"
                                       " WHERE location_id = ? AND lot_id = ? AND doses >= 1", (site_id, lot_id))
            if taken.rowcount != 1:
                raise RuntimeError("no stock left for the reference")
            connection.execute(
                "INSERT INTO warehouse_balance (location_id, lot_id, doses) VALUES (?, ?, 1) ON CONFLICT"
                " (location_id, lot_id) DO UPDATE SET doses = warehouse_balance.doses + excluded.doses",
                (world["consumed_id"], lot_id))
            move_id = connection.execute(
                "INSERT INTO warehouse_move (at, lot_id, from_location_id, to_location_id, doses, kind, note,"
                " user_id) VALUES (?, ?, ?, ?, 1, 'injection', '', ?) RETURNING id",
                (now, lot_id, site_id, world["consumed_id"], user_id)).fetchone()[0]
            injection_id = connection.execute(
                "INSERT INTO injection_injection (person_id, presentation_id, lot_id, site_id, injected_at,"
                " injected_on, dose_number, source, move_id, note, created_at, created_by) VALUES (?, ?, ?, ?, ?,"
                " ?, 1, 'live', ?, '', ?, ?) RETURNING id",
                (person_id, world["presentation_id"], lot_id, site_id, now, today, move_id, now,
                 user_id)).fetchone()[0]
            rows = audit_details(world, site, person_id, move_id, injection_id)
            connection.execute(
                "INSERT INTO core_audit_log (at, user_id, actor, action, object_type, object_id, details) VALUES"
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                [value for action, kind, key, details in rows
                 for value in (now, user_id, site["username"], action, kind, str(key), json.dumps(details))])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


# --- Checks -------------------------------------------------------------------------------------------

def statements_per_request(url, requests):
    """The statements each request sent, from pg_stat_statements (BEGIN/COMMIT included)."""
    import psycopg
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        rows = connection.execute("SELECT calls, query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
                                  "pg_database WHERE datname = current_database()) ORDER BY calls DESC").fetchall()
    per_request = [(round(calls / requests, 2), " ".join(query.split())[:110]) for calls, query in rows
                   if calls >= requests / 2]
    return round(sum(share for share, _query in per_request), 1), per_request


def reset_statements(url):
    """Start pg_stat_statements afresh, when the server loads it (the throwaway cluster does)."""
    import psycopg
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        try:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            connection.execute("SELECT pg_stat_statements_reset()")
        except psycopg.Error:
            return False
    return True


def verdict(app):
    """Which of the targets the app side met."""
    errors = sum(count for status, count in app["statuses"].items() if status != "201")
    return {"per_second": app["per_second"] >= TARGET["per_second"],
            "p99_ms": app["latency"]["p99_ms"] <= TARGET["p99_ms"], "errors": errors == TARGET["errors"],
            "errors_count": errors}


# --- Main ---------------------------------------------------------------------------------------------

def measure(url, args):
    postgres = url.startswith("postgresql")
    env = http_load.environment(url)
    http_load.initialise(env)
    # both sides, with room: raw sqlite3 passed 3 700/s on a quiet machine
    per_site = int(5000 * (args.duration + args.warmup) * 2 / args.clients) + 1000
    world = http_load.seed(url, args.clients, per_site, args.vaccine, LOT)
    initial = per_site * args.clients
    database_pids = http_load.postgres_processes(url)
    counting = postgres and reset_statements(url)
    server = None
    try:
        port = free_port()
        server = http_load.start_gunicorn(env, port, args.workers, args.worker_class, args.threads)
        injections_before, _doses = http_load.counts(url, world)
        app = http_load.run_phase(http_clients, (port, world, args.clients, args.warmup, args.duration),
                                  lambda: http_load.children(server.pid), database_pids, args.duration)
        injections, doses = http_load.counts(url, world)
    finally:
        http_load.stop(server)
    app["checks"] = {"injections_equal_201s": injections - injections_before == app["created_total"],
                     "balance_equals_initial_minus_201s": doses == initial - app["created_total"]}
    app["targets_met"] = verdict(app)
    statements = statements_per_request(url, app["created_total"]) if counting else (None, [])
    reference = http_load.run_phase(raw_clients, (url, world, args.clients, args.warmup, args.duration),
                                    lambda: [], database_pids, args.duration)
    injections_after, doses_after = http_load.counts(url, world)
    reference["checks"] = {"injections_equal_commits": injections_after - injections == reference["created_total"],
                           "balance_equals_before_minus_commits": doses_after == doses - reference["created_total"]}
    passed, report = http_load.stock_check(env)
    return world, app, reference, statements, (passed, report)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="sqlite, or a PostgreSQL server URL (default: a throwaway cluster)")
    parser.add_argument("--fsync", choices=["on", "off"], default="on",
                        help="the throwaway cluster's fsync and synchronous_commit (default on, as in production)")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds per side (default 60)")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync",
                        help="gunicorn worker class (default sync, as behind a buffering proxy; gthread keeps "
                             "connections alive)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker (default 1: on 2 cores "
                                                               "more threads lose to the GIL)")
    parser.add_argument("--vaccine", default="VEROCELL", help="a single-dose vaccine code (default VEROCELL)")
    args = parser.parse_args()

    cluster = None if args.database else Cluster(args.fsync)
    load_before = http_load.loadavg()
    try:
        url, drop = fresh_database(args.database or cluster.url)
        try:
            world, app, reference, (statements, top), (passed, report) = measure(url, args)
        finally:
            drop()
    finally:
        if cluster is not None:
            cluster.stop()
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    result = {
        "benchmark": "registration", "database": kind,
        "machine": {**world["facts"], "loadavg_before": load_before},
        "setup": {"clients": args.clients, "sites": args.clients, "vaccine": args.vaccine,
                  "gunicorn": f"{args.workers} {args.worker_class} workers"
                              + (f" x {args.threads} threads" if args.worker_class == "gthread" else ""),
                  "fsync": (args.fsync if cluster else "the server's") if kind == "postgresql" else "WAL, NORMAL",
                  "duration_s": args.duration, "warmup_s": args.warmup},
        "app": app, "raw_reference": reference,
        "reference": "raw psycopg" if kind == "postgresql" else "raw sqlite3",
        "ratio_throughput": round(app["per_second"] / reference["per_second"], 2),
        "statements_per_request": statements, "statements": top,
        "stock_check": {"passed": passed, "output": report},
        "target": f">= {TARGET['per_second']} registrations/s sustained for {TARGET['duration_s']} s, "
                  f"p99 <= {TARGET['p99_ms']} ms, zero errors",
    }
    path = write_result(f"registration-{kind}", result)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
