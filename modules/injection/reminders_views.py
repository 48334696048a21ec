"""The due doses page, ``/due``: who, at the user's sites, is due or overdue for their next dose in a range of
days — of their primary series, or a booster — with an xlsx export, 200 rows a page. Thin over
``reminders.due_between``. ``?site=`` takes a site, or a store standing for the sites under it; one outside the
user's scope is a 404, and a user of more than ``MAX_CHOICES`` locations (a nation) chooses one before anything
is listed. Phone numbers are whole for those who call people (site staff, admins) and
masked but for their last digits for everybody else; the export, a list of people to call, is theirs alone
(403 otherwise) and each one is in the audit log."""
from datetime import timedelta

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import ValidationError

from core.access import EVERYWHERE, location_scope, roles_required
from core.clock import local_today
from core.db import db
from core.paging import page_of
from core.roles import SITE_STAFF, VIEWER, WAREHOUSE_MANAGER
from modules.injection import dashboard, exports, identity, reminders, rules
from modules.warehouse import locations
from modules.warehouse.forms import ChoiceField, DayField, FilterForm
from modules.warehouse.models import PHYSICAL_KINDS, SITE, Location
from modules.warehouse.pages import place_in_scope
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
    site = ChoiceField(_l("Site"), strict=False)  # any of the user's sites or stores, by code; else 404
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
    today = local_today()
    default_until = today + timedelta(days=DAYS_AFTER)
    values = {"since": f"{today - timedelta(days=DAYS_BEFORE):%d/%m/%Y}", "until": f"{default_until:%d/%m/%Y}"}
    form = DueFilterForm(formdata=MultiDict({**values, **request.args.to_dict()}))
    valid = form.validate()
    chosen = chosen_place(form.site.data, scope)
    places, too_many = place_choices(scope, chosen)
    form.site.choices = [("", _("All my sites"))] + [
        (place.code, "\u00a0\u00a0" * (place.depth - places[0].depth) + f"{place.name} ({place.code})")
        for place in places]
    listed = valid and listed_at_once(chosen, too_many)
    site_ids = chosen_site_ids(chosen, scope)
    # An empty "from" lists however long overdue; an empty "until" is the default one.
    due_list = reminders.due_between(site_ids, form.since.data, form.until.data or default_until) if listed else []
    if valid and request.args.get("format") == "xlsx":
        if not current_user.has_role(*EXPORTERS):
            abort(403)
        return workbook(due_list, today, form.site.data)
    filters = {"site": form.site.data or None, "since": form.since._value(), "until": form.until._value()}
    page = page_of(due_list, request.args.get("page", 1, type=int), DUE_PAGE,
                   lambda to: url_for(".due", **filters, page=to))
    export = url_for(".due", **filters, format="xlsx")
    return render_template("reminders/due.html", form=form, due=page.rows, page=page, today=today, columns=COLUMNS,
                           phone=shown_phone, kind=kind_text, choose_first=valid and not listed,
                           has_sites=too_many or any(place.kind == SITE for place in places),
                           export_url=export if current_user.has_role(*EXPORTERS) else None), 200 if valid else 422


MAX_CHOICES = 300  # a district's stores and sites fit in the select; a nation's ~11 000 would take a second to draw


def place_choices(scope, chosen):
    """``(places, too_many)``: what the select offers — the user's stores and sites in tree order; for a
    scope of more than ``MAX_CHOICES`` of them (``too_many``), its stores alone, a site being then chosen
    by its code (and shown once chosen)."""
    query = select(Location).where(Location.kind.in_(PHYSICAL_KINDS), Location.active.is_(True))
    if scope is not EVERYWHERE:
        query = query.where(Location.id.in_(locations.scope_select(current_user, scope)))
    places = db.session.scalars(query.order_by(Location.path).limit(MAX_CHOICES + 1)).all()
    if len(places) <= MAX_CHOICES:
        return places, False
    stores = dashboard.stores(scope)
    if chosen is not None and chosen not in stores:
        stores = sorted([*stores, chosen], key=lambda place: place.path)
    return stores, True


def listed_at_once(place, too_many):
    """Whether to list everyone due at ``place`` (``None``: the user's whole scope, of ``too_many`` locations or
    not): a site, or a tree of at most ``MAX_CHOICES`` locations. Thousands of sites are not listed whole (a
    nation's list is millions of people): their user chooses a province, a district or a site first."""
    if place is None:
        return not too_many
    if place.kind == SITE:
        return True
    subtree = (select(Location.id).where(Location.path.startswith(place.path), Location.kind.in_(PHYSICAL_KINDS))
               .limit(MAX_CHOICES + 1).subquery())
    return db.session.scalar(select(func.count()).select_from(subtree)) <= MAX_CHOICES


def chosen_place(code, scope):
    """The location (a site, or a store standing for its sites) chosen by ``code``: 404 outside the user's
    locations; ``None`` when none is chosen."""
    code = (code or "").strip().upper()
    return place_in_scope(code, scope, "site") if code else None


def chosen_site_ids(place, scope):
    """The ids to list, as something ``in_()`` takes: the chosen site, the locations under a chosen store, or
    the user's whole scope (``None``: every site, for a user restricted to no location)."""
    if place is not None:
        return [place.id] if place.kind == SITE else locations.subtree_ids(place, scope)
    return None if scope is EVERYWHERE else locations.scope_select(current_user, scope)


def workbook(due_list, today, site_code):
    rows = ([reminder.full_name, shown_phone(reminder.phone), reminder.dose_number, kind_text(reminder),
             reminder.vaccine, reminder.due_on, status_text(reminder, today), reminder.site] for reminder in due_list)
    content = xlsx_bytes([str(column) for column in COLUMNS], rows, title=_("Doses due"))
    exports.audited("reminders.due", len(due_list), ("full_name", "phone"), site=site_code or None)
    filename = f"mui-den-han-{today:%Y-%m-%d}.xlsx"
    return content, 200, {"Content-Type": MIMETYPE, "Content-Disposition": f'attachment; filename="{filename}"'}
