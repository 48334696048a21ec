"""A real server for reliability tests: gunicorn with several worker processes (each with threads) serving
the test's own database, as production runs it, so that concurrent requests meet in the database, not in
one Python process.

    def test_something(app, gunicorn_server):
        server = gunicorn_server()              # 4 workers × 4 threads on a free port
        status, body = server.post("/api/v1/adjustments", token, {...})
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.db import db
from core.tokens import create_token

SECRET_KEY = "test-secret-key-" + "x" * 32  # the `app` fixture's, so both sides sign alike
START_TIMEOUT = 60


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(database_url, instance):
    """What ``vaxchain`` reads from the environment to serve (or import into) the test's database."""
    return {**os.environ, "VAXCHAIN_DATABASE_URL": database_url, "VAXCHAIN_SECRET_KEY": SECRET_KEY,
            "VAXCHAIN_INSTANCE_PATH": str(instance), "PYTHONPATH": os.pathsep.join(sys.path)}


@dataclass
class Server:
    """A running gunicorn: its base URL, master process and log (where retried transactions are told)."""

    url: str
    process: subprocess.Popen
    log: Path

    def request(self, method, path, token=None, body=None, headers=None, timeout=120):
        """``(status, JSON body)`` of one request; an error status is an answer too, not an exception."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            content = error.read()
            try:
                return error.code, json.loads(content)
            except ValueError:
                return error.code, {"raw": content.decode(errors="replace")}

    def post(self, path, token, body, headers=None):
        return self.request("POST", path, token, body, headers)

    def get(self, path, token=None):
        return self.request("GET", path, token)

    def workers(self):
        """The worker processes' ids (children of the master)."""
        return [int(pid) for pid in children_of(self.process.pid)]

    def log_text(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # quick shutdown: nothing is left to finish
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def children_of(pid):
    """Ids of the live processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.append(stat.parent.name)
    return found


def wait_until_serving(server):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/api/v1/openapi.json", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{server.log_text()[-3000:]}")


@pytest.fixture
def gunicorn_server(test_database_url, tmp_path):
    """Start gunicorn as in production (``core/gunicorn_config.py``, access and error logs in ``Server.log`` at
    debug level) on the test's database (or ``database_url``) and instance folder; stopped at the end.
    ``gunicorn_server(workers=4, threads=4)`` returns a :class:`Server`."""
    started = []

    def start(workers=4, threads=4, database_url=None):
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        command = [sys.executable, "-m", "gunicorn", "-c", "python:core.gunicorn_config", "--workers", str(workers),
                   "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--timeout", "120",
                   "--graceful-timeout", "1", "--error-logfile", "-", "--access-logfile", "-", "--log-level", "debug",
                   "--no-control-socket", "core.app:create_app()"]
        with log.open("wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                       env=server_environment(database_url or test_database_url, tmp_path / "instance"))
        server = Server(f"http://127.0.0.1:{port}", process, log)
        started.append(server)
        wait_until_serving(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def token_for(app):
    """A bearer token's secret for a user (call inside the app context, before the server takes over)."""

    def make(user):
        _token, secret = create_token(user)
        db.session.commit()
        return secret

    return make
