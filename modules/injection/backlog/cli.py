"""``vaxchain template injections OUT.xlsx``: the backlog import's Excel template, for sites to fill in;
``vaxchain import injections FILE``: the import itself (or ``--dry-run`` to check a file)."""
import io
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from core.access import EVERYWHERE
from core.cli import needs_database
from core.db import db
from core.service_errors import ServiceError
from modules.injection.backlog import importer, template
from modules.injection.backlog.ethnicities import load_ethnicities
from modules.lots.services import list_presentations
from modules.warehouse.admin_units import PROVINCE
from modules.warehouse.models import AdminUnit

template_group = AppGroup("template", help="Spreadsheet templates to fill in and import.")


def province_names():
    """The provinces' names, in the order of their official codes."""
    return db.session.scalars(select(AdminUnit.name).where(AdminUnit.level == PROVINCE)
                              .order_by(AdminUnit.code)).all()


def injections_template_bytes():
    """The template as bytes, with today's active vaccines, provinces and the 54 ethnic groups."""
    vaccines = [presentation.name for presentation in list_presentations(active_only=True)]
    buffer = io.BytesIO()
    template.write_template(buffer, vaccines, province_names(), load_ethnicities())
    return buffer.getvalue()


@template_group.command("injections")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@needs_database
def injections_template_command(out):
    """Write the Excel template of the backlog import of past injections to OUT (.xlsx)."""
    content = injections_template_bytes()  # built first: a failure leaves no half-written file
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise click.ClickException(_("cannot write %(path)s: %(reason)s", path=str(out),
                                     reason=exc.strerror or str(exc))) from None
    click.echo(_("Injections import template written to %(path)s.", path=str(out)))


import_group = AppGroup("import", help="Import data from spreadsheets.")


@import_group.command("injections")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rejected rows, with a Lỗi column, to this .xlsx: fix them there and import it.")
@click.option("--site", "site_code", help="The site code of rows that give none.")
@needs_database
def import_injections_command(file, dry_run, errors_out, site_code):
    """Import past injections (one row per person, doses 1 to 4) from FILE (.xlsx, .xls, .ods or .csv)."""
    try:
        job, summary = importer.run(file, file.name, EVERYWHERE, site_code=site_code, dry_run=dry_run,
                                    progress=show_progress)
    except ServiceError as error:
        importer.record_failure(error.message)
        raise click.ClickException(error.message) from None
    except DBAPIError as error:  # the database went away (a restart): say so in one line, the job failed
        message = importer.database_lost_message()
        importer.record_failure(message)
        reason = str(error.orig or error).strip().splitlines()[0]
        raise click.ClickException(f"{message} ({reason})") from None
    click.echo(report(job, summary, dry_run))
    for number, note in summary.repaired[:20]:
        click.echo(_("Row %(row)d: %(errors)s", row=number, errors=note))
    for row in summary.rejected[:20]:
        click.echo(_("Row %(row)d: %(errors)s", row=row.number, errors="; ".join(text for _i, text in row.errors)))
    if len(summary.rejected) > 20:
        click.echo(_("… and %(n)d more rejected rows.", n=len(summary.rejected) - 20))
    if errors_out is not None and summary.rejected:
        with errors_out.open("wb") as stream:
            importer.write_error_file(summary, stream)
        click.echo(_("Rejected rows written to %(path)s: fix them there and import that file.", path=str(errors_out)))


def show_progress(summary):
    click.echo(_("%(rows)d rows read…", rows=summary.rows_read), err=True)


def report(job, summary, dry_run):
    lines = [_("Dry run: nothing was written.") if dry_run else _("Import %(job)d finished.", job=job.id),
             _("Rows read: %(n)d", n=summary.rows_read),
             _("To import: %(n)d rows, %(doses)d doses, %(people)d new people", n=summary.rows_imported,
               doses=summary.injections_added, people=summary.people_added) if dry_run else
             _("Imported: %(n)d rows, %(doses)d doses, %(people)d new people", n=summary.rows_imported,
               doses=summary.injections_added, people=summary.people_added),
             _("Skipped (already recorded): %(n)d rows", n=summary.rows_skipped),
             _("Rejected: %(n)d rows", n=summary.rows_rejected),
             _("Values repaired (leading zeros, dates…): %(n)d", n=summary.notes)]
    return "\n".join(lines)
