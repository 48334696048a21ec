"""The plugin manager: plugins register for one app only, misspelled hooks and broken imports stop
start-up, and hooks run core first, then modules in dependency order, then plugins."""
import sys
import types

import pytest

import core.builtin
import plugins.login_journal
from core import roles
from core.accounts import create_user
from core.cli import cli
from core.db import db
from core.hookspecs import hookimpl
from core.menu import MenuItem
from core.plugins import PluginError
from tests.conftest import PASSWORD, log_in

MODULES_IN_ORDER = ["lots", "warehouse", "injection", "transport", "allocation"]
IMPL_MARK = "vaxchain_impl"  # the attribute pluggy's HookimplMarker("vaxchain") puts on a function


class ColdChainReport:
    """A third-party style plugin: one menu entry pointing at an existing page."""

    @hookimpl
    def menu_items(self):
        return [MenuItem("Cold-chain report", "core.home", order=500)]


def menu_labels(app):
    return [str(item.label) for item in app.extensions["vaxchain"].menu]


def implemented_hooks(plugin):
    return sorted(name for name in dir(plugin) if hasattr(getattr(plugin, name), IMPL_MARK))


def plugins_listing(output):
    """``vaxchain plugins`` output as [(name, kind, hooks)] in the order printed."""
    lines = output.splitlines()
    listing = []
    for header, hooks_line in zip(lines[::2], lines[1::2], strict=True):
        name, kind = header.split()[:2]
        hooks = hooks_line.strip().removeprefix("hooks: ")
        listing.append((name, kind.strip("[]"), [] if hooks == "-" else hooks.split(", ")))
    return listing


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    """Write importable Python source under tmp_path: ``plugin_package("pkg.mod", source)``.

    The modules are removed from ``sys.modules`` afterwards so no other test sees them.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def write(dotted, source):
        parts = dotted.split(".")
        folder = tmp_path
        for package in parts[:-1]:
            folder = folder / package
            folder.mkdir(exist_ok=True)
            (folder / "__init__.py").touch()
        (folder / f"{parts[-1]}.py").write_text(source, encoding="utf-8")
        written.extend(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return dotted

    yield write
    for name in written:
        sys.modules.pop(name, None)


TEMPERATURE_ALERTS = '''
from core.hookspecs import hookimpl
from core.menu import MenuItem

__version__ = "2.3.0"


@hookimpl
def menu_items():
    return [MenuItem("Temperature alerts", "core.home", order=510)]
'''


# --- Registering a plugin for one app ----------------------------------------------------------

def test_plugin_menu_item_appears_in_the_app_it_was_registered_with(make_app):
    app = make_app(plugins=[("cold_chain_report", ColdChainReport())])

    assert "Cold-chain report" in menu_labels(app)


def test_plugin_menu_item_is_shown_on_the_home_page(make_app):
    app = make_app(plugins=[("cold_chain_report", ColdChainReport())])
    with app.app_context():
        create_user("reporter", PASSWORD, roles.ADMIN)
        db.session.commit()
    client = app.test_client()
    log_in(client, "reporter")

    assert "Cold-chain report" in client.get("/").get_data(as_text=True)


def test_plugin_registered_for_one_app_is_absent_from_the_next(make_app):
    make_app(plugins=[("cold_chain_report", ColdChainReport())])

    app = make_app()

    assert "Cold-chain report" not in menu_labels(app)
    assert "cold_chain_report" not in {info.name for info in app.extensions["vaxchain"].plugins()}


def test_plugin_registered_in_another_test_is_absent_from_this_one(app):
    assert "Cold-chain report" not in menu_labels(app)


def test_plugin_may_be_a_namespace_of_functions(make_app):
    plugin = types.SimpleNamespace(
        menu_items=hookimpl(lambda: [MenuItem("Stock overview", "core.home", order=520)]))

    app = make_app(plugins=[("stock_overview", plugin)])

    assert "Stock overview" in menu_labels(app)


# --- Refusing broken plugins at start-up -------------------------------------------------------

def test_misspelled_hook_stops_start_up_naming_plugin_hook_and_suggestion(make_app):
    class Misspelled:
        @hookimpl
        def menu_itmes(self):
            return []

    with pytest.raises(PluginError) as refused:
        make_app(plugins=[("sloppy_plugin", Misspelled())])

    message = str(refused.value)
    assert "'sloppy_plugin'" in message
    assert "'menu_itmes'" in message
    assert "did you mean 'menu_items'?" in message


def test_hook_with_an_argument_the_spec_lacks_stops_start_up(make_app):
    class WrongArguments:
        @hookimpl
        def user_logged_in(self, user, remote_addr, browser):
            pass

    with pytest.raises(PluginError, match="'nosy_plugin'"):
        make_app(plugins=[("nosy_plugin", WrongArguments())])


def test_plugin_named_like_a_module_is_refused(make_app):
    with pytest.raises(PluginError, match="'lots'"):
        make_app(plugins=[("lots", ColdChainReport())])


# --- VAXCHAIN_PLUGINS ---------------------------------------------------------------------------

def test_plugin_named_in_the_setting_is_loaded(make_app, monkeypatch, plugin_package):
    path = plugin_package("vaxchain_test_extras.temperature_alerts", TEMPERATURE_ALERTS)
    monkeypatch.setenv("VAXCHAIN_PLUGINS", path)

    app = make_app()

    assert "Temperature alerts" in menu_labels(app)
    info = next(info for info in app.extensions["vaxchain"].plugins() if info.name == path)
    assert (info.kind, info.source, info.version, info.hooks) == (
        "plugin", "VAXCHAIN_PLUGINS", "2.3.0", ("menu_items",))


def test_setting_may_name_an_object_inside_a_module(make_app, monkeypatch, plugin_package):
    path = plugin_package("vaxchain_test_object_plugin", '''
from core.hookspecs import hookimpl
from core.menu import MenuItem


class Plugin:
    @hookimpl
    def menu_items(self):
        return [MenuItem("Fridge census", "core.home", order=530)]


plugin = Plugin()
''')
    monkeypatch.setenv("VAXCHAIN_PLUGINS", f"{path}:plugin")

    assert "Fridge census" in menu_labels(make_app())


def test_plugin_that_cannot_be_found_stops_start_up_naming_it(make_app, monkeypatch):
    monkeypatch.setenv("VAXCHAIN_PLUGINS", "vaxchain_test_no_such_plugin")

    with pytest.raises(PluginError) as refused:
        make_app()

    assert "VAXCHAIN_PLUGINS" in str(refused.value)
    assert "'vaxchain_test_no_such_plugin'" in str(refused.value)


def test_plugin_that_fails_while_importing_stops_start_up_naming_it_and_the_reason(
        make_app, monkeypatch, plugin_package):
    path = plugin_package("vaxchain_test_broken_plugin", 'raise RuntimeError("no fridge sensor driver")\n')
    monkeypatch.setenv("VAXCHAIN_PLUGINS", path)

    with pytest.raises(PluginError) as refused:
        make_app()

    assert f"'{path}'" in str(refused.value)
    assert "no fridge sensor driver" in str(refused.value)


def test_setting_naming_a_missing_object_stops_start_up(make_app, monkeypatch, plugin_package):
    path = plugin_package("vaxchain_test_empty_plugin", "")
    monkeypatch.setenv("VAXCHAIN_PLUGINS", f"{path}:plugin")

    with pytest.raises(PluginError, match=f"'{path}:plugin'"):
        make_app()


# --- Calling order ------------------------------------------------------------------------------

def test_plugins_are_listed_core_first_then_modules_in_dependency_order_then_plugins(make_app):
    app = make_app(plugins=[("cold_chain_report", ColdChainReport())])

    listing = [(info.name, info.kind) for info in app.extensions["vaxchain"].plugins()]

    assert listing[0] == ("core", "core")
    assert listing[1:6] == [(name, "module") for name in MODULES_IN_ORDER]
    assert sorted(listing[6:]) == [("cold_chain_report", "plugin"), ("hobo_csv", "plugin"),
                                   ("login_journal", "plugin"), ("reminder_outbox", "plugin"), ("webhooks", "plugin")]


def test_hooks_run_in_the_order_plugins_are_listed(make_app):
    app = make_app(plugins=[("cold_chain_report", ColdChainReport())])
    platform = app.extensions["vaxchain"]

    called = [str(batch[0].label) for batch in platform.hook.menu_items()]

    listed = [str(platform.plugin_manager.get_plugin(info.name).menu_items()[0].label)
              for info in platform.plugins() if "menu_items" in info.hooks]
    assert called == listed
    assert called[0] == "Home"


def test_disabled_modules_are_left_out_of_the_calling_order(make_app):
    app = make_app(VAXCHAIN_MODULES="lots,warehouse,injection")

    names = [info.name for info in app.extensions["vaxchain"].plugins()]

    assert names[:4] == ["core", "lots", "warehouse", "injection"]
    assert "transport" not in names and "allocation" not in names


# --- vaxchain plugins ---------------------------------------------------------------------------

def test_plugins_command_lists_core_modules_and_the_bundled_plugin_in_calling_order(runner):
    result = runner.invoke(cli, ["plugins"])

    assert result.exit_code == 0, result.output
    names_and_kinds = [(name, kind) for name, kind, _hooks in plugins_listing(result.output)]
    assert names_and_kinds == ([("core", "core")] + [(name, "module") for name in MODULES_IN_ORDER]
                               + [("webhooks", "plugin"), ("reminder_outbox", "plugin"), ("login_journal", "plugin"),
                                  ("hobo_csv", "plugin")])


def test_plugins_command_shows_the_hooks_each_implements(runner):
    listing = {name: hooks for name, _kind, hooks in plugins_listing(runner.invoke(cli, ["plugins"]).output)}

    assert listing["core"] == implemented_hooks(core.builtin)
    assert listing["login_journal"] == implemented_hooks(plugins.login_journal)
    for name in MODULES_IN_ORDER:
        assert listing[name] == implemented_hooks(sys.modules[f"modules.{name}"])


def test_plugins_command_includes_a_plugin_registered_for_this_app(make_app):
    runner = make_app(plugins=[("cold_chain_report", ColdChainReport())]).test_cli_runner()

    listing = plugins_listing(runner.invoke(cli, ["plugins"]).output)

    assert ("cold_chain_report", "plugin", ["menu_items"]) in listing


def test_a_menu_item_for_a_page_that_does_not_exist_stops_start_up(make_app):
    from core.menu import MenuItem

    class Plugin:
        @hookimpl
        def menu_items(self):
            return [MenuItem("Kho lạnh", "coldroom.index")]

    with pytest.raises(PluginError, match="unknown endpoint 'coldroom.index'"):
        make_app(plugins=[("coldroom", Plugin())])
