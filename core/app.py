"""The application factory: ``create_app(config=None)``."""
import os
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, g, request
from flask_babel import Babel, get_locale
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

import translations
from core import access, authentication, errors, health, i18n, menu, openapi, plugins, registry, static_files
from core.api import API_PREFIX
from core.config import load_settings
from core.db import db, tune_sqlite
from core.extensions import csrf

MODULES_DIR = Path(__file__).resolve().parent.parent / "modules"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
                               "base-uri 'self'; form-action 'self'",
}


@dataclass
class Platform:
    """What create_app() assembled, kept at ``app.extensions["vaxchain"]``."""

    plugin_manager: object
    plugin_sources: dict
    available_modules: dict
    modules: list  # enabled, in dependency order
    menu: list = field(default_factory=list)
    api_blueprints: list = field(default_factory=list)
    openapi: dict = field(default_factory=dict)

    @property
    def hook(self):
        return self.plugin_manager.hook

    def plugins(self):
        return plugins.describe(self.plugin_manager, self.plugin_sources)


def create_app(config=None):
    """Build one vaxchain application.

    ``config`` overrides settings read from the environment (``VAXCHAIN_DATABASE_URL``,
    ``VAXCHAIN_SECRET_KEY``, ``VAXCHAIN_MODULES``, ``VAXCHAIN_PLUGINS``...). ``INSTANCE_PATH`` (or
    ``VAXCHAIN_INSTANCE_PATH``) picks the instance folder; ``VAXCHAIN_EXTRA_PLUGINS``, a list of
    ``(name, object)``, registers plugin objects directly (tests use it).
    Raises ConfigError, RegistryError or PluginError with a message naming what is wrong.
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("VAXCHAIN_INSTANCE_PATH")
    extra_plugins = config.pop("VAXCHAIN_EXTRA_PLUGINS", ())
    app = Flask("core", instance_path=os.path.abspath(instance_path) if instance_path else None)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_settings(app.instance_path, config))
    if app.config["VAXCHAIN_PROXY_COUNT"]:
        proxies = app.config["VAXCHAIN_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    available, enabled = registry.load(MODULES_DIR, app.config["VAXCHAIN_MODULES"])
    pm, sources = plugins.build(
        enabled, split_list(app.config["VAXCHAIN_PLUGINS"]),
        use_entry_points=app.config["VAXCHAIN_ENTRY_POINT_PLUGINS"], extra=extra_plugins,
    )
    platform = Platform(pm, sources, available, enabled)
    app.extensions["vaxchain"] = platform

    init_database(app)
    init_i18n(app, pm)
    authentication.init_app(app)
    csrf.init_app(app)
    app.before_request(access.enforce)
    app.after_request(add_security_headers)
    errors.init_app(app)

    for blueprint in flatten(pm.hook.web_blueprints()):
        app.register_blueprint(blueprint)
    app.register_blueprint(health.bp)
    mount_api(app, platform, flatten(pm.hook.api_blueprints()))
    static_files.init_app(app)
    platform.menu = menu.collect(pm)
    menu.check(platform.menu, app)
    for command in flatten(pm.hook.cli_commands()):
        app.cli.add_command(command)
    app.context_processor(lambda: {"menu_for": menu.visible, "public_links_for": menu.public_links,
                                   "platform": platform})
    return app


def split_list(setting):
    return [part.strip() for part in (setting or "").split(",") if part.strip()]


def flatten(results):
    return [item for batch in results for item in (batch or [])]


def init_database(app):
    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)


def init_i18n(app, pm):
    translations.compile_catalogs()
    directories = [str(translations.DIRECTORY)]
    for extra in pm.hook.translation_directory():
        if extra:
            translations.compile_catalogs(extra)
            directories.append(str(extra))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    Babel(app, locale_selector=i18n.select_locale)
    app.jinja_env.filters.update(i18n.FILTERS)
    app.jinja_env.globals["get_locale"] = get_locale


def mount_api(app, platform, blueprints):
    """Put every API blueprint under /api/v1, exempt from form CSRF (tokens cannot be forged by a
    browser), but still checking CSRF when the caller relies on its session cookie."""
    parent = Blueprint("api", __name__, url_prefix=API_PREFIX)
    for blueprint in blueprints:
        parent.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # Flask-WTF matches the innermost blueprint of a request
    parent.before_request(check_session_csrf)
    csrf.exempt(parent)
    app.register_blueprint(parent)
    platform.api_blueprints = blueprints
    platform.openapi = openapi.build(blueprints, plugins.core_version())


def check_session_csrf():
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if current_user.is_authenticated and not g.get("authenticated_by_token"):
        csrf.protect()


HSTS = "max-age=31536000"  # a year: once seen over TLS, browsers never fall back to plain HTTP


def add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response

