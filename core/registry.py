"""The module registry: read manifests without importing module code, validate, order by dependency.

A module is a package under ``modules/`` with a ``__manifest__.py`` holding one dict literal (Odoo style)::

    {"name": "warehouse", "version": "1.0.0", "summary": "...", "depends": ["lots"]}
"""
import ast
import heapq
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "__manifest__.py"
REQUIRED_KEYS = {"name", "version", "summary"}
ALLOWED_KEYS = REQUIRED_KEYS | {"depends", "description", "author", "license"}


class RegistryError(Exception):
    """A manifest is malformed or the module set cannot be ordered; the message names the culprit."""


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    version: str
    summary: str
    depends: tuple = ()
    path: Path = field(default=None, compare=False)
    description: str = ""
    author: str = ""
    license: str = ""

    @property
    def package(self):
        return f"modules.{self.name}"


def read_manifest(path):
    """Parse and validate one ``__manifest__.py``; never executes it."""
    path = Path(path)
    try:
        data = ast.literal_eval(path.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError) as exc:
        raise RegistryError(f"{path}: not a dict literal ({exc})") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: the manifest must be a dict, not {type(data).__name__}")
    unknown = sorted(set(data) - ALLOWED_KEYS)
    if unknown:
        raise RegistryError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(ALLOWED_KEYS))}"
        )
    missing = sorted(REQUIRED_KEYS - set(data))
    if missing:
        raise RegistryError(f"{path}: missing key(s) {', '.join(map(repr, missing))}")
    for key in ALLOWED_KEYS - {"depends"}:
        if key in data and not isinstance(data[key], str):
            raise RegistryError(f"{path}: {key!r} must be a string")
    depends = data.get("depends", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise RegistryError(f"{path}: 'depends' must be a list of module names")
    folder = path.parent.name
    if data["name"] != folder:
        raise RegistryError(f"{path}: name {data['name']!r} differs from its folder {folder!r}")
    return ModuleInfo(**{**data, "depends": tuple(depends), "path": path.parent})


def discover(modules_dir):
    """Every module found under ``modules_dir``, by name."""
    found = {}
    for manifest in sorted(Path(modules_dir).glob(f"*/{MANIFEST}")):
        info = read_manifest(manifest)
        found[info.name] = info
    return found


def parse_enabled(setting, available):
    """Turn VAXCHAIN_MODULES ("all" or "a,b,c") into names, refusing unknown ones."""
    if setting is None or setting.strip().lower() in ("", "all"):
        return set(available)
    names = {name.strip() for name in setting.split(",") if name.strip()}
    unknown = sorted(names - set(available))
    if unknown:
        raise RegistryError(
            f"VAXCHAIN_MODULES names unknown module(s): {', '.join(unknown)} "
            f"(available: {', '.join(sorted(available))})"
        )
    return names


def resolve_order(available, enabled):
    """Enabled modules in dependency order; ties broken by name so the order never varies.

    Refuses a dependency that does not exist or is not enabled, and a cycle (named in full).
    """
    for name in sorted(enabled):
        for dep in available[name].depends:
            if dep not in available:
                raise RegistryError(f"module {name!r} depends on {dep!r}, which does not exist")
            if dep not in enabled:
                raise RegistryError(
                    f"module {name!r} depends on {dep!r}, which is not enabled: add it to VAXCHAIN_MODULES"
                )
    waiting = {name: set(available[name].depends) for name in enabled}
    dependants = {name: [] for name in enabled}
    for name, deps in waiting.items():
        for dep in deps:
            dependants[dep].append(name)
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(available[name])
        for dependant in dependants[name]:
            waiting[dependant].discard(name)
            if not waiting[dependant]:
                heapq.heappush(ready, dependant)
    if len(order) < len(enabled):
        cycle = find_cycle({name: available[name].depends for name in enabled if waiting[name]})
        raise RegistryError(f"dependency cycle: {' -> '.join(cycle)}")
    return order


def find_cycle(graph):
    """One cycle in a graph known to hold one, as [a, b, ..., a], starting from the smallest name."""
    for start in sorted(graph):
        path, seen = [start], {start}
        node = start
        while True:
            node = sorted(dep for dep in graph[node] if dep in graph)[0]
            if node in seen:
                cycle = path[path.index(node):] + [node]
                return rotate_to_smallest(cycle)
            path.append(node)
            seen.add(node)
    raise AssertionError("no cycle")  # pragma: no cover


def rotate_to_smallest(cycle):
    ring = cycle[:-1]
    i = ring.index(min(ring))
    ring = ring[i:] + ring[:i]
    return ring + [ring[0]]


def load(modules_dir, setting):
    """Discover, select and order the modules for one app."""
    available = discover(modules_dir)
    return available, resolve_order(available, parse_enabled(setting, available))
