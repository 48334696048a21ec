"""The ``vaxchain`` command line: init, users, tokens, and one clear line when it cannot start."""
import os
import subprocess

from sqlalchemy import func, inspect, select

from core import accounts, roles
from core.cli import cli
from core.db import db
from core.demo import DEMO_USERS
from core.models import ApiToken, User
from tests.conftest import PASSWORD

WEAK_PASSWORD = "vax2026"


def invoke(app, *args):
    return app.test_cli_runner().invoke(cli, list(args))


def users_by_name(app):
    with app.app_context():
        return {user.username: user.role for user in db.session.scalars(select(User))}


def run_vaxchain(tmp_path, *args, **env):
    """Run the installed console script in its own process, as an operator would."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VAXCHAIN_")}
    environment.update({"VAXCHAIN_INSTANCE_PATH": str(tmp_path / "instance"), **env})
    return subprocess.run(["vaxchain", *args], env=environment, capture_output=True, text=True, timeout=120)


def assert_one_line_error(completed, *fragments):
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# --- vaxchain init ------------------------------------------------------------------------------

def test_init_creates_the_administrator(empty_app):
    result = invoke(empty_app, "init", "--admin-password", PASSWORD)

    assert result.exit_code == 0, result.output
    assert "Administrator 'admin' created." in result.output
    with empty_app.app_context():
        assert accounts.authenticate("admin", PASSWORD).role == roles.ADMIN


def test_init_refuses_a_weak_admin_password_with_a_clear_message(empty_app):
    result = invoke(empty_app, "init", "--admin-password", WEAK_PASSWORD)

    assert result.exit_code != 0
    assert "--admin-password" in result.output
    assert "at least 10 characters" in result.output
    assert "Traceback" not in result.output


def test_init_refusing_a_weak_password_creates_nothing(empty_app):
    invoke(empty_app, "init", "--admin-password", WEAK_PASSWORD)

    with empty_app.app_context():
        assert inspect(db.engine).get_table_names() == []


def test_init_refuses_a_password_containing_the_username(empty_app):
    result = invoke(empty_app, "init", "--admin-username", "quantri", "--admin-password", "quantri-2026-xyz")

    assert result.exit_code != 0
    assert "must not contain the username" in result.output


def test_init_with_demo_creates_one_user_per_role(empty_app):
    result = invoke(empty_app, "init", "--demo")

    assert result.exit_code == 0, result.output
    assert users_by_name(empty_app) == {username: role for username, _password, role in DEMO_USERS}
    assert {role for _username, _password, role in DEMO_USERS} == set(roles.ALL)


def test_init_with_demo_prints_passwords_that_log_in(empty_app):
    result = invoke(empty_app, "init", "--demo")

    with empty_app.app_context():
        for username, password, _role in DEMO_USERS:
            assert password in result.output
            assert accounts.authenticate(username, password) is not None, username


def test_init_with_demo_run_again_keeps_the_same_users(empty_app):
    invoke(empty_app, "init", "--demo")

    again = invoke(empty_app, "init", "--demo")

    assert again.exit_code == 0, again.output
    assert again.output.count("(already there)") == len(DEMO_USERS)
    assert len(users_by_name(empty_app)) == len(DEMO_USERS)


# --- vaxchain user create -----------------------------------------------------------------------

def test_user_create_makes_a_user_who_can_log_in(app):
    result = invoke(app, "user", "create", "kho.hanoi", "--role", roles.WAREHOUSE_MANAGER,
                    "--password", PASSWORD, "--full-name", "Nguyễn Văn Kho")

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert accounts.authenticate("kho.hanoi", PASSWORD).role == roles.WAREHOUSE_MANAGER


def test_user_create_refuses_an_unknown_role_listing_the_roles(app):
    result = invoke(app, "user", "create", "kho.hanoi", "--role", "storekeeper", "--password", PASSWORD)

    assert result.exit_code != 0
    assert "'storekeeper' is not one of" in result.output
    for role in roles.ALL:
        assert role in result.output
    assert "kho.hanoi" not in users_by_name(app)


def test_user_create_refuses_a_taken_username(app, make_user):
    taken = make_user(roles.VIEWER)

    result = invoke(app, "user", "create", taken, "--role", roles.ADMIN, "--password", PASSWORD)

    assert result.exit_code != 0
    assert f"The username {taken} is already taken." in result.output
    assert "Traceback" not in result.output
    assert users_by_name(app)[taken] == roles.VIEWER


def test_user_create_refuses_a_weak_password(app):
    result = invoke(app, "user", "create", "diemtiem.hue", "--role", roles.SITE_STAFF, "--password", WEAK_PASSWORD)

    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert "diemtiem.hue" not in users_by_name(app)


# --- vaxchain token create ----------------------------------------------------------------------

def test_token_create_prints_a_token_that_authenticates_the_api(app, client, make_user):
    username = make_user(roles.INTEGRATOR)

    result = invoke(app, "token", "create", username, "--name", "provincial dashboard")

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["username"] == username


def test_token_create_prints_the_token_once_and_stores_only_its_hash(app, make_user):
    username = make_user(roles.INTEGRATOR)

    result = invoke(app, "token", "create", username)

    token = result.stdout.strip()
    assert len(result.stdout.splitlines()) == 1
    assert result.output.count(token) == 1
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).all()
        assert len(stored) == 1
        assert token not in (stored[0].token_hash, stored[0].prefix)


def test_forged_token_does_not_authenticate(app, client, make_user):
    invoke(app, "token", "create", make_user(roles.INTEGRATOR))

    response = client.get("/api/v1/me", headers={"Authorization": "Bearer vxc_forged"})

    assert response.status_code == 401


def test_token_create_for_an_unknown_user_is_refused(app):
    result = invoke(app, "token", "create", "ghost")

    assert result.exit_code != 0
    assert "no user named 'ghost'" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_token_create_for_a_deactivated_user_is_refused(app, make_user):
    username = make_user(roles.INTEGRATOR)
    with app.app_context():
        accounts.set_active(accounts.find_user(username), False)
        db.session.commit()

    result = invoke(app, "token", "create", username)

    assert result.exit_code != 0
    assert "deactivated" in result.output


# --- The real console script when it cannot start -----------------------------------------------

def test_unknown_module_stops_the_command_with_one_error_line(tmp_path):
    completed = run_vaxchain(tmp_path, "modules", VAXCHAIN_MODULES="nope",
                             VAXCHAIN_DATABASE_URL=f"sqlite:///{tmp_path / 'vaxchain.sqlite3'}")

    assert_one_line_error(completed, "nope", "VAXCHAIN_MODULES")


def test_bad_database_url_stops_the_command_with_one_error_line(tmp_path):
    completed = run_vaxchain(tmp_path, "modules", VAXCHAIN_DATABASE_URL="mysql://vax@db.example/vaxchain")

    assert_one_line_error(completed, "VAXCHAIN_DATABASE_URL", "'mysql'")


def test_unreachable_database_stops_init_with_one_error_line(tmp_path):
    completed = run_vaxchain(tmp_path, "init", "--admin-password", PASSWORD,
                             VAXCHAIN_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nope")

    assert_one_line_error(completed, "cannot use the database", "127.0.0.1:1/nope")


def test_unreachable_database_error_hides_the_password(tmp_path):
    completed = run_vaxchain(tmp_path, "init", "--admin-password", PASSWORD,
                             VAXCHAIN_DATABASE_URL="postgresql://postgres:tuyet-mat-42@127.0.0.1:1/nope")

    line = assert_one_line_error(completed, "cannot use the database")
    assert "tuyet-mat-42" not in line


def test_tokens_are_listed_and_revoked_from_the_command_line(app, client, runner, make_user):
    username = make_user(roles.INTEGRATOR)
    secret = runner.invoke(args=["token", "create", username, "--name", "DHIS2 sync"]).stdout.strip()
    listing = runner.invoke(args=["token", "list", username])
    assert listing.exit_code == 0 and "DHIS2 sync" in listing.output and secret[:10] in listing.output
    token_id = listing.output.split()[0]
    assert runner.invoke(args=["token", "revoke", token_id]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "revoked" in runner.invoke(args=["token", "list"]).output


def test_revoking_an_unknown_token_is_refused(runner):
    result = runner.invoke(args=["token", "revoke", "999"])
    assert result.exit_code == 2 and "no token with id 999" in result.output
