"""The due doses page, ``/due``: who, at the user's sites, is due or overdue for their next dose in a range of
days — of their primary series, or a booster — with an xlsx export. Thin over ``reminders.due_between``; a site
outside the user's scope is a 404. Phone numbers are whole for those who call people (site staff, admins) and
masked but for their last digits for everybody else; the export, a list of people to call, is theirs alone
(403 otherwise) and each one is in the audit log."""
from datetime import timedelta

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms import ValidationError

from core.access import EVERYWHERE, location_scope, roles_required
from core.clock import local_today
from core.paging import page_of
from core.roles import SITE_STAFF, VIEWER, WAREHOUSE_MANAGER
from modules.injection import exports, identity, reminders, rules
from modules.warehouse import locations
from modules.warehouse.forms import ChoiceField, DayField, FilterForm
from modules.warehouse.models import SITE
from reports.excel import MIMETYPE, xlsx_bytes

bp = Blueprint("reminders", __name__, template_folder="templates")

READERS = (SITE_STAFF, WAREHOUSE_MANAGER, VIEWER)
EXPORTERS = (SITE_STAFF,)  # who call the people due: the export is their list of calls
DUE_PAGE = 200  # rows a page shows: a site may have thousands of people due; the export holds them all
DAYS_BEFORE, DAYS_AFTER = 30, 7  # the default range: overdue for up to a month, due within a week
SHOWN_PHONE_DIGITS = 3
COLUMNS = (_l("Name"), _l("Phone"), _l("Dose due"), _l("Kind of dose"), _l("Vaccine"), _l("Due date"), _l("Status"),
           _l("Site"))
DOSE_KINDS = {rules.PRIMARY: _l("Primary series dose"), rules.BOOSTER: _l("Booster dose")}


class DueFilterForm(FilterForm):
    site = ChoiceField(_l("Site"))
    since = DayField(_l("Due from (dd/mm/yyyy)"))
    until = DayField(_l("Due until (dd/mm/yyyy)"))

    def validate_until(self, field):
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))


@bp.app_template_filter("shown_phone")
def shown_phone(phone):
    """The phone as the current user may see it: whole for those who call people, else its last digits."""
    return identity.shown(phone, identity.reads_whole_numbers(current_user), SHOWN_PHONE_DIGITS) or "—"


def status_text(reminder, today):
    return _("Overdue") if reminder.is_overdue(today) else _("Due")


def kind_text(reminder):
    return str(DOSE_KINDS[reminder.kind])


@bp.route("/due")
@roles_required(*READERS)
def due():
    scope = location_scope(current_user)
    sites = [place for place in locations.physical_locations(scope) if place.kind == SITE]
    today = local_today()
    default_until = today + timedelta(days=DAYS_AFTER)
    values = {"since": f"{today - timedelta(days=DAYS_BEFORE):%d/%m/%Y}", "until": f"{default_until:%d/%m/%Y}"}
    form = DueFilterForm(formdata=MultiDict({**values, **request.args.to_dict()}))
    form.site.choices = [("", _("All my sites"))] + [(site.code, f"{site.name} ({site.code})") for site in sites]
    valid = form.validate()
    site_ids = chosen_site_ids(form.site.data, sites, scope)
    # An empty "from" lists however long overdue; an empty "until" is the default one.
    due_list = reminders.due_between(site_ids, form.since.data, form.until.data or default_until) if valid else []
    if valid and request.args.get("format") == "xlsx":
        if not current_user.has_role(*EXPORTERS):
            abort(403)
        return workbook(due_list, today, form.site.data)
    filters = {"site": form.site.data or None, "since": form.since._value(), "until": form.until._value()}
    page = page_of(due_list, request.args.get("page", 1, type=int), DUE_PAGE,
                   lambda to: url_for(".due", **filters, page=to))
    export = url_for(".due", **filters, format="xlsx")
    return render_template("reminders/due.html", form=form, due=page.rows, page=page, today=today, columns=COLUMNS,
                           phone=shown_phone, kind=kind_text, sites=sites,
                           export_url=export if current_user.has_role(*EXPORTERS) else None), 200 if valid else 422


def chosen_site_ids(code, sites, scope):
    """The ids to list: the chosen site (404 unless it is one of ``sites``), or all of ``sites``
    (``None``, every site, for a user restricted to no location)."""
    code = (code or "").strip().upper()
    if code:
        site = next((place for place in sites if place.code == code), None)
        if site is None:
            abort(404)
        return [site.id]
    return None if scope is EVERYWHERE else [site.id for site in sites]


def workbook(due_list, today, site_code):
    rows = ([reminder.full_name, shown_phone(reminder.phone), reminder.dose_number, kind_text(reminder),
             reminder.vaccine, reminder.due_on, status_text(reminder, today), reminder.site] for reminder in due_list)
    content = xlsx_bytes([str(column) for column in COLUMNS], rows, title=_("Doses due"))
    exports.audited("reminders.due", len(due_list), ("full_name", "phone"), site=site_code or None)
    filename = f"mui-den-han-{today:%Y-%m-%d}.xlsx"
    return content, 200, {"Content-Type": MIMETYPE, "Content-Disposition": f'attachment; filename="{filename}"'}
