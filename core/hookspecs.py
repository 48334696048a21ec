"""Every hook vaxchain offers, in one place (pytest/pluggy style).

Hooks are called with keyword arguments only. A hook evolves by gaining arguments (older
implementations keep working because pluggy passes only the arguments they name), never by renaming.
First-party modules implement these hooks exactly as third-party plugins do.

Calling order: implementations run in module dependency order (lots, warehouse, ...), then plugins.
Every hook is documented with an example in docs/hooks.md; a test fails when one is missing there.
"""
import pluggy

hookspec = pluggy.HookspecMarker("vaxchain")
hookimpl = pluggy.HookimplMarker("vaxchain")


# --- Building the app (called once, inside create_app) --------------------------------------------

@hookspec
def web_blueprints():
    """Contribute HTML pages.

    Called once while the app is created, after the database and the core pages are set up.

    :return: a list of :class:`flask.Blueprint`. Every view must declare who may see it with
        ``core.access.roles_required(...)``, ``login_required`` or ``public``; a view without a
        declaration answers 403.
    """


@hookspec
def api_blueprints():
    """Contribute JSON endpoints under ``/api/v1``.

    Called once while the app is created.

    :return: a list of :class:`core.api.ApiBlueprint`. Their routes are mounted under ``/api/v1``,
        accept bearer tokens and sessions, answer errors as ``{"error": {...}}`` and appear in
        ``/api/v1/openapi.json``.
    """


@hookspec
def cli_commands():
    """Contribute commands to the ``vaxchain`` command line.

    Called once while the app is created.

    :return: a list of :class:`click.Command` (a ``flask.cli.AppGroup`` for a group of commands);
        they run inside an application context.
    """


@hookspec
def menu_items():
    """Contribute entries to the main menu.

    Called once while the app is created; the menu is filtered by the user's role on every page.

    :return: a list of :class:`core.menu.MenuItem`.
    """


@hookspec
def migration_directory():
    """Name the folder holding this module's or plugin's Alembic revisions.

    Called when the schema is upgraded (``vaxchain init``) or inspected. Each module or plugin
    owns one Alembic branch labelled with its name; its tables carry its name as prefix.

    :return: an absolute path (``str`` or :class:`pathlib.Path`), or ``None`` for no tables.
    """


@hookspec
def translation_directory():
    """Name a folder of Babel catalogs (``<lang>/LC_MESSAGES/messages.mo``) shipped by a plugin.

    Called once while the app is created; its messages are merged with the core catalog.

    :return: an absolute path, or ``None``.
    """


@hookspec
def demo_data(app):
    """Create demonstration records for ``vaxchain init --demo``.

    Called once, after the schema is upgraded and the demo users exist, inside an application
    context; implementations add rows through their services and commit. Must be idempotent: it may
    run again on a database that already holds the demo data.

    :param app: the Flask application.
    :return: ignored.
    """


# --- Barcodes and lots --------------------------------------------------------------------------------

@hookspec(firstresult=True)
def parse_barcode(code):
    """Turn a raw scan into a :class:`modules.lots.gs1.Scan`.

    Called for every scan (scan page, receipts, ``POST /api/v1/scan``). The lots module parses GS1
    (all symbologies, separators and bracketed text) as the last resort (``trylast``); a plugin
    teaching another format answers first and returns ``None`` for codes it does not recognise.

    :param code: the scan as received, a ``str`` (may hold GS characters, a symbology prefix, CR/LF).
    :return: a ``Scan``, or ``None``. Raise ``modules.lots.gs1.ScanError`` for a code you recognise
        but find wrong (bad check digit). Stops at the first non-None result.
    """


@hookspec
def lot_recipients(lot, limit, scope):
    """Say who received doses of a lot, for its traceability page and a recall.

    Called when the traceability page or a recall report is built. The injection module answers.

    :param lot: the :class:`modules.lots.models.Lot`.
    :param limit: the most rows wanted (the page shows the newest).
    :param scope: the reader's locations, as ``core.access.location_scope`` answers: a frozenset of
        location ids, or ``core.access.EVERYWHERE``. Return only injections given at sites among them,
        choosing the newest ``limit`` of those (not the newest nationally, then filtered), so that a
        district's reader sees their own newest rows.
    :return: a list of dicts ``{"person": str, "injected_at": datetime, "site": str, "dose_number": int}``
        (``site``: the site's code), newest first.
    """


@hookspec(firstresult=True)
def lot_recall_list(lot, user):
    """Point a lot's traceability page to the full list of the people injected from it, for a recall.

    Called each time the lot's page is shown, in its request. The injection module answers, with its recall
    list (``/lots/<id>/recipients``) counted within the user's locations.

    :param lot: the :class:`modules.lots.models.Lot`.
    :param user: the :class:`core.models.User` reading the page.
    :return: a dict ``{"url": str, "injections": int, "people": int}``, or ``None`` when you hold no such list
        or ``user`` may not open it (the page then shows no link). Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def remaining_demand(locations, presentation):
    """Say how many doses each destination still needs, for allocation by remaining demand.

    Called when an allocation plan uses the "demand" strategy, before ``doses_given``: a plugin that knows
    better (a national registry, say) answers here; without an answer the allocation module uses its target
    populations × doses in the series − the doses the injection module says were given.

    :param locations: the destination :class:`modules.warehouse.models.Location` objects.
    :param presentation: the vaccine (:class:`modules.lots.models.Presentation`).
    :return: a dict ``{location_id: doses}``, or None when you cannot tell. Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def doses_given(locations):
    """Say how many doses were given at the vaccination sites under each location.

    Called when an allocation plan uses the "demand" strategy and no ``remaining_demand`` answer came:
    the demand is then the target population × the vaccine's series length − the doses given. The
    injection module answers it (live and backlog injections that count, any vaccine).

    :param locations: :class:`modules.warehouse.models.Location` objects.
    :return: a dict ``{location_id: doses}``, or None when you cannot tell. Stops at the first non-None result.
    """


@hookspec
def manifest_sections(shipment):
    """Add sections to a shipment's transport manifest (PDF).

    Called each time a manifest is built, in its language's request context.

    :param shipment: the :class:`modules.transport.models.Shipment`.
    :return: a list of :class:`reports.manifest.Section` (title and rows of label/value pairs), or None.
    """


# --- Access -----------------------------------------------------------------------------------------

@hookspec(firstresult=True)
def location_scope(user):
    """Say which locations a user may see and act on.

    Called whenever a page, API call or export filters records by location (through
    ``core.access.location_scope(user)``, which answers ``EVERYWHERE`` for admins without asking).
    The warehouse module, which owns locations and users' assignments to them, answers it. A plugin
    that narrows the scope further must be called first: mark it ``@hookimpl(tryfirst=True)``.

    :param user: the :class:`core.models.User`.
    :return: a frozenset of location ids (the user's subtree), ``core.access.EVERYWHERE`` for no
        restriction, or ``None`` to leave the answer to others. Stops at the first non-None result;
        when nobody answers (no module owns locations) there is nothing to restrict.
    """


# --- Events (called after the change is flushed, inside its transaction) -----------------------

@hookspec
def stock_moved(moves):
    """React to stock moves (receipt, transfer, adjustment, count, consumption...).

    Called after the moves and balances are flushed, inside their transaction: adding rows to the
    session commits them with the moves, raising undoes them.

    :param moves: a list of :class:`modules.warehouse.models.Move`, all from one operation.
    :return: ignored.
    """


@hookspec
def shipment_dispatched(shipment):
    """React to a shipment leaving its origin (its doses are now in transit).

    Called inside the dispatch's transaction, after the moves are flushed; raising undoes the dispatch.

    :param shipment: the :class:`modules.transport.models.Shipment`.
    :return: ignored.
    """


@hookspec
def shipment_received(shipment):
    """React to a shipment received at its destination (accepted and rejected doses recorded).

    Called inside the receipt's transaction, after the moves are flushed; raising undoes the receipt.

    :param shipment: the :class:`modules.transport.models.Shipment` (its lines hold accepted/rejected).
    :return: ignored.
    """


@hookspec
def injection_registered(injection):
    """React to an injection registered live at a site (its dose already taken from the site's stock).

    Called inside the registration's transaction, after the injection and its stock move are flushed:
    adding rows to the session commits them with it, raising undoes the registration. Keep it quick:
    it runs on every registration.

    :param injection: the :class:`modules.injection.models.Injection` (``person``, ``lot``, ``site``,
        ``dose_number``, ``injected_at``).
    :return: ignored.
    """


@hookspec
def doses_due(reminders):
    """Send reminders to people whose next dose is due: of an unfinished primary series, or a booster.

    Called by ``vaxchain reminders send`` (run it daily, e.g. from cron) with everyone due soon or
    overdue, on every run: implementations skip those they already reminded of that dose, and queue or
    send the others (an SMS gateway, Zalo...). The bundled ``reminder_outbox`` plugin writes them to an
    outbox table, once per person and dose.

    :param reminders: a list of ``modules.injection.reminders.Reminder`` (``person_id``, ``full_name``,
        ``phone``, ``dose_number``, ``vaccine``, ``due_on``, ``site``, ``kind``: ``"primary"`` or ``"booster"``).
    :return: ignored. Raising undoes the run (what any implementation queued in it).
    """


@hookspec(firstresult=True)
def parse_temperature_log(data, filename):
    """Read the readings out of an uploaded data-logger file.

    Called for every logger file uploaded to a shipment (its page, ``POST /api/v1/shipments/<id>/temperatures``),
    through ``modules.transport.services.read_logger_file``. The transport module reads CSV exports as the last
    resort (``trylast``); a plugin teaching another logger's format answers first and returns ``None`` for files
    it does not recognise. Whatever is returned is then checked like any readings (time zone, time order, -100…80
    °C, at most ``temperature.MAX_READINGS``).

    :param data: the file's content, ``bytes`` (the upload size limit already applied).
    :param filename: the name the file was uploaded under (``str``, may be empty): a hint only; recognise the
        format by its content.
    :return: a list of :class:`modules.transport.temperature.Reading` (timezone-aware, best in UTC, in time
        order), or ``None``. Raise ``modules.transport.temperature.LoggerFileError`` (a translated message naming
        the line or row and the reason) for a file you recognise but find broken. Stops at the first non-None
        result.
    """


@hookspec
def temperature_excursion(shipment, report):
    """React to a temperature excursion found in a shipment's data-logger readings.

    Called when the shipment is received with an excursion on record, or when a logger file uploaded after
    the receipt shows one, inside that transaction, after its lots were held at the destination pending
    release.

    :param shipment: the :class:`modules.transport.models.Shipment`.
    :param report: the :class:`modules.transport.temperature.TemperatureReport` (excursions, minutes
        above and below the range).
    :return: ignored.
    """


@hookspec
def user_logged_in(user, remote_addr):
    """React to a successful login.

    Called after the password was verified and the login session opened, before the response is
    sent and inside the same transaction (a failing implementation undoes the login).

    :param user: the :class:`core.models.User` who logged in.
    :param remote_addr: the client's address as the server saw it (``str`` or ``None``).
    :return: ignored.
    """
