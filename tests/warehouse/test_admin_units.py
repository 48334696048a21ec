"""Administrative units loaded from CSV: upsert by code, any depth, NFC names, whole file refused on a bad row."""
import csv
import io
import unicodedata
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.db import db
from core.models import AuditEntry
from modules.warehouse.admin_units import DEMO_FILE, AdminUnitFileError, load_admin_units
from modules.warehouse.models import AdminUnit

# A copy of ../shared/data/cccd_birth_province_codes.csv (Circular 07/2016/TT-BCA, appendix)
CCCD_CODES = Path(__file__).resolve().parent.parent / "data" / "cccd_birth_province_codes.csv"
HEADER = "code,name,level,parent_code\n"
GOOD = HEADER + (
    "01,Thành phố Hà Nội,province,\n"
    "001,Quận Ba Đình,district,01\n"
    "00001,Phường Phúc Xá,ward,001\n"
    "79,Thành phố Hồ Chí Minh,province,\n"
    "26734,Phường Tân Định,ward,79\n"  # a ward straight under its province, as after the 2025 reform
)


@pytest.fixture
def ctx(app):
    """These tests read the English source text of the messages."""
    with app.app_context(), force_locale("en"):
        yield


def load(text, encoding="utf-8"):
    return load_admin_units(io.BytesIO(text.encode(encoding)))


def units():
    return {unit.code: (unit.name, unit.level, unit.parent_code)
            for unit in db.session.scalars(select(AdminUnit))}


def refused(text):
    """Load ``text`` expecting a refusal; returns the problems, after checking nothing was written."""
    before = units()
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(AdminUnitFileError) as error:
        load(text)
    db.session.rollback()
    assert units() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    assert error.value.message == error.value.problems[0]
    return error.value.problems


# --- A good file ------------------------------------------------------------------------------------

def test_a_good_file_creates_every_unit_with_its_parent(ctx):
    result = load(GOOD)
    db.session.commit()

    assert (result.created, result.updated, result.unchanged) == (5, 0, 0)
    assert units() == {
        "01": ("Thành phố Hà Nội", "province", None),
        "001": ("Quận Ba Đình", "district", "01"),
        "00001": ("Phường Phúc Xá", "ward", "001"),
        "79": ("Thành phố Hồ Chí Minh", "province", None),
        "26734": ("Phường Tân Định", "ward", "79"),
    }


def test_children_may_come_before_their_parents_in_the_file(ctx):
    lines = GOOD.splitlines(keepends=True)
    result = load(lines[0] + "".join(reversed(lines[1:])))
    db.session.commit()

    assert result.created == 5 and units()["00001"][2] == "001"


def test_loading_the_same_file_again_changes_nothing(ctx):
    load(GOOD)
    db.session.commit()
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))

    result = load(GOOD)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 5)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


def test_units_are_updated_by_code(ctx):
    load(GOOD)
    db.session.commit()

    result = load(HEADER + "001,Quận  Ba Đình (mới),district,01\n002,Quận Hoàn Kiếm,district,01\n"
                           "26734,Phường Tân Định,ward,001\n")
    db.session.commit()

    assert (result.created, result.updated, result.unchanged) == (1, 2, 0)
    assert units()["001"] == ("Quận Ba Đình (mới)", "district", "01")
    assert units()["26734"] == ("Phường Tân Định", "ward", "001")
    assert len(units()) == 6


def test_a_parent_already_in_the_database_may_be_left_out_of_the_file(ctx):
    load(HEADER + "48,Thành phố Đà Nẵng,province,\n")
    db.session.commit()

    result = load(HEADER + "492,Quận Hải Châu,district,48\n")

    assert result.created == 1 and units()["492"][2] == "48"


def test_a_load_is_audited(ctx):
    load(GOOD)
    db.session.commit()

    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "admin_units.load")).one()
    assert entry.details == {"created": 5, "updated": 0}


def test_a_byte_order_mark_is_accepted(ctx):
    result = load_admin_units(io.BytesIO(b"\xef\xbb\xbf" + GOOD.encode()))

    assert result.created == 5 and "01" in units()


def test_a_text_file_and_a_path_are_accepted(ctx, tmp_path):
    assert load_admin_units(io.StringIO("\ufeff" + GOOD)).created == 5
    db.session.rollback()
    path = tmp_path / "units.csv"
    path.write_text(GOOD, encoding="utf-8")

    assert load_admin_units(path).created == 5
    db.session.rollback()
    assert load_admin_units(str(path)).created == 5


def test_names_are_stored_nfc_trimmed_and_single_spaced(ctx):
    decomposed = unicodedata.normalize("NFD", "Phường Phúc Xá")
    assert decomposed != "Phường Phúc Xá"

    load(HEADER + f'01,Thành phố Hà Nội,province,\n00001,"  {decomposed.replace(" ", "   ")} ",ward,01\n')

    assert units()["00001"][0] == "Phường Phúc Xá"


def test_a_file_written_on_windows_with_blank_lines_and_spaces_around_values_loads(ctx):
    text = ("Code, Name ,LEVEL,parent_code\r\n 01 , Thành phố Hà Nội , Province ,\r\n\r\n"
            "001,Quận Ba Đình,district, 01 \r\n")

    result = load(text)

    assert result.created == 2 and units()["001"] == ("Quận Ba Đình", "district", "01")


# --- Bad rows: the whole file refused, naming row and column ------------------------------------------

def test_an_unknown_level_is_refused(ctx):
    problems = refused(GOOD + "002,Quận Hoàn Kiếm,county,01\n")

    assert problems == ["Row 7, column level: unknown level county: use province, district or ward."]


def test_a_missing_name_is_refused(ctx):
    assert refused(GOOD + "002,  ,district,01\n") == ["Row 7, column name: the name is missing."]


def test_a_missing_code_is_refused(ctx):
    assert refused(GOOD + ",Quận Hoàn Kiếm,district,01\n") == ["Row 7, column code: the code is missing."]


def test_a_parent_neither_in_the_file_nor_in_the_database_is_refused(ctx):
    problems = refused(GOOD + "490,Quận Liên Chiểu,district,48\n")

    assert problems == ["Row 7, column parent_code: the parent 48 is neither in the file nor among the units "
                        "already loaded."]


def test_a_code_twice_in_the_file_is_refused(ctx):
    problems = refused(GOOD + "001,Quận Hoàn Kiếm,district,01\n")

    assert problems == ["Row 7, column code: the code 001 is already on row 3."]


def test_a_cycle_is_refused(ctx):
    problems = refused(HEADER + "A1,Quận A,district,B1\nB1,Phường B,ward,A1\n")

    assert problems[0] == "Row 2, column parent_code: the parents go round in a circle: A1 → B1 → A1."
    assert problems[1] == "Row 3, column parent_code: the parents go round in a circle: B1 → A1 → B1."


def test_a_unit_that_is_its_own_parent_is_refused(ctx):
    assert refused(HEADER + "001,Quận Ba Đình,district,001\n") == [
        "Row 2, column parent_code: the parents go round in a circle: 001 → 001."]


def test_a_cycle_through_units_already_loaded_is_refused(ctx):
    load(GOOD)
    db.session.commit()

    problems = refused(HEADER + "001,Quận Ba Đình,district,00001\n")

    assert problems == ["Row 2, column parent_code: the parents go round in a circle: 001 → 00001 → 001."]


@pytest.mark.parametrize(("row", "message"), [
    ("48,Thành phố Đà Nẵng,province,79", "a province is at the top: it has no parent (here 79)."),
    ("002,Quận Hoàn Kiếm,district,", "a district needs a parent."),
    ("002,Quận Hoàn Kiếm,district,001", "a district belongs to a province, not to the district 001."),
    ("00004,Phường Trúc Bạch,ward,00001", "a ward belongs to a province or a district, not to the ward 00001."),
])
def test_a_unit_under_the_wrong_level_is_refused(ctx, row, message):
    assert refused(GOOD + row + "\n") == [f"Row 7, column parent_code: {message}"]


def test_a_level_change_that_strands_loaded_children_is_refused(ctx):
    load(GOOD)
    db.session.commit()

    problems = refused(HEADER + "001,Phường Ba Đình,ward,01\n")

    assert problems == ["Row 2, column level: 001 cannot become a ward: the ward 00001, already loaded, belongs "
                        "to it."]


def test_every_bad_row_is_reported_and_good_rows_are_not_written(ctx):
    problems = refused(GOOD + "002,,district,01\n003,Quận Tây Hồ,town,01\n")

    assert [problem.split(":")[0] for problem in problems] == ["Row 7, column name", "Row 8, column level"]


@pytest.mark.parametrize("text", ["", "code;name;level;parent_code\n01;Hà Nội;province;\n",
                                  "ma,ten,cap,ma_cha\n01,Hà Nội,province,\n"])
def test_a_file_without_the_header_is_refused(ctx, text):
    assert refused(text) == ["Row 1: the header must be code,name,level,parent_code."]


def test_a_file_with_only_the_header_is_refused(ctx):
    assert refused(HEADER) == ["Row 2: the file holds no administrative unit."]


def test_a_row_with_too_many_values_is_refused(ctx):
    assert refused(GOOD + "002,Quận Hoàn Kiếm,district,01,extra\n") == [
        "Row 7: 5 values, but the header has 4 columns."]


def test_a_name_with_a_control_character_is_refused(ctx):
    assert refused(GOOD + "002,Quận Hoàn\x00 Kiếm,district,01\n") == [
        "Row 7, column name: the name holds a control character."]


def test_a_name_too_long_is_refused(ctx):
    assert refused(GOOD + f"002,{'Quận ' * 40},district,01\n") == [
        "Row 7, column name: the name is longer than 160 characters."]


def test_a_file_that_is_not_csv_is_refused(ctx):
    problems = refused(GOOD + '002,"' + "x" * 200_000 + '",district,01\n')

    assert len(problems) == 1 and problems[0].startswith("Row 7: this is not CSV text")


def test_a_file_that_is_not_utf8_is_refused(ctx):
    latin1 = GOOD.replace("Quận Ba Đình", "Quan Ba Dinh").replace("Phường Phúc Xá", "Phường Phúc Xà")
    before = units()

    with pytest.raises(AdminUnitFileError) as error:
        load_admin_units(io.BytesIO(latin1.encode("utf-8").replace("Xà".encode(), "X\xe0".encode("latin-1"))))

    assert error.value.problems == ["Row 4: the file is not UTF-8 text."]
    assert units() == before


# --- The demo file ------------------------------------------------------------------------------------

def test_the_demo_file_has_the_63_provinces_with_the_official_codes_of_the_cccd_list(ctx):
    load_admin_units(DEMO_FILE)
    with CCCD_CODES.open(encoding="utf-8") as cccd:
        expected = {row["code"][1:]: row["province"] for row in csv.DictReader(cccd)}

    provinces = {code: name for code, (name, level, _parent) in units().items() if level == "province"}

    assert len(expected) == 63 and set(provinces) == set(expected)
    for code, name in provinces.items():
        assert name.endswith(expected[code]), (code, name)


def test_the_demo_file_has_districts_and_wards_of_the_three_demo_provinces(ctx):
    load_admin_units(DEMO_FILE)
    loaded = units()

    assert loaded["001"] == ("Quận Ba Đình", "district", "01")
    assert loaded["00004"] == ("Phường Trúc Bạch", "ward", "001")
    assert loaded["492"] == ("Quận Hải Châu", "district", "48")
    assert loaded["26740"] == ("Phường Bến Nghé", "ward", "760")
    assert loaded["760"] == ("Quận 1", "district", "79")


# --- The command line ---------------------------------------------------------------------------------

def test_the_command_loads_a_file_and_prints_the_counts(app, runner, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(GOOD, encoding="utf-8")

    first = runner.invoke(args=["admin-units", "load", str(path)])
    again = runner.invoke(args=["admin-units", "load", str(path)])

    assert first.exit_code == 0, first.output
    assert "5 created, 0 updated, 0 unchanged" in first.output
    assert "0 created, 0 updated, 5 unchanged" in again.output
    with app.app_context():
        assert len(units()) == 5


def test_the_command_refuses_a_bad_file_naming_the_row_and_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(GOOD + "490,Quận Liên Chiểu,district,48\n", encoding="utf-8")

    result = runner.invoke(args=["admin-units", "load", str(path)])

    assert result.exit_code == 1
    assert "Row 7, column parent_code: the parent 48" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert units() == {}


def test_the_command_refuses_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["admin-units", "load", str(tmp_path / "none.csv")])

    assert result.exit_code == 2 and "does not exist" in result.output
