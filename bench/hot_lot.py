"""The hot lot (issue 8): 64 clients at ONE site registering doses of ONE lot over HTTP until it runs out.

    python bench/hot_lot.py                                   # throwaway PostgreSQL 15 cluster (fsync on)
    python bench/hot_lot.py --database sqlite                 # gunicorn on a SQLite file
    python bench/hot_lot.py --doses 500 --clients 64          # options: --workers 3 --database URL

The site's balance of the lot is ``--doses`` doses. Every client is a tablet of that site (one staff user's
token), each ``POST /api/v1/injections`` a new person's first dose of that lot, and each client keeps on
until it is told ``409 no_stock``. Every dose is the same balance row's conditional UPDATE, so requests queue
on that row's lock: the figure is commits per second of one row under contention. Checks afterwards: exactly
``--doses`` 201s, every other answer the documented 409 ``no_stock``, the injections equal the 201s, the
site's balance 0 and ``vaxchain stock check`` clean (no dose sold twice).

Reference, same run, same database, same clients: the bare conditional UPDATE of a balance row
(``UPDATE warehouse_balance SET doses = doses - 1 WHERE ... AND doses >= 1``), one transaction each, from
the same number of clients until the same number of doses is gone: pgbench on PostgreSQL, sqlite3 threads
on SQLite.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import http_load  # noqa: E402
from bench.cluster import Cluster, free_port  # noqa: E402
from bench.common import fresh_database, percentiles, write_result  # noqa: E402

LOT = "BENCH-HOT-1"
TARGET_PER_SECOND = 150
TAKE_ONE = ("UPDATE warehouse_balance SET doses = doses - 1 WHERE location_id = {site} AND lot_id = {lot} "
            "AND doses >= 1")


# --- The app side (the load generator's process) --------------------------------------------------------

def http_clients(port, world, clients, measuring, results, _release):
    """``clients`` threads on the one site's token; each warms up with one stock query (so every gunicorn
    worker holds its database connection), then, all together, registers until answered 409."""
    codes = http_load.provinces()
    site = world["clients"][0]
    headers = {"Authorization": f"Bearer {site['token']}", "Content-Type": "application/json"}
    start = threading.Barrier(clients + 1)
    per_thread, last_success = [None] * clients, [0.0] * clients

    def tablet(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"/api/v1/stock?location={site['site']}", headers=headers)
        connection.getresponse().read()
        start.wait()
        latencies, statuses, number = [], {}, index * 100_000  # unique IDs and phones (see person)
        while True:
            body = json.dumps({"person": http_load.person(number, codes), "vaccine": world["vaccine"],
                               "lot": world["lot"], "site": site["site"]})
            number += 1
            sent = time.perf_counter()
            status, answer = http_load.post(connection, "/api/v1/injections", body, headers)
            done = time.perf_counter()
            latencies.append(done - sent)
            outcome = answered(status, answer)
            statuses[outcome] = statuses.get(outcome, 0) + 1
            if status == 201:
                last_success[index] = done
            elif outcome == "409 no_stock" or sum(statuses.values()) - statuses.get("201", 0) > 100:
                break
        connection.close()
        per_thread[index] = (latencies, statuses, statuses.get("201", 0))

    run_together(tablet, clients, start, per_thread, last_success, measuring, results)


def run_together(client, clients, start, per_thread, last_success, measuring, results):
    """Start ``clients`` threads of ``client(index)``, release them together at the ``start`` barrier, and put
    what they measured on ``results``: the time runs from the release to the last success."""
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began, cpu_before = time.perf_counter(), http_load.own_cpu()
    measuring.set()
    for thread in threads:
        thread.join()
    outcome = http_load.merge(per_thread, http_load.own_cpu() - cpu_before)
    outcome["seconds"] = max(last_success) - began
    results.put(outcome)


def answered(status, body):
    """``"201"``, ``"409 no_stock"``, or the status with the error code of any other answer."""
    if status == 201:
        return "201"
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "?"
    return f"{status} {code}"


# --- The references -------------------------------------------------------------------------------------

def sqlite_clients(url, world, clients, measuring, results, _release):
    """``clients`` sqlite3 threads (the app's pragmas, BEGIN IMMEDIATE) each taking one dose per transaction
    until none is left."""
    path = url.removeprefix("sqlite:///")
    statement = TAKE_ONE.format(site=world["clients"][0]["site_id"], lot=world["lot_id"])
    start = threading.Barrier(clients + 1)
    per_thread, last_success = [None] * clients, [0.0] * clients

    def client(index):
        connection = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "busy_timeout=15000", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        start.wait()
        latencies, taken = [], 0
        while True:
            sent = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            rows = connection.execute(statement).rowcount
            connection.execute("COMMIT")
            done = time.perf_counter()
            latencies.append(done - sent)
            if not rows:
                break
            taken, last_success[index] = taken + 1, done
        connection.close()
        per_thread[index] = (latencies, {"201": taken, "409 no_stock": 1}, taken)

    run_together(client, clients, start, per_thread, last_success, measuring, results)


def refill(url, world, doses):
    """Put ``doses`` back on the site's balance for a reference, behind the ledger's back: the reference
    takes them all again, so the balance is back to 0 and equal to the ledger when it is done."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE warehouse_balance SET doses = :doses WHERE location_id = :site AND "
                                "lot_id = :lot"), {"doses": doses, "site": world["clients"][0]["site_id"],
                                                   "lot": world["lot_id"]})
    engine.dispose()


def pgbench_binary():
    found = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"),
                                                        reverse=True)), None)
    if found is None:
        raise SystemExit("pgbench not found: install postgresql-client (Debian) or put it on PATH")
    return str(found)


def pgbench(url, world, clients, doses):
    """pgbench, ``clients`` clients × ``doses // clients`` transactions of the conditional UPDATE on the
    site's balance, set to that many doses first; every transaction's latency from pgbench's log."""
    per_client = doses // clients
    site, lot = world["clients"][0]["site_id"], world["lot_id"]
    refill(url, world, per_client * clients)
    engine = create_engine(url)
    folder = Path(tempfile.mkdtemp(prefix="vaxchain-bench-pgbench-"))
    (folder / "take_one.sql").write_text(TAKE_ONE.format(site=":site", lot=":lot") + ";\n")
    parts = make_url(url)
    command = [pgbench_binary(), "-n", "-c", str(clients), "-j", "2", "-t", str(per_client), "-D", f"site={site}",
               "-D", f"lot={lot}", "-f", str(folder / "take_one.sql"), "-l", "--log-prefix", str(folder / "log"),
               "-h", parts.host, "-p", str(parts.port), "-U", parts.username or "postgres", parts.database]
    busy_before = http_load.machine_busy()[0]  # pgbench's backends exit with it: the whole machine's CPU
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder)
    machine_cpu = (http_load.machine_busy()[0] - busy_before) / os.sysconf("SC_CLK_TCK")
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{done.stderr[-2000:]}")
    latencies = [int(line.split()[2]) / 1e6 for log in folder.glob("log.*") for line in log.read_text().splitlines()]
    with engine.connect() as connection:
        left = connection.execute(text("SELECT doses FROM warehouse_balance WHERE location_id = :site AND "
                                       "lot_id = :lot"), {"site": site, "lot": lot}).scalar()
    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout).group(1))
    return {"per_second": round(tps, 1), "doses": per_client * clients, "transactions": len(latencies),
            "latency": percentiles(latencies), "cpu_seconds": {"whole_machine": round(machine_cpu, 1)},
            "checks": {"balance_zero": left == 0, "every_transaction_logged": len(latencies) == per_client * clients},
            "command": " ".join(command[:11]) + " -f take_one.sql ..."}


# --- Main ---------------------------------------------------------------------------------------------

def measure(url, args):
    env = http_load.environment(url)
    http_load.initialise(env)
    world = http_load.seed(url, 1, args.doses, args.vaccine, LOT)
    database_pids = http_load.postgres_processes(url)
    server = None
    try:
        port = free_port()
        server = http_load.start_gunicorn(env, port, args.workers)
        before, _doses = http_load.counts(url, world)
        app = http_load.run_phase(http_clients, (port, world, args.clients), lambda: http_load.children(server.pid),
                                  database_pids)
        injections, left = http_load.counts(url, world)
    finally:
        http_load.stop(server)
    passed, report = http_load.stock_check(env)
    others = {status: count for status, count in app["statuses"].items() if status not in ("201", "409 no_stock")}
    app["checks"] = {"successes_equal_doses": app["statuses"].get("201", 0) == args.doses,
                     "others_all_409_no_stock": not others, "injections_equal_201s": injections - before == args.doses,
                     "balance_zero": left == 0, "stock_check_passed": passed}
    app["stock_check"] = report
    if url.startswith("postgresql"):
        reference = pgbench(url, world, args.clients, args.doses)
    else:
        refill(url, world, args.doses)
        reference = http_load.run_phase(sqlite_clients, (url, world, args.clients), lambda: [], lambda: [])
        reference["checks"] = {"taken_equal_doses": reference["statuses"]["201"] == args.doses}
    reference["checks"]["stock_check_passed"] = http_load.stock_check(env)[0]
    return world, app, reference


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="sqlite, or a PostgreSQL server URL (default: a throwaway cluster)")
    parser.add_argument("--doses", type=int, default=3000, help="the site's balance of the lot (default 3000)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3)")
    parser.add_argument("--vaccine", default="VEROCELL", help="a single-dose vaccine code (default VEROCELL)")
    args = parser.parse_args()
    if args.doses % args.clients:
        parser.error("--doses must be a multiple of --clients (pgbench gives each client the same share)")

    cluster = None if args.database else Cluster("on")
    load_before = http_load.loadavg()
    try:
        url, drop = fresh_database(args.database or cluster.url)
        try:
            world, app, reference = measure(url, args)
        finally:
            drop()
    finally:
        if cluster is not None:
            cluster.stop()
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    result = {
        "benchmark": "hot_lot", "database": kind, "machine": {**world["facts"], "loadavg_before": load_before},
        "setup": {"clients": args.clients, "doses": args.doses, "site": 1, "lot": 1, "vaccine": args.vaccine,
                  "gunicorn": f"{args.workers} sync workers", "cpus": os.cpu_count()},
        "app": app, "reference": reference,
        "reference_kind": "pgbench, conditional UPDATE" if kind == "postgresql" else "sqlite3 threads, "
                                                                                     "conditional UPDATE",
        "ratio_throughput": round(app["per_second"] / reference["per_second"], 3),
        "target": f">= {TARGET_PER_SECOND} commits/s, exactly N successes, the rest 409 no_stock, no oversell",
        "targets_met": {"per_second": app["per_second"] >= TARGET_PER_SECOND,
                        "no_oversell": all(app["checks"].values())},
    }
    path = write_result(f"hot-lot-{kind}", result)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
