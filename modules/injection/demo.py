"""Demo people and injections at Phúc Xá (DT-HN-PX): first doses given there earlier (recorded as backlog)
and today's live registrations, so the registration page, certificates and the lot pages show something.

ILLUSTRATIVE people: invented names, and CCCD numbers built from the rules (birth province, century and
gender digit, birth year) with invented serials; invented phone numbers."""
from datetime import date, timedelta

from sqlalchemy import select

from core.accounts import find_user
from core.clock import local_today
from core.db import db
from modules.injection import people, services
from modules.injection.models import Injection
from modules.lots.models import Lot
from modules.warehouse import locations

SITE = "DT-HN-PX"
# (full name, gender, date of birth, CCCD, phone, lot of dose 1 days ago or None, lot given today or None)
PEOPLE = (
    ("Nguyễn Thị Hoa", "female", date(1985, 3, 12), "001185000101", "0399000101", ("VC2604", 40), "VC2604"),
    ("Trần Văn Minh", "male", date(1978, 11, 2), "001078000102", "0399000102", ("VC2604", 35), None),
    ("Lê Thị Thu Hằng", "female", date(1992, 7, 25), "001192000103", "0399000103", None, "AZV2601"),
    ("Phạm Quốc Bảo", "male", date(2001, 1, 9), "001201000104", "0399000104", None, "AZV2601"),
    ("Hoàng Thị Mai Anh", "female", date(1969, 5, 30), "001169000105", "0399000105", ("VC2604", 10), None),
)


def create_demo_data():
    """Create the demo people and their doses once, then commit. Idempotent."""
    if db.session.scalar(select(Injection.id).limit(1)) is not None:
        return
    site, staff = locations.by_code(SITE), find_user("site")
    today = local_today()
    for name, gender, born, national_id, phone, earlier, now in PEOPLE:
        person = people.find_or_create(people.PersonData(full_name=name, gender=gender, date_of_birth=born,
                                                         national_id=national_id, phone=phone,
                                                         address="Phường Phúc Xá, Hà Nội"), user=staff)
        if earlier is not None:
            number, days_ago = earlier
            services.record_backlog(person, lot_by_number(number), site, today - timedelta(days=days_ago),
                                    user=staff, note="Demo")
        if now is not None:
            services.register(person, lot_by_number(now), site, user=staff)
    db.session.commit()


def lot_by_number(number):
    return db.session.scalar(select(Lot).where(Lot.lot_number == number))
