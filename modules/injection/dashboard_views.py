"""The viewers' dashboard page, ``/dashboard``: doses per day, dose number, vaccine and province within the
user's locations (or one store's subtree among them) over a period of at most a year, drawn as SVG charts
with their numbers in tables. Thin over :mod:`modules.injection.dashboard`; a location outside the user's
is a 404, like one that does not exist.
"""
from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.validators import ValidationError

from core.access import location_scope, roles_required
from core.clock import local_today
from core.roles import LOGISTICS_OFFICER, VIEWER, WAREHOUSE_MANAGER
from core.service_errors import NotFoundError
from modules.injection import dashboard
from modules.warehouse import locations
from modules.warehouse.forms import ChoiceField, DayField, FilterForm

bp = Blueprint("dashboard", __name__, template_folder="templates")

READERS = (VIEWER, LOGISTICS_OFFICER, WAREHOUSE_MANAGER)
DEFAULT_DAYS = 30
MAX_DAYS = 366


class DashboardFilterForm(FilterForm):
    location = ChoiceField(_l("Location"), strict=False)  # any location of the user's, by code; else 404
    since = DayField(_l("From (dd/mm/yyyy)"))
    until = DayField(_l("To (dd/mm/yyyy)"))

    def period(self):
        """(first day, last day): by default the 30 days up to today, or up to the last day given."""
        end = self.until.data or local_today()
        return self.since.data or end - timedelta(days=DEFAULT_DAYS - 1), end

    def validate_until(self, field):
        start, end = self.period()
        if end < start:
            raise ValidationError(_l("The end date is before the start date."))
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(_l("At most %(n)d days at a time.", n=MAX_DAYS))


@bp.route("/dashboard")
@roles_required(*READERS)
def overview():
    scope = location_scope(current_user)
    form = DashboardFilterForm(formdata=request.args or None)
    valid = form.validate()
    location = chosen_location(form.location.data, scope)
    form.location.choices = location_choices(dashboard.stores(scope), location)
    start, end = form.period()
    for day_field, day in ((form.since, start), (form.until, end)):
        if not day_field.errors and not getattr(day_field, "text", ""):
            day_field.raw_data, day_field.data = None, day  # show the default period in the fields
    summary = None
    if valid:
        summary = dashboard.summary(dashboard.within(current_user, scope, start, end, location))
    return render_template("dashboard/dashboard.html", form=form, summary=summary, start=start, end=end,
                           location=location, charts=charts(summary) if summary else {}), 200 if valid else 422


def chosen_location(code, scope):
    if not code:
        return None
    try:
        return locations.by_code(code, scope)
    except NotFoundError:
        abort(404)


def location_choices(stores, location):
    """The stores in tree order, indented by depth, after "all my locations"; a site chosen by its code is
    added so that the select shows it."""
    places = [*stores, location] if location is not None and location not in stores else stores
    top = min((place.depth for place in places), default=0)
    return [("", _("All my locations"))] + [
        (place.code, "\u00a0\u00a0" * (place.depth - top) + f"{place.name} ({place.code})") for place in places]


def charts(summary):
    provinces = [(place.name if place else _("Outside any province"), doses)
                 for place, doses in summary.per_province]
    doses_by_number = [(_("Dose %(n)s", n=number), doses) for number, doses in summary.per_dose_number]
    return {"per_day": dashboard.day_chart(summary.per_day, _("Doses per day")),
            "per_dose_number": dashboard.row_chart(doses_by_number, _("Doses by dose number")),
            "per_vaccine": dashboard.row_chart(summary.per_vaccine, _("Doses by vaccine")),
            "per_province": dashboard.row_chart(provinces, _("Doses by province")),
            "provinces": provinces, "dose_numbers": doses_by_number}
