"""Pages of the allocation module: plans (new plan with its preview, approve into shipments, cancel) and
target populations (list and CSV upload).

A plan is made from one of the user's stores to places below it (two levels down: a national store's
regions and provinces, a province's districts and sites). Thin over ``services``: a refused submission
shows the error next to its field and writes nothing.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.access import EVERYWHERE, location_scope, roles_required
from core.db import db
from core.roles import LOGISTICS_OFFICER, VIEWER, WAREHOUSE_MANAGER
from core.service_errors import ServiceError
from modules.allocation import services, targets
from modules.allocation.forms import ActionForm, SourceForm, TargetFileForm, destination_rows, plan_form
from modules.allocation.labels import STATE_LABELS, STRATEGY_LABELS
from modules.allocation.models import APPROVED, CANCELLED, DRAFT, MANUAL, Plan, Target
from modules.allocation.services import Destination
from modules.lots import services as lot_services
from modules.transport.models import Shipment
from modules.warehouse import locations
from modules.warehouse.models import PHYSICAL_KINDS, SITE, AdminUnit, Location
from modules.warehouse.pages import location_choices

bp = Blueprint("allocation", __name__, template_folder="templates")

PLANNERS = (LOGISTICS_OFFICER,)
READERS = (LOGISTICS_OFFICER, WAREHOUSE_MANAGER, VIEWER)
LIST_LIMIT = 200  # plans a page shows, newest first; older ones by keyset (``?before=<plan id>``)
LEVELS_BELOW = 2  # how far below the source destinations are offered
STATE_BADGES = {DRAFT: "warn", APPROVED: "ok", CANCELLED: "bad"}


@bp.app_template_filter("plan_state")
def plan_state(state):
    return STATE_LABELS.get(state, state)


@bp.app_template_filter("strategy")
def strategy_label(strategy):
    return STRATEGY_LABELS.get(strategy, strategy)


def visible_plan(plan_id):
    """The plan if its source is one of the user's locations, else 404."""
    plan = db.session.get(Plan, plan_id)
    scope = location_scope(current_user)
    if plan is None or (scope is not EVERYWHERE and plan.source_id not in scope):
        abort(404)
    return plan


# --- List ----------------------------------------------------------------------------------------

@bp.route("/allocations")
@roles_required(*READERS)
def plans():
    scope = location_scope(current_user)
    query = select(Plan).options(selectinload(Plan.source), selectinload(Plan.presentation),
                                 selectinload(Plan.lines))
    if scope is not EVERYWHERE:
        query = query.where(Plan.source_id.in_(sorted(scope)))
    before = request.args.get("before", type=int)
    if before:
        query = query.where(Plan.id < before)
    rows = db.session.scalars(query.order_by(Plan.id.desc()).limit(LIST_LIMIT + 1)).all()
    older = rows[LIST_LIMIT - 1].id if len(rows) > LIST_LIMIT else None
    return render_template("allocation/list.html", plans=rows[:LIST_LIMIT], older=older, newer=bool(before),
                           badges=STATE_BADGES, can_plan=current_user.has_role(*PLANNERS))


# --- New plan and its preview --------------------------------------------------------------------

def sources_of(scope):
    return [place for place in locations.physical_locations(scope) if place.kind != SITE]


def destinations_below(source, scope):
    """The stores and sites within ``LEVELS_BELOW`` levels under ``source`` (and in the user's scope)."""
    ids = locations.subtree_ids(source, scope)
    query = select(Location).where(Location.id.in_(ids), Location.id != source.id, Location.active.is_(True),
                                   Location.kind.in_(PHYSICAL_KINDS))
    return [place for place in db.session.scalars(query.order_by(Location.path))
            if place.depth - source.depth <= LEVELS_BELOW]


@bp.route("/allocations/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def new_plan():
    scope = location_scope(current_user)
    stores = sources_of(scope)
    if not stores:
        return render_template("allocation/new.html", form=None)
    chooser = SourceForm(formdata=request.args)
    chooser.source.choices = location_choices(stores)
    code = request.form.get("source") or request.args.get("source") or stores[0].code
    source = next((store for store in stores if store.code == code), None)
    if source is None:
        abort(404)
    chooser.source.data = source.code
    places = destinations_below(source, scope)
    form = plan_form(places, source=source.code)
    form.source.choices = chooser.source.choices
    form.vaccine.choices = [("", _("Choose…"))] + [
        (p.code, f"{p.name} ({p.doses_per_vial} {_('doses/vial')})") for p in lot_services.list_presentations(True)]
    rows = destination_rows(form, places)
    status = 200
    if request.method == "POST":
        status = 422
        valid = form.validate_on_submit()
        chosen = chosen_destinations(form, rows)
        if valid and chosen is not None:
            plan, status = create(form, source, chosen)
            if plan is not None:
                flash(_("Plan %(id)d is ready: check the shares, then approve it.", id=plan.id), "success")
                return redirect(url_for(".plan", plan_id=plan.id))
    return render_template("allocation/new.html", form=form, chooser=chooser, rows=rows, source=source,
                           depth=source.depth), status


def chosen_destinations(form, rows):
    """``[(Destination, row)]`` of the ticked places (by hand: with their doses), or ``None`` after
    putting the errors on the rows."""
    manual = form.strategy.data == MANUAL
    chosen, good = [], True
    for place, ticked, doses in rows:
        if not ticked.data:
            continue
        if manual and doses.data is None and not doses.errors:
            doses.errors = [_("Give the doses for this destination.")]
        good = good and not doses.errors
        chosen.append((Destination(place, doses.data if manual else None), (place, ticked, doses)))
    if not chosen:
        form.destinations_error = _("Choose at least one destination.")
        return None
    return chosen if good else None


def create(form, source, chosen):
    """The draft plan, ``(plan, None)``; on a service error roll back, show it where it belongs and
    answer ``(None, status)``."""
    try:
        presentation = lot_services.presentation_by_code(form.vaccine.data)
        plan = services.create_plan(
            presentation, source, form.doses.data, form.strategy.data, [d for d, _row in chosen],
            lead_days=form.lead_days.data, pack_vials=form.pack_vials.data, note=form.note.data or "",
            user=current_user)
    except ServiceError as error:
        db.session.rollback()
        show_error(form, chosen, error)
        return None, error.status
    db.session.commit()
    return plan, None


def show_error(form, chosen, error):
    field = error.field or ""
    if field.startswith("destinations[") and "]" in field:
        index = field[len("destinations["):field.index("]")]
        if index.isdigit() and int(index) < len(chosen):
            _place, _ticked, doses = chosen[int(index)][1]
            doses.errors = [*doses.errors, error.message]
            return
    target = getattr(form, field, None) if field in ("vaccine", "doses", "strategy", "lead_days",
                                                      "pack_vials") else None
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        form.destinations_error = error.message


# --- One plan ------------------------------------------------------------------------------------

@bp.route("/allocations/<int:plan_id>")
@roles_required(*READERS)
def plan(plan_id):
    return render_plan(visible_plan(plan_id))


def render_plan(plan, status=200):
    shipments = {}
    if plan.state == APPROVED:
        ids = [line.shipment_id for line in plan.lines if line.shipment_id]
        shipments = {s.id: s for s in db.session.scalars(select(Shipment).where(Shipment.id.in_(ids)))}
    can_act = current_user.has_role(*PLANNERS) and plan.state == DRAFT
    return render_template("allocation/plan.html", plan=plan, shipments=shipments, badges=STATE_BADGES,
                           action_form=ActionForm(formdata=None), can_act=can_act), status


def act_on(plan_id, action, done_message):
    plan = visible_plan(plan_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired: try again."), "error")
        return redirect(url_for(".plan", plan_id=plan.id))
    try:
        result = action(plan, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render_plan(db.session.get(Plan, plan_id), status=error.status)
    message = done_message(result)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".plan", plan_id=plan_id))


@bp.route("/allocations/<int:plan_id>/approve", methods=["POST"])
@roles_required(*PLANNERS)
def approve(plan_id):
    return act_on(plan_id, services.approve, lambda shipments: _(
        "Plan approved: %(n)d shipments are picked and ready to dispatch.", n=len(shipments)))


@bp.route("/allocations/<int:plan_id>/cancel", methods=["POST"])
@roles_required(*PLANNERS)
def cancel(plan_id):
    return act_on(plan_id, services.cancel, lambda plan: _("Plan %(id)d is cancelled.", id=plan.id))


# --- Target populations --------------------------------------------------------------------------

@bp.route("/allocations/targets", methods=["GET", "POST"])
@roles_required(*READERS)
def target_populations():
    form = TargetFileForm()
    problems, status = [], 200
    if request.method == "POST":
        if not current_user.has_role(*PLANNERS):
            abort(403)
        problems, status = upload(form)
        if not problems:
            return redirect(url_for(".target_populations"))
    rows = db.session.execute(select(AdminUnit, Target.population).join(
        Target, Target.admin_unit_code == AdminUnit.code).order_by(AdminUnit.code)).all()
    return render_template("allocation/targets.html", rows=rows, form=form, problems=problems,
                           can_upload=current_user.has_role(*PLANNERS)), status


def upload(form):
    """``([], 200)`` once the file is loaded, or ``(problems, status)``."""
    if not form.validate_on_submit():
        return [_("The form expired: try again.")], 422
    file = form.file.data
    if file is None or not getattr(file, "filename", ""):
        return [_("Choose the CSV file to upload.")], 422
    try:
        result = targets.load_targets(file.stream, user=current_user,
                                      allowed=services.units_within(location_scope(current_user)))
    except targets.TargetFileError as error:
        db.session.rollback()
        return error.problems, 422
    db.session.commit()
    flash(_("Target populations: %(created)d added, %(updated)d changed, %(unchanged)d unchanged.",
            created=result.created, updated=result.updated, unchanged=result.unchanged), "success")
    return [], 200

