"""Settings from the environment, the instance folder and the caller, validated once at start-up."""
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(Exception):
    """A setting is wrong; the message names it and says how to fix it."""


MIN_SECRET_LENGTH = 32
SUPPORTED_DATABASES = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def load_settings(instance_path, overrides=None):
    """Return the Flask config dict for one app: defaults < environment < overrides."""
    overrides = dict(overrides or {})
    env = os.environ
    settings = {
        "SQLALCHEMY_DATABASE_URI": env.get("VAXCHAIN_DATABASE_URL")
        or f"sqlite:///{Path(instance_path) / 'vaxchain.sqlite3'}",
        "SECRET_KEY": env.get("VAXCHAIN_SECRET_KEY"),
        # the audit log's chain key; unset, derived from the secret key (keep either with the backups)
        "VAXCHAIN_AUDIT_KEY": env.get("VAXCHAIN_AUDIT_KEY"),
        # milliseconds: each process seals the audit log at most this often (core/audit.py); 0 seals every commit
        "VAXCHAIN_AUDIT_SEAL_MS": _int_env("VAXCHAIN_AUDIT_SEAL_MS", 1000, minimum=0),
        "VAXCHAIN_MODULES": env.get("VAXCHAIN_MODULES", "all"),
        "VAXCHAIN_PLUGINS": env.get("VAXCHAIN_PLUGINS", ""),
        "VAXCHAIN_ENTRY_POINT_PLUGINS": env.get("VAXCHAIN_ENTRY_POINT_PLUGINS", "1") != "0",
        "VAXCHAIN_IDLE_TIMEOUT_MINUTES": _int_env("VAXCHAIN_IDLE_TIMEOUT_MINUTES", 30),
        # minutes outside a shipment's range before it counts as a temperature excursion
        "VAXCHAIN_EXCURSION_MINUTES": _int_env("VAXCHAIN_EXCURSION_MINUTES", 60),
        # reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted
        "VAXCHAIN_PROXY_COUNT": _int_env("VAXCHAIN_PROXY_COUNT", 0, minimum=0),
        "SESSION_COOKIE_SECURE": env.get("VAXCHAIN_COOKIE_SECURE", "0") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "vaxchain_session",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the login session
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        # bytes: the largest backlog file the import page (/imports) accepts, there instead of MAX_CONTENT_LENGTH;
        # unset, the import's own reader limit (modules/injection/backlog/reader.py, MAX_FILE_BYTES)
        "VAXCHAIN_IMPORT_MAX_BYTES": _int_env("VAXCHAIN_IMPORT_MAX_BYTES", None),
        "SQLALCHEMY_RECORD_QUERIES": False,
    }
    settings.update(overrides)
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(settings["SQLALCHEMY_DATABASE_URI"])
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = instance_secret_key(instance_path)
    elif len(settings["SECRET_KEY"]) < MIN_SECRET_LENGTH:
        raise ConfigError(f"VAXCHAIN_SECRET_KEY must have at least {MIN_SECRET_LENGTH} characters "
                          "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')")
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(settings["SQLALCHEMY_DATABASE_URI"])
    return settings


def _int_env(name, default, minimum=1):
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def normalise_database_url(url):
    """Check the URL and pick our driver: SQLite, or PostgreSQL through psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"VAXCHAIN_DATABASE_URL is not a database URL: {url!r} "
            "(expected sqlite:///path or postgresql://user@host:port/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DATABASES:
        raise ConfigError(
            f"VAXCHAIN_DATABASE_URL uses {backend!r}; vaxchain supports sqlite and postgresql"
        )
    if backend == "postgresql":
        if parsed.drivername not in ("postgresql", "postgresql+psycopg"):
            raise ConfigError(
                f"VAXCHAIN_DATABASE_URL driver {parsed.drivername!r} is not supported; use postgresql+psycopg"
            )
        if not parsed.database:
            raise ConfigError("VAXCHAIN_DATABASE_URL names no database (…/DBNAME at the end)")
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise ConfigError(f"VAXCHAIN_DATABASE_URL: folder {folder} does not exist")
    return parsed.render_as_string(hide_password=False)


# Each process (a gunicorn worker, a `vaxchain` command) has its own pool. A sync worker serves one request
# at a time, which holds one connection, two while it seals the audit log after its commit; a backlog import
# running in the worker's background holds as many. Kept open: the pool size; opened when needed and closed
# after: the overflow. PostgreSQL must allow workers × (pool size + overflow) per machine, plus the commands
# and backups (docs/operations.md, "Scaling").
DEFAULT_POOL_SIZE = 2
DEFAULT_MAX_OVERFLOW = 3


def engine_options(url):
    # hide_parameters: a database error's message (logged with a 500) never carries a person's ID or phone
    if url.startswith("sqlite"):
        # busy timeout in seconds: writers wait for each other instead of failing at once
        return {"connect_args": {"timeout": 15}, "hide_parameters": True}
    return {"pool_pre_ping": True, "pool_size": _int_env("VAXCHAIN_DB_POOL_SIZE", DEFAULT_POOL_SIZE),
            "max_overflow": _int_env("VAXCHAIN_DB_MAX_OVERFLOW", DEFAULT_MAX_OVERFLOW, minimum=0),
            "connect_args": {"connect_timeout": 10}, "hide_parameters": True}


def instance_secret_key(instance_path):
    """Read the instance's secret key, creating it (mode 0600) on first run."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if len(key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{path} holds a key shorter than {MIN_SECRET_LENGTH} characters; "
                              "delete it to make a new one")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first: use theirs
        return instance_secret_key(instance_path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
