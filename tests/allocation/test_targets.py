"""Target populations loaded from CSV: comma or semicolon, thousands grouped or not, set by unit code;
one bad row refuses the whole file, naming its row and column."""
import io

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.db import db
from core.models import AuditEntry
from core.service_errors import ServiceError
from modules.allocation.models import Target
from modules.allocation.targets import MAX_POPULATION, TargetFileError, load_targets, read_rows
from modules.warehouse.admin_units import DEMO_FILE, load_admin_units

HEADER = "code,population\n"
GOOD = HEADER + "01,6215000\n48,879000\n001,181000\n"


@pytest.fixture
def ctx(app):
    """The demo administrative units (63 provinces and some districts and wards) loaded; the messages
    are read in their English source text."""
    with app.app_context(), force_locale("en"):
        load_admin_units(DEMO_FILE)
        db.session.commit()
        yield


def load(text, encoding="utf-8"):
    return load_targets(io.BytesIO(text.encode(encoding)))


def populations():
    return {target.admin_unit_code: target.population for target in db.session.scalars(select(Target))}


def audit_count():
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def refused(data):
    """Load ``data`` (text or bytes) expecting a refusal; returns the problems, after checking nothing
    was written."""
    before, audit_before = populations(), audit_count()
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    with pytest.raises(TargetFileError) as error:
        load_targets(io.BytesIO(raw))
    db.session.rollback()
    assert populations() == before
    assert audit_count() == audit_before
    assert error.value.message == error.value.problems[0]
    return error.value.problems


# --- A good file ------------------------------------------------------------------------------------

def test_a_good_file_sets_the_population_of_each_unit(ctx):
    result = load(GOOD)
    db.session.commit()

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert populations() == {"01": 6_215_000, "48": 879_000, "001": 181_000}


def test_a_spreadsheet_export_with_bom_semicolons_and_grouped_thousands_loads(ctx):
    text = "\ufeffCode; Population\r\n01;6.215.000\r\n48; 879 000 \r\n\r\n79;7\u00a0020\u00a0000\r\n001;181000\r\n"

    result = load(text)

    assert result.created == 4
    assert populations() == {"01": 6_215_000, "48": 879_000, "79": 7_020_000, "001": 181_000}


def test_thousands_grouped_with_commas_load_from_a_semicolon_file(ctx):
    assert read_rows(io.BytesIO(b"code;population\n01;1,250,000\n")) == {"01": 1_250_000}


def test_a_quoted_grouped_number_loads_from_a_comma_file(ctx):
    assert read_rows(io.BytesIO(b'code,population\n01,"1,250,000"\n')) == {"01": 1_250_000}


def test_a_text_file_and_a_path_are_accepted(ctx, tmp_path):
    assert read_rows(io.StringIO("\ufeff" + GOOD)) == {"01": 6_215_000, "48": 879_000, "001": 181_000}
    path = tmp_path / "targets.csv"
    path.write_text(GOOD, encoding="utf-8")

    assert load_targets(path).created == 3
    db.session.rollback()
    assert load_targets(str(path)).created == 3


def test_a_population_of_zero_is_accepted(ctx):
    assert read_rows(io.BytesIO(b"code,population\n01,0\n")) == {"01": 0}


def test_populations_are_created_updated_or_left_unchanged_by_code(ctx):
    load(GOOD)
    db.session.commit()

    result = load(HEADER + "01,6.300.000\n48,879.000\n79,7.020.000\n")
    db.session.commit()

    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert populations() == {"01": 6_300_000, "48": 879_000, "79": 7_020_000, "001": 181_000}


def test_loading_the_same_file_again_changes_nothing(ctx):
    load(GOOD)
    db.session.commit()
    stamps = dict(db.session.execute(select(Target.admin_unit_code, Target.updated_at)).all())
    audit_before = audit_count()

    result = load(GOOD)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert not db.session.dirty and not db.session.new
    db.session.commit()
    assert dict(db.session.execute(select(Target.admin_unit_code, Target.updated_at)).all()) == stamps
    assert audit_count() == audit_before


def test_a_load_is_audited_with_its_counts(ctx):
    load(GOOD)
    db.session.commit()

    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "allocation.targets_load")).one()
    assert entry.details == {"created": 3, "updated": 0}


def test_the_demo_targets_file_loads(ctx):
    from modules.allocation.demo import DEMO_FILE as TARGETS_DEMO

    result = load_targets(TARGETS_DEMO)

    assert result.created > 0 and populations()["01"] == 6_215_000


# --- Bad rows: the whole file refused, naming row and column ------------------------------------------

@pytest.mark.parametrize("text", ["ma,dan_so\n01,100\n", "code,population,note\n01,100,x\n",
                                  "population,code\n100,01\n", "01,6215000\n"])
def test_a_file_without_the_header_is_refused(ctx, text):
    assert refused(text) == ["Row 1: the header must be code,population."]


def test_an_empty_file_is_refused(ctx):
    assert refused("") == ["Row 1: the header must be code,population."]


def test_a_file_with_only_the_header_is_refused(ctx):
    assert refused(HEADER + "\n \n") == ["Row 2: the file holds no target population."]


@pytest.mark.parametrize(("row", "n"), [("01", 1), ("01,100,extra", 3)])
def test_a_row_with_the_wrong_number_of_values_is_refused(ctx, row, n):
    assert refused(GOOD + row + "\n") == [f"Row 5: {n} values, but the header has 2 columns."]


def test_a_missing_code_is_refused(ctx):
    assert refused(GOOD + " ,1000\n") == ["Row 5, column code: the code is missing."]


def test_a_code_twice_in_the_file_is_refused_naming_the_first_row(ctx):
    assert refused(GOOD + "48,900000\n") == ["Row 5, column code: the code 48 is already on row 3."]


def test_a_code_that_is_no_administrative_unit_is_refused(ctx):
    assert refused(GOOD + "99,1000\n") == ["Row 5, column code: no administrative unit has the code 99."]


def test_unknown_codes_are_refused_even_when_no_unit_is_loaded(app):
    with app.app_context(), force_locale("en"), pytest.raises(TargetFileError) as error:
        read_rows(io.BytesIO(b"code,population\n01,100\n"))

    assert error.value.problems == ["Row 2, column code: no administrative unit has the code 01."]


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "12,5", "1.250,000", "1.25.000", "12.3456", "1e6", "", "2 x"])
def test_a_population_that_is_not_a_whole_number_is_refused(ctx, value):
    shown = value or '""'

    problems = refused(f'{GOOD}79,"{value}"\n')

    assert problems == [f"Row 5, column population: {shown} is not a whole number of people."]


def test_a_population_larger_than_a_country_is_refused(ctx):
    too_many = f"{MAX_POPULATION + 1:,}".replace(",", ".")

    assert refused(GOOD + f"79,{too_many}\n") == [
        f"Row 5, column population: {too_many} people is more than a country holds."]


def test_the_largest_population_allowed_loads(ctx):
    assert read_rows(io.BytesIO(f"code,population\n79,{MAX_POPULATION}\n".encode())) == {"79": MAX_POPULATION}


def test_every_bad_row_is_reported_and_the_good_rows_are_not_written(ctx):
    problems = refused(HEADER + "01,6215000\n48,many\n,100\n99,100\n01,5\n")

    assert sorted(problems) == [
        "Row 3, column population: many is not a whole number of people.",
        "Row 4, column code: the code is missing.",
        "Row 5, column code: no administrative unit has the code 99.",
        "Row 6, column code: the code 01 is already on row 2.",
    ]


def test_one_bad_row_leaves_the_populations_already_set_as_they_were(ctx):
    load(GOOD)
    db.session.commit()

    refused(HEADER + "01,1\n48,2\n001,lots\n")

    assert populations() == {"01": 6_215_000, "48": 879_000, "001": 181_000}


def test_a_file_that_is_not_csv_is_refused(ctx):
    problems = refused(GOOD + '79,"' + "9" * 200_000 + '"\n')

    assert len(problems) == 1 and problems[0].startswith("Row 5: this is not CSV text")


def test_a_file_that_is_not_utf8_is_refused_naming_its_line(ctx):
    with pytest.raises(ServiceError) as error:
        load_targets(io.BytesIO(GOOD.encode() + b"79,7020000 ng\xe9\n"))

    assert error.value.problems == ["Row 5: the file is not UTF-8 text."]
    assert populations() == {}


def test_a_file_that_is_not_utf8_is_refused_as_a_target_file(ctx):
    assert refused(GOOD.encode() + b"79,7020000 ng\xe9\n") == ["Row 5: the file is not UTF-8 text."]


# --- The command line ---------------------------------------------------------------------------------

@pytest.fixture
def units(app):
    with app.app_context():
        load_admin_units(DEMO_FILE)
        db.session.commit()


def stored(app):
    with app.app_context():
        return populations()


def test_the_command_loads_a_file_and_prints_the_counts(app, runner, units, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_bytes(b"\xef\xbb\xbfcode;population\r\n01;6.215.000\r\n48;879.000\r\n")

    first = runner.invoke(args=["targets", "load", str(path)])
    again = runner.invoke(args=["targets", "load", str(path)])

    assert first.exit_code == 0, first.output
    assert "Target populations: 2 created, 0 updated, 0 unchanged." in first.output
    assert "Target populations: 0 created, 0 updated, 2 unchanged." in again.output
    assert stored(app) == {"01": 6_215_000, "48": 879_000}


def test_the_command_refuses_a_bad_file_listing_every_problem_and_writes_nothing(app, runner, units, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text(GOOD + "99,100\n79,nhiều\n", encoding="utf-8")

    result = runner.invoke(args=["targets", "load", str(path)])

    assert result.exit_code == 1
    assert f"{path} was not loaded." in result.output
    assert "Row 6, column population: nhiều is not a whole number of people." in result.output
    assert "Row 5, column code: no administrative unit has the code 99." in result.output
    assert "Traceback" not in result.output
    assert stored(app) == {}


def test_the_command_refuses_a_file_that_is_not_utf8(app, runner, units, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_bytes(GOOD.encode() + b"79,7020000 ng\xe9\n")

    result = runner.invoke(args=["targets", "load", str(path)])

    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    assert "Row 5: the file is not UTF-8 text." in result.output
    assert stored(app) == {}


def test_the_command_refuses_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["targets", "load", str(tmp_path / "none.csv")])

    assert result.exit_code == 2 and "does not exist" in result.output
