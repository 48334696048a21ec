"""vaxchain's pytest fixtures: a fresh app per test on SQLite (default) or PostgreSQL.

They ship with vaxchain, so a plugin's tests use the same ones: load them with ``pytest_plugins =
["core.testing"]`` in a top-level ``conftest.py`` (vaxchain's own ``tests/conftest.py`` does).

Set ``VAXCHAIN_TEST_DATABASE_URL`` to a PostgreSQL server URL (any existing database, e.g.
``postgresql://postgres@127.0.0.1:5433/postgres``) to run the tests there: a template database is migrated
once per session and cloned (CREATE DATABASE ... TEMPLATE) for every test. On SQLite the migrated database
file is built once and copied for every test.
"""
import os
import re
import shutil
import sqlite3
import threading
import uuid
from contextlib import closing, contextmanager

import pytest
from argon2 import PasswordHasher, profiles
from flask.testing import FlaskCliRunner
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.routing import Rule
from werkzeug.serving import make_server

import translations
from core import create_app, passwords, roles, schema
from core.accounts import create_user
from core.cli import cli as vaxchain_cli
from core.db import db
from core.serving import PathOnlyRequestHandler

SERVER_URL = os.environ.get("VAXCHAIN_TEST_DATABASE_URL")
PASSWORD = "correct-horse-battery-9"
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pytest_sessionstart(session):
    translations.compile_catalogs()


# argon2id at its production cost (RFC 9106 low-memory: 64 MiB, 3 passes) takes 0.4-0.5 s a hash on a 2-core
# machine, and the suite creates and logs in thousands of users: that was 40 % of its time. The tests' own
# process hashes at argon2id's lowest cost instead (still argon2id, still salted); the production parameters are
# checked in tests/test_auth.py, and servers the tests start in another process (gunicorn) use them.
PRODUCTION_HASHER = passwords._hasher


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", hasher)
        patch.setattr(passwords, "_DUMMY_HASH", hasher.hash("no such user: dummy password"))
        yield


def pytest_report_header(config):
    return f"vaxchain database: {'PostgreSQL ' + SERVER_URL if SERVER_URL else 'SQLite'}"


def pg_url(database):
    url = make_url(SERVER_URL).set(drivername="postgresql+psycopg", database=database)
    return url.render_as_string(hide_password=False)


class PostgresDatabases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self):
        self.admin = create_engine(pg_url(make_url(SERVER_URL).database or "postgres"),
                                   isolation_level="AUTOCOMMIT")

    def create(self, template=None):
        name = f"vaxchain_test_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        return name

    def drop(self, name):
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres():
    if not SERVER_URL:
        yield None
        return
    databases = PostgresDatabases()
    yield databases
    databases.admin.dispose()


def migrate(url, instance):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "SECRET_KEY": "x" * 32})
    with app.app_context():
        schema.upgrade()
        db.engine.dispose()
    if url.startswith("sqlite:///"):  # fold the WAL into the file, so copying the file copies everything
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory, postgres):
    """A database at the newest schema (with the migrations' seed data), made once per session:
    a file copied for each test on SQLite, a template database cloned for each test on PostgreSQL."""
    folder = tmp_path_factory.mktemp("template")
    if postgres:
        name = postgres.create()
        migrate(pg_url(name), str(folder / "instance"))
        yield name
        postgres.drop(name)
    else:
        path = folder / "template.sqlite3"
        migrate(f"sqlite:///{path}", str(folder / "instance"))
        yield path


@pytest.fixture
def empty_database_url(tmp_path, postgres):
    """A database with no tables at all, for tests of migrations and `vaxchain init`."""
    if postgres:
        name = postgres.create()
        yield pg_url(name)
        postgres.drop(name)
    else:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"


@pytest.fixture
def test_database_url(migrated_database, postgres, tmp_path):
    """This test's own copy of the migrated database."""
    if postgres:
        name = postgres.create(template=migrated_database)
        yield pg_url(name)
        postgres.drop(name)
    else:
        copy = tmp_path / "vaxchain.sqlite3"
        shutil.copyfile(migrated_database, copy)
        yield f"sqlite:///{copy}"


# Every test builds its own app, which a server does once: werkzeug compiles a URL builder (Python source) for
# each of ~110 routes (0.1 s an app) and Jinja compiles each template again. Both are compiled once per run here.
class TemplatesCompiledOnce(BytecodeCache):
    """Jinja's own cache of compiled templates, kept in memory; checked against each template's source."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = TemplatesCompiledOnce()


@pytest.fixture(scope="session", autouse=True)
def url_builders_compiled_once():
    compile_builder, builders = Rule._compile_builder, {}

    def compiled_once(rule, append_unknown=True):
        # What the generated builder depends on; converters are looked up through the rule at call time.
        key = (rule.rule, rule.subdomain, rule.host, rule.map.host_matching, rule.merge_slashes,
               repr(sorted((rule.defaults or {}).items())), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", compiled_once)
        yield


@pytest.fixture
def make_app(test_database_url, tmp_path):
    """Build an app on this test's own copy of the migrated database.

    ``make_app(plugins=[("name", plugin_object)], **config)`` registers plugins for this test only.
    """
    made = []

    def build(plugins=(), **config):
        settings = {"TESTING": True, "SECRET_KEY": "test-secret-key-" + "x" * 32,
                    "SQLALCHEMY_DATABASE_URI": test_database_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                    "VAXCHAIN_EXTRA_PLUGINS": list(plugins)}
        settings.update(config)
        app = create_app(settings)
        app.jinja_env.bytecode_cache = TEMPLATES
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def empty_app(empty_database_url, make_app):
    """An app on a database without any table, for tests of migrations and `vaxchain init`."""
    return make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)


@pytest.fixture
def live_server(app):
    """The test's app served by a real threaded HTTP server on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=PathOnlyRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def client(app):
    return app.test_client()


class VaxchainCliRunner(FlaskCliRunner):
    """Invokes the ``vaxchain`` command line (not only ``app.cli``) against the test's app."""

    def invoke(self, cli=None, args=None, **kwargs):
        return super().invoke(cli or vaxchain_cli, args, **kwargs)


@pytest.fixture
def runner(app):
    return VaxchainCliRunner(app)


@pytest.fixture
def make_user(app):
    """Create a user with a role (password: ``PASSWORD``); returns its username."""

    def create(role, username=None, **kwargs):
        with app.app_context():
            user = create_user(username or f"{role.replace('_', '')}{uuid.uuid4().hex[:6]}", PASSWORD, role,
                               **kwargs)
            db.session.commit()
            return user.username

    return create


def csrf_token(client, url="/login"):
    """The CSRF token a page of ours carries (what a browser would submit)."""
    page = client.get(url)
    match = CSRF_FIELD.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@contextmanager
def recorded_statements(app):
    """The SQL statements the app's database engine sends inside the block, in order: a list filled as they
    go, for tests that pin what a hot request costs (a query in a loop or a lazy load shows as more)."""
    with app.app_context():
        engine = db.engine
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def log_in(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


@pytest.fixture
def login_as(client, make_user):
    """Log the test client in as a new user of ``role`` through the real login form; returns the username."""

    def login(role, **kwargs):
        username = make_user(role, **kwargs)
        response = log_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return username

    return login


ALL_ROLES = roles.ALL
