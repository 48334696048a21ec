"""docs/hooks.md gives every hook an example that runs: each block holding a ``@hookimpl`` is a complete module
(it imports or defines every name it uses), and registered as a plugin it starts the app, so its hook names and
arguments match the specs. Integrators copy these blocks; a stale one would fail in their hands, so here."""
import logging
import re
import subprocess
import sys
import types
from io import BytesIO
from pathlib import Path

import pytest

from core.db import db
from modules.transport.models import Shipment
from tests.conftest import csrf_token, log_in
from tests.test_docs import hookspec_names
from tests.transport.test_pages import dispatched, make_world, post

HOOKS_MD = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
SECTION = re.compile(r"^## `(\w+)`\n(.*?)(?=^## |\Z)", re.M | re.S)
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def examples():
    """(hook, code) of every Python block of a hook's section that implements a hook."""
    text = HOOKS_MD.read_text(encoding="utf-8")
    return [(hook, code) for hook, body in SECTION.findall(text)
            for code in BLOCK.findall(body) if "@hookimpl" in code]


EXAMPLES = examples()
IDS = [f"{hook}-{n}" for n, (hook, _code) in enumerate(EXAMPLES)]


def test_every_hook_has_an_example_implementing_it():
    implemented = {hook for hook, code in EXAMPLES if re.search(rf"^def {hook}\(", code, re.M)}
    assert sorted(set(hookspec_names()) - implemented) == []


@pytest.mark.parametrize(("hook", "code"), EXAMPLES, ids=IDS)
def test_the_example_names_only_what_it_imports_or_defines(hook, code):
    # pyflakes' checks (undefined and unused names) as the project's linter runs them
    checked = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F",
                              "--output-format", "concise", "--stdin-filename", f"{hook}_example.py", "-"],
                             input=code, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def as_module(name, code, folder):
    module = types.ModuleType(name)
    module.__file__ = str(folder / f"{name}.py")
    exec(compile(code, module.__file__, "exec"), module.__dict__)
    return module


@pytest.mark.parametrize(("hook", "code"), EXAMPLES, ids=IDS)
def test_the_example_starts_the_app_as_a_plugin(hook, code, make_app, tmp_path):
    module = as_module(f"{hook}_example", code, tmp_path)
    plugins = [(f"{hook}_example", module)]
    if hook == "menu_items" and not hasattr(module, "web_blueprints"):  # the page the web_blueprints example adds
        page = next(code for name, code in EXAMPLES if name == "web_blueprints")
        plugins.append(("web_blueprints_example", as_module("web_blueprints_example", page, tmp_path)))

    app = make_app(plugins=plugins)

    implementations = getattr(app.extensions["vaxchain"].plugin_manager.hook, hook).get_hookimpls()
    assert any(implementation.plugin is module for implementation in implementations)


EVENTS = ("stock_moved", "shipment_dispatched", "shipment_received", "temperature_excursion")


@pytest.fixture
def app(make_app, tmp_path):
    """The app with the examples of the transport's event hooks, for a real shipment to call them."""
    examples = [(f"{hook}_example", as_module(f"{hook}_example", code, tmp_path))
                for hook, code in EXAMPLES if hook in EVENTS]
    return make_app(plugins=examples)


def test_the_event_examples_run_on_a_real_shipment(app, client, caplog):
    world = make_world(app)
    with caplog.at_level(logging.INFO, logger="cold_room"):
        shipment_id = dispatched(app, client, world)
        log_in(client, "site")
        with app.app_context():
            shipment = db.session.get(Shipment, shipment_id)
            number, line_id, doses = shipment.number, shipment.lines[0].id, shipment.lines[0].doses
        received = post(client, f"/shipments/{shipment_id}/receive", f"/shipments/{shipment_id}/receive",
                        **{f"accepted_{line_id}": str(doses - 1), f"rejected_{line_id}": "1",
                           f"reason_{line_id}": "damaged", f"vvm_{line_id}": "2"})
        too_warm = [f"26/11/2026 {8 + i // 6:02d}:{i % 6 * 10:02d};{4.5 if i < 6 else 11.0}" for i in range(24)]
        uploaded = client.post(f"/shipments/{shipment_id}/temperatures", content_type="multipart/form-data", data={
            "csrf_token": csrf_token(client, f"/shipments/{shipment_id}"),
            "file": (BytesIO(("\n".join(too_warm) + "\n").encode()), "logger.csv")})

    assert received.status_code == uploaded.status_code == 302
    logged = [record.getMessage() for record in caplog.records if record.name == "cold_room"]
    assert f"{number} left {world.national} for {world.site}" in logged
    assert f"{number}: 1 doses rejected at {world.site}" in logged
    assert "1 doses of lot VC-PAGES wasted (damaged)" in logged
    assert any(message.startswith(f"{number}: ") and "min above range, extreme 11.0 °C" in message
               for message in logged), logged
