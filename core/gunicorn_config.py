"""gunicorn settings for vaxchain, as ``vaxchain serve --production`` runs it:
``gunicorn -c python:core.gunicorn_config "core.app:create_app()"``.

Any setting can still be given on the command line or in ``GUNICORN_CMD_ARGS``, which win over these.
docs/operations.md explains the choices and how to size them.
"""
import os
import threading

from core.db import db


def cores():
    """The cores this process may run on (its CPU affinity: a container or ``taskset`` may allow fewer)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count():
    for name in ("VAXCHAIN_WORKERS", "WEB_CONCURRENCY"):
        if os.environ.get(name):
            return int(os.environ[name])
    # Measured on 2 cores: 3 sync workers serve more than 2 (one computes while another waits on PostgreSQL),
    # and 4 or 5 no more than 3.
    return cores() + 1


proc_name = "vaxchain"
workers = worker_count()
worker_class = "sync"  # one request at a time per process: no shared state, a small database pool each
# Load the app once in the master, then fork: workers start in milliseconds (also when one is replaced) and
# share its memory. Each drops the master's database connections (post_fork) so none is shared.
preload_app = True
timeout = 120  # a request silent this long (a large national export at most) has its worker killed, replaced
graceful_timeout = 30  # on a stop or reload, what workers may take to finish the requests under way
# Replace each worker after about this many requests, at staggered moments, so that memory a library leaks
# or fragments is given back.
max_requests = 10000
max_requests_jitter = 1000
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # the workers' heartbeat files: on a disk, a slow disk stalls them
# Which peers' X-Forwarded-Proto is believed (the app's own ProxyFix, VAXCHAIN_PROXY_COUNT, does the rest):
# nginx on the same machine by default.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"  # standard output: the journal, under systemd
# The access log names the path (%(U)s), never the query string (%(q)s / %(r)s would hold it): searches
# carry national IDs and phone numbers there (see core/serving.py).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'


def flask_app(server):
    return server.app.wsgi()


def when_ready(server):
    """In the master, once the app is loaded: work out the migrations /health compares with, so every
    worker inherits them instead of reading the scripts itself."""
    from core import health

    with flask_app(server).app_context():
        health.expected_revisions()


def post_fork(server, worker):
    """In a new worker: forget the connections inherited from the master (they stay the master's)."""
    with flask_app(server).app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def post_request(worker, req, environ, resp):
    """A worker due for replacement (max_requests) that runs a backlog import in the background (a daemon
    thread of the app's) keeps serving until the import ends, instead of taking it down with it."""
    due = not worker.alive and worker.nr >= worker.max_requests
    if due and any(thread.daemon and thread.is_alive() for thread in threading.enumerate()):
        worker.alive = True
        worker.max_requests = worker.nr + 1  # asked again after the next request
