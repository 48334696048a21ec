"""``vaxchain stock ...`` and ``vaxchain admin-units ...``."""
import click
from flask.cli import AppGroup

from core.cli import needs_database
from core.db import db
from modules.warehouse import admin_units, ledger

stock_group = AppGroup("stock", help="Stock ledger.")
admin_units_group = AppGroup("admin-units", help="Administrative units (provinces, districts, wards).")


@stock_group.command("check")
def stock_check_command():
    """Verify that every balance equals its moves and every lot nets to zero; exit 1 on a mismatch."""
    problems = ledger.check()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("Stock ledger is consistent.")


@admin_units_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@needs_database
def admin_units_load_command(file):
    """Create or update the administrative units of FILE (CSV: code,name,level,parent_code).

    Every row is checked first: one bad row refuses the whole file and nothing is written.
    """
    try:
        result = admin_units.load_admin_units(file)
    except admin_units.AdminUnitFileError as exc:
        db.session.rollback()
        raise click.ClickException("\n".join([f"{file} was not loaded.", *exc.problems])) from None
    db.session.commit()
    click.echo(f"Administrative units: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged.")
