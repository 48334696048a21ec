"""`vaxchain backup` and `vaxchain restore`: a backup restored into a fresh database holds the same
records, and its stock ledger and audit log check clean there."""
from sqlalchemy import func, select

from core.db import db
from core.models import AuditEntry
from modules.injection.models import Injection
from modules.warehouse.models import Move
from tests.conftest import PASSWORD, VaxchainCliRunner


def counts(app):
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(model)) for model in (AuditEntry, Move, Injection)]


def invoke(app, *args):
    result = VaxchainCliRunner(app).invoke(args=list(args))
    return result.exit_code, result.output


def test_a_backup_restores_into_a_fresh_database_where_stock_and_audit_check_clean(app, empty_app, tmp_path):
    assert invoke(app, "init", "--demo", "--admin-password", PASSWORD)[0] == 0
    code, output = invoke(app, "backup", str(tmp_path / "vaxchain.backup"))
    assert code == 0, output
    head = output.split("Audit head: ")[1].split()[0]

    code, output = invoke(empty_app, "restore", str(tmp_path / "vaxchain.backup"))
    assert code == 0, output
    assert counts(empty_app) == counts(app) and counts(app)[1] > 0
    assert invoke(empty_app, "stock", "check") == (0, "Stock ledger is consistent.\n")
    code, output = invoke(empty_app, "audit", "verify", "--head", head)
    assert code == 0 and "Audit log intact" in output, output


def test_a_backup_never_overwrites_a_file(app, tmp_path):
    (tmp_path / "taken").write_text("keep me")
    code, output = invoke(app, "backup", str(tmp_path / "taken"))
    assert code == 1 and "already exists" in output
    assert (tmp_path / "taken").read_text() == "keep me"


def test_a_restore_into_a_database_in_use_is_refused(app, tmp_path):
    assert invoke(app, "backup", str(tmp_path / "vaxchain.backup"))[0] == 0
    before = counts(app)
    code, output = invoke(app, "restore", str(tmp_path / "vaxchain.backup"))
    assert code == 1 and "restore into a new, empty database" in output
    assert counts(app) == before


def test_a_file_that_is_not_a_backup_is_refused_and_nothing_is_loaded(empty_app, tmp_path):
    (tmp_path / "notes.txt").write_text("not a backup")
    code, output = invoke(empty_app, "restore", str(tmp_path / "notes.txt"))
    assert code == 1 and "is not a" in output and "backup" in output
    with empty_app.app_context():
        assert db.inspect(db.engine).get_table_names() == []
