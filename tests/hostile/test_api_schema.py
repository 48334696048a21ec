"""Schemathesis against ``/api/v1/openapi.json``: every operation, fed generated input (valid and invalid) with
an admin's bearer token and a site staff member's, over a seeded world, answers without a 5xx, with a status
code the document lists, and a body that matches the documented schema.

One app and one database for the whole module (a world per operation would cost more than the calls);
what the generated calls write (a plan, a shipment, a person) stays for the next operations, as on a real
server. Examples per operation: :data:`EXAMPLES`.
"""
import os
import shutil
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core import create_app, roles
from core.accounts import create_user
from core.clock import local_today
from core.db import db
from core.tokens import create_token
from tests.conftest import pg_url
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

EXAMPLES = int(os.environ.get("VAXCHAIN_SCHEMA_EXAMPLES", 12))
RANDOM_SEEDS = bool(os.environ.get("VAXCHAIN_SCHEMA_EXAMPLES"))  # CI: the same examples every run; more: new ones
STATUSES = Counter()  # (who, operation, status) → calls: what the run covered, written out by the fixture
# negative_data_rejection and positive_data_acceptance are left out on purpose: the document describes
# shapes, not business rules, so well-shaped input is rightly refused (an unknown lot is a 404, too many
# doses a 422), and some ill-shaped input is rightly accepted (extra properties are ignored).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_app(migrated_database, postgres, tmp_path_factory):
    """An app on its own copy of the migrated database, with a world: two lots at the national store, one at
    a site, an admin and a site staff member, each with a token."""
    folder = tmp_path_factory.mktemp("api-schema")
    if postgres:
        name = postgres.create(template=migrated_database)
        url = pg_url(name)
    else:
        shutil.copyfile(migrated_database, folder / "api.sqlite3")
        url = f"sqlite:///{folder / 'api.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-" + "x" * 32, "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": str(folder / "instance"), "RATELIMIT_ENABLED": False})
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        receive_lot(tree.national, vero, "VC-API", doses=200)
        receive_lot(tree.national, vaccine_with_gtin("VAXZEVRIA"), "AZ-API", doses=100,
                    expiry=local_today() + timedelta(days=90))
        receive_lot(tree.site_a, vero, "VC-SITE", doses=20)
        admin = create_user("schema-admin", "correct-horse-battery-9", roles.ADMIN)
        staff = user_at(roles.SITE_STAFF, tree.site_a, "schema-site")
        app.config["SCHEMA_TOKENS"] = {"admin": create_token(admin)[1], "site": create_token(staff)[1]}
        per_vial = vero.doses_per_vial
        db.session.commit()
    for who, path, body in world_calls(per_vial):
        response = app.test_client().post(path, json=body, headers=bearer(app, who))
        assert response.status_code in (200, 201), (path, response.get_json())
    yield app
    if os.environ.get("VAXCHAIN_SCHEMA_FIGURES"):
        with open(os.environ["VAXCHAIN_SCHEMA_FIGURES"], "w") as figures:
            for (who, label, status), calls in sorted(STATUSES.items()):
                figures.write(f"{who}\t{label}\t{status}\t{calls}\n")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if postgres:
        postgres.drop(name)


def world_calls(per_vial):
    """What the world holds besides stock, made through the API itself: a picked shipment and a dispatched
    one, a plan, a person injected at the site."""
    shipment = {"origin": "KHO-QG", "destination": "DT-PX", "lines": [{"vaccine": "VEROCELL", "doses": 2 * per_vial}]}
    return [
        ("admin", "/api/v1/shipments", shipment),
        ("admin", "/api/v1/shipments", shipment),
        ("admin", "/api/v1/shipments/2/dispatch", {}),
        ("admin", "/api/v1/allocations", {"vaccine": "VEROCELL", "source": "KHO-QG", "doses": 2 * per_vial,
                                          "strategy": "manual", "destinations": [{"location": "KHO-HN",
                                                                                  "doses": 2 * per_vial}]}),
        ("site", "/api/v1/injections", {"person": {"full_name": "Lê Thị Hoa", "gender": "female",
                                                   "date_of_birth": "1990-03-15"},
                                        "vaccine": "VEROCELL", "site": "DT-PX", "lot": "VC-SITE"}),
    ]


def bearer(app, who):
    return {"Authorization": f"Bearer {app.config['SCHEMA_TOKENS'][who]}"}


@pytest.fixture(scope="module")
def api_schema(api_app):
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)

    @loaded.hook
    def flatmap_path_parameters(_context, path_parameters):
        """Half the ids are those of the world's records (1 to 3): random integers only find 404s."""
        ids = {name: st.integers(1, 3) for name, value in (path_parameters or {}).items()
               if name.endswith("_id") and isinstance(value, int)}
        if not ids:
            return st.just(path_parameters)
        return st.one_of(st.just(path_parameters),
                         st.fixed_dictionaries(ids).map(lambda small: {**path_parameters, **small}))

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# No shrinking: a failure is reported as found (shrinking a web call's failure costs minutes per operation).
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM_SEEDS, database=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_documented_schema(case, api_app):
    for who in ("admin", "site"):  # an admin sees and may do everything; site staff one site, fewer roles
        response = case.call(headers=bearer(api_app, who))
        STATUSES[who, f"{case.method} {case.operation.path}", response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
