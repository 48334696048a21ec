"""The world the allocation tests share, made through the real services."""
from core.db import db
from modules.allocation import services
from modules.warehouse.models import AdminUnit
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, vaccine_with_gtin


def stocked_tree():
    """Vaxzevria (10 doses/vial) at the national store: AZ-LONG 500 doses, AZ-SOON 200 expiring in 20
    days. Target populations: Hà Nội (the province store, unit 01) 3 000, Đà Nẵng (unit 48) 1 000.
    Returns ``(tree, vaxzevria)``; call inside an app context."""
    tree = build_tree()
    az = vaccine_with_gtin("VAXZEVRIA")
    receive_lot(tree.national, az, "AZ-LONG", doses=500, expiry=days_from_today(400))
    receive_lot(tree.national, az, "AZ-SOON", doses=200, expiry=days_from_today(20))
    for code, name, population, location in [("01", "Hà Nội", 3000, tree.province),
                                              ("48", "Đà Nẵng", 1000, tree.other_province)]:
        db.session.add(AdminUnit(code=code, name=name, level="province"))
        db.session.flush()
        location.admin_unit_code = code
        services.set_target(code, population)
    db.session.commit()
    return tree, az
