"""Production serving: ``vaxchain serve --production`` runs gunicorn with core/gunicorn_config.py, answers
``/health``, serves static files under versioned URLs cached for good and gzipped, and stops cleanly on
SIGTERM; the worker count and the database pool come from the environment."""
import gzip
import json
import runpy
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy.engine import make_url

from core import static_files
from core.config import load_settings
from core.db import db
from tests.reliability.conftest import children_of, free_port, server_environment

START_TIMEOUT = 60
STYLESHEET = Path(__file__).resolve().parent.parent / "core" / "static" / "vaxchain.css"


def fetch(url, headers=None):
    """``(status, headers, body)``; an error status is an answer too."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def production_server(test_database_url, tmp_path):
    """``vaxchain serve --production`` on a free port and the test's database, with 2 workers asked through
    VAXCHAIN_WORKERS; yields ``(base URL, process)``, killed at the end if the test did not stop it."""
    port = free_port()
    environment = {**server_environment(test_database_url, tmp_path / "instance"), "VAXCHAIN_WORKERS": "2"}
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", "serve",
                                    "--production", "--port", str(port)],
                                   stdout=output, stderr=subprocess.STDOUT, env=environment)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            fetch(url + "/health")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, f"no answer within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
    yield url, process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_production_server_is_healthy_serves_static_files_for_good_and_stops_on_sigterm(production_server):
    url, process = production_server
    deadline = time.monotonic() + START_TIMEOUT  # the first worker may answer before the master forked the second
    while len(children_of(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # and no third one comes
    assert len(children_of(process.pid)) == 2, "the command became gunicorn's master, with VAXCHAIN_WORKERS workers"

    status, headers, body = fetch(url + "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok", "schema": "current"})
    assert "Set-Cookie" not in headers

    _status, _headers, page = fetch(url + "/login")
    stylesheet = next(part.split('"')[0] for part in page.decode().split('href="') if ".css" in part.split('"')[0])
    assert stylesheet.startswith("/static/vaxchain.") and stylesheet != "/static/vaxchain.css"
    status, headers, body = fetch(url + stylesheet, {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
    assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == STYLESHEET.read_bytes()
    status, headers, body = fetch(url + stylesheet)
    assert (status, headers["Content-Encoding"], body) == (200, None, STYLESHEET.read_bytes())

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_health_is_503_naming_the_database_when_it_cannot_be_reached(make_app, test_database_url, tmp_path):
    url = make_url(test_database_url)
    if url.get_backend_name() == "postgresql":
        unreachable = url.set(port=free_port()).render_as_string(hide_password=False)  # nothing listens there
    else:
        (tmp_path / "not-a-file").mkdir()
        unreachable = f"sqlite:///{tmp_path / 'not-a-file'}"  # a folder: SQLite cannot open it
    response = make_app(SQLALCHEMY_DATABASE_URI=unreachable).test_client().get("/health")
    assert response.status_code == 503
    assert response.json == {"status": "failing", "database": "unreachable", "schema": "unknown"}


def test_health_is_503_when_the_schema_is_not_at_the_newest_migration(empty_app):
    response = empty_app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json == {"status": "failing", "database": "ok", "schema": "outdated"}


def test_health_is_public_uncached_and_never_rate_limited(client):
    answers = [client.get("/health") for _ in range(40)]
    assert {response.status_code for response in answers} == {200}
    assert answers[-1].headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answers[-1].headers


def test_every_static_file_of_every_module_has_a_versioned_url_cached_for_good(app, client):
    versions = app.extensions["vaxchain_static"]
    assert {endpoint for endpoint, _name in versions} >= {"static", "warehouse.static", "transport.static",
                                                          "injection.static"}
    for (endpoint, name), versioned in versions.items():
        with app.test_request_context():
            address = url_for(endpoint, filename=name)
        response = client.get(address)
        folder = app if endpoint == "static" else app.blueprints[endpoint.rpartition(".")[0]]
        assert address.endswith(versioned) and response.status_code == 200, address
        assert response.get_data() == (Path(folder.static_folder) / name).read_bytes()
        assert response.headers["Cache-Control"].endswith("immutable")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


def test_a_changed_file_gets_another_url_and_the_plain_name_is_cached_briefly(client):
    assert static_files.versioned_name("scan.js", b"a") != static_files.versioned_name("scan.js", b"b")
    assert static_files.versioned_name("lib/scan.js", b"a").startswith("lib/scan.")
    response = client.get("/static/vaxchain.css")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "max-age=300, public"
    response.close()


def load_gunicorn_config(monkeypatch, **environment):
    for name in ("VAXCHAIN_WORKERS", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module("core.gunicorn_config")


def test_the_worker_count_comes_from_the_environment_or_the_cores(monkeypatch):
    assert load_gunicorn_config(monkeypatch, VAXCHAIN_WORKERS="7", WEB_CONCURRENCY="5")["workers"] == 7
    assert load_gunicorn_config(monkeypatch, WEB_CONCURRENCY="5")["workers"] == 5
    settings = load_gunicorn_config(monkeypatch)
    assert settings["workers"] == settings["cores"]() + 1
    assert settings["worker_class"] == "sync" and "%(q)s" not in settings["access_log_format"]


def test_the_postgresql_pool_is_sized_from_the_environment(monkeypatch, make_app):
    monkeypatch.setenv("VAXCHAIN_DB_POOL_SIZE", "3")
    monkeypatch.setenv("VAXCHAIN_DB_MAX_OVERFLOW", "0")
    # the engine connects on first use only, so a server that is not there is fine here
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql://vaxchain@127.0.0.1:{free_port()}/vaxchain")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"]) == (3, 0)
    with app.app_context():
        assert db.engine.pool.size() == 3
    monkeypatch.delenv("VAXCHAIN_DB_POOL_SIZE")
    monkeypatch.delenv("VAXCHAIN_DB_MAX_OVERFLOW")
    options = load_settings(str(Path(app.instance_path)),
                            {"SQLALCHEMY_DATABASE_URI": "postgresql://u@h/db"})["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"], options["pool_pre_ping"]) == (2, 3, True)


def test_serve_refuses_debug_in_production_and_workers_without_it(runner):
    assert "--debug is for the development server" in runner.invoke(args=["serve", "--production", "--debug"]).output
    assert "--workers needs --production" in runner.invoke(args=["serve", "--workers", "2"]).output
