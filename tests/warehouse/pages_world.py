"""The little world the warehouse page tests run in: a location tree, two vaccines, stock, and users.

    KHO-QG national store ─ AZ-NAT  Vaxzevria 1 000 doses            ← user "qg" (warehouse manager)
      KHO-HN province                                                ← user "xem" (viewer)
        KHO-BD district
          DT-PX site A ─ AZ-A1  Vaxzevria 20 doses, expires in 10 days ← user "pxa" (site staff), "kho_a" (manager)
                       ─ VC-A2  Vero Cell 30 doses, quarantined
          DT-TB site B ─ AZ-B1  Vaxzevria 50 doses                   ← user "ptb" (site staff)
      KHO-DN other province
        DT-HC other site ─ VC-HC Vero Cell 40 doses

Built through the real services; returns plain values (codes, ids, GTINs), never ORM objects, so a
test may use them outside the app context that made them.
"""
from types import SimpleNamespace

from core import roles
from core.db import db
from modules.lots import services as lots
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin


def make_world(app):
    with app.app_context():
        tree = build_tree()
        vero = vaccine_with_gtin("VEROCELL")
        astra = vaccine_with_gtin("VAXZEVRIA")
        national = receive_lot(tree.national, astra, "AZ-NAT", doses=1000, expiry=days_from_today(400))
        soon = receive_lot(tree.site_a, astra, "AZ-A1", doses=20, expiry=days_from_today(10))
        held = receive_lot(tree.site_a, vero, "VC-A2", doses=30, expiry=days_from_today(200))
        lots.change_status(held, "quarantined", "Temperature excursion on delivery")
        site_b = receive_lot(tree.site_b, astra, "AZ-B1", doses=50, expiry=days_from_today(300))
        other = receive_lot(tree.other_site, vero, "VC-HC", doses=40, expiry=days_from_today(250))
        db.session.commit()
        user_at(roles.WAREHOUSE_MANAGER, tree.national, "qg")
        user_at(roles.VIEWER, tree.province, "xem")
        user_at(roles.SITE_STAFF, tree.site_a, "pxa")
        user_at(roles.WAREHOUSE_MANAGER, tree.site_a, "kho_a")
        user_at(roles.SITE_STAFF, tree.site_b, "ptb")
        return SimpleNamespace(
            vero_gtin=vero.gtins[0].gtin, astra_gtin=astra.gtins[0].gtin,
            lots={lot.lot_number: lot.id for lot in (national, soon, held, site_b, other)},
            expiry={lot.lot_number: lot.expiry for lot in (national, soon, held, site_b, other)},
        )
