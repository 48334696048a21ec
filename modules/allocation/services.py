"""Allocation plans: split N doses of a vaccine from a source store among destinations, by target
population, by remaining demand or by hand; rounded to whole vials, never more than usable stock,
shortages shown; approval turns the plan into one picked shipment per destination. The caller commits."""
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from core import audit, plugins
from core.access import EVERYWHERE
from core.clock import local_today
from core.db import db, utcnow
from core.service_errors import ConflictError, NotFoundError, ServiceError
from modules.allocation.labels import STATE_LABELS
from modules.allocation.models import (
    APPROVED,
    CANCELLED,
    DRAFT,
    MANUAL,
    POPULATION,
    STRATEGIES,
    Plan,
    PlanLine,
    Target,
)
from modules.lots.models import USABLE_STATUSES, Lot
from modules.transport import services as transport
from modules.warehouse import ledger
from modules.warehouse import services as stock
from modules.warehouse.models import SITE, AdminUnit, Balance, Location

MAX_LEAD_DAYS = 365
MAX_PACK_VIALS = 1000
MAX_DESTINATIONS = 200


@dataclass(frozen=True)
class Destination:
    location: object
    doses: int | None = None  # manual strategy only


def usable_doses(source, presentation, lead_days):
    """Doses at ``source`` that may be sent: usable lots, not held there, not expiring within ``lead_days``,
    and not already picked for a shipment."""
    today = local_today()
    held = stock.held_lot_ids(source)
    reserved = transport.reserved_at(source)
    rows = db.session.execute(
        select(Lot.id, func.sum(Balance.doses)).join(Balance, Balance.lot_id == Lot.id)
        .where(Balance.location_id == source.id, Lot.presentation_id == presentation.id,
               Lot.status.in_(USABLE_STATUSES), Lot.expiry >= today + timedelta(days=lead_days))
        .group_by(Lot.id))
    return sum(max(doses - reserved.get(lot_id, 0), 0) for lot_id, doses in rows if lot_id not in held)


def split(total, weights, unit):
    """``total`` doses shared in proportion to ``weights``, in whole units of ``unit`` doses (a vial or
    a pack), by largest remainder."""
    vials, weight_sum = total // unit, sum(weights)
    if vials == 0 or weight_sum == 0:
        return [0] * len(weights)
    exact = [vials * weight / weight_sum for weight in weights]
    shares = [int(value) for value in exact]
    leftovers = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], weights[i]), reverse=True)
    for i in leftovers[:vials - sum(shares)]:
        shares[i] += 1
    return [share * unit for share in shares]


def create_plan(presentation, source, total_doses, strategy, destinations, lead_days=30, pack_vials=1, note="",
                user=None):
    """A draft plan with each destination's share computed; nothing moves until it is approved."""
    if strategy not in STRATEGIES:
        raise ServiceError(_("Unknown strategy %(strategy)s.", strategy=strategy), "strategy", "unknown_strategy")
    ledger.check_doses(total_doses)
    check_whole_number(lead_days, 0, MAX_LEAD_DAYS, "lead_days")
    check_whole_number(pack_vials, 1, MAX_PACK_VIALS, "pack_vials")
    check_destinations(source, destinations)
    unit = presentation.doses_per_vial * pack_vials
    available = usable_doses(source, presentation, lead_days)
    to_share = min(total_doses, available) // unit * unit
    weights, requested = shares_requested(strategy, destinations, presentation, total_doses, unit)
    allocated = allocate(strategy, to_share, weights, requested, unit)
    plan = Plan(presentation_id=presentation.id, presentation=presentation, source_id=source.id, source=source,
                total_doses=total_doses, strategy=strategy, lead_days=lead_days, pack_vials=pack_vials,
                usable_doses=available, note=note,
                created_by=user.id if user else None)
    for destination, weight, asked, given in zip(destinations, weights, requested, allocated, strict=True):
        plan.lines.append(PlanLine(destination_id=destination.location.id, destination=destination.location,
                                   weight=weight, requested_doses=asked, allocated_doses=given))
    db.session.add(plan)
    db.session.flush()
    audit.record("allocation.create", plan, user=user, details={
        "vaccine": presentation.code, "source": source.code, "doses": total_doses, "strategy": strategy,
        "available": available, "allocated": plan.allocated_doses,
        "destinations": {line.destination.code: line.allocated_doses for line in plan.lines}})
    return plan


def check_whole_number(value, low, high, field):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(_("Enter a whole number from %(low)d to %(high)d.", low=low, high=high), field,
                           "out_of_range")


def check_destinations(source, destinations):
    if not destinations:
        raise ServiceError(_("Choose at least one destination."), "destinations", "no_destinations")
    if len(destinations) > MAX_DESTINATIONS:
        raise ServiceError(_("At most %(n)d destinations in one plan.", n=MAX_DESTINATIONS), "destinations",
                           "too_many_destinations")
    if source.kind == SITE:
        raise ServiceError(_("%(location)s is a vaccination site: allocate from a store.", location=source.name),
                           "source", "source_is_site")
    seen = set()
    for index, destination in enumerate(destinations):
        location = destination.location
        if location.id != source.id and not location.path.startswith(source.path):
            raise ServiceError(_("%(location)s is not below %(source)s.", location=location.name,
                                 source=source.name), f"destinations[{index}]", "not_below_source")
        if location.id == source.id:
            raise ServiceError(_("%(location)s is the source itself.", location=location.name),
                               f"destinations[{index}]", "bad_destination")
        if location.id in seen:
            raise ServiceError(_("%(location)s is listed twice.", location=location.name),
                               f"destinations[{index}]", "bad_destination")
        if location.is_virtual:
            raise ServiceError(_("%(location)s is not a store or a site.", location=location.name),
                               f"destinations[{index}]", "bad_destination")
        seen.add(location.id)


def shares_requested(strategy, destinations, presentation, total_doses, unit):
    """Weights and the doses each destination would get if stock were unlimited."""
    if strategy == MANUAL:
        doses = manual_doses(destinations, total_doses, unit)
        return doses, doses
    if strategy == POPULATION:
        weights = populations([d.location for d in destinations])
    else:
        weights = demands([d.location for d in destinations], presentation)
    return weights, split(total_doses, weights, unit)


def manual_doses(destinations, total_doses, unit):
    """The doses typed for each destination: whole units, adding up to no more than the total."""
    for index, destination in enumerate(destinations):
        field = f"destinations[{index}].doses"
        if destination.doses is None:
            raise ServiceError(_("Give the doses for each destination."), field, "required")
        ledger.check_doses(destination.doses, field)
        if destination.doses % unit:
            raise ServiceError(_("Give a multiple of %(unit)d doses (whole vials or packs).", unit=unit), field,
                               "partial_unit")
    asked = sum(destination.doses for destination in destinations)
    if asked > total_doses:
        raise ServiceError(_("The destinations ask for %(asked)d doses, more than the %(total)d to allocate.",
                             asked=asked, total=total_doses), "doses", "more_than_total")
    return [destination.doses for destination in destinations]


def allocate(strategy, to_share, weights, requested, unit):
    if strategy != MANUAL:
        return split(to_share, weights, unit)
    given, left = [], to_share
    for asked in requested:  # by hand: in the order given, until the stock runs out
        share = min(asked, left)
        given.append(share)
        left -= share
    return given


def populations(locations):
    """Each location's target population: its administrative unit's, or, for a store serving several
    units (a regional store), the sum over the distinct units of the highest targeted locations below it."""
    below = db.session.scalars(select(Location).where(
        or_(*[Location.path.startswith(location.path) for location in locations]), Location.active.is_(True))).all()
    targets = dict(db.session.execute(select(Target.admin_unit_code, Target.population).where(
        Target.admin_unit_code.in_({loc.admin_unit_code for loc in below if loc.admin_unit_code}))).all())
    children = {}
    for location in below:
        children.setdefault(location.parent_id, []).append(location)

    def targeted_units(location):
        if location.admin_unit_code in targets:
            return {location.admin_unit_code}
        return set().union(*(targeted_units(child) for child in children.get(location.id, [])))

    weights = []
    for index, location in enumerate(locations):
        units = targeted_units(location)
        if not units:
            raise ServiceError(_("No target population is recorded for %(location)s.", location=location.name),
                               f"destinations[{index}]", "no_target_population")
        weights.append(sum(targets[code] for code in units))
    return weights


def demands(locations, presentation):
    """Each destination's remaining demand: a plugin's answer, else target population × the series length
    − the doses already given under it (as the injection module tells)."""
    hook = plugins.hook()
    answer = hook.remaining_demand(locations=locations, presentation=presentation)
    if answer is None:
        given = hook.doses_given(locations=locations)
        if given is None:
            raise ServiceError(_("Remaining demand is not known yet: allocate by target population or by hand."),
                               "strategy", "demand_unknown")
        needed = [population * presentation.series_length for population in populations(locations)]
        answer = {location.id: need - given.get(location.id, 0) for location, need in zip(locations, needed,
                                                                                           strict=True)}
    return [max(int(answer.get(location.id, 0)), 0) for location in locations]


def approve(plan, user=None):
    """Turn the plan into one picked shipment per destination that gets doses (FEFO, skipping lots
    that would expire within the lead days)."""
    require_draft(plan)
    min_expiry = local_today() + timedelta(days=plan.lead_days)
    shipments = []
    for index, line in enumerate(plan.lines):
        if not line.allocated_doses:
            continue
        shipment = transport.create_shipment(plan.source, line.destination, [
            transport.Request(doses=line.allocated_doses, presentation=plan.presentation)], user=user,
            note=_("Allocation plan %(id)d", id=plan.id))
        try:
            transport.pick(shipment, user=user, min_expiry=min_expiry)
        except ServiceError as error:
            raise stock.LineError(index, error) from None
        line.shipment_id = shipment.id
        shipments.append(shipment)
    if not shipments:
        raise ServiceError(_("No destination gets any doses: there is nothing to approve."), "lines",
                           "nothing_allocated")
    plan.state, plan.approved_at, plan.approved_by = APPROVED, utcnow(), user.id if user else None
    audit.record("allocation.approve", plan, user=user, details={"shipments": [s.number for s in shipments]})
    return shipments


def cancel(plan, user=None):
    require_draft(plan)
    plan.state = CANCELLED
    audit.record("allocation.cancel", plan, user=user)
    return plan


def require_draft(plan):
    if plan.state != DRAFT:
        raise ConflictError(_("This plan is in state %(state)s: it can no longer be approved or cancelled.",
                              state=STATE_LABELS[plan.state]), "state", "wrong_state")


def units_within(scope):
    """Codes of the administrative units a user with this location ``scope`` may set targets for: the
    units of their stores and sites and every unit below those; ``None`` when the scope is everywhere."""
    if scope is EVERYWHERE:
        return None
    codes = set(db.session.scalars(select(Location.admin_unit_code).where(
        Location.id.in_(sorted(scope)), Location.admin_unit_code.is_not(None))))
    children = {}
    for code, parent in db.session.execute(select(AdminUnit.code, AdminUnit.parent_code)):
        children.setdefault(parent, []).append(code)
    found, todo = set(), list(codes)
    while todo:
        code = todo.pop()
        if code not in found:
            found.add(code)
            todo.extend(children.get(code, []))
    return found


def set_target(admin_unit_code, population, user=None, allowed=None):
    """Set one unit's target population; ``allowed``: the unit codes the user may set (``None``: any)."""
    if allowed is not None and admin_unit_code not in allowed:
        raise NotFoundError(_("No administrative unit has the code %(code)s.", code=admin_unit_code), "code",
                            "unknown_admin_unit")
    if not isinstance(population, int) or isinstance(population, bool) or population < 0:
        raise ServiceError(_("The target population must be a whole number, 0 or more."), "population",
                           "bad_population")
    target = db.session.get(Target, admin_unit_code) or Target(admin_unit_code=admin_unit_code, population=0)
    target.population = population
    db.session.add(target)
    audit.record("allocation.target", object_type="allocation_target", object_id=admin_unit_code, user=user,
                 details={"population": population})
    return target
