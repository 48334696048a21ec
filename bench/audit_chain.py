"""What the audit log's seal (core/audit_chain.py) costs: per commit, and to verify a long log.

    python bench/audit_chain.py                                   # SQLite in a temp folder
    python bench/audit_chain.py --database postgresql://postgres@127.0.0.1:PORT/postgres

1. ``--commits`` transactions of a registration's three audit entries, three ways in turn: raw SQL inserting
   the three rows (the reference), the app's path without the seal (entries + pending ids), the app's path
   with it (the seal's own transaction after each commit).
2. ``--entries`` entries loaded at once, then sealed in one go and verified (``vaxchain audit verify``'s work).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, text  # noqa: E402

from bench.common import fresh_database, machine, write_result  # noqa: E402
from core import audit, audit_chain, create_app, schema  # noqa: E402
from core.db import db, utcnow  # noqa: E402
from core.models import AuditEntry, AuditPending  # noqa: E402

DETAILS = {"lot": 12, "from": 3, "to": 4, "doses": 1, "reason": ""}


def registration_entries():
    for action in ("person.create", "stock.consume", "injection.register"):
        audit.record(action, object_type="bench", object_id=1, details=DETAILS)
    db.session.commit()


def raw_entries():
    row = {"at": utcnow(), "user_id": None, "actor": "system", "action": "bench", "object_type": "bench",
           "object_id": "1", "details": DETAILS}
    with db.engine.begin() as connection:
        connection.execute(insert(AuditEntry.__table__), [row, row, row])


def per_commit_ms(function, commits):
    started = time.perf_counter()
    for _ in range(commits):
        function()
    return (time.perf_counter() - started) / commits * 1000


def load_entries(count):
    rows = [{"at": utcnow(), "user_id": None, "actor": "system", "action": "bench", "object_type": "bench",
             "object_id": str(number), "details": DETAILS} for number in range(count)]
    with db.engine.begin() as connection:
        ids = connection.execute(insert(AuditEntry.__table__).returning(AuditEntry.id), rows).scalars().all()
        connection.execute(insert(AuditPending.__table__), [{"entry_id": entry_id} for entry_id in ids])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL server URL")
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=200_000)
    options = parser.parse_args()
    url, drop = fresh_database(options.database)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 40,
                          "INSTANCE_PATH": tempfile.mkdtemp(prefix="vaxchain-bench-")})
        with app.app_context():
            schema.upgrade()
            result = {"machine": machine(db.engine), "commits": options.commits, "entries": options.entries}
            result["raw_sql_ms"] = per_commit_ms(raw_entries, options.commits)
            event.remove(db.session, "after_commit", audit.seal_written)
            result["unsealed_ms"] = per_commit_ms(registration_entries, options.commits)
            event.listen(db.session, "after_commit", audit.seal_written)
            result["sealed_ms"] = per_commit_ms(registration_entries, options.commits)
            with db.engine.begin() as connection:  # the reference's entries: sealed with the bulk below
                connection.execute(text("INSERT INTO core_audit_pending (entry_id) SELECT id FROM core_audit_log "
                                        "WHERE id NOT IN (SELECT entry_id FROM core_audit_seal) "
                                        "AND id NOT IN (SELECT entry_id FROM core_audit_pending)"))
            load_entries(options.entries)
            key = audit_chain.chain_key(app.config)
            started = time.perf_counter()
            result["bulk_sealed"] = audit_chain.seal(db.engine, key)
            result["bulk_seal_s"] = time.perf_counter() - started
            started = time.perf_counter()
            verdict = audit_chain.verify(db.engine, key)
            result["verify_s"], result["verified"] = time.perf_counter() - started, verdict.sealed
            result["problems"] = verdict.problems
            db.engine.dispose()
    finally:
        drop()
    print(f"{result['machine']['database']}, {options.commits} commits of 3 entries:")
    print(f"  raw SQL {result['raw_sql_ms']:.3f} ms, app without seal {result['unsealed_ms']:.3f} ms, "
          f"with seal {result['sealed_ms']:.3f} ms a commit "
          f"(seal: +{result['sealed_ms'] - result['unsealed_ms']:.3f} ms; "
          f"sealed / raw = {result['sealed_ms'] / result['raw_sql_ms']:.2f})")
    print(f"  {result['bulk_sealed']} entries sealed in {result['bulk_seal_s']:.1f} s; "
          f"{result['verified']} verified in {result['verify_s']:.1f} s "
          f"({result['verified'] / result['verify_s']:,.0f}/s); problems: {len(result['problems'])}")
    print(f"  written to {write_result('audit-chain-' + result['machine']['database'].split()[0], result)}")


if __name__ == "__main__":
    main()
