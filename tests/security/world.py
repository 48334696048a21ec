"""The world the security tests run in: two provinces, each with stock, a shipment, a hold, an allocation
plan, people, injections (live and backlog), a tally and an import job, and a user of every role.

    KHO-QG national store
      KHO-HN Hà Nội ("own")     ← warehouse manager, logistics officer, viewer, integrator
        KHO-BD district
          DT-PX site A          ← site staff "own.site_staff"
          DT-TB site B
      KHO-DN Đà Nẵng ("foreign")
        DT-HC other site        ← site staff "foreign.site_staff" (who made the foreign records)

Built through the real services; returns plain values (ids, codes, the foreign records' telltale texts).
"""
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from core import roles
from core.accounts import create_user
from core.clock import local_today
from core.db import db
from core.tokens import create_token
from modules.allocation import services as allocation
from modules.injection import people, reconciliation
from modules.injection import services as injections
from modules.injection.models import ImportJob
from modules.transport import services as transport
from modules.warehouse import services as stock
from modules.warehouse.models import AdminUnit
from tests.conftest import PASSWORD
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, user_at, vaccine_with_gtin

# Illustrative CCCD numbers: birth province (001 Hà Nội, 048 Đà Nẵng), century and gender digit, birth year.
OWN_PEOPLE = [
    people.PersonData("Phạm Thị Hồng Nhung", "female", None, "001190246813", "0912468135", address="Phúc Xá"),
    people.PersonData("Đỗ Minh Tuấn", "male", None, "001087135792", "0913579246", address="Phúc Xá"),
]
FOREIGN_PEOPLE = [
    people.PersonData("Lê Văn Khải Hoàn", "male", None, "048085975310", "0935975310", address="Hải Châu"),
    people.PersonData("Võ Thị Diệu Hiền", "female", None, "048192864200", "0935864200", address="Hải Châu"),
]
BIRTH_DAYS = {"001190246813": (1990, 4, 2), "001087135792": (1987, 9, 9), "048085975310": (1985, 3, 1),
              "048192864200": (1992, 12, 24)}
OWN_LOT, FOREIGN_LOT = "HN-LOT-1", "DN-LOT-7"
OWN_FILE, FOREIGN_FILE = "so-tiem-phuc-xa.xlsx", "so-tiem-hai-chau.xlsx"
BACKLOG_DAYS_AGO = 40  # dose 2 of Vaxzevria is then overdue: on the due list


@dataclass
class Side:
    """One province's records: ``ids`` by URL parameter name, ``texts`` that only its records contain."""

    ids: dict = field(default_factory=dict)
    texts: list = field(default_factory=list)
    people: list = field(default_factory=list)  # (national id, phone)
    names: list = field(default_factory=list)   # people's full names: the one injected today first


@dataclass
class World:
    own: Side
    foreign: Side
    usernames: dict   # role -> username of the "own" user of that role
    tokens: dict      # role -> bearer secret of that user
    max_ids: dict     # URL parameter -> the largest id in use (for sequential guessing)


def born(number):
    return date(*BIRTH_DAYS[number])


def build_world(app):
    with app.app_context():
        tree = build_tree()
        vaxzevria = vaccine_with_gtin("VAXZEVRIA")
        units = admin_units(tree)
        users = own_users(tree)
        foreign_staff = user_at(roles.SITE_STAFF, tree.other_site, "foreign.site_staff")
        own = side(tree.province, tree.site_a, vaxzevria, OWN_LOT, OWN_PEOPLE, OWN_FILE, users[roles.SITE_STAFF],
                   units["own"], [tree.site_a, tree.site_b], box="HN-03")
        foreign = side(tree.other_province, tree.other_site, vaxzevria, FOREIGN_LOT, FOREIGN_PEOPLE, FOREIGN_FILE,
                       foreign_staff, units["foreign"], [tree.other_site], box="DN-08")
        own.ids["location_id"], foreign.ids["location_id"] = tree.site_a.id, tree.other_site.id
        own.ids["user_id"], foreign.ids["user_id"] = users[roles.SITE_STAFF].id, foreign_staff.id
        own.ids["code"], foreign.ids["code"] = tree.site_a.code, tree.other_site.code
        own.ids["presentation_id"] = foreign.ids["presentation_id"] = vaxzevria.id
        tokens = {role: create_token(user)[1] for role, user in users.items()}
        db.session.commit()
        return World(own=own, foreign=foreign, usernames={role: user.username for role, user in users.items()},
                     tokens=tokens, max_ids={name: max(own.ids[name], foreign.ids[name]) for name in own.ids
                                             if isinstance(own.ids[name], int)})


def admin_units(tree):
    for code, name, location in [("01", "Hà Nội", tree.province), ("48", "Đà Nẵng", tree.other_province)]:
        db.session.add(AdminUnit(code=code, name=name, level="province"))
        db.session.flush()
        location.admin_unit_code = code
        allocation.set_target(code, 1000)
    return {"own": "01", "foreign": "48"}


def own_users(tree):
    """A user of every role: site staff at site A, admins nowhere (everywhere), the others at the province."""
    users = {roles.ADMIN: create_user("own.admin", PASSWORD, roles.ADMIN),
             roles.SITE_STAFF: user_at(roles.SITE_STAFF, tree.site_a, "own.site_staff")}
    for role in (roles.WAREHOUSE_MANAGER, roles.LOGISTICS_OFFICER, roles.VIEWER, roles.INTEGRATOR):
        users[role] = user_at(role, tree.province, f"own.{role}")
    return users


def side(store, site, vaccine, lot_number, persons, filename, staff, unit, destinations, box):
    """Stock at the province store and at the site, a dispatched shipment store → site, a hold, a draft
    plan, two people (one injected today, one overdue for dose 2 after a backlog dose), a tally, an import."""
    lot = receive_lot(store, vaccine, lot_number, doses=500, expiry=days_from_today(300))
    stock.transfer(store, site, lot, 100)
    shipment = transport.create_shipment(store, site, [transport.Request(doses=20, lot=lot)], user=staff)
    transport.pick(shipment)
    transport.dispatch(shipment)
    plan = allocation.create_plan(vaccine, store, 50 * len(destinations), "manual",
                                  [allocation.Destination(place, 50) for place in destinations], lead_days=0)
    live_data, due_data = (people_data for people_data in persons)
    live = people.create_person(with_birth_day(live_data), user=staff)
    due = people.create_person(with_birth_day(due_data), user=staff)
    injection = injections.register(live, lot, site, user=staff)
    backlog = injections.record_backlog(due, lot, site, local_today() - timedelta(days=BACKLOG_DAYS_AGO), user=staff)
    hold = stock.place_hold(site, lot, f"Kiểm tra VVM, thùng lạnh {box}")  # after the doses: it blocks them
    reconciliation.set_tally(site, local_today(), 3, user=staff)
    job = ImportJob(filename=filename, file_sha256="0" * 64, site_code=site.code, status="done", rows_read=1,
                    rows_imported=1, injections_added=1, created_by=staff.id)
    db.session.add(job)
    db.session.commit()
    ids = {"shipment_id": shipment.id, "lot_id": lot.id, "hold_id": hold.id, "plan_id": plan.id,
           "person_id": live.id, "injection_id": injection.id, "job_id": job.id, "unit_code": unit,
           "backlog_id": backlog.id, "due_person_id": due.id}
    # Lot numbers and location names are left out: the catalogue and the directory of locations are known
    # nationwide (a recall names a lot; a shipment may go to any store or site).
    texts = [f"thùng lạnh {box}", shipment.number, filename, *(data.full_name for data in persons),
             *(data.national_id for data in persons), *(data.phone for data in persons)]
    return Side(ids=ids, texts=texts, people=[(data.national_id, data.phone) for data in persons],
                names=[data.full_name for data in persons])


def with_birth_day(data):
    return replace(data, date_of_birth=born(data.national_id))
