"""Shared plumbing for benchmarks: a fresh database, machine facts, timing and the results file."""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The runner (bench/run.py) may send a run's results elsewhere, and asks to be told each file written.
RESULTS = Path(os.environ.get("VAXCHAIN_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
RUN_LOG = "VAXCHAIN_BENCH_RUN_LOG"


def fresh_database(server_url):
    """A new empty database: a temp SQLite file, or a new database on the PostgreSQL server given."""
    if not server_url or server_url == "sqlite":
        folder = tempfile.mkdtemp(prefix="vaxchain-bench-")
        return f"sqlite:///{folder}/bench.sqlite3", lambda: shutil.rmtree(folder, ignore_errors=True)
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"vaxchain_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def gtin_of(presentation):
    """The presentation's GTIN, after giving it one if it has none (GS1's restricted-circulation prefix 02, a
    valid check digit): benchmarks receive their lots by GTIN, as a warehouse does. Call in an app context."""
    from modules.lots.gs1 import gtin_check_digit
    from modules.lots.models import Gtin

    if not presentation.gtins:
        body = f"02{presentation.id:011d}"
        presentation.gtins.append(Gtin(gtin=body + gtin_check_digit(body)))
    return presentation.gtins[0].gtin


def machine(engine):
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            version = connection.exec_driver_sql("SHOW server_version").scalar()
        else:
            version = connection.exec_driver_sql("SELECT sqlite_version()").scalar()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "database": f"{engine.dialect.name} {version}", "commit": git_commit()}


def vaxchain():
    """The ``vaxchain`` command of this interpreter's environment."""
    beside = Path(sys.executable).parent / "vaxchain"
    return str(beside) if beside.exists() else "vaxchain"


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def timed(function, repeat):
    """Run ``function`` ``repeat`` times; seconds per run."""
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        durations.append(time.perf_counter() - started)
    return durations


def percentiles(durations):
    ordered = sorted(durations)

    def pick(p):
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    return {"p50_ms": round(pick(50), 3), "p90_ms": round(pick(90), 3), "p95_ms": round(pick(95), 3),
            "p99_ms": round(pick(99), 3), "mean_ms": round(statistics.fmean(ordered) * 1000, 3), "n": len(ordered)}


def write_result(name, result):
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    if os.environ.get(RUN_LOG):
        with open(os.environ[RUN_LOG], "a", encoding="utf-8") as log:
            log.write(f"{path}\n")
    return path
