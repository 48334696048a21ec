"""Warehouse benchmarks (issue 3): scan lookup among 100 000 lots, stock on hand of a store with
1 000 000 ledger lines — each beside the same work done by raw SQL in the same run.

    python bench/warehouse.py                                   # SQLite in a temp folder
    python bench/warehouse.py --database postgresql://postgres@127.0.0.1:5432/postgres

Times are server time: the request runs through the whole WSGI app (routing, token auth, scope,
services, JSON) in this process, without a network in between.
"""
import argparse
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, machine, percentiles, timed, write_result  # noqa: E402
from core import create_app, roles, schema  # noqa: E402
from core.accounts import create_user  # noqa: E402
from core.clock import local_today  # noqa: E402
from core.db import db, utcnow  # noqa: E402
from core.tokens import create_token  # noqa: E402
from modules.lots.gs1 import gtin_check_digit  # noqa: E402
from modules.lots.models import Gtin, Lot, Presentation  # noqa: E402
from modules.warehouse import locations  # noqa: E402
from modules.warehouse.models import NATIONAL, SITE, SUPPLIER, Move  # noqa: E402

SITES = 20
BATCH = 50_000


def illustrative_gtin(number):
    body = f"02{number:011d}"
    return body + gtin_check_digit(body)


def seed(lot_count, ledger_lines, active_lots, rng):
    """Catalogue GTINs, lots, a store with sites, and the store's ledger; balances from the moves."""
    presentations = db.session.query(Presentation).order_by(Presentation.id).all()
    for presentation in presentations:
        db.session.add(Gtin(gtin=illustrative_gtin(presentation.id), presentation_id=presentation.id))
    store = locations.create_location("KHO-QG", "Kho vắc xin quốc gia", NATIONAL)
    sites = [locations.create_location(f"DT-{n:03d}", f"Điểm tiêm {n}", SITE, store) for n in range(SITES)]
    supplier = locations.virtual(SUPPLIER)
    db.session.commit()
    today = local_today()
    rows = [{"presentation_id": presentations[i % len(presentations)].id, "lot_number": f"L{i:07d}",
             "expiry": today + timedelta(days=rng.randint(30, 700)), "status": "available",
             "created_at": utcnow()} for i in range(lot_count)]
    for start in range(0, lot_count, BATCH):
        db.session.execute(insert(Lot), rows[start:start + BATCH])
    db.session.commit()
    lot_ids = [row[0] for row in db.session.execute(text("SELECT id FROM lots_lot ORDER BY id LIMIT :n"),
                                                     {"n": active_lots})]
    per_lot = ledger_lines // active_lots
    moves, now = [], utcnow()
    for lot_id in lot_ids:
        moves.append({"at": now, "lot_id": lot_id, "from_location_id": supplier.id, "to_location_id": store.id,
                      "doses": per_lot * 10, "kind": "receipt", "note": ""})
        for _ in range(per_lot - 1):
            moves.append({"at": now, "lot_id": lot_id, "from_location_id": store.id,
                          "to_location_id": rng.choice(sites).id, "doses": rng.randint(1, 5), "kind": "transfer",
                          "note": ""})
        if len(moves) >= BATCH:
            db.session.execute(insert(Move), moves)
            moves = []
    if moves:
        db.session.execute(insert(Move), moves)
    db.session.execute(text(
        "INSERT INTO warehouse_balance (location_id, lot_id, doses) "
        "SELECT location_id, lot_id, SUM(doses) FROM ("
        " SELECT to_location_id AS location_id, lot_id, doses FROM warehouse_move"
        " UNION ALL SELECT from_location_id, lot_id, -doses FROM warehouse_move) AS lines "
        "GROUP BY location_id, lot_id"))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    user = create_user("benchkho", "bench-password-2026", roles.WAREHOUSE_MANAGER)
    locations.assign(user, store)
    _token, secret = create_token(user, name="bench")
    db.session.commit()
    return store, secret


def scan_codes(count, rng, lot_count):
    """Raw scans of random existing lots, as a keyboard-wedge scanner sends them (with GS)."""
    wanted = set(rng.sample(range(1, lot_count + 1), count))
    rows = db.session.execute(text(
        "SELECT l.id, g.gtin, l.lot_number, l.expiry FROM lots_lot l JOIN lots_gtin g "
        "ON g.presentation_id = l.presentation_id")).all()
    codes = []
    for lot_id, gtin, lot_number, expiry in rows:
        if lot_id in wanted:
            expiry = date.fromisoformat(expiry) if isinstance(expiry, str) else expiry
            codes.append((gtin, lot_number, f"]d201{gtin}17{expiry:%y%m%d}10{lot_number}\x1d"))
    rng.shuffle(codes)
    return codes


def raw_scan(connection, store_id, gtin, lot_number):
    """The reference: the same lookups with the driver's cursor, no app."""
    cursor = connection.cursor()
    cursor.execute("SELECT l.id, l.expiry, l.status, p.code FROM lots_gtin g "
                   "JOIN lots_presentation p ON p.id = g.presentation_id "
                   "JOIN lots_lot l ON l.presentation_id = p.id AND l.lot_number = %s WHERE g.gtin = %s"
                   .replace("%s", PARAM), (lot_number, gtin))
    lot_id = cursor.fetchone()[0]
    cursor.execute(f"SELECT doses FROM warehouse_balance WHERE location_id = {PARAM} AND lot_id = {PARAM}",
                   (store_id, lot_id))
    cursor.fetchone()
    cursor.close()


def raw_stock(connection, store_id):
    cursor = connection.cursor()
    cursor.execute("SELECT p.code, l.lot_number, l.id, l.expiry, l.status, b.doses, p.doses_per_vial "
                   "FROM warehouse_balance b JOIN lots_lot l ON l.id = b.lot_id "
                   "JOIN lots_presentation p ON p.id = l.presentation_id "
                   f"WHERE b.location_id = {PARAM} AND b.doses > 0 ORDER BY p.name, l.expiry, l.lot_number",
                   (store_id,))
    rows = cursor.fetchall()
    cursor.close()
    return rows


PARAM = "?"


def main():
    global PARAM
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sqlite", help="sqlite (default) or a PostgreSQL server URL")
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--ledger", type=int, default=1_000_000, help="ledger lines touching the store")
    parser.add_argument("--active-lots", type=int, default=500, help="lots the store's ledger is spread over")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(2026)
    url, drop = fresh_database(args.database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": "/tmp/vaxchain-bench-instance",
                      "SECRET_KEY": "bench-" + "x" * 32})
    try:
        with app.app_context():
            schema.upgrade()
            facts = machine(db.engine)
            store, secret = seed(args.lots, args.ledger, args.active_lots, rng)
            codes = scan_codes(args.requests, rng, args.lots)
            PARAM = "%s" if db.engine.dialect.name == "postgresql" else "?"
            raw_connection = db.engine.raw_connection()
            store_id = store.id
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        codes_iter = iter(codes * 2)

        def scan_request():
            _gtin, _lot, code = next(codes_iter)
            response = client.post("/api/v1/scan", json={"code": code, "location": "KHO-QG"}, headers=headers)
            assert response.status_code == 200 and response.json["known"], response.json

        refs = iter(codes * 2)

        def scan_reference():
            gtin, lot_number, _code = next(refs)
            raw_scan(raw_connection, store_id, gtin, lot_number)

        def stock_request():
            response = client.get("/api/v1/stock?location=KHO-QG", headers=headers)
            assert response.status_code == 200, response.json

        for _ in range(20):  # warm caches and connection pools alike for both sides
            scan_request()
            scan_reference()
        codes_iter, refs = iter(codes * 2), iter(codes * 2)
        scan_app = percentiles(timed(scan_request, args.requests))
        scan_raw = percentiles(timed(scan_reference, args.requests))
        stock_runs = max(20, args.requests // 10)
        stock_request()
        lines = len(raw_stock(raw_connection, store_id))
        stock_app = percentiles(timed(stock_request, stock_runs))
        stock_raw = percentiles(timed(lambda: raw_stock(raw_connection, store_id), stock_runs))
        raw_connection.close()
        result = {
            "benchmark": "warehouse", "machine": facts,
            "data": {"lots": args.lots, "ledger_lines": args.ledger, "active_lots": args.active_lots,
                     "stock_lines_returned": lines},
            "scan": {"app": scan_app, "raw_sql": scan_raw, "target": "p95 <= 30 ms",
                     "ratio_p95": round(scan_app["p95_ms"] / scan_raw["p95_ms"], 1)},
            "stock": {"app": stock_app, "raw_sql": stock_raw, "target": "p90 <= 150 ms",
                      "ratio_p90": round(stock_app["p90_ms"] / stock_raw["p90_ms"], 1)},
        }
        path = write_result(f"warehouse-{db_kind(url)}", result)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        print(f"written to {path}")
    finally:
        with app.app_context():
            db.engine.dispose()
        drop()


def db_kind(url):
    return "postgresql" if url.startswith("postgresql") else "sqlite"


if __name__ == "__main__":
    main()
