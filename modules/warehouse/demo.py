"""Demo data for ``vaxchain init --demo``: stores and sites, users assigned to them, lots and stock.

Everything goes through the services (so it is audited and the ledger balances, ``vaxchain stock
check`` passes): GTINs through the catalogue, lots through a receipt at the national store, stock
spread over the tree by transfers, then an adjustment, wastage, a count and a quarantine. Expiry
dates are relative to the day it runs. Idempotent: each part is skipped when it is already there,
so running it again changes nothing.

    KHO-QG  Kho vắc xin quốc gia                          ← warehouse, logistics, integrator
      KHO-MB  Kho vắc xin khu vực miền Bắc
        KHO-HN  Kho vắc xin thành phố Hà Nội               ← viewer
          KHO-HN-BD  Ba Đình: DT-HN-PX (← site), DT-HN-TB
          KHO-HN-HK  Hoàn Kiếm: DT-HN-HK
      KHO-MN  Kho vắc xin khu vực miền Trung và miền Nam
        KHO-DN  Kho vắc xin thành phố Đà Nẵng: DT-DN-BV (a site straight under the province)
          KHO-DN-HC  Hải Châu: DT-DN-HC
          KHO-DN-LC  Liên Chiểu: DT-DN-LC
        KHO-HCM  Kho vắc xin Thành phố Hồ Chí Minh
          KHO-HCM-Q1  Quận 1: DT-HCM-TD, DT-HCM-DK, DT-HCM-BN
"""
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from core.accounts import find_user
from core.clock import local_today
from core.db import db
from modules.lots import services as lots
from modules.lots.gs1 import gtin_check_digit
from modules.lots.models import QUARANTINED
from modules.warehouse import admin_units, locations, services
from modules.warehouse.models import DISTRICT, NATIONAL, PROVINCE, REGIONAL, SITE, Location

# (code, name, kind, parent, administrative unit), parents first.
LOCATIONS = (
    ("KHO-QG", "Kho vắc xin quốc gia", NATIONAL, None, None),
    ("KHO-MB", "Kho vắc xin khu vực miền Bắc", REGIONAL, "KHO-QG", None),
    ("KHO-MN", "Kho vắc xin khu vực miền Trung và miền Nam", REGIONAL, "KHO-QG", None),
    ("KHO-HN", "Kho vắc xin thành phố Hà Nội", PROVINCE, "KHO-MB", "01"),
    ("KHO-HN-BD", "Kho vắc xin quận Ba Đình", DISTRICT, "KHO-HN", "001"),
    ("DT-HN-PX", "Trạm Y tế phường Phúc Xá", SITE, "KHO-HN-BD", "00001"),
    ("DT-HN-TB", "Trạm Y tế phường Trúc Bạch", SITE, "KHO-HN-BD", "00004"),
    ("KHO-HN-HK", "Kho vắc xin quận Hoàn Kiếm", DISTRICT, "KHO-HN", "002"),
    ("DT-HN-HK", "Trung tâm Y tế quận Hoàn Kiếm", SITE, "KHO-HN-HK", "002"),
    ("KHO-DN", "Kho vắc xin thành phố Đà Nẵng", PROVINCE, "KHO-MN", "48"),
    ("DT-DN-BV", "Bệnh viện Đà Nẵng", SITE, "KHO-DN", "492"),
    ("KHO-DN-HC", "Kho vắc xin quận Hải Châu", DISTRICT, "KHO-DN", "492"),
    ("DT-DN-HC", "Trung tâm Y tế quận Hải Châu", SITE, "KHO-DN-HC", "492"),
    ("KHO-DN-LC", "Kho vắc xin quận Liên Chiểu", DISTRICT, "KHO-DN", "490"),
    ("DT-DN-LC", "Trung tâm Y tế quận Liên Chiểu", SITE, "KHO-DN-LC", "490"),
    ("KHO-HCM", "Kho vắc xin Thành phố Hồ Chí Minh", PROVINCE, "KHO-MN", "79"),
    ("KHO-HCM-Q1", "Kho vắc xin Quận 1", DISTRICT, "KHO-HCM", "760"),
    ("DT-HCM-TD", "Trạm Y tế phường Tân Định", SITE, "KHO-HCM-Q1", "26734"),
    ("DT-HCM-DK", "Trạm Y tế phường Đa Kao", SITE, "KHO-HCM-Q1", "26737"),
    ("DT-HCM-BN", "Trạm Y tế phường Bến Nghé", SITE, "KHO-HCM-Q1", "26740"),
)
# Demo usernames (core.demo.DEMO_USERS) → where they work; the admin needs no location.
ASSIGNMENTS = {"warehouse": "KHO-QG", "logistics": "KHO-QG", "integrator": "KHO-QG", "site": "DT-HN-PX",
               "viewer": "KHO-HN"}

# ILLUSTRATIVE GTINs, not the ones printed on real packs: GTIN-14s starting "02", GS1's prefix for
# restricted circulation inside one company, which no real product carries (and no company's prefix).
GTIN_NUMBERS = {"VAXZEVRIA": 101, "COMIRNATY": 102, "SPIKEVAX": 103, "VEROCELL": 104, "SPUTNIKV": 105,
                "HAYATVAX": 106, "JANSSEN": 107, "ABDALA": 108}

# (vaccine, lot number, expiry in days from today, doses received at the national store)
LOTS = (
    ("VAXZEVRIA", "AZV2601", 20, 3000),    # expires within 30 days
    ("COMIRNATY", "FL2602", 270, 1200),
    ("SPIKEVAX", "MOD2603", 400, 1000),
    ("VEROCELL", "VC2604", 540, 2000),
    ("VEROCELL", "VC2605", 200, 600),      # quarantined once distributed
    ("ABDALA", "ABD2606", -10, 500),       # already expired: stays at the national store
    ("JANSSEN", "JNS2607", 330, 500),
)
QUARANTINED_LOT = ("VC2605", "Nghi ngờ sự cố nhiệt độ khi vận chuyển, chờ kết quả kiểm định")
# (from, to, {lot number: doses}), in whole vials, down the tree.
TRANSFERS = (
    ("KHO-QG", "KHO-MB", {"AZV2601": 1200, "FL2602": 600, "MOD2603": 400, "VC2604": 800, "VC2605": 300}),
    ("KHO-QG", "KHO-MN", {"AZV2601": 1200, "FL2602": 480, "MOD2603": 400, "VC2604": 800, "JNS2607": 200}),
    ("KHO-MB", "KHO-HN", {"AZV2601": 1000, "FL2602": 480, "MOD2603": 300, "VC2604": 600, "VC2605": 300}),
    ("KHO-HN", "KHO-HN-BD", {"AZV2601": 500, "VC2604": 300, "VC2605": 200}),
    ("KHO-HN-BD", "DT-HN-PX", {"AZV2601": 200, "VC2604": 100, "VC2605": 100}),
    ("KHO-HN-BD", "DT-HN-TB", {"AZV2601": 200, "VC2604": 100}),
    ("KHO-HN", "KHO-HN-HK", {"FL2602": 240, "MOD2603": 200}),
    ("KHO-HN-HK", "DT-HN-HK", {"FL2602": 120, "MOD2603": 100}),
    ("KHO-MN", "KHO-DN", {"AZV2601": 500, "MOD2603": 200, "VC2604": 400}),
    ("KHO-DN", "DT-DN-BV", {"AZV2601": 100, "MOD2603": 50}),
    ("KHO-DN", "KHO-DN-HC", {"AZV2601": 200, "VC2604": 150}),
    ("KHO-DN-HC", "DT-DN-HC", {"AZV2601": 100, "VC2604": 100}),
    ("KHO-DN", "KHO-DN-LC", {"MOD2603": 100, "VC2604": 150}),
    ("KHO-DN-LC", "DT-DN-LC", {"MOD2603": 50, "VC2604": 100}),
    ("KHO-MN", "KHO-HCM", {"AZV2601": 600, "FL2602": 480, "VC2604": 300, "JNS2607": 150}),
    ("KHO-HCM", "KHO-HCM-Q1", {"AZV2601": 400, "FL2602": 300, "VC2604": 200, "JNS2607": 100}),
    ("KHO-HCM-Q1", "DT-HCM-TD", {"AZV2601": 150, "FL2602": 120, "JNS2607": 50}),
    ("KHO-HCM-Q1", "DT-HCM-DK", {"AZV2601": 100, "VC2604": 100}),
    ("KHO-HCM-Q1", "DT-HCM-BN", {"FL2602": 120, "VC2604": 50, "JNS2607": 25}),
)
# (location, lot, doses, reason): wastage (broken vial, expired) and an adjustment (lost).
ADJUSTMENTS = (
    ("DT-HN-PX", "AZV2601", -10, "broken"),
    ("KHO-QG", "ABD2606", -100, "expired"),
    ("KHO-HCM", "FL2602", -6, "lost"),
)
COUNT = ("DT-HCM-TD", {"AZV2601": 140})  # one vial fewer than the books: a variance move
RECEIPT_REFERENCE = "PNK-DEMO-0001"


def illustrative_gtin(number):
    body = f"0200000000{number:03d}"
    return body + gtin_check_digit(body)


def create_demo_data():
    """Create what is missing of the demo world, then commit. Idempotent."""
    admin, warehouse = find_user("admin"), find_user("warehouse")
    give_gtins(admin)
    admin_units.load_admin_units(admin_units.DEMO_FILE, user=admin)
    by_code = create_locations(admin)
    assign_users(by_code, admin)
    if lots.find_lot(lots.presentation_by_code(LOTS[0][0]), LOTS[0][1]) is None:
        create_stock(by_code, warehouse)
    db.session.commit()


def give_gtins(user):
    """An illustrative GTIN for each seeded vaccine that has none yet (so the demo can scan and print)."""
    for code, number in GTIN_NUMBERS.items():
        presentation = lots.presentation_by_code(code)
        gtin = illustrative_gtin(number)
        if presentation.gtins or lots.presentation_for_gtin(gtin) is not None:
            continue
        lots.save_presentation(replace(presentation_data(presentation), gtins=[gtin]), presentation, user=user)


def presentation_data(presentation):
    return lots.PresentationData(
        code=presentation.code, name=presentation.name, manufacturer=presentation.manufacturer,
        doses_per_vial=presentation.doses_per_vial, storage_min_c=presentation.storage_min_c,
        storage_max_c=presentation.storage_max_c, freeze_sensitive=presentation.freeze_sensitive,
        hours_after_opening=presentation.hours_after_opening, series_length=presentation.series_length,
        min_interval_days=list(presentation.min_interval_days or []),
        gtins=[gtin.gtin for gtin in presentation.gtins], active=presentation.active)


def create_locations(user):
    by_code = {location.code: location for location in db.session.scalars(
        select(Location).where(Location.code.in_([row[0] for row in LOCATIONS])))}
    for code, name, kind, parent, admin_unit in LOCATIONS:
        if code not in by_code:
            by_code[code] = locations.create_location(code, name, kind, by_code.get(parent), admin_unit, user=user)
    return by_code


def assign_users(by_code, actor):
    for username, code in ASSIGNMENTS.items():
        user = find_user(username)
        if user is not None:
            locations.assign(user, by_code[code], actor=actor)


def create_stock(by_code, user):
    """Receive the lots at the national store, spread them down the tree, then waste, adjust, count
    and quarantine (after the transfers: a blocked lot cannot be issued)."""
    today = local_today()
    lines = []
    for vaccine, number, days, doses in LOTS:
        presentation = lots.presentation_by_code(vaccine)
        lines.append(services.ReceiptLine(gtin=presentation.gtins[0].gtin, lot=number,
                                          expiry=today + timedelta(days=days), doses=doses, confirm_new_lot=True))
    received = services.receive(by_code["KHO-QG"], lines, user=user, reference=RECEIPT_REFERENCE,
                                note="Demo")
    lot = {new_lot.lot_number: new_lot for new_lot in received.new_lots}
    for source, destination, quantities in TRANSFERS:
        for number, doses in quantities.items():
            services.transfer(by_code[source], by_code[destination], lot[number], doses, user=user)
    for code, number, doses, reason in ADJUSTMENTS:
        services.adjust(by_code[code], lot[number], doses, reason, user=user)
    site, counted = COUNT
    services.count(by_code[site], {lot[number]: doses for number, doses in counted.items()}, user=user)
    number, reason = QUARANTINED_LOT
    lots.change_status(lot[number], QUARANTINED, reason, user=user)
