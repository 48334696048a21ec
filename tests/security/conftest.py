"""One world per test module (building it takes seconds; the checks only read it, or prove they wrote
nothing), on its own copy of the migrated database, SQLite or PostgreSQL like the rest of the suite."""
import shutil

import pytest

from core import create_app
from core.db import db
from tests.conftest import log_in, pg_url
from tests.security.world import build_world


@pytest.fixture(scope="module")
def world_database(migrated_database, postgres, tmp_path_factory):
    if postgres:
        name = postgres.create(template=migrated_database)
        yield pg_url(name)
        postgres.drop(name)
    else:
        copy = tmp_path_factory.mktemp("security") / "vaxchain.sqlite3"
        shutil.copyfile(migrated_database, copy)
        yield f"sqlite:///{copy}"


@pytest.fixture(scope="module")
def world_app(world_database, tmp_path_factory):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-" + "x" * 32,
                      "SQLALCHEMY_DATABASE_URI": world_database,
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance"))})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def world(world_app):
    return build_world(world_app)


@pytest.fixture(scope="module")
def clients(world_app, world):
    """A test client per role, logged in through the login form as that role's "own" user; ``None``: anonymous."""
    made = {None: world_app.test_client()}
    for role, username in world.usernames.items():
        made[role] = world_app.test_client()
        response = log_in(made[role], username)
        assert response.status_code == 302, (role, response.get_data(as_text=True)[:500])
    return made
