"""Administration of the locations tree and of who is assigned where (admins only)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from core.access import roles_required
from core.db import db
from core.forms import REQUIRED, ConfirmForm
from core.models import User
from core.roles import ADMIN
from core.service_errors import ServiceError
from modules.warehouse import locations
from modules.warehouse.models import PHYSICAL_KINDS, Location, UserLocation

bp = Blueprint("warehouse_admin", __name__, template_folder="templates")

KIND_LABELS = {
    "national": _l("National store"),
    "regional": _l("Regional store"),
    "province": _l("Provincial store"),
    "district": _l("District store"),
    "site": _l("Vaccination site"),
}


class LocationForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(REQUIRED), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(kind, KIND_LABELS[kind]) for kind in PHYSICAL_KINDS],
                       validate_choice=False)
    parent = SelectField(_l("Placed under"), validate_choice=False)
    admin_unit = StringField(_l("Administrative unit code"), validators=[Length(max=16)])


class AssignForm(FlaskForm):
    user = SelectField(_l("User"), validate_choice=False)


@bp.route("/admin/locations", methods=["GET", "POST"])
@roles_required(ADMIN)
def tree():
    everything = locations.physical_locations()
    form = LocationForm()
    form.parent.choices = [SelectChoice("", _("— top of the tree —"))] + [
        SelectChoice(str(location.id), f"{'· ' * location.depth}{location.code} {location.name}")
        for location in everything]
    if form.validate_on_submit():
        parent = db.session.get(Location, int(form.parent.data)) if form.parent.data.isdigit() else None
        try:
            created = locations.create_location(form.code.data, form.name.data, form.kind.data, parent,
                                                form.admin_unit.data.strip() or None)
        except ServiceError as error:
            field = {"admin_unit": "admin_unit", "parent": "parent"}.get(error.field, error.field)
            getattr(form, field, form.code).errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Location %(code)s created.", code=created.code), "success")
            return redirect(url_for("warehouse_admin.tree"))
    assigned = dict(db.session.execute(select(UserLocation.location_id, func.count())
                                       .group_by(UserLocation.location_id)).all())
    return render_template("warehouse/admin_locations.html", locations=everything, form=form,
                           assigned=assigned, kind_labels=KIND_LABELS)


@bp.route("/admin/locations/<int:location_id>/users", methods=["GET", "POST"])
@roles_required(ADMIN)
def users(location_id):
    location = locations.by_id(location_id)
    form = AssignForm()
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)).all()
    form.user.choices = [SelectChoice(str(user.id), f"{user.username} — {user.role_label}") for user in people]
    if form.validate_on_submit():
        chosen = form.user.data or ""  # absent from a hand-made POST: "choose a user", not a 500
        user = db.session.get(User, int(chosen)) if chosen.isdigit() else None
        if user is None:
            form.user.errors.append(_("Choose a user."))
        else:
            locations.assign(user, location)
            db.session.commit()
            flash(_("%(user)s now works at %(location)s.", user=user.username, location=location.name), "success")
            return redirect(url_for("warehouse_admin.users", location_id=location.id))
    return render_template("warehouse/admin_location_users.html", location=location, form=form,
                           assignments=locations.assignments_at(location), confirm=ConfirmForm())


@bp.route("/admin/locations/<int:location_id>/users/<int:user_id>/remove", methods=["POST"])
@roles_required(ADMIN)
def unassign(location_id, user_id):
    location = locations.by_id(location_id)
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        locations.unassign(user, location)
        db.session.commit()
        flash(_("%(user)s no longer works at %(location)s.", user=user.username, location=location.name), "success")
    return redirect(url_for("warehouse_admin.users", location_id=location.id))
