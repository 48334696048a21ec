"""Importing a backlog file end to end: rows checked and written as history, re-imports adding nothing,
dry runs writing nothing, every problem named by row and column, and an interrupted import finished by
importing the same file again."""
import os
import threading
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.access import EVERYWHERE
from core.db import db
from modules.injection.backlog import checking, importer, worker
from modules.injection.backlog.columns import COLUMNS
from modules.injection.backlog.reader import FileRefused
from modules.injection.models import BACKLOG, ImportJob, Injection, Person
from modules.warehouse import ledger
from tests.audit_coverage import assert_every_change_audited
from tests.warehouse.helpers import build_tree, receive_lot, vaccine_with_gtin

HEADERS = [column.header for column in COLUMNS]


def row(name="Lê Thị Hoa", gender="Nữ", born=date(1990, 3, 15), national_id="001190012345", phone="0912345678",
        doses=(("Vero Cell", date(2021, 8, 1), "VC1", "DT-PX"), ("Vero Cell", date(2021, 8, 29), "VC1", "DT-PX"))):
    values = {"Họ và tên": name, "Giới tính": gender, "Ngày sinh": born, "Số CCCD/CMND": national_id,
              "Số điện thoại": phone, "Dân tộc": "Kinh", "Quốc tịch": "Việt Nam"}
    for number, (vaccine, day, lot, site) in enumerate(doses, start=1):
        values.update({f"Loại vắc xin mũi {number}": vaccine, f"Ngày tiêm mũi {number}": day,
                       f"Lô vắc xin mũi {number}": lot, f"Mã cơ sở tiêm mũi {number}": site})
    return [values.get(header) for header in HEADERS]


def xlsx(path, rows, headers=HEADERS):
    book = Workbook()
    book.active.append(headers)
    for values in rows:
        book.active.append(values)
    book.save(path)
    return path


@pytest.fixture
def tree(app):
    with app.test_request_context():
        tree = build_tree()
        receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "VC1", doses=5)
        receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=10)
        yield tree


def run(path, **options):
    return importer.run(path, path.name, EVERYWHERE, **options)


def counts():
    return (db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(Injection.id)).where(Injection.source == BACKLOG)))


def test_rows_become_history_without_touching_stock_and_a_second_import_adds_nothing(tree, tmp_path):
    path = xlsx(tmp_path / "backlog.xlsx", [
        row(),
        row("Trần Văn An", "Nam", date(1985, 1, 2), "001085000111", "0987654321",
            doses=(("AstraZeneca", "02/09/2021", "az1", "dt-px"),)),
    ])
    job, summary = run(path)
    assert (summary.rows_read, summary.rows_imported, summary.rows_rejected) == (2, 2, 0)
    assert (summary.injections_added, summary.people_added) == (3, 2)
    assert counts() == (2, 3)
    assert (job.status, job.rows_imported, job.injections_added) == ("done", 2, 3)
    assert ledger.on_hand(tree.site_a.id, db.session.scalar(select(Injection.lot_id).limit(1))) in (5, 10)
    _job, again = run(path)
    assert (again.rows_skipped, again.injections_added) == (2, 0) and counts() == (2, 3)
    assert_every_change_audited()


def test_a_dry_run_counts_and_writes_nothing(tree, tmp_path):
    job, summary = run(xlsx(tmp_path / "backlog.xlsx", [row()]), dry_run=True)
    assert job is None and (summary.rows_imported, summary.injections_added) == (1, 2)
    assert counts() == (0, 0)
    assert db.session.scalar(select(func.count(ImportJob.id))) == 0


@pytest.mark.parametrize("values, column, words", [
    (row(doses=(("Vero Cell", date(2021, 8, 1), "NOPE", "DT-PX"),)), "Lô vắc xin mũi 1", "NOPE"),
    (row(doses=(("Vero Cell", date(2021, 8, 1), "VC1", "XX-99"),)), "Mã cơ sở tiêm mũi 1", "XX-99"),
    (row(doses=(("Vero Cell", date(2021, 8, 1), "VC1", "DT-PX"), ("Vero Cell", date(2021, 8, 5), "VC1", "DT-PX"))),
     None, "22/08/2021"),  # too early: 21 days after dose 1 at the earliest
    (row(gender="Nam"), "Giới tính", "001190012345"),
    (row(doses=(("Thuốc lạ", date(2021, 8, 1), "VC1", "DT-PX"),)), "Loại vắc xin mũi 1", "Thuốc lạ"),
    (row(doses=(("Vero Cell", date(2019, 8, 1), "VC1", "DT-PX"),)), "Ngày tiêm mũi 1", "2019"),
])
def test_a_bad_row_is_rejected_naming_the_column_and_nothing_of_it_is_written(tree, tmp_path, values, column, words):
    _job, summary = run(xlsx(tmp_path / "backlog.xlsx", [values]))
    assert summary.rows_rejected == 1 and counts() == (0, 0)
    [rejected] = summary.rejected
    messages = " | ".join(message for _index, message in rejected.errors)
    assert rejected.number == 2 and words in messages
    if column is not None:
        assert messages.startswith(column)


def test_the_same_person_twice_in_a_file_is_flagged_on_the_second_row(tree, tmp_path):
    _job, summary = run(xlsx(tmp_path / "backlog.xlsx", [row(), row()]))
    assert (summary.rows_imported, summary.rows_rejected) == (1, 1)
    [(_column, message)] = summary.rejected[0].errors
    assert summary.rejected[0].number == 3 and " 2" in message


def test_excel_damage_is_repaired_and_noted(tree, tmp_path):
    damaged = row(national_id=1190012345 + 0, phone=912345678, born=32947.0)  # numbers: zeros lost, a serial
    damaged[HEADERS.index("Số CCCD/CMND")] = 1190012345
    _job, summary = run(xlsx(tmp_path / "backlog.xlsx", [damaged]))
    assert summary.rows_imported == 1 and summary.notes >= 2
    assert any(note.startswith("Số CCCD/CMND: ") and "001190012345" in note for _row, note in summary.repaired)
    person = db.session.scalar(select(Person))
    assert (person.national_id, person.phone, person.date_of_birth) == ("001190012345", "0912345678",
                                                                        date(1990, 3, 15))


def test_missing_required_columns_are_refused_before_any_row(tree, tmp_path):
    headers = [header for header in HEADERS if header != "Ngày sinh"]
    with pytest.raises(FileRefused) as caught:
        run(xlsx(tmp_path / "backlog.xlsx", [row()[:2]], headers=headers))
    assert "Ngày sinh" in caught.value.message and counts() == (0, 0)


def test_an_interrupted_import_is_finished_by_importing_the_file_again(tree, tmp_path, monkeypatch):
    people = [row(f"Nguyễn Văn {given}", "Nam", date(1980, 1, 1 + n), f"0010800{n:05d}", f"09{n:08d}",
                  doses=(("Vero Cell", date(2021, 8, 1), "VC1", "DT-PX"),))
              for n, given in enumerate(["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải"], start=1)]
    path = xlsx(tmp_path / "backlog.xlsx", people)
    monkeypatch.setattr(checking, "CHUNK_ROWS", 3)
    write = importer.write

    def crash_on_row_6(chunk, job, user):
        if chunk.first_row <= 6 <= chunk.last_row:
            raise RuntimeError("power cut")
        write(chunk, job, user)

    monkeypatch.setattr(importer, "write", crash_on_row_6)
    with pytest.raises(RuntimeError):
        run(path)
    db.session.rollback()
    assert counts() == (3, 3)  # the first chunk of 3 rows is in; the second was rolled back whole
    first = db.session.scalar(select(ImportJob))
    assert (first.status, first.rows_read, first.rows_imported) == ("running", 3, 3)
    monkeypatch.setattr(importer, "write", write)
    job, summary = run(path)
    assert (summary.rows_skipped, summary.rows_imported) == (3, 4) and counts() == (7, 7)
    db.session.refresh(first)
    assert first.status == "interrupted" and job.status == "done"


def test_the_error_file_round_trip_from_the_command_line(tree, tmp_path, runner):
    path = xlsx(tmp_path / "backlog.xlsx", [
        row(),
        row("Trần Văn An", "Nam", date(1985, 1, 2), "001085000111", "0987654321",
            doses=(("Vero Cell", date(2021, 8, 1), "VC-SAI", "DT-PX"),)),
    ])
    errors = tmp_path / "loi.xlsx"
    checked = runner.invoke(args=["import", "injections", str(path), "--dry-run"])
    assert checked.exit_code == 0 and counts() == (0, 0)
    result = runner.invoke(args=["import", "injections", str(path), "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    assert "VC-SAI" in result.output and counts() == (1, 2)
    book = load_workbook(errors)
    sheet = book.worksheets[0]
    lot_column = [cell.value for cell in sheet[1]].index("Lô vắc xin mũi 1") + 1
    assert sheet.max_row == 2 and sheet.cell(row=2, column=1).value == "Trần Văn An"
    sheet.cell(row=2, column=lot_column, value="VC1")  # the user fixes the lot in the error file
    book.save(errors)
    fixed = runner.invoke(args=["import", "injections", str(errors)])
    assert fixed.exit_code == 0, fixed.output
    assert counts() == (2, 3)
    again = runner.invoke(args=["import", "injections", str(path)])
    assert again.exit_code == 0 and counts() == (2, 3)  # the original file again adds nothing


def test_each_dose_is_written_for_the_person_of_its_row(tree, tmp_path, monkeypatch):
    """People and doses are written as batches; the new people's ids must land on their own rows' doses."""
    monkeypatch.setattr(checking, "CHUNK_ROWS", 4)
    people = [row(f"Nguyễn Văn {given}", "Nam", date(1980, 1, 1 + n), f"0010800{n:05d}", f"09{n:08d}",
                  doses=(("Vero Cell", date(2021, 8, n), "VC1", "DT-PX"),))
              for n, given in enumerate(["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hùng", "Lan"], start=1)]
    run(xlsx(tmp_path / "backlog.xlsx", people))
    written = db.session.execute(select(Person.national_id, Injection.injected_on).join(
        Injection, Injection.person_id == Person.id)).all()
    assert sorted(written) == [(f"0010800{n:05d}", date(2021, 8, n)) for n in range(1, 10)]


def test_a_big_file_is_checked_in_a_worker_process_with_the_same_outcome(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "IN_PROCESS_MAX_BYTES", 0)
    path = xlsx(tmp_path / "backlog.xlsx", [
        row(),
        row("Trần Văn An", "Nam", date(1985, 1, 2), "001085000111", "0987654321",
            doses=(("Vero Cell", date(2021, 8, 1), "VC-SAI", "DT-PX"),)),
    ])
    job, summary = run(path)
    assert (summary.rows_imported, summary.rows_rejected, summary.injections_added) == (1, 1, 2)
    assert counts() == (1, 2) and job.status == "done" and job.rows_total == 2
    assert summary.rejected[0].values[0] == "Trần Văn An"
    assert any("VC-SAI" in message and "chưa được đăng ký" in message for _index, message in summary.rejected[0].errors)


def test_the_imports_larger_sqlite_page_cache_is_set_back_afterwards(tree):
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")

    def cache_size():
        return connection.exec_driver_sql("PRAGMA cache_size").scalar()

    before = cache_size()
    with importer.PageCache() as page_cache:
        page_cache.cover(connection)
        page_cache.cover(connection)  # each chunk: the size before is remembered once
        assert cache_size() == -importer.IMPORT_PAGE_CACHE_KIB != before
    assert cache_size() == before


def test_a_file_the_worker_process_refuses_is_refused_with_its_message(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "IN_PROCESS_MAX_BYTES", 0)
    headers = [header for header in HEADERS if header != "Ngày sinh"]
    with pytest.raises(FileRefused) as caught:
        run(xlsx(tmp_path / "backlog.xlsx", [row()[:2]], headers=headers))
    assert "Ngày sinh" in caught.value.message and counts() == (0, 0)


def checking_processes():
    """This process's children running the backlog worker (Linux /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(os.getpid()) and b"backlog.worker" in command:
            found.append(status.parent.name)
    return found


def test_an_import_that_stops_ends_its_checking_process_and_keeps_nothing_of_the_chunk(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "IN_PROCESS_MAX_BYTES", 0)

    def database_gone(chunk, job, user):
        raise RuntimeError("server closed the connection")

    monkeypatch.setattr(importer, "write", database_gone)
    with pytest.raises(RuntimeError):
        run(xlsx(tmp_path / "backlog.xlsx", [row()]))
    db.session.rollback()
    assert checking_processes() == [] and counts() == (0, 0)
    assert not [thread for thread in threading.enumerate() if thread.name == "backlog-checked-rows"]
