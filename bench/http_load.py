"""What the HTTP benchmarks (registration, hot lot) share: the database set up through the app's services,
gunicorn serving it, illustrative new people, the load generator's process with its CPU recorded, and the
checks afterwards. SQLite (a file) or PostgreSQL alike."""
import http.client
import os
import queue
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy import bindparam, create_engine, text

from bench.common import gtin_of, machine, percentiles, vaxchain

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-" + "x" * 40
PASSWORD = "bench-password-2026"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = {"male": ["Văn", "Hữu", "Đức", "Minh", "Quang"], "female": ["Thị", "Ngọc", "Thu", "Thanh", "Mai"]}
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hùng", "Lan", "Linh", "Nam", "Phương", "Sơn", "Tâm"]


# --- The database and the server -----------------------------------------------------------------------

def environment(url):
    """The environment of ``vaxchain`` commands and gunicorn for this database, with its own instance folder."""
    return {**os.environ, "VAXCHAIN_DATABASE_URL": url, "VAXCHAIN_SECRET_KEY": SECRET_KEY,
            "VAXCHAIN_INSTANCE_PATH": tempfile.mkdtemp(prefix="vaxchain-bench-instance-")}


def initialise(env):
    subprocess.run([vaxchain(), "init", "--admin-password", PASSWORD], env=env, check=True, capture_output=True)


def seed(url, sites, doses_per_site, vaccine, lot_number):
    """A national store, a province, a district and ``sites`` sites; one lot received nationally and
    ``doses_per_site`` shipped to every site; a site staff user and token per site. What the clients need."""
    from core import create_app, roles
    from core.accounts import create_user
    from core.clock import local_today
    from core.db import db
    from core.tokens import create_token
    from modules.lots import services as lots
    from modules.warehouse import ledger, locations, services
    from modules.warehouse.models import DISTRICT, NATIONAL, PROVINCE, SITE

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="vaxchain-bench-instance-")})
    with app.app_context():
        presentation = lots.presentation_by_code(vaccine)
        national = locations.create_location("KHO-QG", "Kho vắc xin quốc gia", NATIONAL)
        province = locations.create_location("KHO-HN", "Kho tỉnh Hà Nội", PROVINCE, national)
        district = locations.create_location("KHO-BD", "Kho quận Ba Đình", DISTRICT, province)
        line = services.ReceiptLine(gtin=gtin_of(presentation), lot=lot_number, doses=sites * doses_per_site,
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
        world = {"lot_id": lot.id, "lot": lot_number, "vaccine": vaccine, "clients": clients,
                 "presentation_id": presentation.id, "consumed_id": locations.virtual("consumed").id}
        db.session.commit()
        db.session.close()  # SQLite: its write lock is released before the next connection begins
        world["facts"] = machine(db.engine)
        db.engine.dispose()
    return world


def start_gunicorn(env, port, workers, worker_class="sync", threads=1):
    log = Path(env["VAXCHAIN_INSTANCE_PATH"]) / "gunicorn.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
         "--worker-class", worker_class, "--keep-alive", "60", "--bind", f"127.0.0.1:{port}", "core:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    wait_until_serving(port, server)
    return server


def stop(server):
    if server is not None and server.poll() is None:
        server.terminate()
        server.wait(timeout=30)


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


def post(connection, path, body, headers):
    """The status of one POST (and its body), or "connection error" after which the connection is renewed."""
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        connection.close()
        return "connection error", b""


# --- People --------------------------------------------------------------------------------------------

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


# --- The load generator's process and what it cost -----------------------------------------------------

def merge(per_thread, cpu):
    """One outcome from the threads' (latencies, {status: count}, created) and the process's CPU seconds."""
    latencies = [took for part in per_thread for took in part[0]]
    statuses = {}
    for part in per_thread:
        for status, count in part[1].items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    return {"latencies": latencies, "statuses": statuses, "created_total": sum(part[2] for part in per_thread),
            "cpu_s": cpu}


def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def postgres_processes(url):
    """A function listing the server's backends, when the server runs on this machine and its data folder
    is readable (the postmaster.pid file); otherwise one listing none, and PostgreSQL's CPU reads 0."""
    if not url.startswith("postgresql"):
        return lambda: []
    engine = create_engine(url)
    with engine.connect() as connection:
        folder = connection.exec_driver_sql("SHOW data_directory").scalar()
    engine.dispose()
    try:
        postmaster = int((Path(folder) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return lambda: []
    return lambda: children(postmaster)


def machine_busy():
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_phase(target, args, server_pids, database_pids, duration=None, success="201"):
    """Run a load function in its own process; CPU seconds, during the measured part, of the app server,
    of the database server, of the load generator and of everything else on the machine (other users' work).

    ``target(*args, measuring, results, release)`` sets ``measuring`` when its measured part starts, puts its
    ``merge``d outcome (with ``seconds`` when the phase has no fixed ``duration``) and waits for ``release``."""
    context = get_context("spawn")
    measuring, results, release = context.Event(), context.Queue(), context.Event()
    process = context.Process(target=target, args=(*args, measuring, results, release))
    process.start()
    measuring.wait()
    server, database = server_pids(), database_pids()
    server_before, database_before, busy_before = process_cpu(server), process_cpu(database), machine_busy()
    started = time.perf_counter()
    outcome = None
    while outcome is None:
        try:
            outcome = results.get(timeout=5)
        except queue.Empty:
            if not process.is_alive():  # a client raised: say so rather than wait for ever
                raise RuntimeError(f"the load process exited ({process.exitcode}) without results") from None
    elapsed = time.perf_counter() - started
    server_after, busy_after = process_cpu(server), machine_busy()
    database_after = process_cpu(database)
    release.set()
    process.join()
    latencies = outcome.pop("latencies")
    ok = outcome["statuses"].get(success, 0)
    cpu = {"app_server": server_after - server_before, "database_server": database_after - database_before,
           "load_generator": outcome.pop("cpu_s"),
           "whole_machine": (busy_after[0] - busy_before[0]) / os.sysconf("SC_CLK_TCK")}
    cpu["other_processes"] = (cpu["whole_machine"] - cpu["app_server"] - cpu["database_server"]
                              - cpu["load_generator"])
    seconds = duration or outcome["seconds"]
    return {**outcome, "per_second": round(ok / seconds, 1), "elapsed_s": round(elapsed, 1),
            "latency": percentiles(latencies) if latencies else None,
            "cpu_seconds": {name: round(value, 1) for name, value in cpu.items()},
            "cpu_ms_per_success": {name: round(value * 1000 / max(1, ok), 2) for name, value in cpu.items()}}


# --- Checks --------------------------------------------------------------------------------------------

def counts(url, world):
    """(injections in the database, doses of the lot left at the clients' sites)."""
    engine = create_engine(url)
    site_ids = [client["site_id"] for client in world["clients"]]
    with engine.connect() as connection:
        injections = connection.execute(text("SELECT count(*) FROM injection_injection")).scalar()
        doses = connection.execute(
            text("SELECT coalesce(sum(doses), 0) FROM warehouse_balance WHERE lot_id = :lot AND location_id IN :sites")
            .bindparams(bindparam("sites", expanding=True)), {"lot": world["lot_id"], "sites": site_ids}).scalar()
    engine.dispose()
    return injections, doses


def stock_check(env):
    done = subprocess.run([vaxchain(), "stock", "check"], env=env, capture_output=True, text=True)
    return done.returncode == 0, (done.stdout + done.stderr).strip()[-500:]


def loadavg():
    return Path("/proc/loadavg").read_text().split()[0]
