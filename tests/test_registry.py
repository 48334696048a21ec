"""The module registry: manifests are read without importing, validated, and ordered by dependency."""
import re

import pytest

from core import registry
from core.app import MODULES_DIR
from core.cli import cli
from core.registry import RegistryError

REAL_MODULES = {"lots", "warehouse", "injection", "transport", "allocation"}


def write_manifest(root, folder, text):
    """Write ``root/folder/__manifest__.py`` holding ``text`` verbatim; returns its path."""
    package = root / folder
    package.mkdir(parents=True, exist_ok=True)
    manifest = package / registry.MANIFEST
    manifest.write_text(text, encoding="utf-8")
    return manifest


def write_module(root, name, depends=()):
    """A well-formed module called ``name`` depending on ``depends``."""
    return write_manifest(
        root, name,
        repr({"name": name, "version": "1.0.0", "summary": f"the {name} module", "depends": list(depends)}),
    )


def order_of(root, setting="all"):
    _available, ordered = registry.load(root, setting)
    return [info.name for info in ordered]


def listed_modules(output):
    """``vaxchain modules`` output as (position, name, enabled) rows."""
    rows = []
    for line in output.splitlines()[1:]:
        position, name, _version, enabled, *_depends = line.split()
        rows.append((position, name, enabled))
    return rows


# --- The real modules --------------------------------------------------------------------------

def test_every_real_module_folder_has_a_valid_manifest():
    folders = {path.name for path in MODULES_DIR.iterdir() if (path / "__init__.py").exists()}
    for folder in folders:
        info = registry.read_manifest(MODULES_DIR / folder / registry.MANIFEST)
        assert info.name == folder
        assert info.version and info.summary
    assert folders == REAL_MODULES


def test_real_modules_depend_only_on_real_modules():
    available = registry.discover(MODULES_DIR)
    for info in available.values():
        assert set(info.depends) <= set(available), info.name


def test_real_modules_follow_the_documented_dependency_chain():
    available = registry.discover(MODULES_DIR)
    depends = {name: set(info.depends) for name, info in available.items()}
    assert depends == {"lots": set(), "warehouse": {"lots"}, "transport": {"warehouse"},
                       "allocation": {"transport"}, "injection": {"warehouse"}}


def test_modules_command_lists_the_real_modules_in_dependency_order(runner):
    result = runner.invoke(cli, ["modules"])

    assert result.exit_code == 0, result.output
    names = [name for _position, name, _enabled in listed_modules(result.output)]
    assert set(names) == REAL_MODULES
    assert names[0] == "lots"
    assert names.index("warehouse") < names.index("transport") < names.index("allocation")
    assert names.index("warehouse") < names.index("injection")


def test_modules_command_numbers_and_enables_every_module_by_default(runner):
    rows = listed_modules(runner.invoke(cli, ["modules"]).output)

    assert [position for position, _name, _enabled in rows] == ["1", "2", "3", "4", "5"]
    assert {enabled for _position, _name, enabled in rows} == {"yes"}


# --- read_manifest: each malformed manifest is refused, naming its file ------------------------

def assert_refused_naming_file(manifest, *fragments):
    with pytest.raises(RegistryError) as refused:
        registry.read_manifest(manifest)
    message = str(refused.value)
    assert str(manifest) in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_manifest_with_an_unknown_key_is_refused_naming_the_key_and_file(tmp_path):
    manifest = write_manifest(tmp_path, "lots", repr(
        {"name": "lots", "version": "1.0", "summary": "s", "depends": [], "dependencies": ["x"]}))

    assert_refused_naming_file(manifest, "unknown key", "'dependencies'")


def test_manifest_whose_depends_is_a_string_is_refused(tmp_path):
    manifest = write_manifest(tmp_path, "warehouse", repr(
        {"name": "warehouse", "version": "1.0", "summary": "s", "depends": "lots"}))

    assert_refused_naming_file(manifest, "'depends' must be a list")


def test_manifest_whose_depends_holds_a_non_name_is_refused(tmp_path):
    manifest = write_manifest(tmp_path, "warehouse", repr(
        {"name": "warehouse", "version": "1.0", "summary": "s", "depends": ["lots", 3]}))

    assert_refused_naming_file(manifest, "'depends' must be a list")


def test_manifest_that_is_not_a_dict_is_refused(tmp_path):
    manifest = write_manifest(tmp_path, "lots", '["name", "lots"]')

    assert_refused_naming_file(manifest, "must be a dict", "list")


def test_manifest_with_a_syntax_error_is_refused(tmp_path):
    manifest = write_manifest(tmp_path, "lots", '{"name": "lots", "version": "1.0",')

    assert_refused_naming_file(manifest, "not a dict literal")


def test_manifest_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    manifest = write_manifest(tmp_path, "lots", f"open({str(marker)!r}, 'w')")

    assert_refused_naming_file(manifest)
    assert not marker.exists()


def test_manifest_whose_name_differs_from_its_folder_is_refused(tmp_path):
    manifest = write_manifest(tmp_path, "stock", repr(
        {"name": "warehouse", "version": "1.0", "summary": "s", "depends": []}))

    assert_refused_naming_file(manifest, "'warehouse'", "'stock'")


def test_manifest_missing_a_required_key_is_refused_naming_the_key(tmp_path):
    manifest = write_manifest(tmp_path, "lots", repr({"name": "lots", "summary": "s"}))

    assert_refused_naming_file(manifest, "missing key", "'version'")


def test_manifest_with_a_non_string_version_is_refused(tmp_path):
    manifest = write_manifest(tmp_path, "lots", repr({"name": "lots", "version": 1.0, "summary": "s"}))

    assert_refused_naming_file(manifest, "'version' must be a string")


def test_discover_refuses_a_tree_holding_one_bad_manifest(tmp_path):
    write_module(tmp_path, "lots")
    bad = write_manifest(tmp_path, "warehouse", "{")

    with pytest.raises(RegistryError, match=re.escape(str(bad))):
        registry.discover(tmp_path)


def test_manifest_without_depends_means_no_dependencies(tmp_path):
    manifest = write_manifest(tmp_path, "lots", repr({"name": "lots", "version": "1.0", "summary": "s"}))

    assert registry.read_manifest(manifest).depends == ()


# --- resolve_order ------------------------------------------------------------------------------

def test_independent_modules_are_ordered_by_name(tmp_path):
    for name in ("zeta", "alpha", "mu"):
        write_module(tmp_path, name)

    assert order_of(tmp_path) == ["alpha", "mu", "zeta"]


def test_order_does_not_depend_on_the_order_modules_were_found_in(tmp_path):
    write_module(tmp_path, "base")
    for name in ("delta", "charlie", "bravo"):
        write_module(tmp_path, name, depends=["base"])
    available = registry.discover(tmp_path)
    shuffled = {name: available[name] for name in ("delta", "base", "bravo", "charlie")}

    forwards = [info.name for info in registry.resolve_order(available, set(available))]
    backwards = [info.name for info in registry.resolve_order(shuffled, set(shuffled))]

    assert forwards == backwards == ["base", "bravo", "charlie", "delta"]


def test_a_dependency_comes_first_even_when_its_name_sorts_last(tmp_path):
    write_module(tmp_path, "zebra")
    write_module(tmp_path, "aardvark", depends=["zebra"])

    assert order_of(tmp_path) == ["zebra", "aardvark"]


def test_a_module_waits_for_all_of_its_dependencies(tmp_path):
    write_module(tmp_path, "a")
    write_module(tmp_path, "b", depends=["a"])
    write_module(tmp_path, "c", depends=["a"])
    write_module(tmp_path, "d", depends=["c", "b"])

    assert order_of(tmp_path) == ["a", "b", "c", "d"]


def test_missing_dependency_is_refused_naming_both_modules(tmp_path):
    write_module(tmp_path, "transport", depends=["warehouse"])

    with pytest.raises(RegistryError) as refused:
        registry.load(tmp_path, "all")

    message = str(refused.value)
    assert "'transport'" in message and "'warehouse'" in message
    assert "does not exist" in message


def test_dependency_not_enabled_is_refused_naming_both_modules(tmp_path):
    write_module(tmp_path, "lots")
    write_module(tmp_path, "warehouse", depends=["lots"])

    with pytest.raises(RegistryError) as refused:
        registry.load(tmp_path, "warehouse")

    message = str(refused.value)
    assert "'warehouse'" in message and "'lots'" in message
    assert "not enabled" in message and "VAXCHAIN_MODULES" in message


def test_two_module_cycle_is_refused_naming_it(tmp_path):
    write_module(tmp_path, "transport", depends=["allocation"])
    write_module(tmp_path, "allocation", depends=["transport"])

    with pytest.raises(RegistryError, match=re.escape("dependency cycle: allocation -> transport -> allocation")):
        registry.load(tmp_path, "all")


def test_longer_cycle_is_refused_naming_every_member_in_order(tmp_path):
    write_module(tmp_path, "a", depends=["b"])
    write_module(tmp_path, "b", depends=["c"])
    write_module(tmp_path, "c", depends=["a"])

    with pytest.raises(RegistryError, match=re.escape("dependency cycle: a -> b -> c -> a")):
        registry.load(tmp_path, "all")


def test_cycle_is_named_from_its_smallest_member_whatever_the_entry_point(tmp_path):
    write_module(tmp_path, "c", depends=["b"])
    write_module(tmp_path, "b", depends=["a"])
    write_module(tmp_path, "a", depends=["c"])

    with pytest.raises(RegistryError, match=re.escape("dependency cycle: a -> c -> b -> a")):
        registry.load(tmp_path, "all")


def test_module_depending_on_itself_is_a_cycle(tmp_path):
    write_module(tmp_path, "lots", depends=["lots"])

    with pytest.raises(RegistryError, match=re.escape("dependency cycle: lots -> lots")):
        registry.load(tmp_path, "all")


def test_cycle_message_leaves_out_modules_that_merely_depend_on_the_cycle(tmp_path):
    write_module(tmp_path, "allocation", depends=["transport"])
    write_module(tmp_path, "transport", depends=["warehouse"])
    write_module(tmp_path, "warehouse", depends=["transport"])

    with pytest.raises(RegistryError) as refused:
        registry.load(tmp_path, "all")

    assert str(refused.value) == "dependency cycle: transport -> warehouse -> transport"


# --- VAXCHAIN_MODULES ---------------------------------------------------------------------------

def test_unknown_module_in_setting_stops_the_app_naming_it(make_app, monkeypatch):
    monkeypatch.setenv("VAXCHAIN_MODULES", "lots,vaccines")

    with pytest.raises(RegistryError) as refused:
        make_app()

    assert "vaccines" in str(refused.value)
    assert "VAXCHAIN_MODULES" in str(refused.value)


def test_setting_enables_only_the_modules_it_names(make_app, monkeypatch):
    monkeypatch.setenv("VAXCHAIN_MODULES", "lots,warehouse")

    app = make_app()

    platform = app.extensions["vaxchain"]
    assert [info.name for info in platform.modules] == ["lots", "warehouse"]
    registered = {info.name for info in platform.plugins()}
    assert not registered & {"transport", "allocation", "injection"}


def test_modules_command_shows_modules_left_out_by_the_setting_as_disabled(make_app, monkeypatch):
    monkeypatch.setenv("VAXCHAIN_MODULES", "lots,warehouse")
    runner = make_app().test_cli_runner()

    rows = listed_modules(runner.invoke(cli, ["modules"]).output)

    assert rows[:2] == [("1", "lots", "yes"), ("2", "warehouse", "yes")]
    assert {(name, enabled) for _position, name, enabled in rows[2:]} == {
        ("allocation", "no"), ("injection", "no"), ("transport", "no")}


def test_setting_tolerates_spaces_around_names(tmp_path):
    write_module(tmp_path, "lots")
    write_module(tmp_path, "warehouse", depends=["lots"])
    write_module(tmp_path, "transport", depends=["warehouse"])

    assert order_of(tmp_path, " warehouse , lots ") == ["lots", "warehouse"]
