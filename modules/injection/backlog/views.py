"""The import page, ``/imports``: download the template, upload a file (checked only, or imported), follow
the import's progress live, then read its summary and download the rejected rows to fix and re-import.

The upload may be as large as the import takes (``VAXCHAIN_IMPORT_MAX_BYTES``, by default the reader's own
limit), far above the app's ``MAX_CONTENT_LENGTH`` that every other page keeps; a file over it gets the form
back with the limit named, not a bare 413 page.

The import runs in a background thread of the worker that received the file, counting into its job
record chunk by chunk: if the worker dies, the pages show the job "interrupted" as soon as they find its
process gone (see ImportJob), and importing the file again finishes it without doubling anything.
"""
import os
import threading
import uuid
from io import BytesIO
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField

from core import errors as error_pages
from core.access import allowed, location_scope, roles_required
from core.config import ConfigError
from core.db import db
from core.i18n import format_number
from core.models import User
from core.roles import SITE_STAFF
from core.service_errors import ServiceError
from modules.injection.backlog import cli, importer
from modules.injection.backlog.reader import MAX_FILE_BYTES, SPREADSHEET_SUFFIXES
from modules.injection.models import ImportJob
from reports.excel import MIMETYPE

bp = Blueprint("backlog", __name__)  # templates and script live with the injection module's

RECENT_JOBS = 20
FORM_ALLOWANCE = 64 * 1024  # the upload's request also carries the other fields and the multipart headers
STATUSES = {"running": _l("Running"), "done": _l("Done"), "failed": _l("Failed"), "interrupted": _l("Interrupted")}


class ImportForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx, .xls, .ods or .csv)"))
    dry_run = BooleanField(_l("Check only: report the problems, write nothing"))


@bp.context_processor
def labels():
    return {"status_label": lambda status: STATUSES.get(status, status)}


@bp.record_once
def check_upload_limit(state):
    limit = state.app.config.get("VAXCHAIN_IMPORT_MAX_BYTES")
    if limit is not None and not 0 < limit <= MAX_FILE_BYTES:
        raise ConfigError(f"VAXCHAIN_IMPORT_MAX_BYTES={limit} must be between 1 and {MAX_FILE_BYTES}, the largest "
                          "file the import reads")


def upload_limit():
    """The largest file the import page accepts, in bytes."""
    return current_app.config.get("VAXCHAIN_IMPORT_MAX_BYTES") or MAX_FILE_BYTES


def limit_in_mb():
    return format_number(round(upload_limit() / 2**20, 1))


def too_big_message():
    return _("The file is larger than %(max)s MB, the most one import accepts: split it into several files.",
             max=limit_in_mb())


@bp.url_value_preprocessor
def allow_large_uploads(endpoint, _values):
    """Let the import page's request body grow to the import's limit.

    This runs before every before_request, as it must: the app's CSRF check, a before_request of the app's
    that runs ahead of any blueprint's, reads the form, and with it the whole body. Only for users who may
    import: anyone else's body stays within MAX_CONTENT_LENGTH, before the access check turns them away.
    """
    if endpoint == "backlog.imports" and allowed(endpoint, current_user):
        request.max_content_length = upload_limit() + FORM_ALLOWANCE


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """The body went over the limit before the form could be read: the form again, the limit named."""
    if request.endpoint != "backlog.imports" or not allowed(request.endpoint, current_user):
        return error_pages.http_error(error)
    return import_page(ImportForm(formdata=None), too_big_message(), 413)


@bp.route("/imports", methods=["GET", "POST"])
@roles_required(SITE_STAFF)
def imports():
    form = ImportForm()
    problem, status = None, 422
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            problem = _("Choose the file to import.")
        elif Path(upload.filename).suffix.lower() not in SPREADSHEET_SUFFIXES:
            problem = _("%(name)s is not a spreadsheet: import an Excel (.xlsx, .xls), LibreOffice (.ods) or CSV "
                        "file.", name=upload.filename)
        elif size_of(upload) > upload_limit():
            problem, status = too_big_message(), 413
        else:
            job = start(upload, form.dry_run.data)
            return redirect(url_for("backlog.job", job_id=job.id), 303)
    return import_page(form, problem, status if problem else 200)


def import_page(form, problem, status):
    jobs = db.session.scalars(select(ImportJob).where(ImportJob.created_by == current_user.id)
                              .order_by(ImportJob.id.desc()).limit(RECENT_JOBS)).all()
    importer.settle_interrupted(jobs)
    return render_template("backlog/imports.html", form=form, problem=problem, jobs=jobs,
                           max_bytes=upload_limit(), max_mb=limit_in_mb(), too_big=too_big_message()), status


def size_of(upload):
    """The uploaded file's size, read off its (spooled) stream without reading it."""
    stream = upload.stream
    here = stream.tell()
    size = stream.seek(0, os.SEEK_END)
    stream.seek(here)
    return size


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
    """A job of the current user's (marked interrupted if its process is gone); anyone else's is as unknown
    as a wrong number."""
    found = db.session.get(ImportJob, job_id)
    if found is None or found.created_by != current_user.id:
        abort(404)
    importer.settle_interrupted([found])
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
    upload.save(stored)  # copied in chunks from the temporary file Werkzeug spooled the upload into
    found = ImportJob(filename=Path(upload.filename).name[:255], file_sha256=importer.sha256_of(stored),
                      dry_run=bool(dry_run), stored_as=stored.name, created_by=current_user.id)
    db.session.add(found)
    db.session.flush()
    importer.claim(found)  # this process runs it, from now: a status asked for meanwhile must not call it lost
    db.session.commit()
    app = current_app._get_current_object()
    threading.Thread(target=run_in_background, args=(app, found.id), daemon=True,
                     name=f"import-{found.id}").start()
    return found


def write_errors(summary, path):
    if summary.rejected:
        with path.open("wb") as stream:
            importer.write_error_file(summary, stream)


def run_in_background(app, job_id):
    with app.app_context():
        found = db.session.get(ImportJob, job_id)
        user = db.session.get(User, found.created_by)
        try:
            importer.run(uploads() / found.stored_as, found.filename, location_scope(user), user=user, job=found,
                         before_done=lambda summary: write_errors(summary, errors_path(found)))
        except ServiceError as error:
            importer.record_failure(error.message, job_id)
        except DBAPIError as error:
            current_app.logger.warning("import %s stopped: database error %s", job_id, type(error.orig).__name__)
            importer.record_failure(importer.database_lost_message(), job_id)
        except Exception:
            current_app.logger.exception("import %s failed", job_id)
            importer.record_failure(_("The import stopped on an unexpected error; what was imported is kept. "
                                      "Import the same file again to finish it."), job_id)
        finally:
            importer.RUNNING_HERE.discard(job_id)  # also when it failed before the import began
            db.session.remove()
