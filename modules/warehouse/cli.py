"""``vaxchain stock ...`` and ``vaxchain admin-units ...``."""
import click
from flask.cli import AppGroup

from modules.warehouse import ledger

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
