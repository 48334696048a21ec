"""The import page, ``/imports``: download the template, upload a file (checked only, or imported), follow
the import's progress live, then read its summary and download the rejected rows to fix and re-import.

The import runs in a background thread of the worker that received the file, counting into its job
record chunk by chunk: if the worker dies, the job stays "running" and importing the file again
finishes it without doubling anything (see importer).
"""
import threading
import uuid
from io import BytesIO
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField

from core.access import location_scope, roles_required
from core.db import db, utcnow
from core.models import User
from core.roles import SITE_STAFF
from core.service_errors import ServiceError
from modules.injection.backlog import cli, importer
from modules.injection.backlog.reader import SPREADSHEET_SUFFIXES
from modules.injection.models import ImportJob
from reports.excel import MIMETYPE

bp = Blueprint("backlog", __name__)  # templates and script live with the injection module's

RECENT_JOBS = 20
STATUSES = {"running": _l("Running"), "done": _l("Done"), "failed": _l("Failed"), "interrupted": _l("Interrupted")}


class ImportForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx, .xls, .ods or .csv)"))
    dry_run = BooleanField(_l("Check only: report the problems, write nothing"))


@bp.context_processor
def labels():
    return {"status_label": lambda status: STATUSES.get(status, status)}


@bp.route("/imports", methods=["GET", "POST"])
@roles_required(SITE_STAFF)
def imports():
    form = ImportForm()
    problem = None
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            problem = _("Choose the file to import.")
        elif Path(upload.filename).suffix.lower() not in SPREADSHEET_SUFFIXES:
            problem = _("%(name)s is not a spreadsheet: import an Excel (.xlsx, .xls), LibreOffice (.ods) or CSV "
                        "file.", name=upload.filename)
        else:
            job = start(upload, form.dry_run.data)
            return redirect(url_for("backlog.job", job_id=job.id), 303)
    jobs = db.session.scalars(select(ImportJob).where(ImportJob.created_by == current_user.id)
                              .order_by(ImportJob.id.desc()).limit(RECENT_JOBS)).all()
    return render_template("backlog/imports.html", form=form, problem=problem, jobs=jobs), 422 if problem else 200


@bp.route("/imports/template.xlsx")
@roles_required(SITE_STAFF)
def template_file():
    return send_file(BytesIO(cli.injections_template_bytes()), mimetype=MIMETYPE, as_attachment=True,
                     download_name="mau-nhap-hoi-cuu-tiem-chung.xlsx")


@bp.route("/imports/<int:job_id>")
@roles_required(SITE_STAFF)
def job(job_id):
    return render_template("backlog/job.html", job=own_job(job_id))


@bp.route("/imports/<int:job_id>/status.json")
@roles_required(SITE_STAFF)
def status(job_id):
    found = own_job(job_id)
    return jsonify({name: getattr(found, name) for name in (
        "status", "rows_total", "rows_read", "rows_imported", "rows_skipped", "rows_rejected", "injections_added",
        "people_added", "message")})


@bp.route("/imports/<int:job_id>/errors.xlsx")
@roles_required(SITE_STAFF)
def errors(job_id):
    path = errors_path(own_job(job_id))
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=MIMETYPE, as_attachment=True, download_name=f"loi-nhap-{job_id}.xlsx")


def own_job(job_id):
    """A job of the current user's; anyone else's is as unknown as a wrong number."""
    found = db.session.get(ImportJob, job_id)
    if found is None or found.created_by != current_user.id:
        abort(404)
    return found


# --- The background import ------------------------------------------------------------------------------

def uploads():
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def errors_path(found):
    return Path(current_app.instance_path) / "imports" / f"{found.id}-errors.xlsx"


def start(upload, dry_run):
    stored = uploads() / f"{uuid.uuid4().hex}{Path(upload.filename).suffix.lower()}"
    upload.save(stored)
    found = ImportJob(filename=Path(upload.filename).name[:255], file_sha256=importer.sha256_of(stored),
                      dry_run=bool(dry_run), stored_as=stored.name, created_by=current_user.id)
    db.session.add(found)
    db.session.commit()
    app = current_app._get_current_object()
    threading.Thread(target=run_in_background, args=(app, found.id), daemon=True,
                     name=f"import-{found.id}").start()
    return found


def run_in_background(app, job_id):
    with app.app_context():
        found = db.session.get(ImportJob, job_id)
        user = db.session.get(User, found.created_by)
        try:
            _job, summary = importer.run(uploads() / found.stored_as, found.filename, location_scope(user),
                                         user=user, job=found)
            if summary.rejected:
                with errors_path(found).open("wb") as stream:
                    importer.write_error_file(summary, stream)
        except ServiceError as error:
            fail(job_id, error.message)
        except Exception:
            current_app.logger.exception("import %s failed", job_id)
            fail(job_id, _("The import stopped on an unexpected error; what was imported is kept. Import the "
                           "same file again to finish it."))
        finally:
            db.session.remove()


def fail(job_id, message):
    db.session.rollback()
    found = db.session.get(ImportJob, job_id)
    found.status, found.message, found.finished_at = "failed", message, utcnow()
    db.session.commit()
