"""Crashes in the middle of a large backlog import: the server's worker killed with SIGKILL, the PostgreSQL
server restarted. Afterwards the job says what happened ("interrupted", "failed"), no checking process is
left behind, and importing the same file again gives exactly the file's people and doses, none twice."""
import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from bench import backlog_file, backlog_world
from bench.cluster import PG_BIN, Cluster
from core import create_app, roles
from core.access import EVERYWHERE
from core.db import db, utcnow
from core.models import User
from core.tokens import create_token
from modules.injection.backlog import checking, importer
from modules.injection.models import BACKLOG, ImportJob, Injection, Person
from tests.conftest import PASSWORD, SERVER_URL, migrate
from tests.reliability.conftest import SECRET_KEY, children_of, server_environment
from tests.warehouse.helpers import user_at

# 9 chunks of 2 000 to 3 906 (checking's chunks grow with the rows done): long enough to stop in the middle,
# short enough to keep the suite fast
ROWS = 20_000
CHUNK = checking.FIRST_CHUNK_ROWS
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
EXPECTED = {}  # the file's outcome on a fresh database (people, doses), found once by a dry run


@pytest.fixture(scope="session")
def backlog_csv(tmp_path_factory):
    """The benchmark's file (16 columns, 2 % bad rows) as CSV, typed as a site would; over 1 MB, so it is
    checked in a process of its own."""
    path = tmp_path_factory.mktemp("backlog") / "so-tiem-hoi-cuu.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream)
        out.writerow(backlog_file.HEADERS)
        for values in backlog_file.rows(ROWS):
            out.writerow([value.strftime("%d/%m/%Y") if isinstance(value, date) else value for value in values])
    return path


def seed_backlog_world():
    """The benchmark's world (``bench/backlog_world.py``); staff over its district. Call in an app context."""
    return user_at(roles.SITE_STAFF, backlog_world.seed(), "nhap.lieu").username


def expected_outcome(path):
    """(people, doses) the file adds to a database holding none: a dry run's count. Call in an app context."""
    if path not in EXPECTED:
        _job, summary = importer.run(path, path.name, EVERYWHERE, dry_run=True)
        EXPECTED[path] = (summary.people_added, summary.injections_added)
    return EXPECTED[path]


def recorded():
    """(people, backlog doses, distinct (person, dose number)) in the database."""
    doses = select(Injection.person_id, Injection.dose_number).where(Injection.source == BACKLOG).distinct()
    return (db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(Injection.id)).where(Injection.source == BACKLOG)),
            db.session.scalar(select(func.count()).select_from(doses.subquery())))


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def checking_processes(parent_pid):
    """The backlog checking processes started by ``parent_pid``."""
    return [pid for pid in children_of(parent_pid) if b"backlog.worker" in command_line(pid)]


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def gone(pids):
    return all(not importer.process_alive(int(pid)) for pid in pids)


# --- A restart that keeps the hostname ------------------------------------------------------------------------

def test_a_job_whose_pid_lives_on_this_host_but_which_is_silent_past_the_stale_window_is_interrupted(app):
    """A container restarted under the same hostname starts its pids again: another process may now hold the
    dead import's pid. The job's silence tells it apart from a live import, which beats with every chunk."""
    pid_in_use = os.getppid()  # a process of this host, alive, and not this one
    assert importer.process_alive(pid_in_use)
    quiet = {"heard from a minute ago": timedelta(minutes=1),
             "silent past the window": importer.STALE_AFTER + timedelta(minutes=1)}
    with app.app_context():
        jobs = {}
        for name, silence in quiet.items():
            then = utcnow() - silence
            jobs[name] = ImportJob(filename="so-tiem.xlsx", file_sha256="0" * 64, heartbeat_at=then, created_at=then,
                                   owner=f"{socket.gethostname()}:{pid_in_use}")
            db.session.add(jobs[name])
        db.session.commit()
        importer.settle_interrupted(list(jobs.values()))
        assert {name: job.status for name, job in jobs.items()} == {
            "heard from a minute ago": "running", "silent past the window": "interrupted"}


# --- kill -9 of the gunicorn worker running a web import ----------------------------------------------------

class Browser:
    """A site's staff member on the import pages, with a session cookie and the forms' CSRF tokens."""

    def __init__(self, base, username):
        self.base, self.session = base, requests.Session()
        self.session.headers["Connection"] = "close"  # a kept-alive connection would die with its worker
        login = self.session.post(f"{base}/login", data={"username": username, "password": PASSWORD,
                                                          "csrf_token": self.token("/login")},
                                  allow_redirects=False)
        assert login.status_code == 302, login.text

    def token(self, path):
        return CSRF_FIELD.search(self.session.get(self.base + path).text).group(1)

    def upload(self, path):
        with path.open("rb") as stream:
            answer = self.session.post(f"{self.base}/imports", data={"csrf_token": self.token("/imports")},
                                       files={"file": (path.name, stream, "text/csv")}, allow_redirects=False)
        assert answer.status_code == 303, answer.text[:2000]
        return int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def status(self, job_id):
        return self.session.get(f"{self.base}/imports/{job_id}/status.json").json()


def job_row(app, job_id):
    with app.test_request_context():  # a GET's context: on SQLite a reader, not queued behind the import's writes
        found = db.session.get(ImportJob, job_id)
        return found.status, found.rows_read, found.owner


def test_a_web_import_whose_worker_is_killed_is_shown_interrupted_and_importing_again_completes_it_exactly(
        app, gunicorn_server, backlog_csv):
    with app.app_context():
        staff = seed_backlog_world()
        people, doses = expected_outcome(backlog_csv)
    server = gunicorn_server(workers=2, threads=2)
    browser = Browser(server.url, staff)
    first = browser.upload(backlog_csv)
    started = time.perf_counter()
    _status, rows_read, owner = wait_for(lambda: (row := job_row(app, first))[1] >= CHUNK and row, 120,
                                         "a chunk imported")
    worker = int(owner.rsplit(":", 1)[1])
    assert worker in server.workers()
    checkers = checking_processes(worker)
    assert checkers, "the file is checked ahead in a process of its own, still at work"
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: gone([worker]), 30, "the killed worker to be reaped")

    assert browser.status(first)["status"] == "interrupted"
    status, kept, _owner = job_row(app, first)
    assert status == "interrupted" and CHUNK <= kept < ROWS, (status, kept)
    wait_for(lambda: gone(checkers), 30, "the killed worker's checking process to end")
    again = browser.upload(backlog_csv)
    finished = wait_for(lambda: (answer := browser.status(again))["status"] != "running" and answer, 180,
                        "the second import")
    print(f"\nkill -9 after {kept} of {ROWS} rows ({time.perf_counter() - started:.1f} s in); re-import: "
          f"{finished['rows_imported']} imported, {finished['rows_skipped']} skipped")
    assert finished["status"] == "done" and finished["rows_skipped"] > 0  # what was in is not added again
    with app.app_context():
        assert recorded() == (people, doses, doses)


# --- PostgreSQL restarted in the middle of a command-line import -------------------------------------------

@pytest.fixture
def own_postgres():
    """A throwaway PostgreSQL cluster of this test's own (restarting the suite's would break other tests)."""
    if not SERVER_URL:
        pytest.skip("runs on PostgreSQL only (set VAXCHAIN_TEST_DATABASE_URL)")
    if not (PG_BIN / "initdb").exists() or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip(f"needs PostgreSQL's server programs in {PG_BIN} to run a cluster of its own")
    cluster = Cluster(fsync="off")
    yield cluster
    cluster.stop()


def restart(cluster):
    cluster.run(PG_BIN / "pg_ctl", "-D", cluster.data, "-l", cluster.folder / "log", "-m", "fast", "-w", "restart")


def import_command(path, environment):
    return subprocess.Popen(["vaxchain", "import", "injections", str(path)], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_import_through_a_postgresql_restart_fails_clearly_and_importing_again_completes_it_exactly(
        own_postgres, backlog_csv, tmp_path, gunicorn_server):
    url = own_postgres.url.rsplit("/", 1)[0] + "/vaxchain"
    with create_engine(own_postgres.url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text("CREATE DATABASE vaxchain"))
    migrate(url, str(tmp_path / "instance"))
    local = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                        "INSTANCE_PATH": str(tmp_path / "instance")})
    with local.app_context():
        staff = db.session.scalar(select(User).filter_by(username=seed_backlog_world()))
        _token, secret = create_token(staff)
        db.session.commit()
        people, doses = expected_outcome(backlog_csv)
        db.session.remove()
        db.engine.dispose()
    environment = server_environment(url, tmp_path / "instance")
    server = gunicorn_server(workers=2, threads=1, database_url=url)
    assert all(server.get("/api/v1/locations", secret)[0] == 200 for _ in range(4))
    watcher = create_engine(url, pool_pre_ping=True)

    def progress():
        with watcher.connect() as connection:
            return connection.execute(text("SELECT id, status, rows_read FROM injection_import_job "
                                           "ORDER BY id DESC LIMIT 1")).first()

    command = import_command(backlog_csv, environment)
    try:
        job_id, _status, rows_read = wait_for(lambda: (row := progress()) and row.rows_read >= 2 * CHUNK and row,
                                              120, "two chunks imported")
        checkers = checking_processes(command.pid)
        assert checkers, "the file is checked ahead in a process of its own, still at work"
        watcher.dispose()
        restart(own_postgres)
        _out, err = command.communicate(timeout=90)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 1 and "Traceback" not in err, err
    assert "connection to the database was lost" in err
    print(f"\nthe command said: {err.strip().splitlines()[-1]}")
    wait_for(lambda: gone(checkers), 30, "the checking process to end")
    with watcher.connect() as connection:
        status, message, kept = connection.execute(text(
            "SELECT status, message, rows_read FROM injection_import_job WHERE id = :id"), {"id": job_id}).one()
    assert status == "failed" and "database" in message and rows_read <= kept < ROWS
    # the server's workers drop their dead connections and carry on (pool_pre_ping)
    assert [server.get("/api/v1/locations", secret)[0] for _ in range(6)] == [200] * 6

    again = subprocess.run(["vaxchain", "import", "injections", str(backlog_csv)], env=environment,
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]
    print(f"\nPostgreSQL restarted after {kept} of {ROWS} rows; re-import: {again.stdout.splitlines()[2]}")
    local = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                        "INSTANCE_PATH": str(tmp_path / "instance")})
    with local.app_context():
        assert recorded() == (people, doses, doses)
        assert [job.status for job in db.session.scalars(select(ImportJob).order_by(ImportJob.id))] == [
            "failed", "done"]
        db.session.remove()
        db.engine.dispose()
    watcher.dispose()
