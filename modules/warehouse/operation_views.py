"""The operations as pages: transfer (with the FEFO suggestion), adjustment and wastage, physical count.

Each is a POST form with CSRF: an error is shown next to its field and nothing is written (the
service's work is rolled back). A location outside the user's subtree, or a lot that is not on hand
there, answers 404 like one that does not exist.
"""
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from core.access import roles_required
from core.clock import local_today
from core.db import db
from core.i18n import format_number
from core.service_errors import NotFoundError, ServiceError
from modules.lots import services as lot_services
from modules.warehouse import locations, services
from modules.warehouse.forms import DOSES, VIALS, AdjustForm, FefoForm, TransferForm, count_form
from modules.warehouse.models import Move
from modules.warehouse.pages import field_error, location_choices, place_in_scope
from modules.warehouse.scan_views import SCAN_LOCATION_KEY
from modules.warehouse.views import OPERATORS, bp, lot_label, user_scope, vaccine_choices

COUNT_SUMMARY_KEY = "warehouse_count_summary"
QUANTITY_FIELDS = {"doses": "quantity", "vials": "quantity", "lot_id": "lot", "lot": "lot"}


def chosen_place(places, code, scope):
    """The location asked for (404 if foreign), else the one last scanned at, else the first one."""
    if code:
        return place_in_scope(code, scope)
    remembered = session.get(SCAN_LOCATION_KEY)
    return next((place for place in places if place.code == remembered), places[0] if places else None)


def doses_of(quantity, unit, lot):
    return quantity * lot.presentation.doses_per_vial if unit == VIALS else quantity


def not_on_hand(location):
    return NotFoundError(_("This lot is not on hand at %(location)s.", location=location.name), "lot", "not_on_hand")


def attempt(form, action, fields):
    """Run ``action``; on a service error roll everything back, show it by its field, return the status."""
    try:
        action()
    except ServiceError as error:
        db.session.rollback()
        field_error(form, error, fields)
        return error.status
    db.session.commit()
    return None


# --- Transfer ------------------------------------------------------------------------------------

@bp.route("/transfer", methods=["GET", "POST"])
@roles_required(*OPERATORS)
def transfer():
    scope = user_scope()
    places = locations.physical_locations(scope)
    posted = request.method == "POST"
    source = chosen_place(places, request.form.get("source") if posted else request.args.get("source"), scope)
    if source is None:
        return render_template("warehouse/transfer.html", source=None, places=places)
    lines = {str(line.lot.id): line for line in services.stock([source.id])}
    today = local_today()
    form = TransferForm(source=source.code, lot=request.args.get("lot"), quantity=request.args.get("quantity"),
                        unit=request.args.get("unit") if request.args.get("unit") in (VIALS, DOSES) else VIALS)
    form.destination.choices = location_choices([p for p in places if p.id != source.id], blank=_("Choose…"))
    form.lot.choices = [("", _("Choose…"))] + [(key, lot_label(line.lot, line.doses)) for key, line in lines.items()
                                             if line.lot.is_usable(today)]
    status = 200
    if form.validate_on_submit():
        def act():
            destination = locations.by_code(form.destination.data, scope, "destination")
            line = lines.get(form.lot.data)
            if line is None:
                raise not_on_hand(source)
            doses = doses_of(form.quantity.data, form.unit.data, line.lot)
            services.transfer(source, destination, line.lot, doses, user=current_user, note=form.note.data or "")
            flash(_("Transferred %(doses)s doses of lot %(lot)s from %(source)s to %(destination)s.",
                    doses=format_number(doses), lot=line.lot.lot_number, source=source.name,
                    destination=destination.name), "success")

        status = attempt(form, act, {**QUANTITY_FIELDS, "destination": "destination"})
        if status is None:
            return redirect(url_for(".transfer", source=source.code))
    elif posted:
        status = 422
    fefo_form, picks, shortage = fefo(source)
    return render_template("warehouse/transfer.html", source=source, form=form, places=places,
                           place_choices=location_choices(places), fefo_form=fefo_form, picks=picks,
                           shortage=shortage), status


def fefo(source):
    """The FEFO suggestion asked in the query string: ``(form, picks, shortage)``; picks are ``None`` when
    nothing was asked (or the question was wrong: the form says why)."""
    asked = "need" in request.args
    form = FefoForm(formdata=request.args if asked else None, source=source.code)
    form.vaccine.choices = vaccine_choices(blank=_("Choose…"))
    if not asked or not form.validate():
        return form, None, 0
    presentation = lot_services.presentation_by_code(form.vaccine.data)
    doses = form.need.data * presentation.doses_per_vial if form.need_unit.data == VIALS else form.need.data
    picks, shortage = services.fefo(source, presentation, doses)
    return form, picks, shortage


# --- Adjustment and wastage ------------------------------------------------------------------------

@bp.route("/adjust", methods=["GET", "POST"])
@roles_required(*OPERATORS)
def adjust():
    scope = user_scope()
    places = locations.physical_locations(scope)
    posted = request.method == "POST"
    location = chosen_place(places, request.form.get("location") if posted else request.args.get("location"),
                            scope)
    if location is None:
        return render_template("warehouse/adjust.html", location=None, places=places)
    lines = {str(line.lot.id): line for line in services.stock([location.id])}
    form = AdjustForm(location=location.code, lot=request.args.get("lot"))
    form.lot.choices = [("", _("Choose…"))] + [(key, lot_label(line.lot, line.doses)) for key, line in lines.items()]
    form.reason.choices = [("", _("Choose…"))] + [(key, str(label)) for key, label in services.REASONS.items()]
    status = 200
    if form.validate_on_submit():
        def act():
            line = lines.get(form.lot.data)
            if line is None:
                raise not_on_hand(location)
            doses = doses_of(form.quantity.data, form.unit.data, line.lot)
            signed = doses if form.reason.data == "found" else -doses
            services.adjust(location, line.lot, signed, form.reason.data, user=current_user, note=form.note.data or "")
            flash(_("%(reason)s: %(doses)s doses of lot %(lot)s recorded at %(location)s.",
                    reason=services.REASONS[form.reason.data], doses=format_number(signed), lot=line.lot.lot_number,
                    location=location.name), "success")

        status = attempt(form, act, {**QUANTITY_FIELDS, "reason": "reason"})
        if status is None:
            return redirect(url_for(".adjust", location=location.code))
    elif posted:
        status = 422
    return render_template("warehouse/adjust.html", location=location, form=form, places=places,
                           place_choices=location_choices(places)), status


# --- Physical count ------------------------------------------------------------------------------

@bp.route("/count")
@roles_required(*OPERATORS)
def count_index():
    places = locations.physical_locations(user_scope())
    if len(places) == 1:
        return redirect(url_for(".count", code=places[0].code))
    return render_template("warehouse/count_index.html", places=places)


@bp.route("/count/<code>", methods=["GET", "POST"])
@roles_required(*OPERATORS)
def count(code):
    location = place_in_scope(code, user_scope())
    lines = services.stock([location.id])
    form = count_form([line.lot.id for line in lines])
    status = 200
    if form.validate_on_submit():
        by_id = {line.lot.id: line.lot for line in lines}
        fields = {}
        counted = {}
        for lot_id, field in form.lot_fields():
            if field.data is not None:
                fields[len(counted)] = field
                counted[by_id[lot_id]] = doses_of(field.data, form.unit.data, by_id[lot_id])
        if not counted:
            flash(_("Enter the counted quantity of at least one lot."), "error")
            status = 422
        else:
            status = save_count(form, location, counted, fields)
            if status is None:
                return redirect(url_for(".count", code=location.code) + "#summary")
    elif request.method == "POST":
        status = 422
    summary = count_summary(location) if request.method == "GET" else None
    rows = [(line, form[f"lot_{line.lot.id}"]) for line in lines]
    return render_template("warehouse/count.html", location=location, form=form, rows=rows, summary=summary,
                           today=local_today()), status


def save_count(form, location, counted, fields):
    """Record the count, or put its error on the field of the line at fault; ``None`` when saved."""
    try:
        moves = services.count(location, counted, user=current_user, note=form.note.data or "")
    except ServiceError as error:
        db.session.rollback()
        index = error.field.split("]")[0].removeprefix("lines[") if error.field else ""
        target = fields.get(int(index)) if index.isdigit() else None
        if target is not None:
            target.errors = [*target.errors, _("The counted quantity must be a whole number, 0 or more.")]
        else:
            flash(error.message, "error")
        return error.status
    db.session.commit()
    session[COUNT_SUMMARY_KEY] = {"location": location.code, "counted": len(counted),
                                  "moves": [move.id for move in moves]}
    flash(ngettext("Count recorded at %(location)s: %(num)d lot counted, %(variances)d with a variance.",
                   "Count recorded at %(location)s: %(num)d lots counted, %(variances)d with a variance.",
                   len(counted), location=location.name, variances=len(moves)), "success")
    return None


def count_summary(location):
    """The variances of the count just recorded here (kept in the session across the redirect)."""
    saved = session.get(COUNT_SUMMARY_KEY)
    if not saved or saved.get("location") != location.code:
        return None
    session.pop(COUNT_SUMMARY_KEY)
    ids = [move_id for move_id in saved.get("moves", []) if isinstance(move_id, int)]
    moves = db.session.scalars(select(Move).where(Move.id.in_(ids)).order_by(Move.id)).all() if ids else []
    rows = []
    for move in moves:
        if location.id not in (move.from_location_id, move.to_location_id):
            continue
        variance = move.doses if move.to_location_id == location.id else -move.doses
        rows.append({"lot": move.lot, "variance": variance})
    return {"counted": saved.get("counted", 0), "rows": rows}
