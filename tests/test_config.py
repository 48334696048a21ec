"""Settings: a bad database URL stops start-up with a clear message, the secret key lives in the
instance folder, and SQLite connections are tuned for several writers."""
import os
import stat

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core import create_app
from core.config import ConfigError, load_settings
from core.db import db

ON_POSTGRESQL = bool(os.environ.get("VAXCHAIN_TEST_DATABASE_URL"))
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite pragmas: the suite runs on PostgreSQL")


@pytest.fixture
def start_with_database_url(tmp_path, monkeypatch):
    """Start an app the way the command line does, with VAXCHAIN_DATABASE_URL set to ``url``."""

    def start(url):
        monkeypatch.setenv("VAXCHAIN_DATABASE_URL", url)
        return create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k" * 32})

    return start


@pytest.fixture
def no_secret_key_setting(monkeypatch):
    monkeypatch.delenv("VAXCHAIN_SECRET_KEY", raising=False)


# --- VAXCHAIN_DATABASE_URL ----------------------------------------------------------------------

def test_garbage_database_url_is_refused(start_with_database_url):
    with pytest.raises(ConfigError) as refused:
        start_with_database_url("the usual server")

    message = str(refused.value)
    assert "VAXCHAIN_DATABASE_URL is not a database URL" in message
    assert "'the usual server'" in message
    assert "postgresql://" in message  # says what is expected


def test_unsupported_database_is_refused_naming_it(start_with_database_url):
    with pytest.raises(ConfigError) as refused:
        start_with_database_url("mysql://vax:secret@db.example/vaxchain")

    message = str(refused.value)
    assert "VAXCHAIN_DATABASE_URL" in message
    assert "'mysql'" in message
    assert "sqlite and postgresql" in message


def test_postgresql_url_without_a_database_is_refused(start_with_database_url):
    with pytest.raises(ConfigError, match="VAXCHAIN_DATABASE_URL names no database"):
        start_with_database_url("postgresql://vax@db.example:5432")


def test_postgresql_driver_other_than_psycopg_is_refused(start_with_database_url):
    with pytest.raises(ConfigError, match="'postgresql\\+asyncpg'"):
        start_with_database_url("postgresql+asyncpg://vax@db.example/vaxchain")


def test_sqlite_file_in_a_missing_folder_is_refused_naming_the_folder(start_with_database_url, tmp_path):
    missing = tmp_path / "no" / "such" / "folder"

    with pytest.raises(ConfigError) as refused:
        start_with_database_url(f"sqlite:///{missing / 'vaxchain.sqlite3'}")

    assert "VAXCHAIN_DATABASE_URL" in str(refused.value)
    assert str(missing) in str(refused.value)
    assert "does not exist" in str(refused.value)


def test_sqlite_file_in_an_existing_folder_is_accepted(start_with_database_url, tmp_path):
    app = start_with_database_url(f"sqlite:///{tmp_path / 'district.sqlite3'}")

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'district.sqlite3'}"


def test_postgresql_url_is_rewritten_to_the_psycopg_driver(start_with_database_url):
    app = start_with_database_url("postgresql://vax:s3cret@db.example:5433/vaxchain")

    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://vax:s3cret@db.example:5433/vaxchain"
    with app.app_context():
        assert db.engine.url.drivername == "postgresql+psycopg"
        assert db.engine.url.password == "s3cret"


def test_database_defaults_to_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("VAXCHAIN_DATABASE_URL", raising=False)

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k" * 32})

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'vaxchain.sqlite3'}"


# --- The secret key -----------------------------------------------------------------------------

def test_secret_key_is_generated_into_the_instance_folder_on_first_run(make_app, tmp_path, no_secret_key_setting):
    app = make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "fresh"))

    key_file = tmp_path / "fresh" / "secret_key"
    assert key_file.read_text(encoding="ascii").strip() == app.config["SECRET_KEY"]
    assert len(app.config["SECRET_KEY"]) >= 32


def test_generated_secret_key_file_is_readable_by_its_owner_only(make_app, tmp_path, no_secret_key_setting):
    make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "fresh"))

    mode = stat.S_IMODE((tmp_path / "fresh" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_secret_key_is_reused_by_the_next_start(make_app, tmp_path, no_secret_key_setting):
    first = make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "fresh"))
    second = make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "fresh"))

    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_each_instance_gets_its_own_secret_key(make_app, tmp_path, no_secret_key_setting):
    one = make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "hanoi"))
    other = make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "hue"))

    assert one.config["SECRET_KEY"] != other.config["SECRET_KEY"]


def test_secret_key_from_the_environment_wins_and_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("VAXCHAIN_SECRET_KEY", "s" * 40)

    app = create_app({"INSTANCE_PATH": str(tmp_path / "fresh")})

    assert app.config["SECRET_KEY"] == "s" * 40
    assert not (tmp_path / "fresh" / "secret_key").exists()


def test_short_secret_key_file_is_refused_naming_it(make_app, tmp_path, no_secret_key_setting):
    instance = tmp_path / "fresh"
    instance.mkdir()
    (instance / "secret_key").write_text("tooshort\n", encoding="ascii")

    with pytest.raises(ConfigError) as refused:
        make_app(SECRET_KEY=None, INSTANCE_PATH=str(instance))

    assert str(instance / "secret_key") in str(refused.value)


# --- SQLite tuning ------------------------------------------------------------------------------

def pragma(app, name):
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(text(f"PRAGMA {name}")).scalar()


@sqlite_only
def test_sqlite_runs_in_write_ahead_log_mode(app):
    assert pragma(app, "journal_mode") == "wal"


@sqlite_only
def test_sqlite_enforces_foreign_keys(app):
    assert pragma(app, "foreign_keys") == 1


@sqlite_only
def test_sqlite_writers_wait_for_each_other_instead_of_failing(app):
    assert pragma(app, "busy_timeout") > 0


def test_database_refuses_a_row_pointing_at_a_missing_record(app):
    with app.app_context(), db.engine.connect() as connection:
        with pytest.raises(IntegrityError):
            connection.execute(text(
                "INSERT INTO core_api_token (token_hash, prefix, name, user_id, created_at) "
                "VALUES ('h', 'p', 'n', 424242, '2026-01-01 00:00:00')"))


def test_a_short_secret_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("VAXCHAIN_SECRET_KEY", "too-short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_settings(str(tmp_path))


def test_addresses_behind_a_trusted_proxy_are_the_clients(make_app):
    from flask import request

    app = make_app(VAXCHAIN_PROXY_COUNT=1)
    seen = {}
    app.before_request(lambda: seen.update(addr=request.remote_addr, scheme=request.scheme))
    app.test_client().get("/login", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
                          environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_forwarded_addresses_are_ignored_without_a_trusted_proxy(app):
    from flask import request

    seen = {}
    app.before_request(lambda: seen.update(addr=request.remote_addr))
    app.test_client().get("/login", headers={"X-Forwarded-For": "203.0.113.9"},
                          environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == {"addr": "10.0.0.2"}
