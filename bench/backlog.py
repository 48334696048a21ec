"""Backlog import of 1 000 000 rows (issue 6): the file from ``bench/backlog_file.py`` (16 columns, 2 % bad
rows) imported end to end by ``vaxchain``'s importer on SQLite and on PostgreSQL, each in its own process
(wall time and peak RSS), beside the bare read time of the same file by openpyxl (read-only) and by
python-calamine, and by the reader the importer uses, measured in the same run.

    python bench/backlog.py                          # 1 000 000 rows; SQLite and a throwaway PostgreSQL 15
    python bench/backlog.py --rows 100000 --skip-openpyxl
    python bench/backlog.py --database postgresql://postgres@127.0.0.1:PORT/postgres

The file is made once per row count and kept under bench/results/. Afterwards the database must hold
exactly what the summary says: the people and injections added, none for rejected rows.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import backlog_file, backlog_world  # noqa: E402
from bench.cluster import Cluster  # noqa: E402
from bench.common import RESULTS, fresh_database, machine, vaxchain, write_result  # noqa: E402

SECRET_KEY = "bench-" + "x" * 40


# --- Each measurement in its own process, reporting its time and peak RSS ---------------------------------

def child(what, path, url=None):
    """Run one measurement in a fresh interpreter; its JSON report."""
    command = [sys.executable, __file__, "--child", what, "--file", str(path)] + (["--database", url] if url else [])
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["wall_s"] = round(time.perf_counter() - started, 2)
    return report


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def read_openpyxl(path):
    from openpyxl import load_workbook
    book = load_workbook(path, read_only=True, data_only=True)
    return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1


def read_calamine(path):
    from python_calamine import CalamineWorkbook
    return sum(1 for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()) - 1


def read_chosen(path):
    from modules.injection.backlog.reader import open_sheet
    sheet = open_sheet(path, path.name)
    return sum(1 for _ in sheet.rows), sheet.reader


def import_file(path, url):
    """The importer end to end on a database seeded with the file's vaccines, lots and sites (``seed``)."""
    from core import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="vaxchain-bench-instance-")})
    with app.app_context():
        from sqlalchemy import func, select

        from core.access import EVERYWHERE
        from core.db import db
        from modules.injection.backlog import importer
        from modules.injection.models import BACKLOG, Injection, Person
        server = database_process(db)
        started = time.perf_counter()
        job, summary = importer.run(path, path.name, EVERYWHERE)
        seconds = time.perf_counter() - started
        server_cpu = cpu_of_process(server) if server else None
        people = db.session.scalar(select(func.count(Person.id)))
        injections = db.session.scalar(select(func.count(Injection.id)).where(Injection.source == BACKLOG))
        return {"seconds": round(seconds, 2), "rows_read": summary.rows_read, "imported": summary.rows_imported,
                "skipped": summary.rows_skipped, "rejected": summary.rows_rejected,
                "injections_added": summary.injections_added, "people_added": summary.people_added,
                "people_in_database": people, "injections_in_database": injections, "job_status": job.status,
                "rows_per_s": round(summary.rows_read / seconds), **cpu_seconds(),
                **({"database_server_cpu_s": server_cpu} if server_cpu is not None else {}),
                "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def database_process(db):
    """The pid of the PostgreSQL backend serving the import's connection when it runs on this machine (a
    third process on the same cores); ``None`` on SQLite. The import uses one connection throughout."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        return None
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.commit()
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def cpu_of_process(pid):
    """CPU seconds (user + system) of another process of this machine, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def cpu_seconds():
    """CPU time of the importer's process and of its checking process: on a shared machine wall time
    varies with the load, the work each process does does not."""
    main, worker = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"importer_cpu_s": round(main.ru_utime + main.ru_stime, 1), "importer_kernel_s": round(main.ru_stime, 1),
            "worker_cpu_s": round(worker.ru_utime + worker.ru_stime, 1)}


def seed(url):
    """A fresh ``vaxchain init`` database with the file's world (``bench/backlog_world.py``)."""
    from core import create_app
    from core.db import db

    instance = tempfile.mkdtemp(prefix="vaxchain-bench-instance-")
    subprocess.run([vaxchain(), "init", "--admin-password", "bench-password-2026"], check=True, capture_output=True,
                   env={**os.environ, "VAXCHAIN_DATABASE_URL": url, "VAXCHAIN_SECRET_KEY": SECRET_KEY,
                        "VAXCHAIN_INSTANCE_PATH": instance})
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": instance})
    with app.app_context():
        backlog_world.seed()
        return machine(db.engine)


def run_child(what, path, url):
    if what == "openpyxl":
        report = {"rows": read_openpyxl(path)}
    elif what == "calamine":
        report = {"rows": read_calamine(path)}
    elif what == "seed":
        report = {"machine": seed(url)}
    elif what == "chosen":
        rows, reader = read_chosen(path)
        report = {"rows": rows, "reader": reader}
    else:
        report = import_file(path, url)
    report["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(report))


# --- The run ----------------------------------------------------------------------------------------------

def the_file(rows):
    path = RESULTS / "files" / f"backlog-{rows}.xlsx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        backlog_file.write(path, rows)
        print(f"made {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def expected_rejections(rows):
    return sum(1 for number in range(1, rows + 1) if number % 50 == 25)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: a throwaway cluster)")
    parser.add_argument("--skip-openpyxl", action="store_true", help="openpyxl reads about 7 000 rows/s")
    parser.add_argument("--skip-calamine", action="store_true", help="calamine holds the whole sheet in memory")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--import-only", action="store_true", help="no bare reads, only the imports")
    parser.add_argument("--child")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        return run_child(args.child, args.file, args.database)

    path = the_file(args.rows)
    result = {"rows": args.rows, "file_mb": round(path.stat().st_size / 1e6, 1), "read": {}, "import": {}}
    readers = ["chosen"] + ([] if args.skip_calamine else ["calamine"]) + ([] if args.skip_openpyxl else ["openpyxl"])
    for reader in [] if args.import_only else readers:
        result["read"][reader] = child(reader, path)
        print(reader, result["read"][reader], file=sys.stderr)
    for database in ("sqlite", "postgresql"):
        if args.only and database != args.only:
            continue
        cluster = None
        if database == "postgresql" and not args.database:
            cluster = Cluster(fsync="on")
        try:
            url, drop = fresh_database("sqlite" if database == "sqlite" else args.database or cluster.url)
            try:
                facts = child("seed", path, url)["machine"]
                report = child("import", path, url)
                report["machine"] = facts
            finally:
                drop()
        finally:
            if cluster:
                cluster.stop()
        report["rejected_expected"] = expected_rejections(args.rows)
        result["import"][database] = report
        print(database, report, file=sys.stderr)
    print(write_result("backlog", result))


if __name__ == "__main__":
    main()
