"""The database the backlog benchmark's file (``bench/backlog_file.py``) is imported into: a national store, a
province, a district holding the file's sites, and every lot the file names received at the national store.
``bench/backlog.py`` and the crash tests (``tests/reliability/test_crashes.py``) both build it here."""
from datetime import timedelta

from bench import backlog_file
from bench.common import gtin_of


def seed():
    """Build it in the current app's database and commit; returns the district (Location). Call in an app context."""
    from core.clock import local_today
    from core.db import db
    from modules.lots import services as lots
    from modules.warehouse import locations, services
    from modules.warehouse.models import DISTRICT, NATIONAL, PROVINCE, SITE

    national = locations.create_location("KHO-QG", "Kho vắc xin quốc gia", NATIONAL)
    province = locations.create_location("KHO-HN", "Kho tỉnh Hà Nội", PROVINCE, national)
    district = locations.create_location("KHO-BD", "Kho quận Ba Đình", DISTRICT, province)
    for index in range(backlog_file.SITES):
        locations.create_location(backlog_file.site_code(index), f"Trạm Y tế {index}", SITE, district)
    lines = []
    for _typed, code, _gap in backlog_file.VACCINES:
        presentation = lots.presentation_by_code(code)
        lines += [services.ReceiptLine(gtin=gtin_of(presentation), lot=backlog_file.lot_number(code, index),
                                       doses=1200, expiry=local_today() + timedelta(days=365), confirm_new_lot=True)
                  for index in range(backlog_file.LOTS_PER_VACCINE)]
    services.receive(national, lines)
    db.session.commit()
    return district
