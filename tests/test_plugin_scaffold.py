"""`vaxchain plugin new NAME`: a plugin package that installs, loads through its entry point and passes its test."""
import configparser
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import setuptools
from babel.messages.pofile import read_po
from click.testing import CliRunner

from core import scaffold
from core.cli import cli
from tests.test_i18n import source_messages

ROOT = Path(__file__).resolve().parent.parent
NAME = "cold_room"
EXPECTED_FILES = {
    "pyproject.toml", "README.md", "conftest.py", "tests/test_cold_room.py",
    "cold_room/__init__.py", "cold_room/views.py", "cold_room/babel.cfg", "cold_room/templates/cold_room/index.html",
    "cold_room/translations/messages.pot", "cold_room/translations/vi/LC_MESSAGES/messages.po",
    "cold_room/translations/vi/LC_MESSAGES/messages.mo",
}


def new_plugin(directory, *args):
    return CliRunner().invoke(cli, ["plugin", "new", *args, "--directory", str(directory)])


@pytest.fixture
def project(tmp_path):
    result = new_plugin(tmp_path, NAME)
    assert result.exit_code == 0, result.output
    return tmp_path / "vaxchain-cold-room"


def files_under(folder):
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def environment(**extra):
    """This process's environment (the test database URL too) without the app's own VAXCHAIN_ settings."""
    kept = {key: value for key, value in os.environ.items()
            if not key.startswith("VAXCHAIN_") or key == "VAXCHAIN_TEST_DATABASE_URL"}
    return {**kept, **extra}


def run_plugin_tests(project, env):
    # the plugin's tests need no pytest plugin of the environment: loading them all (hypothesis, playwright,
    # schemathesis, ...) took seconds of each run
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                          capture_output=True, text=True, timeout=180,
                          env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})


def setuptools_builds_wheels():
    # setuptools builds wheels by itself from 70.1 on; before, only with the `wheel` package, which a fresh
    # Python 3.11 venv (CI's) does not have
    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def install(project, site):
    """Install the project into the folder ``site`` only, offline, with its own build backend (setuptools)."""
    if setuptools_builds_wheels():
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                   "--no-index", "--target", str(site), str(project)]
    else:  # setuptools' own install: the package and its metadata (an .egg-info importlib.metadata reads)
        command = [sys.executable, "-c", "from setuptools import setup; setup()", "--quiet", "install",
                   "--single-version-externally-managed", "--record", str(site.parent / "installed.txt"),
                   "--install-lib", str(site), "--install-scripts", str(site.parent / "bin")]
    completed = subprocess.run(command, cwd=project, env=environment(), capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr


# --- what it writes ------------------------------------------------------------------------------

def test_new_writes_the_package_and_says_where(tmp_path):
    result = new_plugin(tmp_path, NAME)

    assert result.exit_code == 0, result.output
    assert f"Plugin 'cold_room' written to {tmp_path / 'vaxchain-cold-room'}." in result.output
    assert files_under(tmp_path) == {f"vaxchain-cold-room/{path}" for path in EXPECTED_FILES}


def test_the_pyproject_declares_the_entry_point_and_ships_the_catalogs(project):
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))

    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    assert pyproject["project"]["name"] == "vaxchain-cold-room"
    assert pyproject["project"]["requires-python"] == ">=3.11"
    assert pyproject["project"]["dependencies"] == ["vaxchain>=0.1.0"]
    assert pyproject["project"]["optional-dependencies"]["test"] == ["pytest>=8"]
    assert pyproject["project"]["entry-points"]["vaxchain.plugins"] == {"cold_room": "cold_room"}
    shipped = pyproject["tool"]["setuptools"]["package-data"]["cold_room"]
    assert {"templates/*/*.html", "translations/*/LC_MESSAGES/*.po", "translations/*/LC_MESSAGES/*.mo"} <= set(shipped)


def test_a_description_goes_into_the_pyproject_and_the_readme(tmp_path):
    description = 'Nhiệt độ "kho lạnh", \\ mỗi giờ'

    new_plugin(tmp_path, NAME, "--description", description)

    project = tmp_path / "vaxchain-cold-room"
    assert tomllib.loads((project / "pyproject.toml").read_text("utf-8"))["project"]["description"] == description
    assert description in (project / "README.md").read_text("utf-8")


def test_every_string_of_the_plugin_is_in_its_template_and_translated_into_vietnamese(project):
    package = project / NAME
    in_code = source_messages(package, package / "babel.cfg")
    with open(package / "translations" / "vi" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="vi")
    with open(package / "translations" / "messages.pot", "rb") as handle:
        template = read_po(handle)

    assert in_code == {"Plugin %(name)s", "You are logged in as %(username)s."}
    assert {message.id for message in template if message.id} == in_code
    assert {message.id for message in catalog if message.id} == in_code
    assert all(message.string and not message.fuzzy for message in catalog if message.id)


def test_the_written_code_passes_the_projects_lint_in_its_own_folder(project):
    # run from the plugin's folder, as its author would: there `core` is an installed (third-party) package
    lint = [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(ROOT / "ruff.toml"), "."]
    completed = subprocess.run(lint, cwd=project, capture_output=True, text=True, timeout=60)

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_command_needs_no_app_and_no_database(tmp_path):
    # settings that stop every command needing the app, as on a machine where vaxchain was just installed
    completed = subprocess.run(["vaxchain", "plugin", "new", NAME, "-d", str(tmp_path)], capture_output=True,
                               text=True, timeout=60,
                               env=environment(VAXCHAIN_DATABASE_URL="nonsense://", VAXCHAIN_MODULES="no_such"))

    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "vaxchain-cold-room" / "pyproject.toml").is_file()


# --- installed, it works -------------------------------------------------------------------------

def test_installed_it_is_loaded_through_its_entry_point_and_its_own_test_passes(project, tmp_path):
    site = tmp_path / "site"
    install(project, site)
    # the installed copy, not the project folder; vaxchain (and its fixtures, core.testing) as installed
    env = environment(PYTHONPATH=str(site))

    # both at once: each spends seconds importing vaxchain
    listing = subprocess.Popen(["vaxchain", "plugins"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**env, "VAXCHAIN_INSTANCE_PATH": str(tmp_path / "instance")})
    tested = run_plugin_tests(project, env)
    listed, listing_errors = listing.communicate(timeout=60)

    assert listing.returncode == 0, listing_errors
    assert "cold_room [plugin] 0.1.0 — entry point of vaxchain-cold-room" in listed
    assert "hooks: menu_items, translation_directory, web_blueprints" in listed
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "4 passed" in tested.stdout



# --- refused -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, reason", [
    ("ColdRoom", "'ColdRoom' is not a lower snake case Python name"),
    ("cold-room", "'cold-room' is not a lower snake case Python name"),
    ("cold__room", "'cold__room' is not a lower snake case Python name"),
    ("1cold", "'1cold' is not a lower snake case Python name"),
    ("lambda", "'lambda' is a Python keyword"),
    ("warehouse", "'warehouse' is the name of a vaxchain module"),
    ("login_journal", "a plugin named 'login_journal' is already installed"),
    ("core", "'core' is already the name of an importable Python package or module"),
    ("json", "'json' is already the name of an importable Python package or module"),
])
def test_a_bad_name_is_refused_naming_the_reason_and_nothing_is_written(tmp_path, name, reason):
    result = new_plugin(tmp_path, name)

    assert result.exit_code == 2
    assert f"Invalid value for 'NAME': {reason}" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    target = tmp_path / "vaxchain-cold-room"
    target.mkdir()
    (target / "notes.txt").write_text("mine")

    result = new_plugin(tmp_path, NAME)

    assert result.exit_code == 2
    assert f"Invalid value for '--directory': {target} already exists and is not an empty folder" in result.output
    assert files_under(tmp_path) == {"vaxchain-cold-room/notes.txt"}


def test_an_empty_folder_is_filled(tmp_path):
    (tmp_path / "vaxchain-cold-room").mkdir()

    result = new_plugin(tmp_path, NAME)

    assert result.exit_code == 0, result.output
    assert files_under(tmp_path) == {f"vaxchain-cold-room/{path}" for path in EXPECTED_FILES}


def test_a_description_of_several_lines_is_refused(tmp_path):
    result = new_plugin(tmp_path, NAME, "--description", "one\ntwo")

    assert result.exit_code == 2
    assert "Invalid value for '--description': the description must be one line of printable text" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(scaffold.TEMPLATE_DIR, templates)
    readme = templates / "README.md.tmpl"
    readme.write_text(readme.read_text("utf-8") + "$misspelled_placeholder\n", "utf-8")
    monkeypatch.setattr(scaffold, "TEMPLATE_DIR", templates)
    output = tmp_path / "output"
    output.mkdir()

    with pytest.raises(KeyError, match="misspelled_placeholder"):
        scaffold.new_plugin(NAME, output)

    assert list(output.iterdir()) == []


def test_every_template_ships_in_the_wheel():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    core = ROOT / "core"
    patterns = [pattern.strip() for pattern in config["options.package_data"]["core"].split(",")]
    # setuptools matches package data with glob(recursive=True), relative to the package
    shipped = {Path(path) for pattern in patterns for path in glob.glob(str(core / pattern), recursive=True)}

    assert {path for path in scaffold.TEMPLATE_DIR.rglob("*") if path.is_file()} <= shipped
