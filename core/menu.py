"""The main menu: items contributed through the ``menu_items`` hook, filtered by role per page."""
from dataclasses import dataclass

from flask import request, url_for

from core import access
from core.plugins import PluginError


class MenuError(PluginError):
    """A menu item that could never be shown (a start-up error, like any other plugin mistake)."""


@dataclass(frozen=True)
class MenuItem:
    """One menu entry. ``label`` is a lazy translated string; the endpoint's access rule decides who
    sees it, so a menu never offers a page its user cannot open. ``section`` groups items."""

    label: object
    endpoint: str
    section: object = None
    order: int = 100


def collect(pm):
    """All items from every implementation, ordered once at start-up."""
    items = [item for batch in pm.hook.menu_items() for item in (batch or [])]
    return sorted(items, key=lambda item: (item.order, str(item.endpoint)))


def check(items, app):
    """Refuse to start on a menu item whose page does not exist or needs URL arguments."""
    for item in items:
        rules = list(app.url_map.iter_rules(item.endpoint)) if item.endpoint in app.view_functions else []
        if not rules:
            raise MenuError(f"menu item {str(item.label)!r} points to unknown endpoint {item.endpoint!r}")
        if not any(not rule.arguments for rule in rules):
            raise MenuError(f"menu item {str(item.label)!r}: endpoint {item.endpoint!r} needs URL arguments")


def visible(items, user):
    """The items ``user`` may open, each with its URL and whether it is the current page."""
    shown = []
    for item in items:
        if access.allowed(item.endpoint, user):
            url = url_for(item.endpoint)
            shown.append({"label": item.label, "url": url, "section": item.section,
                          "active": is_current(url)})
    return shown


def is_current(url):
    return request.path == url or (url != "/" and request.path.startswith(url.rstrip("/") + "/"))
