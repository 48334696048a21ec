"""The import page: template download, upload, background import with its progress, the summary and the
rejected rows to download — a user's own imports only, at their own sites only."""
import io
import time
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.db import db
from modules.injection.models import BACKLOG, Injection
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
