"""The plugin manager: built inside create_app(), holding the core, the enabled modules and plugins.

Registration order makes calling order: pluggy calls the most recently registered first, so plugins
are registered first and modules last in reverse dependency order, the core very last. Hooks then
run core → lots → warehouse → ... → plugins.
"""
import difflib
import importlib
from dataclasses import dataclass
from importlib import metadata

import pluggy
from flask import current_app

from core import hookspecs

ENTRY_POINT_GROUP = "vaxchain.plugins"


class PluginError(Exception):
    """A plugin cannot be loaded or implements a hook that does not exist."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    kind: str  # "core", "module" or "plugin"
    source: str  # where it came from: entry point distribution, VAXCHAIN_PLUGINS or modules/
    version: str
    hooks: tuple


def build(modules, plugin_paths, use_entry_points=True, extra=()):
    """A plugin manager with every hook implementation registered and validated, and where each
    registered name came from (``{name: (kind, source, version)}``).

    :param modules: :class:`core.registry.ModuleInfo` in dependency order.
    :param plugin_paths: dotted module paths from VAXCHAIN_PLUGINS.
    :param extra: ``(name, object)`` pairs registered last among plugins (tests use this).
    """
    pm = pluggy.PluginManager("vaxchain")
    pm.add_hookspecs(hookspecs)
    sources = {}
    if use_entry_points:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            plugin = _import(ep.value, f"entry point {ep.name!r} ({ep.value})")
            version = getattr(plugin, "__version__", "") or (ep.dist.version if ep.dist else "")
            _register(pm, plugin, ep.name)
            sources[ep.name] = ("plugin", f"entry point of {ep.dist.name if ep.dist else '?'}", version)
    for path in plugin_paths:
        plugin = _import(path, f"VAXCHAIN_PLUGINS entry {path!r}")
        if pm.is_registered(plugin):
            continue
        _register(pm, plugin, path)
        sources[path] = ("plugin", "VAXCHAIN_PLUGINS", getattr(plugin, "__version__", ""))
    for name, plugin in extra:
        _register(pm, plugin, name)
        sources[name] = ("plugin", "registered by caller", getattr(plugin, "__version__", ""))
    for info in reversed(modules):
        _register(pm, _import(info.package, f"module {info.name!r}"), info.name)
        sources[info.name] = ("module", "modules/", info.version)
    _register(pm, _import("core.builtin", "the core"), "core")
    sources["core"] = ("core", "core/", core_version())
    check_hooks(pm)
    return pm, sources


def _import(dotted, what):
    module_path, _, attribute = dotted.partition(":")
    try:
        module = importlib.import_module(module_path)
        return getattr(module, attribute) if attribute else module
    except Exception as exc:  # any failure in third-party code: name it and stop start-up
        raise PluginError(f"cannot load {what}: {type(exc).__name__}: {exc}") from exc


def _register(pm, plugin, name):
    try:
        pm.register(plugin, name=name)
    except ValueError as exc:
        raise PluginError(f"cannot register plugin {name!r}: {exc}") from None
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r}: {exc}") from None


def check_hooks(pm):
    """Fail on an implementation of a hook that has no spec (a misspelling), naming plugin and hook."""
    known = [name for name, caller in vars(pm.hook).items() if not name.startswith("_") and caller.has_spec()]
    problems = []
    for name, caller in sorted(vars(pm.hook).items()):
        if name.startswith("_") or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            hint = difflib.get_close_matches(name, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append(f"plugin {impl.plugin_name!r} implements unknown hook {name!r}{suggestion}")
    if problems:
        raise PluginError("; ".join(problems))
    pm.check_pending()


def describe(pm, sources):
    """Every registered plugin with its kind, source, version and implemented hooks, in calling order."""
    infos = []
    for name, plugin in reversed(pm.list_name_plugin()):
        kind, source, version = sources.get(name, ("plugin", "?", ""))
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        infos.append(PluginInfo(name, kind, source, version, hooks))
    return infos


def core_version():
    try:
        return metadata.version("vaxchain")
    except metadata.PackageNotFoundError:
        return ""


def hook():
    """The hook relay of the current app: ``plugins.hook().demo_data(app=app)``."""
    return current_app.extensions["vaxchain"].plugin_manager.hook
