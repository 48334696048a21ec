"""Registering injections at a site: the dose rules, one dose taken from the site's stock in the same
transaction (from the open vial first), corrections as reversing records, and open vials written off when
their usable time runs out or the site closes its session. The caller commits."""
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.orm import aliased, joinedload

from core import audit, plugins
from core.access import EVERYWHERE
from core.clock import LOCAL_ZONE, local_date, local_today
from core.db import db, insert_now, insert_rows, utcnow
from core.service_errors import ConflictError, ServiceError
from modules.injection import identity, people, rules, tally
from modules.injection.models import BACKLOG, CORRECTION, LIVE, Injection, OpenVial, Person
from modules.lots import services as lots
from modules.warehouse import ledger, locations
from modules.warehouse import services as stock
from modules.warehouse.ledger import Transfer
from modules.warehouse.models import CONSUMED, SITE, WASTAGE, Location, Move

FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of tablets at sites drift
EXPIRED, SESSION_CLOSED, EMPTY = "expired", "session_closed", "empty"


# --- History -------------------------------------------------------------------------------------------

CORRECTIONS = aliased(Injection)  # built once: aliasing per call was a tenth of a registration's CPU


def effective_injections():
    """The query of injections that count: live and backlog ones that no correction reverses."""
    return select(Injection).where(
        Injection.source.in_((LIVE, BACKLOG)),
        ~exists().where(CORRECTIONS.reverses_id == Injection.id))


def history(person):
    """The person's doses that count, oldest first (none for a person not written yet)."""
    if person.id is None:
        return []
    merged = select(Person.id).where(or_(Person.id == person.id, Person.merged_into_id == person.id))
    query = effective_injections().where(Injection.person_id.in_(merged)).order_by(
        Injection.injected_on, Injection.id)
    return db.session.scalars(query).all()


def doses_of(injections):
    return [rules.Dose(injection.injected_on, injection.presentation, injection.dose_number)
            for injection in injections]


def certificate_of(person):
    return rules.certificate(doses_of(history(person)))


def certificates_of(person_list):
    """``{person id: Certificate}`` for several people (search results) in two queries."""
    return {person_id: rules.certificate(doses_of(found)) for person_id, found in histories(person_list).items()}


def histories(person_list):
    """``{person id: history}`` (see :func:`history`) for several people in two queries."""
    owner = {person.id: person.id for person in person_list}
    if not owner:
        return {}
    merged = db.session.execute(select(Person.id, Person.merged_into_id).where(
        Person.merged_into_id.in_(list(owner)))).all()
    owner.update(dict(merged))
    found = {person.id: [] for person in person_list}
    query = (effective_injections().where(Injection.person_id.in_(list(owner)))
             .options(joinedload(Injection.presentation)).order_by(Injection.injected_on, Injection.id))
    for injection in db.session.scalars(query):
        found[owner[injection.person_id]].append(injection)
    return found


def recipients(lot, limit, location_ids=None):
    """The newest ``limit`` injections from ``lot`` that count, at the sites among ``location_ids`` (``None``:
    every site), as the lot's traceability page and a recall need them. The sites are chosen in the query,
    before the limit: a reader of one district gets that district's newest, not what is left of the nation's."""
    query = effective_injections().where(Injection.lot_id == lot.id)
    if location_ids is not None:
        query = query.where(Injection.site_id.in_(location_ids))
    query = (query.options(joinedload(Injection.person), joinedload(Injection.site))
             .order_by(Injection.injected_at.desc(), Injection.id.desc()).limit(limit))
    return [{"person": injection.person.full_name, "injected_at": injection.injected_at,
             "site": injection.site.code, "dose_number": injection.dose_number}
            for injection in db.session.scalars(query)]


def doses_given(place_list):
    """``{location id: doses that count, given at the sites in its subtree}``, in two queries."""
    per_site = db.session.execute(
        select(Location.path, func.count(Injection.id)).join(Location, Location.id == Injection.site_id)
        .where(or_(*[Location.path.startswith(place.path) for place in place_list]),
               Injection.source.in_((LIVE, BACKLOG)), ~exists().where(CORRECTIONS.reverses_id == Injection.id))
        .group_by(Location.path)).all()
    return {place.id: sum(count for path, count in per_site if path.startswith(place.path)) for place in place_list}


# --- Registering ---------------------------------------------------------------------------------------

def register(person, lot, site, injected_at=None, dose_number=None, user=None, idempotency_key=None, note=""):
    """Record that ``person`` received a dose of ``lot`` at ``site`` and take it from the site's stock, at the
    commit: the caller's commit raises the 409 ``no_stock`` error when no dose is left."""
    now = utcnow()
    injected_at = injected_at or now
    if injected_at > now + FUTURE_TOLERANCE:
        raise ServiceError(_("The injection cannot be in the future."), "injected_at", "in_the_future")
    if site.kind != SITE:
        raise ServiceError(_("%(location)s is not a vaccination site.", location=site.name), "site", "not_a_site")
    day = local_date(injected_at)
    with db.session.no_autoflush:  # a new person is written once the checks pass
        earlier = doses_of(history(person))
        stock.usable_lot(lot, day, location=site)
        number = rules.check_next_dose(earlier, lot.presentation, day, dose_number)
    if person.id is None:
        insert_now(person)
    vial = draw_from_vial(site, lot, injected_at, now, user)
    # taken at the commit (which raises no_dose_left if it is gone): desks injecting from one lot at one
    # site queue behind each other's commits only
    move = ledger.post([Transfer(lot, site, locations.virtual(CONSUMED), 1)], "injection", user=user,
                       take_at_commit=lambda: no_dose_left(lot, site))[0]
    injection = insert_now(Injection(
        person_id=person.id, presentation_id=lot.presentation_id, lot_id=lot.id, site_id=site.id,
        injected_at=injected_at, injected_on=day, dose_number=number, source=LIVE, move_id=move.id,
        open_vial_id=vial.id if vial else None, idempotency_key=idempotency_key, note=note,
        created_by=user.id if user else None))
    tally.add(injection)
    injection.certificate = rules.certificate([*earlier, rules.Dose(day, lot.presentation, number)])
    audit.record("injection.register", injection, user=user, details={
        "person": person.id, "lot": lot.lot_number, "site": site.code, "dose_number": number})
    plugins.hook().injection_registered(injection=injection)
    return injection


def record_backlog(person, lot, site, day, dose_number=None, user=None, note=""):
    """Record a past injection (from paper or a spreadsheet): checked by the same dose rules, but history,
    so nothing is taken from today's stock."""
    if day > local_today():
        raise ServiceError(_("The injection cannot be in the future."), "injected_at", "in_the_future")
    if site.kind != SITE:
        raise ServiceError(_("%(location)s is not a vaccination site.", location=site.name), "site", "not_a_site")
    number = rules.check_next_dose(doses_of(history(person)), lot.presentation, day, dose_number)
    injection = Injection(person_id=person.id, person=person, presentation_id=lot.presentation_id,
                          presentation=lot.presentation, lot_id=lot.id, lot=lot, site_id=site.id, site=site,
                          injected_at=local_noon(day),
                          injected_on=day, dose_number=number, source=BACKLOG, note=note,
                          created_by=user.id if user else None)
    db.session.add(injection)
    db.session.flush()
    tally.add(injection)
    audit.record("injection.backlog", injection, user=user, details={
        "person": person.id, "lot": lot.lot_number, "site": site.code, "dose_number": number})
    return injection


BACKLOG_COLUMNS = ("person_id", "presentation_id", "lot_id", "site_id", "injected_at", "injected_on", "dose_number",
                   "source", "note", "created_by", "created_at")


def record_backlog_all(doses, user=None):
    """Past injections already checked by the dose rules (an import's chunk), written in one batch:
    ``doses`` are ``(person id, lot, site id, day, dose number, note)``. The caller audits them."""
    created_by, now, noon = (user.id if user else None), utcnow(), {}
    insert_rows(db.session.connection(), Injection.__table__, BACKLOG_COLUMNS, [
        (person_id, lot.presentation_id, lot.id, site_id, noon.get(day) or noon.setdefault(day, local_noon(day)),
         day, number, BACKLOG, note, created_by, now) for person_id, lot, site_id, day, number, note in doses])
    tally.add_all((day, site_id, lot.presentation_id, number) for _person, lot, site_id, day, number, _note in doses)


def local_noon(day):
    return datetime(day.year, day.month, day.day, 12, tzinfo=LOCAL_ZONE)


def draw_from_vial(site, lot, at, now, user=None):
    """The open vial of ``lot`` at ``site`` the dose comes from (opening one if none is usable), or
    ``None`` for single-dose vials. The site's vials past their usable time are written off first (and
    at the session's close). Conditional updates: two staff drawing at once cannot both take the last
    dose of a vial."""
    presentation = lot.presentation
    if presentation.doses_per_vial == 1 or not presentation.hours_after_opening:
        return None
    vials = open_vials(site)
    write_off(site, [vial for vial in vials if vial.usable_until <= now], EXPIRED, user, now)
    candidates = [vial for vial in vials if vial.closed_at is None and vial.lot_id == lot.id
                  and at < vial.usable_until and vial.doses_left > 0]
    for vial in candidates:
        taken = db.session.execute(update(OpenVial).where(OpenVial.id == vial.id, OpenVial.doses_left > 0)
                                   .values(doses_left=OpenVial.doses_left - 1)
                                   .execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            db.session.refresh(vial)
            if vial.doses_left == 0:
                vial.closed_at, vial.close_reason = at, EMPTY
            return vial
    return open_vial(site, lot, at)


def open_vial(site, lot, at):
    """Open a new vial of ``lot``: its doses come from the site's stock not already in open vials."""
    per_vial = lot.presentation.doses_per_vial
    in_open_vials = db.session.scalar(select(func.coalesce(func.sum(OpenVial.doses_left), 0)).where(
        OpenVial.site_id == site.id, OpenVial.lot_id == lot.id, OpenVial.closed_at.is_(None)))
    closed = ledger.on_hand(site.id, lot.id) - in_open_vials
    if closed <= 0:
        raise no_dose_left(lot, site)
    doses = min(per_vial, closed)
    vial = OpenVial(site_id=site.id, lot_id=lot.id, lot=lot, opened_at=at, doses_left=doses - 1,
                    usable_until=at + timedelta(hours=lot.presentation.hours_after_opening))
    if vial.doses_left == 0:
        vial.closed_at, vial.close_reason = at, EMPTY
    db.session.add(vial)
    db.session.flush()
    return vial


def no_dose_left(lot, site):
    return ConflictError(_("No dose of lot %(lot)s is left at %(site)s.", lot=lot.lot_number, site=site.name),
                         "lot_id", "no_stock")


# --- Open vials ----------------------------------------------------------------------------------------

def open_vials(site):
    return db.session.scalars(select(OpenVial).where(OpenVial.site_id == site.id, OpenVial.closed_at.is_(None))
                              .order_by(OpenVial.opened_at)).all()


def close_session(site, user=None):
    """End the day's session at the site: every open vial's remaining doses go to open-vial wastage."""
    return write_off(site, open_vials(site), SESSION_CLOSED, user, utcnow())


def write_off(site, vials, reason, user, now):
    left = [vial for vial in vials if vial.doses_left > 0]
    if left:
        wastage = locations.virtual(WASTAGE)
        ledger.post([Transfer(vial.lot, site, wastage, vial.doses_left) for vial in left], "wastage", user=user,
                    reason="open_vial")
    for vial in vials:
        vial.closed_at, vial.close_reason = now, reason
    if vials:
        db.session.flush()  # a vial opened next counts the site's open vials
    return vials


# --- Corrections ---------------------------------------------------------------------------------------

def correct(injection, reason, user=None):
    """Cancel a wrongly recorded injection with a new record that reverses it; a live one's dose goes back
    to the site's stock (into its open vial if that is still open)."""
    reason = lots.required_reason(reason)
    if injection.source == CORRECTION:
        raise ConflictError(_("A correction cannot be corrected; record the injection again instead."),
                            "injection", "correction_of_correction")
    if db.session.scalar(select(Injection.id).where(Injection.reverses_id == injection.id)) is not None:
        raise ConflictError(_("This injection has already been corrected."), "injection", "already_corrected")
    if injection.move_id is not None:
        ledger.reverse(db.session.get(Move, injection.move_id), user=user, note=reason)
        if injection.open_vial_id is not None:
            db.session.execute(update(OpenVial).where(and_(OpenVial.id == injection.open_vial_id,
                                                           OpenVial.closed_at.is_(None)))
                               .values(doses_left=OpenVial.doses_left + 1))
    correction = Injection(person_id=injection.person_id, presentation_id=injection.presentation_id,
                           lot_id=injection.lot_id, site_id=injection.site_id, injected_at=utcnow(),
                           injected_on=injection.injected_on, dose_number=injection.dose_number, source=CORRECTION,
                           reverses_id=injection.id, note=reason, created_by=user.id if user else None)
    db.session.add(correction)
    db.session.flush()
    tally.remove(injection)
    audit.record("injection.correct", correction, user=user, details={"reverses": injection.id, "reason": reason})
    return correction


def record_of(person):
    """Every live and backlog injection of ``person`` (with the records merged into theirs), oldest first,
    each as ``(injection, the correction reversing it or None)``: the whole record a person's page shows,
    where :func:`history` leaves the corrected ones out."""
    merged = select(Person.id).where(or_(Person.id == person.id, Person.merged_into_id == person.id))
    query = (select(Injection, CORRECTIONS).outerjoin(CORRECTIONS, CORRECTIONS.reverses_id == Injection.id)
             .where(Injection.person_id.in_(merged), Injection.source.in_((LIVE, BACKLOG)))
             .options(joinedload(Injection.presentation), joinedload(Injection.lot), joinedload(Injection.site))
             .order_by(Injection.injected_on, Injection.id))
    return [(injection, correction) for injection, correction in db.session.execute(query)]


# --- Who may look into whose record ------------------------------------------------------------------

def visible_people(person_list, scope, user=None, registrar=False):
    """Those of ``person_list`` a user acting on the locations ``scope`` may look into: people given a dose
    (on their record, or on one merged into it) at one of those locations, people ``user`` recorded, and for a
    ``registrar`` (who registers doses) people given no dose anywhere yet, whose first may be given at any site.
    People belong to no location, their injections do: this keeps a person's record within the provinces
    that cared for them, so that ids guessed in turn find nothing else."""
    if scope is EVERYWHERE or not person_list:
        return list(person_list)
    owner = func.coalesce(Person.merged_into_id, Person.id)
    ids = [person.id for person in person_list]
    # the scope as a select on the user's subtrees: a national viewer's 11 000 ids as an IN list cost 120 ms
    sites = locations.scope_select(user, scope) if user is not None else sorted(scope)
    here = func.max(case((Injection.site_id.in_(sites), 1), else_=0))
    dosed = dict(db.session.execute(select(owner, here).join(Injection, Injection.person_id == Person.id).where(
        or_(Person.id.in_(ids), Person.merged_into_id.in_(ids))).group_by(owner)).all())
    return [person for person in person_list if dosed.get(person.id) or (registrar and person.id not in dosed)
            or (user is not None and person.created_by == user.id)]


def is_visible(person, scope, user=None, registrar=False):
    return bool(visible_people([person], scope, user, registrar))


def reads_whole_numbers(person, user, scope, registrar=False):
    """May ``user`` read ``person``'s ID and phone numbers whole? Only in a role that identifies and calls
    people (``identity.WHOLE_NUMBER_ROLES``), on the record of someone within reach by :func:`visible_people`
    — not of someone found elsewhere by typing one of their numbers."""
    return identity.reads_whole_numbers(user) and is_visible(person, scope, user, registrar)


def found_by_identifier(person, text):
    """Was ``person`` found by typing their whole ID or phone number (so the one searching has them, or their
    papers, at hand) rather than the start of a name?"""
    digits = "".join((text or "").split()).lstrip("+")
    if not digits.isdigit():
        return False
    try:
        phone = identity.normalise_phone(digits)
    except ServiceError:
        phone = None
    return digits == person.national_id or (phone is not None and phone == person.phone)


def search_within(text, scope, user=None, registrar=False):
    """``people.search(text)`` narrowed to the people the user may look into (see :func:`visible_people`), and
    for a ``registrar`` those found by their whole ID or phone number: the person at a site's desk may have
    had a dose anywhere."""
    return search_page(text, scope, user, registrar)[0]


def search_page(text, scope, user=None, registrar=False, offset=0):
    """:func:`search_within` over the ``people.SEARCH_LIMIT`` matches from the ``offset``-th: ``(people,
    whether more matches follow)``. A page may list fewer people than it scanned (those out of reach are
    left out, as on the first page), so the next one starts at ``offset + people.SEARCH_LIMIT``."""
    found = people.search(text, people.SEARCH_LIMIT, offset)
    visible = {person.id for person in visible_people(found, scope, user, registrar)}
    return ([person for person in found if person.id in visible or (registrar and found_by_identifier(person, text))],
            len(found) == people.SEARCH_LIMIT)
