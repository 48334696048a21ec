"""A site's nurse brings the paper records into the system: she downloads the template, fills it in (here:
openpyxl under the template's own headers), checks it first, then imports it, watches the progress reach the
summary, and downloads the one rejected row to correct. A file over the size limit is refused before it is
sent, with the limit named."""
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import func, select

from core.db import db
from modules.injection.backlog.columns import ERROR_HEADER
from modules.injection.backlog.template import SHEET_TITLE
from modules.injection.models import BACKLOG, ImportJob, Injection
from tests.e2e.conftest import log_in
from tests.injection.backlog.test_importer import row, xlsx
from tests.injection.test_pages import make_world

LIMIT = 512 * 1024  # bytes: the import's limit here, far above these files, far below the global 64 MB
BAD_LOT = "VC-SAI"
# Illustrative people (CCCD: birth province 001, century-and-gender digit, birth year, then six digits).
GOOD = [
    row(),  # Lê Thị Hoa: two doses of Vero Cell, lot VC1, at DT-PX (the nurse's site)
    row("Trần Văn An", "Nam", date(1985, 1, 2), "001085000111", "0987654321",
        doses=(("AstraZeneca", date(2021, 9, 2), "AZ1", "DT-PX"),)),
    row("Nguyễn Thị Mai", "Nữ", date(1992, 5, 6), "001192004567", "0903123456",
        doses=(("Vero Cell", date(2021, 10, 4), "VC1", "DT-PX"),)),
]
GOOD_DOSES = 4
BAD = row("Phạm Văn Bình", "Nam", date(1980, 7, 8), "001080009876", "0934567890",
          doses=(("Vero Cell", date(2021, 8, 1), BAD_LOT, "DT-PX"),))


@pytest.fixture
def app(make_app):
    return make_app(VAXCHAIN_IMPORT_MAX_BYTES=LIMIT)


@pytest.fixture
def world(app):
    return make_world(app)


def download(page, link, folder):
    """The workbook the link downloads, saved under the name the server gives it."""
    with page.expect_download() as started:
        page.locator(link).click()
    name = started.value.suggested_filename
    assert name.endswith(".xlsx")
    started.value.save_as(folder / name)
    return load_workbook(folder / name)


def upload(page, path, check_only=False):
    page.goto("/imports")
    page.locator("#file").set_input_files(str(path))
    if check_only:
        page.locator("#dry_run").check()
    page.locator("#import-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.locator("#import-job")).to_have_attribute("data-status", "done", timeout=30_000)


def counted(page, name):
    return page.locator(f"#import-job [data-count={name}]")


def backlog_doses(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Injection.id)).where(Injection.source == BACKLOG))


def test_the_template_is_filled_checked_imported_and_the_rejected_row_comes_back(app, page, world, tmp_path):
    log_in(page, "tram")
    page.goto("/imports")
    template = download(page, "#template-download", tmp_path)
    assert template.sheetnames[0] == SHEET_TITLE
    headers = [cell.value for cell in next(template[SHEET_TITLE].iter_rows(max_row=1))]
    path = xlsx(tmp_path / "so-tiem-tram.xlsx", [*GOOD, BAD], headers=headers)

    upload(page, path, check_only=True)
    expect(counted(page, "rows_imported")).to_have_text(str(len(GOOD)))
    expect(counted(page, "rows_rejected")).to_have_text("1")
    assert backlog_doses(app) == 0

    upload(page, path)
    expect(counted(page, "rows_read")).to_have_text(str(len(GOOD) + 1))
    expect(counted(page, "rows_imported")).to_have_text(str(len(GOOD)))
    expect(counted(page, "injections_added")).to_have_text(str(GOOD_DOSES))
    expect(counted(page, "rows_rejected")).to_have_text("1")
    expect(page.locator("#job-progress")).to_have_attribute("value", str(len(GOOD) + 1))
    assert backlog_doses(app) == GOOD_DOSES

    errors = download(page, "#errors-download", tmp_path).worksheets[0]
    header = [cell.value for cell in errors[1]]
    assert header[-1] == ERROR_HEADER and header[:-1] == headers
    assert errors.max_row == 2
    rejected = [cell.value for cell in errors[2]]
    assert rejected[0] == BAD[0] and BAD_LOT in rejected and rejected[-1]

    page.goto("/imports")
    jobs = page.locator("#import-jobs tbody tr[data-job]")
    expect(jobs).to_have_count(2)
    expect(jobs.first).to_contain_text(path.name)


def test_a_file_over_the_limit_is_refused_before_it_is_sent(app, page, world, tmp_path):
    log_in(page, "tram")
    big = tmp_path / "so-tiem-lon.xlsx"
    big.write_bytes(b"\0" * (LIMIT + 1))
    page.goto("/imports")
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    page.locator("#file").set_input_files(str(big))
    page.locator("#import-form button[type=submit]").click()
    expect(page.locator("#import-problem")).to_contain_text("0,5")  # 512 KB in MB, written the Vietnamese way
    assert sent == []
    with app.app_context():
        assert db.session.scalar(select(func.count(ImportJob.id))) == 0


@pytest.fixture
def page_without_scripts(browser, live_server):
    context = browser.new_context(locale="vi-VN", base_url=live_server, java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_without_scripts_the_server_refuses_it_on_the_page(app, page_without_scripts, world, tmp_path):
    page = page_without_scripts
    log_in(page, "tram")
    big = tmp_path / "so-tiem-lon.xlsx"
    big.write_bytes(b"\0" * (4 * LIMIT))
    page.goto("/imports")
    page.locator("#file").set_input_files(str(big))
    with page.expect_response(re.compile(r"/imports$")) as answered:
        page.locator("#import-form button[type=submit]").click()
    assert answered.value.status == 413
    expect(page.locator("#import-problem")).to_contain_text("0,5")
    expect(page.locator("#import-form")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(func.count(ImportJob.id))) == 0
