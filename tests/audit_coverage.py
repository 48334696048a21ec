"""Every stock move, shipment, injection and person is named by an entry of the audit log.

Called at the end of the scenario tests, after they have made each kind of change through the pages,
the API, the CLI or an import. An import names its new people in one entry per chunk and counts its
doses there (one entry per dose would double a million-row import's writes)."""
from sqlalchemy import String, select

from core.db import db
from core.models import AuditEntry
from modules.injection.models import BACKLOG, Injection

AUDITED_TABLES = ("warehouse_move", "transport_shipment", "injection_injection", "injection_person")
IMPORT = "injection.backlog_import"


def unaudited(table):
    """Ids of ``table``'s rows that no audit entry names."""
    rows = db.metadata.tables[table]
    named = select(AuditEntry.object_id).where(AuditEntry.object_type == table)
    ids = set(db.session.scalars(select(rows.c.id).where(rows.c.id.cast(String).not_in(named))))
    if table == "injection_person":
        for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.action == IMPORT)):
            ids -= set(entry.details["people"])
    return ids


def imported_doses_counted():
    return sum(entry.details["injections"] for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == IMPORT)))


def assert_every_change_audited():
    missing = {table: unaudited(table) for table in AUDITED_TABLES}
    doses = missing.pop("injection_injection")
    sources = set(db.session.scalars(select(Injection.source).where(Injection.id.in_(doses)).distinct()))
    assert sources <= {BACKLOG} and len(doses) == imported_doses_counted(), \
        f"injections missing from the audit log: {sorted(doses)[:10]}"
    missing = {table: sorted(ids)[:10] for table, ids in missing.items() if ids}
    db.session.rollback()  # only read: let go of SQLite's write lock, which non-request sessions take
    assert missing == {}, f"changes missing from the audit log: {missing}"
