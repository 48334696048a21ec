"""Pages of the warehouse: stock on hand, move history and a lot's traceability page with its holds (here), the scan
page (``scan_views``) and the operations — transfer, adjustment, count (``operation_views``).

Every page shows only what lies in the user's locations (``core.access.location_scope``): a location
outside them is answered exactly like one that does not exist (404), and lists never hold its rows.
"""
from datetime import datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import plugins
from core.access import EVERYWHERE, allowed, location_scope, roles_required
from core.api import API_PREFIX
from core.clock import LOCAL_ZONE, local_today
from core.db import db
from core.i18n import format_day, format_number
from core.models import User
from core.roles import LOGISTICS_OFFICER, SITE_STAFF, VIEWER, WAREHOUSE_MANAGER
from core.service_errors import ServiceError
from modules.lots import services as lot_services
from modules.lots.models import DISCARDED, QUARANTINED, RECALLED, RELEASED, TRANSITIONS, Lot
from modules.warehouse import locations, services
from modules.warehouse.forms import (
    HoldReleaseForm,
    LotStatusForm,
    MovesFilterForm,
    RecallForm,
    StockFilterForm,
    hold_prefix,
)
from modules.warehouse.models import Hold, Move
from modules.warehouse.pages import field_error, location_choices, place_in_scope, scope_ids
from reports.excel import MIMETYPE, xlsx_bytes

LABELS = "api.lots.lot_labels"  # the lot's labels (PDF): the page offers them to whom that endpoint lets in

bp = Blueprint("warehouse", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/warehouse")

READERS = (WAREHOUSE_MANAGER, LOGISTICS_OFFICER, SITE_STAFF, VIEWER)
OPERATORS = (WAREHOUSE_MANAGER, SITE_STAFF)
MOVES_PAGE = 50
RECIPIENTS_SHOWN = 50
KIND_LABELS = {  # every kind of operation that posts moves (ledger.post's ``kind``), in any module
    "receipt": _l("Receipt"),
    "transfer": _l("Transfer"),
    "adjustment": _l("Adjustment"),
    "wastage": _l("Wastage"),
    "count": _l("Stock count"),
    "dispatch": _l("Dispatch"),
    "shipment_receipt": _l("Shipment receipt"),
    "rejection": _l("Rejected at receipt"),
    "injection": _l("Issued for injection"),
    "reversal": _l("Reversal"),
}
REASON_LABELS = {**services.REASONS, "count": _l("Stock count")}
STATUS_CHANGES = (QUARANTINED, RELEASED, DISCARDED)  # a recall has its own button
STOCK_COLUMNS = (_l("Location code"), _l("Location"), _l("Vaccine"), _l("Lot"), _l("Expiry date"), _l("Status"),
                 _l("Vials"), _l("Doses"))


@bp.app_template_filter("move_kind")
def move_kind(kind):
    return KIND_LABELS.get(kind, kind)


@bp.app_template_filter("move_reason")
def move_reason(reason):
    return REASON_LABELS.get(reason, reason) if reason else ""


@bp.app_template_filter("lot_status")
def lot_status(status):
    return lot_services.status_label(status)


# --- Scope helpers, shared by every page of the module ---------------------------------------------

def user_scope():
    return location_scope(current_user)


def vaccine_choices(blank=None):
    choices = [("", blank)] if blank is not None else []
    return choices + [(p.code, p.name) for p in lot_services.list_presentations()]


def status_text(line, today):
    """A lot's state in words, so a highlighted row never relies on colour alone."""
    if line.lot.is_expired(today):
        text = _("Expired")
    else:
        text = lot_services.status_label(line.lot.status)
    if line.expiring_soon(today):
        text = _("%(status)s · expires within %(days)d days", status=text, days=services.EXPIRING_SOON_DAYS)
    return text


# --- Stock on hand -------------------------------------------------------------------------------

@bp.route("/stock")
@roles_required(*READERS)
def stock():
    scope = user_scope()
    places = locations.physical_locations(scope)
    form = StockFilterForm(formdata=request.args if request.args.get("filtered") else None)
    form.location.choices = location_choices(places, blank=_("All my locations"))
    form.vaccine.choices = vaccine_choices(blank=_("All vaccines"))
    form.validate()
    location = place_in_scope(form.location.data, scope) if form.location.data else None
    presentation = (lot_services.presentation_by_code(form.vaccine.data)
                    if form.vaccine.data and not form.vaccine.errors else None)
    if location is None:
        ids = scope_ids(scope)
    elif form.sub.data:
        ids = locations.subtree_ids(location, scope)
    else:
        ids = [location.id]
    today = local_today()
    lines = services.stock(ids, presentation=presentation)
    if form.blocked.data:
        lines = [line for line in lines if line.blocked(today)]
    if request.args.get("format") == "xlsx":
        return stock_workbook(lines, today)
    totals = {}
    for line in lines:
        total = totals.setdefault(line.lot.presentation.name, {"doses": 0, "vials": 0})
        total["doses"] += line.doses
        total["vials"] += line.vials
    export = url_for(".stock", filtered=1, location=form.location.data or None, vaccine=form.vaccine.data or None,
                     sub="y" if form.sub.data else None, blocked="y" if form.blocked.data else None,
                     format="xlsx")
    return render_template("warehouse/stock.html", form=form, lines=lines, totals=sorted(totals.items()),
                           today=today, status_text=status_text, columns=STOCK_COLUMNS, export_url=export)


def stock_workbook(lines, today):
    rows = ([line.location.code, line.location.name, line.lot.presentation.name, line.lot.lot_number,
             line.lot.expiry, status_text(line, today), line.vials, line.doses] for line in lines)
    content = xlsx_bytes([str(column) for column in STOCK_COLUMNS], rows, title=_("Stock on hand"))
    filename = f"ton-kho-{today:%Y-%m-%d}.xlsx"
    return content, 200, {"Content-Type": MIMETYPE, "Content-Disposition": f'attachment; filename="{filename}"'}


# --- Move history --------------------------------------------------------------------------------

@bp.route("/moves")
@roles_required(*READERS)
def moves():
    scope = user_scope()
    places = locations.physical_locations(scope)
    form = MovesFilterForm(formdata=request.args or None)
    form.location.choices = location_choices(places, blank=_("All my locations"))
    form.kind.choices = [("", _("All kinds"))] + [(kind, label) for kind, label in KIND_LABELS.items()]
    valid = form.validate()
    location = place_in_scope(form.location.data, scope) if form.location.data else None
    if location is not None:
        ids = locations.subtree_ids(location, scope)
    else:
        ids = None if scope is EVERYWHERE else sorted(scope)
    rows, older = [], None
    if valid:
        query = services.moves_query(ids, kind=form.kind.data or None)
        if form.lot.data and form.lot.data.strip():
            query = query.where(Move.lot_id.in_(select(Lot.id).where(Lot.lot_number == form.lot.data.strip())))
        if form.since.data:
            query = query.where(Move.at >= day_start(form.since.data))
        if form.until.data:
            query = query.where(Move.at < day_start(form.until.data + timedelta(days=1)))
        rows, older = move_page(query)
    filters = {name: request.args[name] for name in ("location", "lot", "kind", "since", "until")
               if request.args.get(name)}
    return render_template("warehouse/moves.html", form=form, moves=rows, older=older, filters=filters),\
        200 if valid else 422


def day_start(day):
    """The UTC moment a local (Vietnam) day begins."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_ZONE)


def move_page(query):
    """One page of moves, newest first, by keyset (``?before=<move id>``); returns (moves, older id)."""
    before = request.args.get("before", type=int)
    if before:
        query = query.where(Move.id < before)
    query = query.options(selectinload(Move.from_location), selectinload(Move.to_location),
                          selectinload(Move.user), selectinload(Move.lot))
    rows = db.session.scalars(query.order_by(Move.id.desc()).limit(MOVES_PAGE + 1)).all()
    older = rows[MOVES_PAGE - 1].id if len(rows) > MOVES_PAGE else None
    return rows[:MOVES_PAGE], older


# --- A lot: traceability, status, recall -----------------------------------------------------------

@bp.route("/lots/<int:lot_id>")
@roles_required(*READERS)
def lot_detail(lot_id):
    lot = db.get_or_404(Lot, lot_id)
    return render_lot(lot, LotStatusForm(formdata=None), RecallForm(formdata=None))


@bp.route("/lots/<int:lot_id>/status", methods=["POST"])
@roles_required(WAREHOUSE_MANAGER)
def lot_status_change(lot_id):
    lot = lot_in_hand_or_403(lot_id)
    form = LotStatusForm()
    form.status.choices = status_choices(lot)
    if form.validate_on_submit():
        try:
            lot_services.change_status(lot, form.status.data, form.reason.data, user=current_user)
        except ServiceError as error:
            db.session.rollback()
            field_error(form, error, {"status": "status", "reason": "reason"})
        else:
            db.session.commit()
            flash(_("Lot %(lot)s is now %(status)s.", lot=lot.lot_number,
                    status=lot_services.status_label(lot.status)), "success")
            return redirect(url_for(".lot_detail", lot_id=lot.id))
    return render_lot(lot, form, RecallForm(formdata=None), status=422)


@bp.route("/lots/<int:lot_id>/recall", methods=["POST"])
@roles_required(WAREHOUSE_MANAGER)
def lot_recall(lot_id):
    lot = lot_in_hand_or_403(lot_id)
    form = RecallForm()
    if form.validate_on_submit():
        try:
            lot_services.recall(lot, form.recall_reason.data, user=current_user)
        except ServiceError as error:
            db.session.rollback()
            field_error(form, error, {"reason": "recall_reason", "status": "recall_reason"})
        else:
            db.session.commit()
            flash(_("Lot %(lot)s is recalled: it can no longer be issued, dispatched or injected. Every "
                    "location holding it is listed below.", lot=lot.lot_number), "success")
            return redirect(url_for(".lot_detail", lot_id=lot.id) + "#where")
    return render_lot(lot, LotStatusForm(formdata=None), form, status=422)


@bp.route("/lots/<int:lot_id>/holds/<int:hold_id>/release", methods=["POST"])
@roles_required(*OPERATORS)
def hold_release(lot_id, hold_id):
    """Release a hold on the lot at one of the user's locations, once its doses were checked."""
    lot = db.get_or_404(Lot, lot_id)
    hold = db.session.get(Hold, hold_id)
    if hold is None or hold.lot_id != lot.id or hold.location_id not in user_scope():
        abort(404)
    form = HoldReleaseForm(prefix=hold_prefix(hold.id))
    if form.validate_on_submit():
        place = hold.location.name
        try:
            services.release_hold(hold, form.reason.data, user=current_user)
        except ServiceError as error:
            db.session.rollback()
            field_error(form, error, {"reason": "reason"})
        else:
            db.session.commit()
            flash(_("The hold on lot %(lot)s at %(location)s is released: its doses can be issued there again.",
                    lot=lot.lot_number, location=place), "success")
            return redirect(url_for(".lot_detail", lot_id=lot.id) + "#holds")
    return render_lot(lot, LotStatusForm(formdata=None), RecallForm(formdata=None), status=422,
                      release_forms={hold.id: form})


def lot_in_hand_or_403(lot_id):
    """The lot, if the user decides its status: every store or site holding it is theirs (``lot_within``)."""
    lot = db.get_or_404(Lot, lot_id)
    if not services.lot_within(lot, user_scope()):
        abort(403)
    return lot


def status_choices(lot):
    allowed = [status for status in STATUS_CHANGES if status in TRANSITIONS[lot.status]]
    return [("", _("Choose…"))] + [(status, lot_services.status_label(status)) for status in allowed]


def render_lot(lot, status_form, recall_form, status=200, release_forms=None):
    """The lot page; ``release_forms`` (``{hold id: form}``) puts back a release form that came back with errors."""
    scope = user_scope()
    ids = scope_ids(scope)
    holdings = services.stock(ids, lot=lot)
    holds = services.active_holds(ids, lot=lot)
    can_release = current_user.has_role(*OPERATORS)
    forms = {hold.id: HoldReleaseForm(formdata=None, prefix=hold_prefix(hold.id)) for hold in holds} \
        if can_release else {}
    forms.update(release_forms or {})
    status_form.status.choices = status_choices(lot)
    history = lot_services.status_history(lot)
    people = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_({change.user_id for change in history if change.user_id})))}
    rows, older = move_page(services.moves_query(None if scope is EVERYWHERE else ids, lot=lot))
    return render_template(
        "warehouse/lot.html", lot=lot, today=local_today(), history=history, people=people,
        holdings=holdings, moves=rows, older=older, recipients=recipients(lot, scope),
        recall_list=plugins.hook().lot_recall_list(lot=lot, user=current_user),
        holds=holds, on_hand={line.location.id: line.doses for line in holdings}, release_forms=forms,
        status_form=status_form, recall_form=recall_form,
        can_manage=current_user.has_role(WAREHOUSE_MANAGER) and services.lot_within(lot, scope),
        recallable=RECALLED in TRANSITIONS[lot.status],
        labels_url=f"{API_PREFIX}/lots/{lot.id}/labels.pdf" if allowed(LABELS, current_user) else None), status


def recipients(lot, scope):
    """Who received doses of the lot at the user's sites, as the injection module tells (``None``: nobody
    answers yet). Each implementation picks the newest rows within ``scope`` itself; rows naming a site
    outside it are still dropped, since an implementation written before the hook had ``scope`` answers
    for the whole country and must not show a reader people beyond their locations."""
    answers = [answer for answer in plugins.hook().lot_recipients(lot=lot, limit=RECIPIENTS_SHOWN, scope=scope)
               if answer is not None]
    if not answers:
        return None
    rows = [row for answer in answers for row in answer]
    if scope is not EVERYWHERE:
        visible = {name for place in locations.physical_locations(scope) for name in (place.code, place.name)}
        rows = [row for row in rows if row.get("site") in visible]
    return sorted(rows, key=lambda row: row.get("injected_at") or datetime.min.replace(tzinfo=LOCAL_ZONE),
                  reverse=True)[:RECIPIENTS_SHOWN]


def lot_label(lot, doses=None):
    """How a lot reads in a select: vaccine, lot number, expiry and (if given) doses on hand."""
    text = _("%(vaccine)s — lot %(lot)s — expiry %(expiry)s", vaccine=lot.presentation.name, lot=lot.lot_number,
             expiry=format_day(lot.expiry))
    if doses is not None:
        text += " — " + _("%(doses)s doses", doses=format_number(doses))
    return text


from modules.warehouse import operation_views, scan_views  # noqa: E402,F401  (their routes join bp)
