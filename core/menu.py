"""The menus: items contributed through the ``menu_items`` hook, filtered by role per page. Most go to the main
menu, shown to logged-in users; public ones (``place=PUBLIC``) go to the foot of every page and the login page,
so that people without an account find the pages meant for them."""
from dataclasses import dataclass

from flask import request, url_for

from core import access
from core.plugins import PluginError


class MenuError(PluginError):
    """A menu item that could never be shown (a start-up error, like any other plugin mistake)."""


MAIN, PUBLIC = "main", "public"
PLACES = (MAIN, PUBLIC)


@dataclass(frozen=True)
class MenuItem:
    """One menu entry. ``label`` is a lazy translated string; the endpoint's access rule decides who
    sees it, so a menu never offers a page its user cannot open. ``section`` groups items of the main
    menu. ``place`` is ``MAIN`` (the main menu) or ``PUBLIC`` (the public links: a page anyone may open)."""

    label: object
    endpoint: str
    section: object = None
    order: int = 100
    place: str = MAIN


def collect(pm):
    """All items from every implementation, ordered once at start-up."""
    items = [item for batch in pm.hook.menu_items() for item in (batch or [])]
    return sorted(items, key=lambda item: (item.order, str(item.endpoint)))


def check(items, app):
    """Refuse to start on a menu item whose page does not exist or needs URL arguments, or that names no
    place it can be shown in."""
    for item in items:
        rules = list(app.url_map.iter_rules(item.endpoint)) if item.endpoint in app.view_functions else []
        if not rules:
            raise MenuError(f"menu item {str(item.label)!r} points to unknown endpoint {item.endpoint!r}")
        if not any(not rule.arguments for rule in rules):
            raise MenuError(f"menu item {str(item.label)!r}: endpoint {item.endpoint!r} needs URL arguments")
        check_place(item, app)


def check_place(item, app):
    """A public link must lead to a public page: a visitor without an account would land on the login page."""
    if item.place not in PLACES:
        raise MenuError(f"menu item {str(item.label)!r}: unknown place {item.place!r} (one of {PLACES})")
    rule = getattr(app.view_functions[item.endpoint], access.ATTRIBUTE, None)
    if item.place == PUBLIC and not (rule and rule.public):
        raise MenuError(f"menu item {str(item.label)!r}: public link to {item.endpoint!r}, which is not a public page")


def visible(items, user, place=MAIN):
    """The items of ``place`` that ``user`` may open, each with its URL and whether it is the current page."""
    shown = []
    for item in items:
        if item.place == place and access.allowed(item.endpoint, user):
            url = url_for(item.endpoint)
            shown.append({"label": item.label, "url": url, "section": item.section,
                          "active": is_current(url)})
    return shown


def public_links(items, user):
    """The public links (``place=PUBLIC``), for the foot of every page and the login page."""
    return visible(items, user, PUBLIC)


def is_current(url):
    return request.path == url or (url != "/" and request.path.startswith(url.rstrip("/") + "/"))
