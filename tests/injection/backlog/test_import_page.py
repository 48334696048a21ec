"""The import page: template download, upload, background import with its progress, the summary and the
rejected rows to download — a user's own imports only, at their own sites only; files up to the import's
own size limit, every other page keeping the app's."""
import io
import os
import re
import time
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.config import ConfigError
from core.db import db
from modules.injection.backlog.reader import MAX_FILE_BYTES
from modules.injection.models import BACKLOG, ImportJob, Injection
from tests.conftest import csrf_token, log_in
from tests.injection.backlog.test_importer import row, xlsx
from tests.injection.test_pages import make_world


@pytest.fixture
def world(app):
    return make_world(app)


def upload(client, path, dry_run=False):
    data = {"csrf_token": csrf_token(client, "/imports"), "file": (io.BytesIO(path.read_bytes()), path.name)}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/imports", data=data, content_type="multipart/form-data")


def finished(client, location):
    for _attempt in range(200):
        status = client.get(f"{location}/status.json").get_json()
        if status["status"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


MB = 2**20
PROBLEM = re.compile(r'<p class="error" role="alert" id="import-problem">([^<]*)</p>')


def backlog_doses(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Injection.id)).where(Injection.source == BACKLOG))


def test_an_upload_is_imported_in_the_background_with_the_rejected_rows_to_download(app, client, world, tmp_path):
    log_in(client, "tram")
    template = client.get("/imports/template.xlsx")
    assert template.status_code == 200 and load_workbook(io.BytesIO(template.data)).sheetnames[0] == "Mẫu nhập"
    path = xlsx(tmp_path / "so-tiem.xlsx", [
        row(),
        row("Trần Văn An", "Nam", date(1985, 1, 2), "001085000111", "0987654321",
            doses=(("Vero Cell", date(2021, 8, 1), "VC-SAI", "DT-PX"),)),
    ])
    response = upload(client, path)
    assert response.status_code == 303
    location = response.headers["Location"]
    status = finished(client, location)
    assert (status["status"], status["rows_imported"], status["rows_rejected"], status["injections_added"]) == \
        ("done", 1, 1, 2)
    assert backlog_doses(app) == 2
    page = client.get(location).get_data(as_text=True)
    assert "so-tiem.xlsx" in page and "errors.xlsx" in page
    errors = load_workbook(io.BytesIO(client.get(f"{location}/errors.xlsx").data)).worksheets[0]
    assert errors.max_row == 2 and errors.cell(row=2, column=1).value == "Trần Văn An"
    assert "so-tiem.xlsx" in client.get("/imports").get_data(as_text=True)


def test_a_check_only_upload_writes_nothing(app, client, world, tmp_path):
    log_in(client, "tram")
    response = upload(client, xlsx(tmp_path / "so-tiem.xlsx", [row()]), dry_run=True)
    status = finished(client, response.headers["Location"])
    assert (status["status"], status["rows_imported"], status["injections_added"]) == ("done", 1, 2)
    assert backlog_doses(app) == 0


def test_another_sites_rows_and_another_users_import_stay_out_of_reach(app, client, world, tmp_path):
    log_in(client, "xa")  # staff of another province: DT-PX is not theirs
    response = upload(client, xlsx(tmp_path / "so-tiem.xlsx", [row()]))
    location = response.headers["Location"]
    status = finished(client, location)
    assert (status["rows_rejected"], backlog_doses(app)) == (1, 0)
    other = app.test_client()
    log_in(other, "tram")
    assert other.get(location).status_code == 404
    assert other.get(f"{location}/status.json").status_code == 404


def test_a_file_that_is_not_a_spreadsheet_is_refused_on_the_page(client, world, tmp_path):
    log_in(client, "tram")
    (tmp_path / "ghi-chu.txt").write_text("không phải bảng tính")
    response = upload(client, tmp_path / "ghi-chu.txt")
    assert response.status_code == 422 and "ghi-chu.txt" in response.get_data(as_text=True)


def junk(path, size):
    """A file of ``size`` bytes named like a spreadsheet (the size limit comes before any reading)."""
    path.write_bytes(os.urandom(size))
    return path


def post_file(client, path):
    """The file posted to the import page without the page's form (a user who cannot open it)."""
    return client.post("/imports", data={"file": (io.BytesIO(path.read_bytes()), path.name)},
                       content_type="multipart/form-data")


def kept(app):
    """The import jobs recorded and the files stored for import."""
    with app.app_context():
        jobs = db.session.scalar(select(func.count(ImportJob.id)))
    folder = Path(app.instance_path) / "imports"
    return jobs, sorted(path.name for path in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("size", [MB + 1, 3 * MB], ids=["just-over", "far-over"])
def test_a_file_over_the_import_limit_is_refused_on_the_page_and_nothing_is_kept(make_app, tmp_path, size):
    app = make_app(VAXCHAIN_IMPORT_MAX_BYTES=MB)
    make_world(app)
    client = app.test_client()
    log_in(client, "tram")
    response = upload(client, junk(tmp_path / "so-tiem.xlsx", size))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert 'id="import-form"' in page and " 1 MB" in PROBLEM.search(page).group(1)
    assert kept(app) == (0, [])


def test_the_import_limit_replaces_the_global_one_on_the_import_page_only(make_app, tmp_path):
    app = make_app(MAX_CONTENT_LENGTH=MB, VAXCHAIN_IMPORT_MAX_BYTES=4 * MB)
    make_world(app)
    path = junk(tmp_path / "so-tiem.xlsx", 2 * MB)
    client = app.test_client()
    assert post_file(client, path).status_code == 413  # not logged in: the global limit, before the login check
    log_in(client, "tram")
    response = upload(client, path)
    assert response.status_code == 303
    assert finished(client, response.headers["Location"])["status"] == "failed"  # random bytes: no spreadsheet
    assert kept(app)[0] == 1
    other = client.post("/login", data={"csrf_token": csrf_token(client, "/imports"), "note": "x" * 2 * MB})
    assert other.status_code == 413 and 'id="import-form"' not in other.get_data(as_text=True)
    viewer = app.test_client()
    log_in(viewer, "xem")  # may not import
    assert post_file(viewer, path).status_code == 413


def test_other_pages_keep_the_global_limit_of_64_mb(app, client, world):
    log_in(client, "tram")
    limit = 64 * MB
    assert app.config["MAX_CONTENT_LENGTH"] == limit
    over = client.post("/login", data={"username": "tram"},
                       environ_overrides={"CONTENT_LENGTH": str(limit + 1)})  # declared: refused unread
    assert over.status_code == 413 and 'id="import-form"' not in over.get_data(as_text=True)


def test_an_import_limit_above_what_the_reader_takes_stops_the_start(make_app):
    with pytest.raises(ConfigError, match="VAXCHAIN_IMPORT_MAX_BYTES"):
        make_app(VAXCHAIN_IMPORT_MAX_BYTES=MAX_FILE_BYTES + 1)
