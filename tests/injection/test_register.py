"""Live registration: the dose rules, one dose taken from the site in the same transaction (open vial
first), open vials written off, corrections that reverse — and the books that balance at the site."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.clock import LOCAL_ZONE
from core.db import db, utcnow
from core.models import AuditEntry
from core.service_errors import ServiceError
from modules.injection import people, reconciliation, services
from modules.injection.models import CORRECTION, Injection, Person
from modules.lots.models import Lot
from modules.warehouse import ledger
from modules.warehouse import services as stock
from modules.warehouse.models import WASTAGE, Move
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, vaccine_with_gtin


def person(name="Nguyễn Thị Lan", born=date(1990, 5, 17)):
    someone = Person(full_name=name, name_key=name.lower(), gender="female", date_of_birth=born)
    db.session.add(someone)
    db.session.flush()
    return someone


def earlier_today():
    """A moment earlier today in Vietnam: an hour ago, or midnight if that was yesterday (the tests run at
    any hour: just after midnight, "today at 01:00" is still to come)."""
    now = utcnow().astimezone(LOCAL_ZONE)
    return max(now - timedelta(hours=1), now.replace(hour=0, minute=0, second=0, microsecond=0))


def at(days_ago=0, hour=9):
    """A moment ``days_ago`` days before today, at ``hour`` o'clock in Vietnam."""
    day = (utcnow().astimezone(LOCAL_ZONE) - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_ZONE)


@pytest.fixture
def site(app):
    """Site DT-PX holds Vaxzevria (10 doses a vial, 6 h after opening) AZ1: 3 vials; Vero Cell (single dose)
    VC1: 5 doses; Comirnaty FK1: 2 vials of 6."""
    with app.app_context():
        tree = build_tree()
        receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=30)
        receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "VC1", doses=5)
        receive_lot(tree.site_a, vaccine_with_gtin("COMIRNATY"), "FK1", doses=12)
        yield tree


def find_lot(number):
    return db.session.scalar(select(Lot).where(Lot.lot_number == number))


def on_hand(site, number):
    return ledger.on_hand(site.id, find_lot(number).id)


def test_a_first_dose_takes_one_dose_and_opens_a_vial(site):
    injection = services.register(person(), find_lot("AZ1"), site.site_a)
    db.session.commit()
    assert injection.dose_number == 1 and injection.source == "live"
    assert on_hand(site.site_a, "AZ1") == 29
    [vial] = services.open_vials(site.site_a)
    assert vial.doses_left == 9 and injection.open_vial_id == vial.id
    assert services.certificate_of(injection.person).status == "partial"
    assert services.certificate_of(injection.person).next_dose_due == injection.injected_on + timedelta(days=28)


def test_the_next_people_draw_from_the_open_vial(site):
    for index in range(10):
        services.register(person(f"Người {index}"), find_lot("AZ1"), site.site_a)
    vials = db.session.scalars(select(services.OpenVial)).all()
    assert [(vial.doses_left, vial.close_reason) for vial in vials] == [(0, "empty")]
    services.register(person("Người 10"), find_lot("AZ1"), site.site_a)
    assert [vial.doses_left for vial in services.open_vials(site.site_a)] == [9]
    assert on_hand(site.site_a, "AZ1") == 19


def test_single_dose_vials_open_nothing(site):
    services.register(person(), find_lot("VC1"), site.site_a)
    assert services.open_vials(site.site_a) == [] and on_hand(site.site_a, "VC1") == 4


def test_an_expired_open_vial_is_written_off_before_the_next_registration(site):
    services.register(person("A"), find_lot("AZ1"), site.site_a, injected_at=earlier_today())
    [vial] = services.open_vials(site.site_a)
    vial.usable_until = utcnow() - timedelta(minutes=1)  # its 6 hours are over
    services.register(person("B"), find_lot("AZ1"), site.site_a)
    wasted = db.session.scalars(select(Move).where(Move.reason == "open_vial")).all()
    assert [(move.doses, move.to_location.kind) for move in wasted] == [(9, WASTAGE)]
    assert vial.close_reason == "expired"
    assert on_hand(site.site_a, "AZ1") == 30 - 1 - 9 - 1


def test_an_expired_vial_is_written_off_by_the_next_multi_dose_draw_at_the_site_whatever_its_lot(site):
    services.register(person("A"), find_lot("AZ1"), site.site_a, injected_at=earlier_today())
    [vial] = services.open_vials(site.site_a)
    vial.usable_until = utcnow() - timedelta(minutes=1)
    services.register(person("B"), find_lot("VC1"), site.site_a)  # single-dose: no vial is looked at
    assert vial.closed_at is None
    services.register(person("C"), find_lot("FK1"), site.site_a)
    assert vial.close_reason == "expired" and on_hand(site.site_a, "AZ1") == 30 - 1 - 9
    assert [(v.lot.lot_number, v.doses_left) for v in services.open_vials(site.site_a)] == [("FK1", 5)]


def test_closing_the_session_writes_off_every_open_vial_and_the_site_balances(site):
    for index in range(3):
        services.register(person(f"P{index}"), find_lot("AZ1"), site.site_a)
    services.register(person("Q"), find_lot("FK1"), site.site_a)
    services.close_session(site.site_a)
    db.session.commit()
    assert services.open_vials(site.site_a) == []
    injected = db.session.scalar(select(func.count()).select_from(Injection))
    wasted = db.session.scalar(select(func.sum(Move.doses)).where(Move.reason == "open_vial"))
    assert (injected, wasted) == (4, 7 + 5)
    assert 30 + 12 - injected - wasted == on_hand(site.site_a, "AZ1") + on_hand(site.site_a, "FK1")
    assert ledger.check() == []


@pytest.mark.parametrize("days, ok", [(27, False), (28, True)])
def test_the_second_dose_waits_for_the_interval(site, days, ok):
    someone = person()
    services.register(someone, find_lot("AZ1"), site.site_a, injected_at=at(days))
    if ok:
        assert services.register(someone, find_lot("AZ1"), site.site_a).dose_number == 2
        assert services.certificate_of(someone).color == "green"
        return
    with pytest.raises(ServiceError) as refused:
        services.register(someone, find_lot("AZ1"), site.site_a)
    assert (refused.value.code, refused.value.field) == ("interval_too_short", "injected_at")
    earliest = (at(days) + timedelta(days=28)).date()
    assert earliest.strftime("%d/%m/%Y") in refused.value.message


def test_an_mrna_second_dose_may_follow_vaxzevria_but_not_vero_cell(site):
    someone, other = person("A"), person("B")
    services.register(someone, find_lot("AZ1"), site.site_a, injected_at=at(30))
    assert services.register(someone, find_lot("FK1"), site.site_a).dose_number == 2
    services.register(other, find_lot("AZ1"), site.site_a, injected_at=at(30))
    with pytest.raises(ServiceError) as refused:
        services.register(other, find_lot("VC1"), site.site_a)
    assert refused.value.code == "vaccine_not_allowed"


@pytest.mark.parametrize("change, code", [
    ({"injected_at": "future"}, "in_the_future"),
    ({"dose_number": 2}, "wrong_dose_number"),
    ({"site": "district"}, "not_a_site"),
])
def test_bad_registrations_are_refused_and_take_nothing(site, change, code):
    kwargs = {}
    if change.get("injected_at") == "future":
        kwargs["injected_at"] = utcnow() + timedelta(hours=1)
    if "dose_number" in change:
        kwargs["dose_number"] = change["dose_number"]
    place = site.district if change.get("site") == "district" else site.site_a
    with pytest.raises(ServiceError) as refused:
        services.register(person(), find_lot("AZ1"), place, **kwargs)
    assert refused.value.code == code
    db.session.rollback()
    assert on_hand(site.site_a, "AZ1") == 30 and db.session.scalar(select(func.count()).select_from(Injection)) == 0


def test_a_lot_held_quarantined_expired_or_absent_at_the_site_is_refused(site):
    someone = person()
    stock.place_hold(site.site_a, find_lot("VC1"), "checking")
    with pytest.raises(ServiceError) as held:
        services.register(someone, find_lot("VC1"), site.site_a)
    assert held.value.code == "lot_on_hold"
    old = receive_lot(site.site_a, vaccine_with_gtin("JANSSEN"), "JN-OLD", doses=5, expiry=days_from_today(-1))
    with pytest.raises(ServiceError) as expired:
        services.register(someone, old, site.site_a)
    assert expired.value.code == "lot_expired"
    elsewhere = receive_lot(site.site_b, vaccine_with_gtin("VEROCELL"), "VC-TB", doses=5)
    services.register(someone, elsewhere, site.site_a)
    with pytest.raises(ServiceError) as absent:  # the dose is taken at the commit
        db.session.commit()
    assert absent.value.code == "no_stock"


def test_the_same_day_twice_is_a_duplicate(site):
    someone = person()
    services.register(someone, find_lot("VC1"), site.site_a, injected_at=earlier_today())
    with pytest.raises(ServiceError) as refused:
        services.register(someone, find_lot("VC1"), site.site_a)
    assert refused.value.code == "duplicate_injection"


def test_a_correction_reverses_the_record_and_returns_the_dose_to_its_open_vial(site):
    someone = person()
    wrong = services.register(someone, find_lot("AZ1"), site.site_a)
    correction = services.correct(wrong, "Nhầm người")
    db.session.commit()
    assert correction.source == CORRECTION and correction.reverses_id == wrong.id
    assert services.history(someone) == [] and services.certificate_of(someone).status == "none"
    assert on_hand(site.site_a, "AZ1") == 30
    assert [vial.doses_left for vial in services.open_vials(site.site_a)] == [10]
    with pytest.raises(ServiceError):
        services.correct(wrong, "again")
    with pytest.raises(ServiceError):
        services.correct(correction, "again")
    assert services.register(someone, find_lot("AZ1"), site.site_a).dose_number == 1
    assert ledger.check() == []


def test_janssen_completes_the_series_at_one_dose(site):
    janssen = receive_lot(site.site_a, vaccine_with_gtin("JANSSEN"), "JN1", doses=10)
    someone = person()
    services.register(someone, janssen, site.site_a)
    certificate = services.certificate_of(someone)
    assert (certificate.status, certificate.color, certificate.next_dose_due) == ("complete", "green", None)


def test_booster_after_the_series_needs_three_months_and_a_booster_vaccine(site):
    someone = person()
    services.register(someone, find_lot("VC1"), site.site_a, injected_at=at(200))
    services.register(someone, find_lot("VC1"), site.site_a, injected_at=at(95))
    assert services.register(someone, find_lot("FK1"), site.site_a).dose_number == 3


def test_the_open_vial_is_not_opened_beyond_the_stock(site):
    thin = receive_lot(site.site_b, vaccine_with_gtin("VAXZEVRIA"), "AZ-THIN", doses=10)
    for index in range(10):
        services.register(person(f"T{index}"), thin, site.site_b)
    with pytest.raises(ServiceError) as refused:
        services.register(person("T10"), thin, site.site_b)
    assert refused.value.code == "no_stock"


def test_doses_given_count_under_each_location_and_corrections_do_not(site):
    kept = services.register(person("A"), find_lot("VC1"), site.site_a)
    services.correct(services.register(person("B"), find_lot("VC1"), site.site_a), "Nhầm người")
    assert services.doses_given([site.district, site.national, site.other_province]) == {
        site.district.id: 1, site.national.id: 1, site.other_province.id: 0}
    assert services.recipients(find_lot("VC1"), 10) == [
        {"person": "A", "injected_at": kept.injected_at, "site": "DT-PX", "dose_number": 1}]


def test_a_merge_keeps_every_injection_and_is_audited(site):
    kept, twin = person("Nguyễn Thị Lan"), person("Nguyen Thi Lan")
    twin.national_id, twin.id_kind = "001190123456", "cccd"
    services.register(twin, find_lot("VC1"), site.site_a, injected_at=at(30))
    people.merge(kept, twin)
    assert (kept.national_id, twin.national_id, twin.merged_into_id) == ("001190123456", None, kept.id)
    assert [dose.dose_number for dose in services.history(kept)] == [1]
    assert services.register(kept, find_lot("VC1"), site.site_a).dose_number == 2
    assert people.get_person(twin.id) is kept
    assert db.session.scalar(select(func.count()).select_from(Injection)) == 2
    db.session.commit()  # audit rows are written with the commit
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "person.merge")) == "person.merge"
    other = person("Trần Văn Bình")
    other.national_id = "001090654321"
    kept_again = person("Lê Văn C")
    kept_again.national_id = "001090111111"
    with pytest.raises(ServiceError) as refused:
        people.merge(kept_again, other)
    assert refused.value.code == "different_ids"


def test_wastage_rates_split_open_and_closed_vials_per_site_and_vaccine(site):
    for index in range(4):
        services.register(person(f"W{index}"), find_lot("AZ1"), site.site_a)
    services.close_session(site.site_a)  # 6 doses left in the open vial
    stock.adjust(site.site_a, find_lot("AZ1"), -10, "broken")  # a whole vial dropped
    services.register(person("V"), find_lot("VC1"), site.site_a)
    rows = {row.vaccine.code: row for row in reconciliation.wastage_rows([site.site_a.id])}
    az = rows["VAXZEVRIA"]
    assert (az.injected, az.open_vial, az.closed_vial) == (4, 6, 10)
    assert (round(az.open_rate, 3), round(az.closed_rate, 3)) == (0.3, 0.5)
    assert (rows["VEROCELL"].injected, rows["VEROCELL"].open_rate) == (1, 0.0)
