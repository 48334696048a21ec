"""The ``vaxchain`` command line."""
import functools
import os
import re
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, NoAppException, routes_command, shell_command, with_appcontext
from flask_babel import force_locale
from sqlalchemy.exc import OperationalError
from werkzeug.serving import run_simple

from core import accounts, audit_chain, backup, demo, passwords, roles, scaffold, schema, static_files, tokens
from core.app import create_app
from core.config import ConfigError
from core.db import db
from core.plugins import PluginError
from core.registry import RegistryError
from core.serving import PathOnlyRequestHandler

# The command line is not a request, so no user or browser picks the language of the messages the
# services translate; its own texts are English, so theirs are too.
CLI_LOCALE = "en"


class StartupError(NoAppException):
    """The app refused to start (bad setting, manifest, plugin): print the reason alone, exit 1."""

    exit_code = 1

    def show(self, file=None):
        click.secho(f"Error: {self.format_message()}", err=True, fg="red")


def load_app():
    try:
        return create_app()
    except (ConfigError, RegistryError, PluginError) as exc:
        raise StartupError(str(exc)) from None


cli = FlaskGroup(name="vaxchain", create_app=load_app, add_default_commands=False,
                 add_version_option=False, load_dotenv=False,
                 help="vaxchain: the national vaccine supply chain.")
cli.add_command(routes_command)
cli.add_command(shell_command)


def main():
    cli.main(prog_name="vaxchain")


def needs_database(func):
    """Run in an app context; an unreachable database becomes one clear line and exit code 1."""

    @functools.wraps(func)
    @with_appcontext
    def wrapper(*args, **kwargs):
        try:
            with force_locale(CLI_LOCALE):
                return func(*args, **kwargs)
        except OperationalError as exc:
            db.session.rollback()
            url = db.engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise click.ClickException(f"cannot use the database {url}: {reason}") from None

    return wrapper


def fail_on_account_error(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except accounts.AccountError as exc:
            db.session.rollback()
            raise click.BadParameter(exc.message, param_hint=f"'{exc.field}'") from None

    return wrapper


@cli.command("init")
@click.option("--admin-username", default="admin", show_default=True)
@click.option("--admin-password", help="Password of the first administrator (asked for if not given).")
@click.option("--demo", "with_demo", is_flag=True,
              help="Also create one demo user per role (passwords printed) and the modules' demo data.")
@needs_database
@fail_on_account_error
def init_command(admin_username, admin_password, with_demo):
    """Create or upgrade the schema, then the first administrator. Safe to run again."""
    if admin_password is not None and not with_demo:
        refuse_weak_password(admin_username, admin_password, "'--admin-password'")
    schema.upgrade()
    click.echo("Schema up to date.")
    if with_demo:
        created = demo.create_demo_users()
        db.session.commit()
        current_app.extensions["vaxchain"].hook.demo_data(app=current_app._get_current_object())
        click.echo("Demo users (username / password / role):")
        for username, password, role in demo.DEMO_USERS:
            mark = "" if username in created else "  (already there)"
            click.echo(f"  {username:<12} {password:<22} {role}{mark}")
        return
    if accounts.find_user(admin_username) is not None:
        click.echo(f"Administrator {admin_username!r} already exists.")
        return
    if admin_password is None:
        admin_password = click.prompt(f"Password for {admin_username}", hide_input=True,
                                      confirmation_prompt=True)
    accounts.create_user(admin_username, admin_password, roles.ADMIN, "Administrator")
    db.session.commit()
    click.echo(f"Administrator {admin_username!r} created.")


def refuse_weak_password(username, password, param_hint):
    """Check the password policy before touching the database, so a refused command changes nothing."""
    problems = passwords.policy_problems(password, accounts.normalise_username(username))
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint=param_hint)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="Reload on code changes and show tracebacks (never in production).")
@click.option("--production", is_flag=True,
              help="Serve with gunicorn and core/gunicorn_config.py (several worker processes), as in production.")
@click.option("--workers", type=click.IntRange(1), help="With --production: how many worker processes "
              "(default: VAXCHAIN_WORKERS, WEB_CONCURRENCY, or the number of cores + 1).")
@needs_database
def serve_command(host, port, debug, production, workers):
    """Run the development server, or with --production gunicorn (see docs/operations.md)."""
    if production and debug:
        raise click.UsageError("--debug is for the development server, not --production")
    if workers is not None and not production:
        raise click.UsageError("--workers needs --production")
    if not schema.is_up_to_date():
        raise click.ClickException("the database schema is not up to date: run `vaxchain init` first")
    if production:
        # exec: gunicorn takes this process's place, so a service manager's signals (TERM: stop gracefully,
        # HUP: reload) reach its master directly
        command = [sys.executable, "-m", "gunicorn", "--config", "python:core.gunicorn_config",
                   "--bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
        if workers is not None:
            command += ["--workers", str(workers)]
        os.execv(sys.executable, [*command, "core.app:create_app()"])
    app = current_app._get_current_object()
    app.debug = debug
    # app.run() refuses to start under a Flask CLI group, so serve through werkzeug directly; the reloader
    # also restarts on a static file's change, whose versioned URL is computed at start-up
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True,
               request_handler=PathOnlyRequestHandler, extra_files=static_files.source_files(app) if debug else None)


@cli.command("modules")
@with_appcontext
def modules_command():
    """List the modules in dependency order, with versions, dependencies and whether each is enabled."""
    platform = current_app.extensions["vaxchain"]
    enabled = [info.name for info in platform.modules]
    rest = sorted(set(platform.available_modules) - set(enabled))
    click.echo(f"{'#':>2}  {'module':<12} {'version':<9} {'enabled':<8} depends")
    for position, name in enumerate(enabled + rest, start=1):
        info = platform.available_modules[name]
        number = str(position) if name in enabled else "-"
        state = "yes" if name in enabled else "no"
        click.echo(f"{number:>2}  {name:<12} {info.version:<9} {state:<8} {', '.join(info.depends) or '-'}")


@cli.command("plugins")
@with_appcontext
def plugins_command():
    """List the core, modules and plugins in calling order, with the hooks each implements."""
    for info in current_app.extensions["vaxchain"].plugins():
        click.echo(f"{info.name} [{info.kind}] {info.version or ''} — {info.source}".replace("  ", " "))
        click.echo(f"    hooks: {', '.join(info.hooks) or '-'}")


@cli.group("plugin")
def plugin_group():
    """Write your own plugins."""


@plugin_group.command("new", with_appcontext=False)  # writes files only: no app, no database
@click.argument("name")
@click.option("--directory", "-d", default=".", show_default=True,
              type=click.Path(exists=True, file_okay=False, writable=True),
              help="The folder to write vaxchain-NAME/ into.")
@click.option("--description", help="One line saying what the plugin does (for pyproject.toml and README.md).")
def plugin_new_command(name, directory, description):
    """Start the plugin NAME (lower snake case, e.g. cold_room): a package with a page, a menu entry, a Vietnamese
    catalog and a passing test. Needs no database."""
    try:
        target = scaffold.new_plugin(name, directory, description)
    except scaffold.ScaffoldError as exc:
        raise click.BadParameter(exc.message, param_hint=f"'{exc.field}'") from None
    click.echo(f"Plugin {name!r} written to {target}.")
    click.echo(f"Next: `pip install -e {target}`, then `vaxchain plugins` lists it; see {target / 'README.md'}.")


@cli.group("user")
def user_group():
    """Manage users."""


@user_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(roles.ALL))
@click.option("--full-name", default="")
@click.option("--password", help="Asked for if not given (better: keeps it out of the shell history).")
@needs_database
@fail_on_account_error
def user_create_command(username, role, full_name, password):
    """Create a user with a role."""
    if password is None:
        password = click.prompt(f"Password for {username}", hide_input=True, confirmation_prompt=True)
    user = accounts.create_user(username, password, role, full_name)
    db.session.commit()
    click.echo(f"User {user.username!r} created with role {role}.")


@cli.group("token")
def token_group():
    """Manage API tokens."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for (shown in lists).")
@click.option("--expires-days", type=click.IntRange(1, 3650), help="Days until it expires (default: never).")
@needs_database
def token_create_command(username, name, expires_days):
    """Create an API token for USERNAME and print it once (only its hash is stored)."""
    user = accounts.find_user(username)
    if user is None:
        raise click.BadParameter(f"no user named {username!r}", param_hint="'USERNAME'")
    if not user.active:
        raise click.BadParameter(f"user {username!r} is deactivated", param_hint="'USERNAME'")
    _token, secret = tokens.create_token(user, name=name, expires_in_days=expires_days)
    db.session.commit()
    click.echo(secret)
    click.echo("Keep this token now: it cannot be shown again.", err=True)


@token_group.command("list")
@click.argument("username", required=False)
@needs_database
def token_list_command(username):
    """List API tokens (of USERNAME, or all): id, start of the token, owner, name, state."""
    for token in tokens.list_tokens(username):
        expires = token.expires_at.strftime("%d/%m/%Y") if token.expires_at else "never"
        state = "revoked" if token.revoked_at else f"expires {expires}"
        click.echo(f"{token.id:>5}  {token.prefix}…  {token.user.username:<16} {token.name or '-':<20} {state}")


@token_group.command("revoke")
@click.argument("token_id", type=int)
@needs_database
def token_revoke_command(token_id):
    """Revoke the API token with this id (see `vaxchain token list`)."""
    token = db.session.get(tokens.ApiToken, token_id)
    if token is None:
        raise click.BadParameter(f"no token with id {token_id}", param_hint="'TOKEN_ID'")
    tokens.revoke_token(token)
    db.session.commit()
    click.echo(f"Token {token_id} revoked.")


@cli.group("audit")
def audit_group():
    """The audit log."""


AUDIT_PROBLEMS = {
    "entry_altered": "entry {0} (position {1}) was altered after it was written",
    "entry_deleted": "entry {0} (position {1}) was deleted",
    "seals_missing": "positions {0} to {1} of the chain are missing: entries were removed with their seals",
    "entry_unsealed": "entry {0} has no seal: it was written outside vaxchain or its seal was removed",
    "head_lost": "the chain no longer holds the head given for position {0}: entries were removed from its end",
}


@audit_group.command("verify")
@click.option("--head", help="A head printed by an earlier run (POSITION:CHAIN), to check the end too.")
@needs_database
def audit_verify_command(head):
    """Check that no audit entry was altered or deleted; exit 1 if one was."""
    if head is not None and not re.fullmatch(r"\d+:[0-9a-f]{64}", head):
        raise click.BadParameter("expected POSITION:CHAIN as printed by an earlier run", param_hint="'--head'")
    verdict = audit_chain.verify(db.engine, audit_chain.chain_key(current_app.config), expected_head=head)
    for kind, first, second in verdict.problems:
        click.echo(AUDIT_PROBLEMS[kind].format(first, second), err=True)
    if verdict.problems:
        raise SystemExit(1)
    click.echo(f"Audit log intact: {verdict.sealed} entries sealed.")
    click.echo(f"Head: {verdict.head} (keep it, e.g. with the backups, to check later with --head)")


@cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@needs_database
def backup_command(file):
    """Write a consistent backup of the whole database to FILE, while the app keeps running."""
    head = audit_chain.head(db.engine, audit_chain.chain_key(current_app.config))
    try:
        backup.backup(db.engine, file)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {file}.")
    click.echo(f"Audit head: {head} (keep it with the backup; after a restore, "
               f"`vaxchain audit verify --head {head}` shows that nothing was removed)")


@cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@needs_database
def restore_command(file):
    """Load the backup FILE into the configured database, which must be new and empty."""
    try:
        backup.restore(db.engine, file)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {file}. Check it: `vaxchain stock check` and `vaxchain audit verify`.")
