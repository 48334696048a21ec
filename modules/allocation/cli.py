"""``vaxchain targets ...``: target populations from a file."""
import click
from flask.cli import AppGroup

from core.cli import needs_database
from core.db import db
from modules.allocation import targets

targets_group = AppGroup("targets", help="Target populations of administrative units.")


@targets_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@needs_database
def targets_load_command(file):
    """Set the target populations of FILE (CSV: code,population; comma or semicolon).

    Every row is checked first: one bad row refuses the whole file and nothing is written.
    """
    try:
        result = targets.load_targets(file)
    except targets.TargetFileError as exc:
        db.session.rollback()
        raise click.ClickException("\n".join([f"{file} was not loaded.", *exc.problems])) from None
    db.session.commit()
    click.echo(f"Target populations: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged.")
