"""Pages of the transport module: shipments list, create (and pick), a shipment with its actions and
temperatures, and receipt at the destination (by scanning the manifest's barcode).

Thin over ``services``: each POST form carries CSRF; a refused submission shows the error next to its
field (the row of a line) and writes nothing. A shipment is seen only by users whose locations hold its
origin or its destination; anyone else gets the 404 of a shipment that does not exist.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from core.access import EVERYWHERE, location_scope, roles_required
from core.api import API_PREFIX
from core.clock import local_today
from core.db import db
from core.i18n import format_number
from core.roles import LOGISTICS_OFFICER, SITE_STAFF, VIEWER, WAREHOUSE_MANAGER
from core.service_errors import NotFoundError, ServiceError
from modules.lots import services as lot_services
from modules.transport import services, temperature
from modules.transport.forms import (
    REASON_LABELS,
    ActionForm,
    RepickForm,
    ScanForm,
    ShipmentFilterForm,
    TemperatureForm,
    TransportDetailsForm,
    line_rows,
    receive_form,
    receive_rows,
    shipment_form,
)
from modules.transport.labels import STATE_LABELS
from modules.transport.models import (
    CANCELLED,
    CLOSED,
    DISPATCHED,
    DRAFT,
    PARTIALLY_RECEIVED,
    PICKED,
    RECEIVED,
    STATES,
    Shipment,
)
from modules.warehouse import locations
from modules.warehouse.pages import location_choices

bp = Blueprint("transport", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/transport")

SHIPPERS = (LOGISTICS_OFFICER, WAREHOUSE_MANAGER)
RECEIVERS = (WAREHOUSE_MANAGER, SITE_STAFF)
LOGGERS = (LOGISTICS_OFFICER, WAREHOUSE_MANAGER, SITE_STAFF)  # the logger travels with the goods
READERS = (LOGISTICS_OFFICER, WAREHOUSE_MANAGER, SITE_STAFF, VIEWER)
LIST_LIMIT = 200  # shipments a page shows, newest first; older ones by keyset (``?before=<id>``)
STATE_BADGES = {DRAFT: "warn", PICKED: "warn", DISPATCHED: "warn", RECEIVED: "ok", PARTIALLY_RECEIVED: "warn",
                CLOSED: "ok", CANCELLED: "bad"}
TEMPERATURE_STATES = (PICKED, DISPATCHED, RECEIVED, PARTIALLY_RECEIVED)
MANIFEST_STATES = (PICKED, DISPATCHED, RECEIVED, PARTIALLY_RECEIVED, CLOSED)


@bp.app_template_filter("shipment_state")
def shipment_state(state):
    return STATE_LABELS.get(state, state)


@bp.app_template_filter("reject_reason")
def reject_reason(reason):
    return REASON_LABELS.get(reason, reason) if reason else ""


# --- Scope ---------------------------------------------------------------------------------------

def in_scope(location_id, scope):
    return scope is EVERYWHERE or location_id in scope


def visible_shipment(shipment_id):
    """The shipment if its origin or destination is in the user's locations, else 404."""
    shipment = db.session.get(Shipment, shipment_id)
    scope = location_scope(current_user)
    if shipment is None or not (in_scope(shipment.origin_id, scope) or in_scope(shipment.destination_id, scope)):
        abort(404)
    return shipment


def held_side(shipment, side):
    """404 unless the user holds the shipment's ``side`` ("origin" or "destination")."""
    if not in_scope(getattr(shipment, side + "_id"), location_scope(current_user)):
        abort(404)
    return shipment


# --- List ----------------------------------------------------------------------------------------

@bp.route("/shipments")
@roles_required(*READERS)
def shipments():
    scope = location_scope(current_user)
    places = locations.physical_locations(scope)
    form = ShipmentFilterForm(formdata=request.args)
    form.state.choices = [("", _("All states"))] + [(state, str(STATE_LABELS[state])) for state in STATES]
    form.location.choices = location_choices(places, blank=_("All my locations"))
    form.validate()
    query = select(Shipment).options(selectinload(Shipment.origin), selectinload(Shipment.destination))
    if form.location.data and not form.location.errors:
        location = locations.by_code(form.location.data, scope)
        query = query.where(or_(Shipment.origin_id == location.id, Shipment.destination_id == location.id))
    elif scope is not EVERYWHERE:
        ids = sorted(scope)
        query = query.where(or_(Shipment.origin_id.in_(ids), Shipment.destination_id.in_(ids)))
    if form.state.data and not form.state.errors:
        query = query.where(Shipment.state == form.state.data)
    before = request.args.get("before", type=int)
    if before:
        query = query.where(Shipment.id < before)
    rows = db.session.scalars(query.order_by(Shipment.id.desc()).limit(LIST_LIMIT + 1)).all()
    older = rows[LIST_LIMIT - 1].id if len(rows) > LIST_LIMIT else None
    filters = {name: request.args[name] for name in ("state", "location") if request.args.get(name)}
    return render_template("transport/list.html", form=form, shipments=rows[:LIST_LIMIT], older=older,
                           newer=bool(before), filters=filters, can_ship=current_user.has_role(*SHIPPERS),
                           badges=STATE_BADGES)


# --- Create and pick -----------------------------------------------------------------------------

def vaccine_choices():
    return [("", _("Choose…"))] + [(p.code, f"{p.name} ({p.doses_per_vial} {_('doses/vial')})")
                                  for p in lot_services.list_presentations(active_only=True)]


@bp.route("/shipments/new", methods=["GET", "POST"])
@roles_required(*SHIPPERS)
def new_shipment():
    scope = location_scope(current_user)
    origins = locations.physical_locations(scope)
    if not origins:
        return render_template("transport/new.html", form=None)
    form = shipment_form(vaccine_choices(), planned_date=local_today(),
                         origin=origins[0].code)
    form.origin.choices = location_choices(origins, blank=_("Choose…"))
    form.destination.choices = location_choices(locations.physical_locations(), blank=_("Choose…"))
    rows = line_rows(form)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit() & check_rows(form, rows):
            shipment, status = create(form, rows, scope)
            if shipment is not None:
                flash(_("Shipment %(number)s is created and picked: check the lots, then dispatch it.",
                        number=shipment.number), "success")
                return redirect(url_for(".shipment", shipment_id=shipment.id))
    return render_template("transport/new.html", form=form, rows=rows), status


def check_rows(form, rows):
    """Each used row needs a vaccine and a number of vials; at least one row is used."""
    good = True
    used = 0
    for vaccine, vials in rows:
        if not vaccine.data and not getattr(vials, "text", ""):
            continue
        used += 1
        if not vaccine.data and not vaccine.errors:
            vaccine.errors = [*vaccine.errors, _("Choose the vaccine.")]
            good = False
        if not getattr(vials, "text", "") and not vials.errors:
            vials.errors = [*vials.errors, _("Enter the number of vials.")]
            good = False
        good = good and not vaccine.errors and not vials.errors
    if not used:
        form.lines_error = _("A shipment needs at least one line.")
        good = False
    return good


def create(form, rows, scope):
    """Create and pick the shipment: ``(shipment, None)``; on a service error roll back, show it where it
    belongs and answer ``(None, status)``."""
    used = [(vaccine, vials) for vaccine, vials in rows if vaccine.data]
    try:
        origin = locations.by_code(form.origin.data, scope, "origin")
        destination = locations.by_code(form.destination.data, EVERYWHERE, "destination")
        requests = []
        for index, (vaccine, vials) in enumerate(used):
            try:
                presentation = lot_services.presentation_by_code(vaccine.data)
            except NotFoundError as error:
                error.field = f"lines[{index}].lot_id"
                raise
            requests.append(services.Request(doses=vials.data * presentation.doses_per_vial,
                                             presentation=presentation))
        shipment = services.create_shipment(
            origin, destination, requests, planned_date=form.planned_date.data, vehicle=form.vehicle.data or "",
            driver=form.driver.data or "", cold_box=form.cold_box.data or "", note=form.note.data or "",
            user=current_user)
        services.pick(shipment, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        show_create_error(form, used, error)
        return None, error.status
    db.session.commit()
    return shipment, None


def show_create_error(form, used, error):
    field = error.field or ""
    if field.startswith("lines[") and "]" in field:
        index = field[len("lines["):field.index("]")]
        name = field.rsplit(".", 1)[-1]
        if index.isdigit() and int(index) < len(used):
            vaccine, vials = used[int(index)]
            target = vaccine if name in ("lot_id", "vaccine", "presentation") else vials
            target.errors = [*target.errors, error.message]
            return
    target = getattr(form, field, None) if field in ("origin", "destination", "planned_date") else None
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        form.lines_error = error.message


# --- One shipment --------------------------------------------------------------------------------

@bp.route("/shipments/<int:shipment_id>")
@roles_required(*READERS)
def shipment(shipment_id):
    return render_shipment(visible_shipment(shipment_id), TemperatureForm(formdata=None))


def render_shipment(shipment, temperature_form, status=200, upload_error=None, repick_form=None,
                    details_form=None):
    scope = location_scope(current_user)
    at_origin = in_scope(shipment.origin_id, scope)
    at_destination = in_scope(shipment.destination_id, scope)
    report = chart = None
    if shipment.temperature_min is not None and shipment.temperature_max is not None:
        report = services.temperature_report(shipment)
        if report.readings:
            chart = Markup(temperature.chart_svg(  # our own SVG from numbers; the title is escaped in it
                services.readings_of(shipment), shipment.temperature_min, shipment.temperature_max,
                title=_("Temperatures of shipment %(number)s", number=shipment.number)))
    shipper = current_user.has_role(*SHIPPERS) and at_origin
    manifest = None
    if shipment.state in MANIFEST_STATES:
        base = f"{API_PREFIX}/shipments/{shipment.id}/manifest.pdf"
        manifest = {"vi": base + "?lang=vi", "en": base + "?lang=en"}
    return render_template(
        "transport/shipment.html", shipment=shipment, action_form=ActionForm(formdata=None),
        temperature_form=temperature_form, upload_error=upload_error, report=report, chart=chart,
        repick_form=repick_form or RepickForm(formdata=None), badges=STATE_BADGES, manifest=manifest,
        details_form=details_form or TransportDetailsForm(formdata=None, obj=shipment),
        can_edit_details=shipper and shipment.state in (DRAFT, PICKED),
        can_dispatch=shipper and shipment.state == PICKED,
        can_repick=shipper and shipment.state == PICKED,
        can_cancel=shipper and shipment.state in (DRAFT, PICKED),
        can_close=shipper and shipment.state in (RECEIVED, PARTIALLY_RECEIVED),
        can_upload=current_user.has_role(*LOGGERS) and shipment.state in TEMPERATURE_STATES,
        can_receive=current_user.has_role(*RECEIVERS) and at_destination and shipment.state == DISPATCHED,
        received=shipment.state in (RECEIVED, PARTIALLY_RECEIVED, CLOSED)), status


def act_on(shipment_id, action, done_message):
    shipment = held_side(visible_shipment(shipment_id), "origin")
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired: try again."), "error")
        return redirect(url_for(".shipment", shipment_id=shipment.id))
    try:
        action(shipment, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render_shipment(db.session.get(Shipment, shipment_id), TemperatureForm(formdata=None),
                               status=error.status)
    db.session.commit()
    flash(done_message(shipment), "success")
    return redirect(url_for(".shipment", shipment_id=shipment.id))


@bp.route("/shipments/<int:shipment_id>/dispatch", methods=["POST"])
@roles_required(*SHIPPERS)
def dispatch(shipment_id):
    return act_on(shipment_id, services.dispatch, lambda shipment: _(
        "Shipment %(number)s is dispatched: its doses are in transit.", number=shipment.number))


@bp.route("/shipments/<int:shipment_id>/cancel", methods=["POST"])
@roles_required(*SHIPPERS)
def cancel(shipment_id):
    return act_on(shipment_id, services.cancel, lambda shipment: _(
        "Shipment %(number)s is cancelled.", number=shipment.number))


@bp.route("/shipments/<int:shipment_id>/repick", methods=["POST"])
@roles_required(*SHIPPERS)
def repick(shipment_id):
    """The packs taken were of another lot than picked: the scanned lot replaces picked ones."""
    shipment = held_side(visible_shipment(shipment_id), "origin")
    form = RepickForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            form.code.errors = [*form.code.errors, _("The form expired: try again.")]
        return render_shipment(shipment, TemperatureForm(formdata=None), 422, repick_form=form)
    try:
        lot = lot_services.lot_from_scan(form.code.data)
        services.repick(shipment, lot, form.doses.data, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        target = {"code": form.code, "lot_id": form.code, "doses": form.doses}.get(error.field)
        if target is not None:
            target.errors = [*target.errors, error.message]
        else:  # about the shipment (its state, its temperatures): the form may not even be shown
            flash(error.message, "error")
        return render_shipment(db.session.get(Shipment, shipment_id), TemperatureForm(formdata=None),
                               error.status, repick_form=form)
    db.session.commit()
    flash(_("Shipment %(number)s: %(doses)s doses moved to lot %(lot)s.", number=shipment.number,
            doses=format_number(form.doses.data), lot=lot.lot_number), "success")
    return redirect(url_for(".shipment", shipment_id=shipment.id))


@bp.route("/shipments/<int:shipment_id>/details", methods=["POST"])
@roles_required(*SHIPPERS)
def details(shipment_id):
    """Fill in or correct the vehicle, driver, cold box and planned date before dispatch."""
    shipment = held_side(visible_shipment(shipment_id), "origin")
    form = TransportDetailsForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash(_("The form expired: try again."), "error")
        return render_shipment(shipment, TemperatureForm(formdata=None), 422, details_form=form)
    try:
        services.update_transport_details(shipment, planned_date=form.planned_date.data,
                                          vehicle=form.vehicle.data or "", driver=form.driver.data or "",
                                          cold_box=form.cold_box.data or "", user=current_user)
    except ServiceError as error:
        db.session.rollback()
        target = form[error.field] if error.field in services.TRANSPORT_FIELDS else None
        if target is not None:
            target.errors = [*target.errors, error.message]
        else:  # about the shipment (its state): the form is no longer shown
            flash(error.message, "error")
        return render_shipment(db.session.get(Shipment, shipment_id), TemperatureForm(formdata=None), 422,
                               details_form=form)
    db.session.commit()
    flash(_("Shipment %(number)s: the transport details are saved.", number=shipment.number), "success")
    return redirect(url_for(".shipment", shipment_id=shipment.id))


@bp.route("/shipments/<int:shipment_id>/close", methods=["POST"])
@roles_required(*SHIPPERS)
def close(shipment_id):
    return act_on(shipment_id, services.close, lambda shipment: _(
        "Shipment %(number)s is closed.", number=shipment.number))


@bp.route("/shipments/<int:shipment_id>/temperatures", methods=["POST"])
@roles_required(*LOGGERS)
def temperatures(shipment_id):
    shipment = visible_shipment(shipment_id)
    form = TemperatureForm()
    if not form.validate_on_submit():
        return render_shipment(shipment, form, 422, _("The form expired: try again."))
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        return render_shipment(shipment, form, 422, _("Choose the data-logger file to upload."))
    try:
        report = services.record_logger_file(shipment, upload.read(), upload.filename, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        return render_shipment(db.session.get(Shipment, shipment_id), form, error.status, error.message)
    db.session.commit()
    if report.has_excursion:
        flash(_("%(n)s readings saved. Temperature excursion: %(count)s outside %(low)s…%(high)s °C for longer "
                "than allowed.", n=format_number(report.readings), count=len(report.excursions),
                low=shipment.temperature_min, high=shipment.temperature_max), "warning")
        if shipment.state in (RECEIVED, PARTIALLY_RECEIVED):
            flash(_("The received lots are now on hold at %(location)s until someone checks them and releases "
                    "the hold.", location=shipment.destination.name), "warning")
    else:
        flash(_("%(n)s readings saved. No excursion.", n=format_number(report.readings)), "success")
    return redirect(url_for(".shipment", shipment_id=shipment.id) + "#temperatures")


# --- Receipt -------------------------------------------------------------------------------------

@bp.route("/receive")
@roles_required(*RECEIVERS)
def receive_scan():
    form = ScanForm(formdata=request.args)
    error = None
    if request.args.get("number") is not None:
        number = (form.number.data or "").strip()
        shipment = services.by_number(number) if number else None
        scope = location_scope(current_user)
        if not number:
            error = _("Scan the barcode on the manifest, or type the shipment number.")
        elif shipment is None or not in_scope(shipment.destination_id, scope):
            error = _("No shipment %(number)s is coming to your locations.", number=number)
        elif shipment.state != DISPATCHED:
            error = _("Shipment %(number)s is %(state)s: only a dispatched shipment can be received.",
                      number=shipment.number, state=shipment_state(shipment.state))
        else:
            return redirect(url_for(".receive", shipment_id=shipment.id))
        if error:
            form.number.errors = [error]
    return render_template("transport/receive_scan.html", form=form), 422 if error else 200


@bp.route("/shipments/<int:shipment_id>/receive", methods=["GET", "POST"])
@roles_required(*RECEIVERS)
def receive(shipment_id):
    shipment = held_side(visible_shipment(shipment_id), "destination")
    if shipment.state != DISPATCHED:
        flash(_("Shipment %(number)s is %(state)s: only a dispatched shipment can be received.",
                number=shipment.number, state=shipment_state(shipment.state)), "error")
        return redirect(url_for(".shipment", shipment_id=shipment.id))
    lines = list(shipment.lines)
    form = receive_form(lines)
    rows = receive_rows(form, lines)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit() & check_receipt_rows(rows):
            results = {line.id: services.LineReceipt(
                accepted=accepted.data, rejected=rejected.data or 0, reason=reason.data or None,
                vvm_stage=int(vvm.data) if vvm.data else None) for line, accepted, rejected, reason, vvm in rows}
            try:
                services.receive(shipment, results, user=current_user)
            except ServiceError as error:
                db.session.rollback()
                show_receipt_error(rows, error)
                shipment = db.session.get(Shipment, shipment_id)
                status = error.status
            else:
                return received(shipment)
    return render_template("transport/receive.html", shipment=shipment, form=form, rows=rows), status


def check_receipt_rows(rows):
    """Accepted doses must be given on every row (rejected may be left empty: 0)."""
    for _line, accepted, _rejected, _reason, _vvm in rows:
        if accepted.data is None and not accepted.errors:
            accepted.errors = [*accepted.errors, _("Enter the accepted doses (0 if none).")]
    return not any(field.errors for row in rows for field in row[1:])


def show_receipt_error(rows, error):
    field = error.field or ""
    if field.startswith("lines[") and "]" in field:
        index = field[len("lines["):field.index("]")]
        name = field.rsplit(".", 1)[-1]
        if index.isdigit() and int(index) < len(rows):
            _line, accepted, rejected, reason, vvm = rows[int(index)]
            target = {"rejected": rejected, "reason": reason, "vvm_stage": vvm}.get(name, accepted)
            target.errors = [*target.errors, error.message]
            return
    flash(error.message, "error")


def received(shipment):
    db.session.commit()
    rejected = sum(line.rejected or 0 for line in shipment.lines)
    flash(_("Shipment %(number)s is received: %(accepted)s doses accepted, %(rejected)s rejected.",
            number=shipment.number, accepted=format_number(sum(line.accepted or 0 for line in shipment.lines)),
            rejected=format_number(rejected)), "success")
    report = services.temperature_report(shipment)
    if report.has_excursion:
        flash(_("There was a temperature excursion during the trip: the accepted lots are on hold at %(location)s "
                "until someone checks them and releases the hold.", location=shipment.destination.name),
              "warning")
    return redirect(url_for(".shipment", shipment_id=shipment.id))

