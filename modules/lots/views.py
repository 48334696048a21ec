"""Pages of the vaccine catalogue and lots.

The catalogue is read by the stores and dashboards and edited by administrators only. The lots list
is the catalogue of lots (no quantities, no locations): stock and a lot's detail page, scoped to the
user's locations, belong to the warehouse.
"""
from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.access import roles_required
from core.clock import local_today
from core.db import db
from core.roles import ADMIN, LOGISTICS_OFFICER, VIEWER, WAREHOUSE_MANAGER
from core.service_errors import ServiceError
from modules.lots import services
from modules.lots.forms import EXPIRED, LotFilterForm, PresentationForm
from modules.lots.labels import STATUS_LABELS
from modules.lots.models import STATUSES, Lot, Presentation

bp = Blueprint("lots", __name__, template_folder="templates")
READERS = (WAREHOUSE_MANAGER, LOGISTICS_OFFICER, VIEWER)
LOTS_PAGE = 50
EXPIRING_SOON_DAYS = 30  # highlighted as on the warehouse's stock page


# --- Catalogue ---------------------------------------------------------------------------------------

@bp.route("/catalogue")
@roles_required(*READERS)
def presentations():
    return render_template("lots/presentations.html", presentations=services.list_presentations())


@bp.route("/catalogue/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def presentation_new():
    form = PresentationForm()
    if form.validate_on_submit() and save(form):
        return redirect(url_for("lots.presentations"))
    return render_template("lots/presentation_form.html", form=form, presentation=None)


@bp.route("/catalogue/<int:presentation_id>/edit", methods=["GET", "POST"])
@roles_required(ADMIN)
def presentation_edit(presentation_id):
    presentation = db.get_or_404(Presentation, presentation_id)
    form = PresentationForm.for_presentation(presentation)
    if form.validate_on_submit() and save(form, presentation):
        return redirect(url_for("lots.presentations"))
    return render_template("lots/presentation_form.html", form=form, presentation=presentation)


def save(form, presentation=None):
    """Save through the service; on a refusal write nothing and put the message next to its field."""
    try:
        saved = services.save_presentation(form.to_data(), presentation)
    except ServiceError as exc:
        db.session.rollback()
        field = form._fields.get(exc.field) if exc.field else None
        if field is not None:
            field.errors = [*field.errors, exc.message]
        else:
            flash(exc.message, "error")
        return False
    db.session.commit()
    flash(_("Vaccine %(name)s saved.", name=saved.name), "success")
    return True


# --- Lots --------------------------------------------------------------------------------------------

@bp.route("/lots")
@roles_required(*READERS)
def lot_list():
    presentations = services.list_presentations()
    form = LotFilterForm(presentations, formdata=request.args)
    form.validate()
    today = local_today()
    query = filtered_lots(form, today).order_by(Lot.id.desc()).limit(LOTS_PAGE + 1)
    before = request.args.get("before", type=int)
    if before:
        query = query.where(Lot.id < before)
    lots = db.session.scalars(query).all()
    older = lots[LOTS_PAGE - 1].id if len(lots) > LOTS_PAGE else None
    filters = {key: value for key, value in request.args.items() if key != "before" and value}
    return render_template("lots/lots.html", form=form, lots=lots[:LOTS_PAGE], today=today, status_labels=STATUS_LABELS,
                           soon=today + timedelta(days=EXPIRING_SOON_DAYS), older=older,
                           older_url=url_for("lots.lot_list", **filters, before=older) if older else None,
                           first_url=url_for("lots.lot_list", **filters) if before else None)


def filtered_lots(form, today):
    """Lots matching the valid filters of ``form`` (a filter with an error is shown, not applied)."""
    query = select(Lot).join(Presentation, Lot.presentation_id == Presentation.id)
    if form.vaccine.data:
        query = query.where(Presentation.code == form.vaccine.data)
    status = form.status.data
    if status == EXPIRED:
        query = query.where(Lot.expiry < today)
    elif status in STATUSES:
        query = query.where(Lot.status == status)
    if form.expiring_within.data is not None and not form.expiring_within.errors:
        query = query.where(Lot.expiry >= today, Lot.expiry <= today + timedelta(days=form.expiring_within.data))
    term = " ".join((form.lot.data or "").split()).upper()
    if term:
        query = query.where(func.upper(Lot.lot_number).contains(term, autoescape=True))
    return query
