"""Allocation plans: split N doses of a vaccine from a source store among destinations, by target
population, by remaining demand or by hand; rounded to whole vials, never more than usable stock,
shortages shown; approval turns the plan into one picked shipment per destination. The caller commits."""
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import audit, plugins
from core.clock import local_today
from core.db import db, utcnow
from core.service_errors import ConflictError, ServiceError
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
from modules.warehouse.models import Balance

MAX_LEAD_DAYS = 365


@dataclass(frozen=True)
class Destination:
    location: object
    doses: int | None = None  # manual strategy only


def usable_doses(source, presentation, lead_days):
    """Doses at ``source`` that may be sent: usable lots, not held there, not expiring within ``lead_days``."""
    today = local_today()
    held = stock.held_lot_ids(source)
    rows = db.session.execute(
        select(Lot.id, func.sum(Balance.doses)).join(Balance, Balance.lot_id == Lot.id)
        .where(Balance.location_id == source.id, Lot.presentation_id == presentation.id,
               Lot.status.in_(USABLE_STATUSES), Lot.expiry >= today + timedelta(days=lead_days))
        .group_by(Lot.id))
    return sum(doses for lot_id, doses in rows if lot_id not in held and doses > 0)


def split(total, weights, per_vial):
    """``total`` doses shared in proportion to ``weights``, in whole vials (largest remainder)."""
    vials, weight_sum = total // per_vial, sum(weights)
    if vials == 0 or weight_sum == 0:
        return [0] * len(weights)
    exact = [vials * weight / weight_sum for weight in weights]
    shares = [int(value) for value in exact]
    leftovers = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], weights[i]), reverse=True)
    for i in leftovers[:vials - sum(shares)]:
        shares[i] += 1
    return [share * per_vial for share in shares]


def create_plan(presentation, source, total_doses, strategy, destinations, lead_days=30, note="", user=None):
    """A draft plan with each destination's share computed; nothing moves until it is approved."""
    if strategy not in STRATEGIES:
        raise ServiceError(_("Unknown strategy %(strategy)s.", strategy=strategy), "strategy", "unknown_strategy")
    ledger.check_doses(total_doses)
    if not isinstance(lead_days, int) or not 0 <= lead_days <= MAX_LEAD_DAYS:
        raise ServiceError(_("Enter a whole number from %(low)d to %(high)d.", low=0, high=MAX_LEAD_DAYS),
                           "lead_days", "out_of_range")
    if not destinations:
        raise ServiceError(_("Choose at least one destination."), "destinations", "no_destinations")
    seen = set()
    for index, destination in enumerate(destinations):
        if destination.location.id == source.id or destination.location.id in seen:
            raise ServiceError(_("Each destination once, and not the source itself."),
                               f"destinations[{index}]", "bad_destination")
        seen.add(destination.location.id)
    per_vial = presentation.doses_per_vial
    available = usable_doses(source, presentation, lead_days) // per_vial * per_vial
    to_share = min(total_doses // per_vial * per_vial, available)
    weights, requested = shares_requested(strategy, destinations, presentation, total_doses)
    allocated = allocate(strategy, to_share, weights, requested, per_vial)
    plan = Plan(presentation_id=presentation.id, presentation=presentation, source_id=source.id,
                total_doses=total_doses, strategy=strategy, lead_days=lead_days, note=note,
                created_by=user.id if user else None)
    for destination, weight, asked, given in zip(destinations, weights, requested, allocated, strict=True):
        plan.lines.append(PlanLine(destination_id=destination.location.id, destination=destination.location,
                                   weight=weight, requested_doses=asked, allocated_doses=given))
    db.session.add(plan)
    db.session.flush()
    audit.record("allocation.create", plan, user=user, details={
        "vaccine": presentation.code, "source": source.code, "doses": total_doses, "strategy": strategy,
        "available": available})
    return plan


def shares_requested(strategy, destinations, presentation, total_doses):
    """Weights and the doses each destination would get if stock were unlimited."""
    if strategy == MANUAL:
        for index, destination in enumerate(destinations):
            if destination.doses is None:
                raise ServiceError(_("Give the doses for each destination."), f"destinations[{index}].doses",
                                   "required")
            ledger.check_doses(destination.doses, f"destinations[{index}].doses")
        doses = [destination.doses for destination in destinations]
        return doses, doses
    if strategy == POPULATION:
        weights = populations([d.location for d in destinations])
    else:
        weights = demands([d.location for d in destinations], presentation)
    return weights, split(total_doses, weights, presentation.doses_per_vial)


def allocate(strategy, to_share, weights, requested, per_vial):
    if strategy != MANUAL:
        return split(to_share, weights, per_vial)
    given, left = [], to_share
    for asked in requested:  # by hand: in the order given, until the stock runs out
        share = min(asked // per_vial * per_vial, left)
        given.append(share)
        left -= share
    return given


def populations(locations):
    targets = dict(db.session.execute(select(Target.admin_unit_code, Target.population).where(
        Target.admin_unit_code.in_([loc.admin_unit_code for loc in locations if loc.admin_unit_code]))).all())
    weights = []
    for index, location in enumerate(locations):
        if location.admin_unit_code not in targets:
            raise ServiceError(_("No target population is recorded for %(location)s.", location=location.name),
                               f"destinations[{index}]", "no_target_population")
        weights.append(targets[location.admin_unit_code])
    return weights


def demands(locations, presentation):
    answer = plugins.hook().remaining_demand(locations=locations, presentation=presentation)
    if answer is None:
        raise ServiceError(_("Remaining demand is not known yet: allocate by target population or by hand."),
                           "strategy", "demand_unknown")
    return [max(int(answer.get(location.id, 0)), 0) for location in locations]


def approve(plan, user=None):
    """Turn the plan into one picked shipment per destination that gets doses (FEFO, skipping lots
    that would expire within the lead days)."""
    if plan.state != DRAFT:
        raise ConflictError(_("This plan is %(state)s: it can no longer be approved.", state=plan.state),
                            "state", "wrong_state")
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
    plan.state, plan.approved_at = APPROVED, utcnow()
    audit.record("allocation.approve", plan, user=user, details={"shipments": [s.number for s in shipments]})
    return shipments


def cancel(plan, user=None):
    if plan.state != DRAFT:
        raise ConflictError(_("This plan is %(state)s: it can no longer be approved.", state=plan.state),
                            "state", "wrong_state")
    plan.state = CANCELLED
    audit.record("allocation.cancel", plan, user=user)
    return plan


def set_target(admin_unit_code, population, user=None):
    if not isinstance(population, int) or isinstance(population, bool) or population < 0:
        raise ServiceError(_("The target population must be a whole number, 0 or more."), "population",
                           "bad_population")
    target = db.session.get(Target, admin_unit_code) or Target(admin_unit_code=admin_unit_code, population=0)
    target.population = population
    db.session.add(target)
    audit.record("allocation.target", object_type="allocation_target", object_id=admin_unit_code, user=user,
                 details={"population": population})
    return target
