"""Every upload fed every file of the hostile corpus (zip bombs, entity expansion, external entities, a
truncated zip, absurd sheet sizes, wrong magic, empty files, NUL bytes, invalid UTF-8): each ends in a clear
error naming the problem, within a time and a memory bound, and writes nothing.

The uploads: the backlog import (``/imports``, read in a background job), the target populations
(``/allocations/targets``), a shipment's data-logger file (its page and ``POST /api/v1/.../temperatures``)
and the administrative units (``vaxchain admin-units load``: no web form). Memory is the process's peak
resident size while the upload is handled, sampled every 2 ms: the readers are partly Rust (calamine) and
C (lxml, zlib), which tracemalloc would not see.
"""
import io
import os
import re
import threading
import time
from contextlib import contextmanager

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.accounts import find_user
from core.db import db
from core.tokens import create_token
from modules.allocation.models import Target
from modules.injection.backlog import reader
from modules.injection.models import ImportJob, Injection, Person
from modules.transport.models import Reading
from modules.warehouse.models import AdminUnit
from tests.conftest import csrf_token, log_in
from tests.hostile import corpus

MAX_SECONDS = 5
# A backlog file that is not refused at once is read by the import's checking process, whose start-up (imports)
# alone takes 2.5 s on a 2-core machine, and 5.3 s while another test process runs beside it.
MAX_SECONDS_READ_BY_WORKER = 15
MAX_MB = 200
FILES = sorted(corpus.FILES)
# What the backlog reader must answer to each file (FileRefused.code); None: a file it can read.
BACKLOG_CODES = {
    "zip-bomb": "file_too_big", "zip-bomb-lying-directory": "file_too_big",
    "billion-laughs-sheet": "damaged_file", "billion-laughs-shared-strings": "damaged_file",
    "external-entity-sheet": "damaged_file", "external-entity-shared-strings": "damaged_file",
    "external-entity-workbook": "damaged_file", "truncated-zip": "damaged_file",
    "huge-dimension": "sheet_too_big", "cell-at-XFD1048576": "sheet_too_big", "row-at-1048576": None,
    "ods-value-repeated-over-all-columns": "sheet_too_big", "ods-value-repeated-over-60-columns": "sheet_too_big",
    "pdf-named-xlsx": "not_a_spreadsheet",
    "png-named-xlsx": "not_a_spreadsheet", "zip-not-a-workbook": "not_a_spreadsheet", "empty": "empty_file",
    "empty-csv": "empty_file", "csv-with-nul-bytes": "not_a_spreadsheet", "csv-invalid-utf8": "not_utf8",
    "csv-one-huge-line": "damaged_file",
}
FIGURES = os.environ.get("VAXCHAIN_HOSTILE_FIGURES")  # a file to append "upload file seconds MB" lines to


def test_the_expected_codes_cover_the_corpus():
    assert set(BACKLOG_CODES) == set(corpus.FILES)


# --- Measuring ------------------------------------------------------------------------------------------

def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Usage:
    seconds = 0.0
    peak_mb = 0.0


@contextmanager
def bounded(upload, name, max_seconds=MAX_SECONDS):
    """Time and peak resident-memory growth of the block (the process's, background threads included),
    checked against the bounds."""
    usage, base, done = Usage(), resident_bytes(), threading.Event()
    peak = [base]

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], resident_bytes())
            done.wait(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        yield usage
    finally:
        usage.seconds = time.monotonic() - started
        done.set()
        sampler.join()
        usage.peak_mb = (max(peak[0], resident_bytes()) - base) / 2**20
    if FIGURES:
        with open(FIGURES, "a") as figures:
            figures.write(f"{upload}\t{name}\t{usage.seconds:.3f}\t{usage.peak_mb:.1f}\n")
    assert usage.seconds < max_seconds, f"{name}: {usage.seconds:.1f} s"
    assert usage.peak_mb < MAX_MB, f"{name}: {usage.peak_mb:.0f} MB"


def each_file(check):
    """``check(name)`` for every file of the corpus, all failures reported together (one world and one
    login per upload keeps the run short)."""
    failures = []
    for name in FILES:
        try:
            check(name)
        except AssertionError as failure:
            failures.append(f"{name}: {failure}")
    assert not failures, "\n".join(failures)


def upload_of(name):
    filename, _build = corpus.FILES[name]
    return io.BytesIO(corpus.content(name)), filename


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def never_leaks_a_file(text):
    assert corpus.PASSWD_MARKER not in text


def english(function, *args):
    with force_locale("en"):
        return function(*args)


# --- Backlog import -------------------------------------------------------------------------------------

@pytest.fixture
def site_staff(app):
    from tests.injection.test_pages import make_world
    return make_world(app)


def import_status(app, location):
    """The job's outcome once its background thread is done, read from the database (the status page is
    exercised by the import page's own tests)."""
    job_id = int(location.rstrip("/").rsplit("/", 1)[-1])
    deadline = time.monotonic() + MAX_SECONDS_READ_BY_WORKER  # as long as the bound the caller checks
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(ImportJob, job_id)
            running = any(thread.name == f"import-{job_id}" for thread in threading.enumerate())
            if job.status != "running" and not running:
                return {"status": job.status, "message": job.message or "", "rows_imported": job.rows_imported,
                        "rows_rejected": job.rows_rejected}
        time.sleep(0.02)
    raise AssertionError("the import did not finish")


def test_the_backlog_import_refuses_each_hostile_file_with_its_reason(app, client, site_staff):
    log_in(client, "tram")
    people, doses = count(app, Person), count(app, Injection)
    token = csrf_token(client, "/imports")

    def check(name):
        file, filename = upload_of(name)
        with bounded("backlog import", name, MAX_SECONDS_READ_BY_WORKER):
            response = client.post("/imports", data={"csrf_token": token, "file": (file, filename)},
                                   content_type="multipart/form-data")
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
            status = import_status(app, response.headers["Location"])
        expected = BACKLOG_CODES[name]
        if expected is None:  # a readable file whose one row (a stray cell) is rejected
            assert (status["status"], status["rows_imported"], status["rows_rejected"]) == ("done", 0, 1), status
        else:
            assert status["status"] == "failed", status
            assert filename in status["message"], status["message"]  # the file's own reason, not "unexpected error"
            never_leaks_a_file(status["message"])
            assert reader_code(app, name) == expected
        assert (count(app, Person), count(app, Injection)) == (people, doses)

    each_file(check)


def reader_code(app, name):
    """What the reader itself answers to the file (the job shows its message)."""
    path = corpus_path(app, name)
    with app.test_request_context():
        with pytest.raises(reader.FileRefused) as refused:
            sheet = reader.open_sheet(path, corpus.FILES[name][0])
            list(sheet.rows)
    return refused.value.code


def corpus_path(app, name):
    folder = os.path.join(app.instance_path, "corpus")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, corpus.FILES[name][0])
    with open(path, "wb") as stream:
        stream.write(corpus.content(name))
    return path


def test_the_empty_rows_libreoffice_repeats_after_the_data_are_not_taken_for_data(app):
    path = os.path.join(app.instance_path, "libreoffice.ods")
    os.makedirs(app.instance_path, exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(corpus.ods_repeated(1024, value="", value_type=""))
    with app.test_request_context():
        sheet = reader.open_sheet(path)
        assert (sheet.headers, list(sheet.rows)) == (corpus.HEADERS, [])


def test_a_refused_import_is_told_in_vietnamese(app, client, site_staff):
    log_in(client, "tram")
    file, filename = upload_of("zip-bomb")
    response = client.post("/imports", data={"csrf_token": csrf_token(client, "/imports"), "file": (file, filename)},
                           content_type="multipart/form-data")
    status = import_status(app, response.headers["Location"])
    with app.test_request_context():
        assert status["message"] != english(reader.too_big, filename).message


# --- Target populations ---------------------------------------------------------------------------------

@pytest.fixture
def planner(app):
    from tests.allocation.conftest import stocked_tree
    from tests.warehouse.helpers import user_at
    with app.app_context():
        tree, _vaccine = stocked_tree()
        user_at("logistics_officer", tree.national, "lo")
        db.session.commit()


PROBLEM_ITEM = re.compile(r"<li[^>]*>([^<]+)</li>")


def test_the_target_upload_refuses_each_hostile_file_naming_the_row(app, client, planner):
    log_in(client, "lo")
    before = count(app, Target)
    token = csrf_token(client, "/allocations/targets")

    def check(name):
        file, filename = upload_of(name)
        with bounded("targets upload", name):
            response = client.post("/allocations/targets", data={"csrf_token": token, "file": (file, filename)},
                                   content_type="multipart/form-data")
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert re.search(r"Dòng \d+", page), page[-2000:]  # "Row n: ..." in Vietnamese
        never_leaks_a_file(page)
        assert count(app, Target) == before

    each_file(check)


def test_a_workbook_sent_as_targets_is_called_what_it_is(app, client, planner):
    log_in(client, "lo")
    file, filename = upload_of("zip-not-a-workbook")
    response = client.post("/allocations/targets", data={
        "csrf_token": csrf_token(client, "/allocations/targets"), "file": (file, filename)},
        content_type="multipart/form-data")
    assert "CSV" in response.get_data(as_text=True) and "UTF-8" in response.get_data(as_text=True)


# --- Data-logger file -----------------------------------------------------------------------------------

@pytest.fixture
def shipment(app, client):
    from tests.transport.test_pages import created, make_world
    world = make_world(app)
    return created(app, client, world)


FILE_ERROR = re.compile(r'id="file-error"[^>]*>([^<]+)<')


def test_the_logger_upload_page_refuses_each_hostile_file(app, client, shipment):
    before = count(app, Reading)
    token = csrf_token(client, f"/shipments/{shipment}")

    def check(name):
        file, filename = upload_of(name)
        with bounded("logger page", name):
            response = client.post(f"/shipments/{shipment}/temperatures", content_type="multipart/form-data",
                                   data={"csrf_token": token, "file": (file, filename)})
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        message = FILE_ERROR.search(page)
        assert message and message.group(1).strip(), page[-2000:]
        never_leaks_a_file(page)
        assert count(app, Reading) == before

    each_file(check)


def test_the_logger_api_refuses_each_hostile_file_as_json(app, shipment):
    with app.app_context():
        _token, secret = create_token(find_user("lo"))
        db.session.commit()
    before = count(app, Reading)
    client = app.test_client()

    def check(name):
        file, filename = upload_of(name)
        with bounded("logger API", name):
            response = client.post(f"/api/v1/shipments/{shipment}/temperatures", data={"file": (file, filename)},
                                   content_type="multipart/form-data", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 422, response.get_data(as_text=True)[:500]
        error = response.get_json()["error"]
        assert (error["code"], error["field"]) == ("bad_logger_file", "file") and error["message"]
        never_leaks_a_file(error["message"])
        assert count(app, Reading) == before

    each_file(check)


# --- Administrative units (command line) ----------------------------------------------------------------

def test_the_admin_units_loader_refuses_each_hostile_file(app, runner):
    before = count(app, AdminUnit)

    def check(name):
        path = corpus_path(app, name)
        with bounded("admin units CLI", name):
            result = runner.invoke(args=["admin-units", "load", path])
        assert result.exit_code == 1, result.output
        assert "was not loaded" in result.output and re.search(r"(Row|Dòng) \d", result.output), result.output
        never_leaks_a_file(result.output)
        assert count(app, AdminUnit) == before

    each_file(check)
