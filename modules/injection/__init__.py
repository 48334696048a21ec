"""People, injections, dose rules, certificates, reminders, backlog import, reconciliation.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.access import EVERYWHERE
from core.hookspecs import hookimpl
from core.menu import PUBLIC, MenuItem
from modules.injection import (  # noqa: F401  (models: tables known to the app and to migrations)
    api,
    certificate_views,
    dashboard_views,
    demo,
    models,
    person_api,  # routes on api.api
    person_views,  # routes on views.bp
    reconciliation_views,
    reminders,
    reminders_views,
    services,
    views,
)
from modules.injection.backlog import cli as backlog_cli
from modules.injection.backlog import views as backlog_views

HERE = Path(__file__).resolve().parent


@hookimpl
def migration_directory():
    return HERE / "migrations" / "versions"


@hookimpl
def api_blueprints():
    return [api.api]


@hookimpl
def web_blueprints():
    return [views.bp, certificate_views.bp, reconciliation_views.bp, dashboard_views.bp, reminders_views.bp,
            backlog_views.bp]


@hookimpl
def lot_recipients(lot, limit, scope):
    return services.recipients(lot, limit, None if scope is EVERYWHERE else sorted(scope))


@hookimpl
def lot_recall_list(lot, user):
    return reconciliation_views.recall_list(lot, user)


@hookimpl
def doses_given(locations):
    return services.doses_given(locations)


@hookimpl
def demo_data(app):
    demo.create_demo_data()


@hookimpl
def menu_items():
    section = _l("Injection")
    return [
        MenuItem(_l("Register injections"), "injection.register", section=section, order=400),
        MenuItem(_l("Find a person"), "injection.persons", section=section, order=405),
        MenuItem(_l("Doses due"), "reminders.due", section=section, order=410),
        MenuItem(_l("Import past injections"), "backlog.imports", section=section, order=415),
        MenuItem(_l("Daily tally"), "reconciliation.tally", section=section, order=420),
        MenuItem(_l("Reconciliation"), "reconciliation.index", section=section, order=430),
        MenuItem(_l("Vaccination dashboard"), "dashboard.overview", section=section, order=440),
        # For people without an account: at the foot of every page and on the login page.
        MenuItem(_l("Find my vaccination certificate"), "certificates.lookup", order=450, place=PUBLIC),
        MenuItem(_l("Check a vaccination certificate"), "certificates.verify", order=460, place=PUBLIC),
    ]


@hookimpl
def cli_commands():
    return [reminders.reminders_group, backlog_cli.template_group, backlog_cli.import_group]
