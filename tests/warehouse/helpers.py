"""Building blocks for warehouse tests, made through the real services (call inside an app context).

    tree = build_tree()                      # national → province → district → 2 sites
    vero = vaccine_with_gtin("VEROCELL")     # a seeded presentation given a GTIN
    lot = receive_lot(tree.national, vero, "VC001", doses=100)
"""
from dataclasses import dataclass
from datetime import date, timedelta

from core.accounts import create_user
from core.clock import local_today
from core.db import db
from modules.lots import services as lots
from modules.lots.gs1 import gtin_check_digit
from modules.lots.models import Gtin
from modules.warehouse import locations, services
from modules.warehouse.models import DISTRICT, NATIONAL, PROVINCE, SITE
from tests.conftest import PASSWORD


@dataclass
class Tree:
    national: object
    province: object
    district: object
    site_a: object
    site_b: object
    other_province: object
    other_site: object


def build_tree():
    """Two provinces under a national store; the first with a district and two sites."""
    national = locations.create_location("KHO-QG", "Kho vắc xin quốc gia", NATIONAL)
    province = locations.create_location("KHO-HN", "Kho tỉnh Hà Nội", PROVINCE, national)
    district = locations.create_location("KHO-BD", "Kho quận Ba Đình", DISTRICT, province)
    site_a = locations.create_location("DT-PX", "Trạm Y tế phường Phúc Xá", SITE, district)
    site_b = locations.create_location("DT-TB", "Trạm Y tế phường Trúc Bạch", SITE, district)
    other_province = locations.create_location("KHO-DN", "Kho tỉnh Đà Nẵng", PROVINCE, national)
    other_site = locations.create_location("DT-HC", "Trạm Y tế Hải Châu", SITE, other_province)
    db.session.commit()
    return Tree(national, province, district, site_a, site_b, other_province, other_site)


def illustrative_gtin(number):
    """A GTIN in GS1's restricted-circulation range (prefix 02): never a real product's."""
    body = f"02{number:011d}"
    return body + gtin_check_digit(body)


def vaccine_with_gtin(code, number=None):
    presentation = lots.presentation_by_code(code)
    if not presentation.gtins:
        presentation.gtins.append(Gtin(gtin=illustrative_gtin(number or presentation.id)))
        db.session.commit()
    return presentation


def receive_lot(location, presentation, lot_number, doses=None, expiry=None, user=None):
    """Receive a new lot into ``location`` (default: 10 vials) and commit; returns the lot."""
    expiry = expiry or local_today() + timedelta(days=365)
    doses = doses if doses is not None else 10 * presentation.doses_per_vial
    line = services.ReceiptLine(gtin=presentation.gtins[0].gtin, lot=lot_number, expiry=expiry, doses=doses,
                                confirm_new_lot=True)
    result = services.receive(location, [line], user=user)
    db.session.commit()
    return result.moves[0].lot


def user_at(role, location, username):
    """A user of ``role`` assigned to ``location`` (password: tests.conftest.PASSWORD)."""
    user = create_user(username, PASSWORD, role)
    locations.assign(user, location)
    db.session.commit()
    return user


def days_from_today(days) -> date:
    return local_today() + timedelta(days=days)
