"""Live registrations per second over HTTP (issue 5): ``POST /api/v1/injections`` served by gunicorn on
PostgreSQL, each request a NEW person's first dose, load from a separate process; beside a raw-psycopg
reference doing the same writes (person, balance decrement, consumed balance upsert, move, injection, the
three audit rows; one transaction each) at the same concurrency.

    python bench/registration.py                               # throwaway PostgreSQL 15 cluster, 60 s each side
    python bench/registration.py --duration 10 --clients 8     # quick look
    python bench/registration.py --database postgresql://postgres@127.0.0.1:PORT/postgres   # your server

Each client connection is one site's tablet (its own staff user and token); all sites draw from one lot,
as when a lot is shipped to many sites. Afterwards: ``vaxchain stock check`` must pass, the injections
must equal the 201s and the balances must have dropped by exactly that.
"""
import argparse
import http.client
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cluster import Cluster, free_port  # noqa: E402
from bench.common import fresh_database, machine, percentiles, vaxchain, write_result  # noqa: E402

SECRET_KEY = "bench-" + "x" * 40
PASSWORD = "bench-password-2026"
LOT = "BENCH-REG-1"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = {"male": ["Văn", "Hữu", "Đức", "Minh", "Quang"], "female": ["Thị", "Ngọc", "Thu", "Thanh", "Mai"]}
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hùng", "Lan", "Linh", "Nam", "Phương", "Sơn", "Tâm"]


# --- Setup through the app's services -----------------------------------------------------------------

def seed(url, sites, doses_per_site, vaccine):
    """A national store, a province, a district and ``sites`` sites; one lot received nationally and shipped
    to every site; a site staff user and token per site. Returns what the clients need."""
    from core import create_app, roles
    from core.accounts import create_user
    from core.clock import local_today
    from core.db import db
    from core.tokens import create_token
    from modules.lots import services as lots
    from modules.lots.gs1 import gtin_check_digit
    from modules.lots.models import Gtin
    from modules.warehouse import ledger, locations, services
    from modules.warehouse.models import DISTRICT, NATIONAL, PROVINCE, SITE

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="vaxchain-bench-instance-")})
    with app.app_context():
        presentation = lots.presentation_by_code(vaccine)
        if not presentation.gtins:
            body = f"02{presentation.id:011d}"
            presentation.gtins.append(Gtin(gtin=body + gtin_check_digit(body)))
        national = locations.create_location("KHO-QG", "Kho vắc xin quốc gia", NATIONAL)
        province = locations.create_location("KHO-HN", "Kho tỉnh Hà Nội", PROVINCE, national)
        district = locations.create_location("KHO-BD", "Kho quận Ba Đình", DISTRICT, province)
        line = services.ReceiptLine(gtin=presentation.gtins[0].gtin, lot=LOT, doses=sites * doses_per_site,
                                    expiry=local_today() + timedelta(days=365), confirm_new_lot=True)
        lot = services.receive(national, [line]).moves[0].lot
        clients, places = [], []
        for n in range(sites):
            site = locations.create_location(f"DT-{n:04d}", f"Trạm Y tế {n}", SITE, district)
            user = create_user(f"tram{n:04d}", PASSWORD, roles.SITE_STAFF)
            locations.assign(user, site)
            db.session.flush()
            places.append(site)
            clients.append({"site": site.code, "site_id": site.id, "user_id": user.id, "username": user.username,
                            "token": create_token(user, name="bench")[1]})
        db.session.flush()
        ledger.post([ledger.Transfer(lot, national, site, doses_per_site) for site in places], "transfer")
        db.session.commit()
        world = {"lot_id": lot.id, "lot": LOT, "vaccine": vaccine, "clients": clients,
                 "consumed_id": locations.virtual("consumed").id, "facts": machine(db.engine)}
        db.engine.dispose()
    return world


# --- People -------------------------------------------------------------------------------------------

def provinces():
    from modules.injection.identity import BIRTH_PROVINCES
    return sorted(BIRTH_PROVINCES)


def person(number, codes):
    """The ``number``-th illustrative new person: a CCCD agreeing with gender and birth date, a unique phone."""
    rng = random.Random(number)
    gender = "male" if number % 2 else "female"
    born = date(1950 + number % 56, 1 + number % 12, 1 + number % 28)
    century_gender = {("male", 19): "0", ("female", 19): "1", ("male", 20): "2", ("female", 20): "3"}
    national_id = (codes[(number // 1_000_000) % len(codes)] + century_gender[gender, born.year // 100]
                   + f"{born.year % 100:02d}{number % 1_000_000:06d}")
    return {"national_id": national_id, "gender": gender, "date_of_birth": born.isoformat(),
            "full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE[gender])} {rng.choice(GIVEN)}",
            "phone": f"09{number % 100_000_000:08d}"}


# --- The load generator (its own process) -------------------------------------------------------------

def http_load(port, world, clients, warmup, duration, measuring, results, _release):
    """``clients`` threads, each one site's tablet on its own connection (kept alive by gthread workers;
    sync workers close it after each answer, as they would behind a proxy), for warmup + duration s."""
    codes = provinces()
    started = time.perf_counter()
    measure_from, stop_at = started + warmup, started + warmup + duration
    per_thread = [None] * clients

    def tablet(index):
        site = world["clients"][index % len(world["clients"])]
        headers = {"Authorization": f"Bearer {site['token']}", "Content-Type": "application/json"}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, statuses, created, number = [], {}, 0, index * 200_000
        while (now := time.perf_counter()) < stop_at:
            body = json.dumps({"person": person(number, codes), "vaccine": world["vaccine"], "lot": world["lot"],
                               "site": site["site"]})
            number += 1
            try:
                connection.request("POST", "/api/v1/injections", body, headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                status = "connection error"
            took = time.perf_counter() - now
            created += status == 201
            if now >= measure_from:
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()
        per_thread[index] = (latencies, statuses, created)

    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu_before = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
    measuring.set()
    for thread in threads:
        thread.join()
    results.put(merge(per_thread, cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - cpu_before))


def raw_load(dsn, world, clients, warmup, duration, measuring, results, release):
    """The reference: the same writes per registration with psycopg, one transaction each, same threads."""
    import psycopg
    from psycopg.types.json import Jsonb

    codes = provinces()
    started = time.perf_counter()
    measure_from, stop_at = started + warmup, started + warmup + duration
    per_thread, connections = [None] * clients, []

    def tablet(index):
        site = world["clients"][index % len(world["clients"])]
        connection = psycopg.connect(dsn)
        connections.append(connection)
        latencies, created, number = [], 0, 50_000_000 + index * 200_000
        while (now := time.perf_counter()) < stop_at:
            register_raw(connection, world, site, person(number, codes), Jsonb)
            number += 1
            took = time.perf_counter() - now
            created += 1
            if now >= measure_from:
                latencies.append(took)
        per_thread[index] = (latencies, {201: len(latencies)}, created)

    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu_before = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
    measuring.set()
    for thread in threads:
        thread.join()
    results.put(merge(per_thread, cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - cpu_before))
    release.wait()  # the backends' CPU is read before they exit
    for connection in connections:
        connection.close()


def register_raw(connection, world, site, who, Jsonb):  # noqa: N803 (a class passed in)
    """The app's writes for a new person's first dose from a single-dose vial, in the app's order."""
    from modules.injection.identity import fold
    lot_id, site_id, user_id, actor = world["lot_id"], site["site_id"], site["user_id"], site["username"]
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO injection_person (national_id, id_kind, full_name, name_key, gender, date_of_birth, phone,"
            " ethnicity, nationality, address, created_at, created_by) VALUES (%s, 'cccd', %s, %s, %s, %s, %s,"
            " '', '', '', now(), %s) RETURNING id",
            (who["national_id"], who["full_name"], fold(who["full_name"]), who["gender"], who["date_of_birth"],
             who["phone"], user_id))
        person_id = cursor.fetchone()[0]
        cursor.execute(
            "UPDATE warehouse_balance SET doses = doses - 1 WHERE location_id = %s AND lot_id = %s AND doses >= 1",
            (site_id, lot_id))
        if cursor.rowcount != 1:
            raise RuntimeError("no stock left for the reference")
        cursor.execute(
            "INSERT INTO warehouse_balance (location_id, lot_id, doses) VALUES (%s, %s, 1) ON CONFLICT"
            " (location_id, lot_id) DO UPDATE SET doses = warehouse_balance.doses + excluded.doses",
            (world["consumed_id"], lot_id))
        cursor.execute(
            "INSERT INTO warehouse_move (at, lot_id, from_location_id, to_location_id, doses, kind, note, user_id)"
            " VALUES (now(), %s, %s, %s, 1, 'injection', '', %s) RETURNING id",
            (lot_id, site_id, world["consumed_id"], user_id))
        move_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO injection_injection (person_id, presentation_id, lot_id, site_id, injected_at, injected_on,"
            " dose_number, source, move_id, note, created_at, created_by) SELECT %s, presentation_id, id, %s,"
            " now(), current_date, 1, 'live', %s, '', now(), %s FROM lots_lot WHERE id = %s RETURNING id",
            (person_id, site_id, move_id, user_id, lot_id))
        injection_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO core_audit_log (at, user_id, actor, action, object_type, object_id, details) VALUES"
            " (now(), %s, %s, 'person.create', 'injection_person', %s, %s),"
            " (now(), %s, %s, 'stock.injection', 'warehouse_move', %s, %s),"
            " (now(), %s, %s, 'injection.register', 'injection_injection', %s, %s)",
            (user_id, actor, str(person_id), Jsonb({}),
             user_id, actor, str(move_id), Jsonb({"lot": lot_id, "from": site_id, "to": world["consumed_id"],
                                                  "doses": 1, "reason": None}),
             user_id, actor, str(injection_id), Jsonb({"person": person_id, "lot": LOT, "site": site["site"],
                                                       "dose_number": 1})))


def merge(per_thread, cpu):
    latencies = [took for part in per_thread for took in part[0]]
    statuses = {}
    for part in per_thread:
        for status, count in part[1].items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    return {"latencies": latencies, "statuses": statuses, "created_total": sum(part[2] for part in per_thread),
            "cpu_s": cpu}


def cpu_seconds(usage):
    return usage.ru_utime + usage.ru_stime


# --- Measuring a phase --------------------------------------------------------------------------------

def process_cpu(pids):
    """User + system CPU seconds of ``pids`` (from /proc; processes gone are skipped)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children(pid):
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def machine_busy():
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_phase(target, args, duration, server_pids, postgres_pids):
    """Run a load function in its own process; CPU seconds, during the measured part, of the app server,
    of PostgreSQL, of the load generator and of everything else on the machine (other users' work)."""
    context = get_context("spawn")
    measuring, results, release = context.Event(), context.Queue(), context.Event()
    process = context.Process(target=target, args=(*args, measuring, results, release))
    process.start()
    measuring.wait()
    time.sleep(0.5)  # every connection is open by now
    server, postgres = server_pids(), postgres_pids()
    server_before, postgres_before, busy_before = process_cpu(server), process_cpu(postgres), machine_busy()
    started = time.perf_counter()
    outcome = results.get()
    elapsed = time.perf_counter() - started
    server_after, busy_after = process_cpu(server), machine_busy()
    postgres_after = process_cpu(postgres)
    release.set()
    process.join()
    latencies = outcome.pop("latencies")
    ok = outcome["statuses"].get("201", 0)
    cpu = {"app_server": server_after - server_before, "postgresql": postgres_after - postgres_before,
           "load_generator": outcome.pop("cpu_s"),
           "whole_machine": (busy_after[0] - busy_before[0]) / os.sysconf("SC_CLK_TCK")}
    cpu["other_processes"] = cpu["whole_machine"] - cpu["app_server"] - cpu["postgresql"] - cpu["load_generator"]
    return {**outcome, "per_second": round(ok / duration, 1), "elapsed_s": round(elapsed, 1),
            "latency": percentiles(latencies), "cpu_seconds": {name: round(value, 1) for name, value in cpu.items()},
            "cpu_ms_per_registration": {name: round(value * 1000 / max(1, ok), 2) for name, value in cpu.items()}}


# --- Checks -------------------------------------------------------------------------------------------

def counts(connection, world):
    site_ids = [client["site_id"] for client in world["clients"]]
    injections = connection.execute("SELECT count(*) FROM injection_injection").fetchone()[0]
    doses = connection.execute("SELECT coalesce(sum(doses), 0) FROM warehouse_balance WHERE lot_id = %s AND "
                               "location_id = ANY(%s)", (world["lot_id"], site_ids)).fetchone()[0]
    return injections, doses


def statements_per_request(connection, requests):
    """The statements each request sent, from pg_stat_statements (BEGIN/COMMIT included)."""
    rows = connection.execute("SELECT calls, query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
                              "pg_database WHERE datname = current_database()) ORDER BY calls DESC").fetchall()
    per_request = [(round(calls / requests, 2), " ".join(query.split())[:110]) for calls, query in rows
                   if calls >= requests / 2]
    return round(sum(share for share, _query in per_request), 1), per_request


def stock_check(env):
    done = subprocess.run([vaxchain(), "stock", "check"], env=env, capture_output=True, text=True)
    return done.returncode == 0, (done.stdout + done.stderr).strip()[-500:]


# --- Main ---------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: a throwaway cluster)")
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
    import psycopg

    cluster = None if args.database else Cluster(args.fsync)
    url, drop = fresh_database(args.database or cluster.url)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    env = {**os.environ, "VAXCHAIN_DATABASE_URL": url, "VAXCHAIN_SECRET_KEY": SECRET_KEY,
           "VAXCHAIN_INSTANCE_PATH": tempfile.mkdtemp(prefix="vaxchain-bench-instance-")}
    server, load_before = None, loadavg()
    try:
        subprocess.run([vaxchain(), "init", "--admin-password", PASSWORD], env=env, check=True, capture_output=True)
        per_site = int(2000 * (args.duration + args.warmup) * 2 / args.clients) + 1000  # both sides, with room
        world = seed(url, args.clients, per_site, args.vaccine)
        initial = per_site * args.clients
        port = free_port()
        log = Path(env["VAXCHAIN_INSTANCE_PATH"]) / "gunicorn.log"
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--threads", str(args.threads),
             "--worker-class", args.worker_class, "--keep-alive", "60", "--bind", f"127.0.0.1:{port}",
             "core:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        wait_until_serving(port, server)
        database = psycopg.connect(dsn, autocommit=True)
        database.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        database.execute("SELECT pg_stat_statements_reset()")
        injections_before, _doses = counts(database, world)
        postmaster = cluster.postmaster() if cluster else None
        backends = (lambda: children(postmaster)) if postmaster else (lambda: [])
        app = run_phase(http_load, (port, world, args.clients, args.warmup, args.duration), args.duration,
                        lambda: children(server.pid), backends)
        injections, doses = counts(database, world)
        statements, top = statements_per_request(database, app["created_total"])
        server.terminate()
        server.wait(timeout=30)
        app["checks"] = {"injections_equal_201s": injections - injections_before == app["created_total"],
                         "balance_equals_initial_minus_201s": doses == initial - app["created_total"]}
        reference = run_phase(raw_load, (dsn, world, args.clients, args.warmup, args.duration), args.duration,
                              lambda: [], backends)
        injections_after, doses_after = counts(database, world)
        reference["checks"] = {"injections_equal_commits": injections_after - injections == reference["created_total"],
                               "balance_equals_before_minus_commits": doses_after == doses - reference["created_total"]}
        passed, report = stock_check(env)
        database.close()
        result = {
            "benchmark": "registration", "machine": {**world["facts"], "loadavg_before": load_before},
            "setup": {"clients": args.clients, "sites": args.clients, "vaccine": args.vaccine,
                      "gunicorn": f"{args.workers} {args.worker_class} workers"
                                    + (f" x {args.threads} threads" if args.worker_class == "gthread" else ""),
                      "fsync": args.fsync if cluster else "the server's", "duration_s": args.duration,
                      "warmup_s": args.warmup},
            "app": app, "raw_psycopg": reference,
            "ratio_throughput": round(app["per_second"] / reference["per_second"], 2),
            "statements_per_request": statements, "statements": top,
            "stock_check": {"passed": passed, "output": report},
            "target": ">= 300 registrations/s sustained, p95 <= 100 ms",
        }
        path = write_result("registration-postgresql", result)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        print(f"written to {path}")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        drop()
        if cluster is not None:
            cluster.stop()


def wait_until_serving(port, server, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited: see gunicorn.log in VAXCHAIN_INSTANCE_PATH")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/openapi.json")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def loadavg():
    return Path("/proc/loadavg").read_text().split()[0]


if __name__ == "__main__":
    main()
