"""`vaxchain plugin new NAME`: a new plugin's package, written from the templates in core/plugin_template/.

Needs no app and no database, so it works straight after `pip install vaxchain`.
"""
import importlib.util
import json
import keyword
import re
import secrets
import shutil
import string
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import translations
from core import registry
from core.app import MODULES_DIR
from core.plugins import ENTRY_POINT_GROUP, core_version

TEMPLATE_DIR = Path(__file__).resolve().parent / "plugin_template"
TEMPLATE_SUFFIX = ".tmpl"
PACKAGE_PLACEHOLDER = "__package__"  # in template paths: replaced by the plugin's package name
LOWER_SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


class ScaffoldError(Exception):
    """A plugin that cannot be written: ``field`` names the input at fault."""

    def __init__(self, message, field):
        super().__init__(message)
        self.message = message
        self.field = field


def distribution_name(name):
    """The pip package of plugin ``cold_room``: ``vaxchain-cold-room``."""
    return "vaxchain-" + name.replace("_", "-")


def check_name(name):
    """Refuse a name that is not lower snake case, or that a module, a plugin or an importable package has."""
    if not LOWER_SNAKE_CASE.fullmatch(name):
        raise ScaffoldError(f"{name!r} is not a lower snake case Python name (like cold_room): letters a-z, "
                            "digits and single underscores between them, starting with a letter", "NAME")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword", "NAME")
    # The name is also the plugin's name, its package's name and its tables' prefix: each must be free.
    if name in registry.discover(MODULES_DIR):
        raise ScaffoldError(f"{name!r} is the name of a vaxchain module", "NAME")
    if name in {entry_point.name for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP)}:
        raise ScaffoldError(f"a plugin named {name!r} is already installed", "NAME")
    if importlib.util.find_spec(name) is not None:
        raise ScaffoldError(f"{name!r} is already the name of an importable Python package or module", "NAME")


def check_description(description):
    if not description.isprintable():
        raise ScaffoldError("the description must be one line of printable text", "--description")


def check_target(target):
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not an empty folder", "--directory")


def template_values(name, description):
    version = core_version()
    return {
        "name": name,
        "url_name": name.replace("_", "-"),
        "distribution": distribution_name(name),
        "description": description,
        "description_toml": json.dumps(description, ensure_ascii=False),  # a JSON string is a TOML basic string
        "vaxchain_requirement": f"vaxchain>={version}" if version else "vaxchain",
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M+0000"),
    }


def render_tree(source, destination, values):
    """Write every template under ``source`` into ``destination``, placeholders filled in."""
    for template in sorted(source.rglob(f"*{TEMPLATE_SUFFIX}")):
        relative = str(template.relative_to(source).with_suffix("")).replace(PACKAGE_PLACEHOLDER, values["name"])
        written = destination / relative
        written.parent.mkdir(parents=True, exist_ok=True)
        # substitute(), not safe_substitute(): a misspelled placeholder fails here, not in the integrator's code
        text = string.Template(template.read_text(encoding="utf-8")).substitute(values)
        written.write_text(text, encoding="utf-8")


def new_plugin(name, directory, description=None):
    """Write the package ``vaxchain-<name>/`` into ``directory`` and return its path.

    It is written into a temporary folder beside the target and renamed into place at the end, so a failure
    leaves nothing half-written.
    """
    check_name(name)
    description = description or f"The {name} plugin for vaxchain."
    check_description(description)
    target = Path(directory) / distribution_name(name)
    check_target(target)
    staging = Path(directory) / f".{target.name}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        render_tree(TEMPLATE_DIR, staging, template_values(name, description))
        translations.compile_catalogs(staging / name / "translations")
        staging.replace(target)  # an empty target folder is replaced too
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
