"""Pages of the Ministry's reconciliation: the report per place and day and per site and lot
(``/reconciliation``, on screen and as xlsx), the sites' daily tally (``/reconciliation/tally``) and the
recall list of everyone injected from a lot (``/lots/<id>/recipients``).

Thin over ``reconciliation``. Every page shows only the user's locations (``core.access.location_scope``):
a location outside them is a 404, and no list holds its rows.
"""
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from core.access import allowed, location_scope, roles_required
from core.clock import local_today
from core.db import db
from core.paging import fetched_page, page_of
from core.roles import LOGISTICS_OFFICER, SITE_STAFF, VIEWER, WAREHOUSE_MANAGER
from core.service_errors import ServiceError
from modules.injection import exports, identity, reconciliation
from modules.injection.reminders_views import place_choices, shown_phone
from modules.lots.models import Lot
from modules.warehouse import locations
from modules.warehouse.forms import ChoiceField, DayField, FilterForm, Required, WholeNumberField
from modules.warehouse.models import DISTRICT, PROVINCE, SITE
from modules.warehouse.pages import field_error, location_choices, place_in_scope
from reports.excel import MIMETYPE, xlsx_bytes

bp = Blueprint("reconciliation", __name__, template_folder="templates")

READERS = (VIEWER, WAREHOUSE_MANAGER, LOGISTICS_OFFICER, SITE_STAFF)
TALLIERS = (SITE_STAFF,)
RECALL_READERS = (WAREHOUSE_MANAGER, LOGISTICS_OFFICER, VIEWER)
RECALL_EXPORTERS = (WAREHOUSE_MANAGER,)  # who recall lots (warehouse.lot_recall): the list of people to trace
RECALL_ENDPOINT = "reconciliation.recipients"
DEFAULT_DAYS = 7
MAX_DAYS = 92
TALLIES_SHOWN_DAYS = 14
RECIPIENTS_PAGE = 200
DAILY, STOCK = "daily", "stock"
LEVEL_LABELS = {SITE: _l("Site"), DISTRICT: _l("District"), PROVINCE: _l("Province")}
DAILY_COLUMNS = (_l("Code"), _l("Place"), _l("Day"), _l("Doses given (tally)"), _l("Doses entered"),
                 _l("Backlog (given − entered)"), _l("Site-days without a tally"))
STOCK_COLUMNS = (_l("Site code"), _l("Site"), _l("Vaccine"), _l("Lot"), _l("Expiry date"), _l("Received"),
                 _l("Sent on"), _l("Injected (recorded)"), _l("Wasted"), _l("On hand"), _l("Gap"))
RECIPIENT_COLUMNS = (_l("Full name"), _l("Date of birth"), _l("Mobile phone"), _l("CCCD / CMND number"),
                     _l("Dose"), _l("Day of the injection"), _l("Site code"), _l("Site"))


class ReportFilterForm(FilterForm):
    location = ChoiceField(_l("Location"), strict=False)  # one outside the user's locations is a 404
    since = DayField(_l("From (dd/mm/yyyy)"))
    until = DayField(_l("To (dd/mm/yyyy)"))
    level = ChoiceField(_l("One row per"), default=SITE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = list(LEVEL_LABELS.items())


class TallyForm(FlaskForm):
    site = ChoiceField(_l("Vaccination site"), validators=[Required()])
    day = DayField(_l("Day (dd/mm/yyyy)"), validators=[Required()])
    doses = WholeNumberField(_l("Doses given that day"), validators=[Required()], minimum=0,
                             maximum=reconciliation.MAX_TALLY)


# --- The report --------------------------------------------------------------------------------------

@bp.route("/reconciliation")
@roles_required(*READERS)
def index():
    scope = location_scope(current_user)
    form = ReportFilterForm(formdata=request.args or None)
    location = place_in_scope(form.location.data, scope) if form.location.data else None
    form.location.choices = location_choices(place_choices(scope, location)[0], blank=_("All my locations"))
    form.validate()
    start, end = period(form)
    if form.errors or start is None:
        return render_template("reconciliation/index.html", form=form, report=None), 422
    ids = (locations.subtree_ids(location, scope) if location is not None
           else locations.scope_select(current_user, scope))
    level = form.level.data
    stock_count, stock_total = reconciliation.stock_total(ids)
    wanted = request.args.get("format") == "xlsx"
    if wanted and request.args.get("table") == STOCK:
        return stock_workbook(reconciliation.stock_rows(ids), stock_total)
    daily = reconciliation.daily_keys(ids, start, end, level)
    daily_total = reconciliation.daily_total(daily)
    if wanted:
        return daily_workbook(reconciliation.daily_rows_of(daily), daily_total, level, start, end)
    filters = {"location": form.location.data or None, "since": f"{start:%d/%m/%Y}", "until": f"{end:%d/%m/%Y}",
               "level": level}
    pages = {name: request.args.get(name, 1, type=int) for name in PAGE_PARAMETERS}
    daily_page = table_page(daily, reconciliation.daily_rows_of, "page", pages, filters)
    stock_page = fetched_page(stock_count, lambda first, count: reconciliation.stock_rows(ids, first, count),
                              pages["stock_page"], REPORT_PAGE, page_url("stock_page", pages, filters))
    wastage_page = table_page(reconciliation.wastage_keys(ids), reconciliation.wastage_rows_of, "wastage_page",
                              pages, filters)
    return render_template("reconciliation/index.html", form=form, report={
        "start": start, "end": end, "level": level, "daily": daily_page.rows, "daily_total": daily_total,
        "stock": stock_page.rows, "stock_total": stock_total, "wastage": wastage_page.rows,
        "pages": {"daily": daily_page, "stock": stock_page, "wastage": wastage_page},
        "daily_url": url_for(".index", **filters, format="xlsx", table=DAILY),
        "stock_url": url_for(".index", **filters, format="xlsx", table=STOCK)})


REPORT_PAGE = 200  # rows of each table a page shows: a nation has 10 000 sites, each with days and lots
PAGE_PARAMETERS = ("page", "stock_page", "wastage_page")


def table_page(keys, rows_of, name, pages, filters):
    """The page of one table that the parameter ``name`` asks for, from the short ``keys`` of all its rows:
    ``rows_of`` makes the rows of that page alone."""
    page = page_of(keys, pages[name], REPORT_PAGE, page_url(name, pages, filters))
    page.rows = rows_of(page.rows)
    return page


def page_url(name, pages, filters):
    """The address of a page of the table paged by the parameter ``name``: it keeps the filters and the other
    tables' pages."""
    return lambda to: url_for(".index", **filters, **{**pages, name: to})


def period(form):
    """The days asked for: the last ``DEFAULT_DAYS`` days by default, at most ``MAX_DAYS``; an error on
    the form's ``until`` (and ``(None, None)``) when the period makes no sense."""
    if form.since.errors or form.until.errors:
        return None, None
    end = form.until.data or (form.since.data + timedelta(days=DEFAULT_DAYS - 1) if form.since.data
                              else local_today())
    start = form.since.data or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        form.until.errors = [*form.until.errors, _("The end date is before the start date.")]
        return None, None
    if (end - start).days + 1 > MAX_DAYS:
        form.until.errors = [*form.until.errors, _("At most %(n)d days at a time.", n=MAX_DAYS)]
        return None, None
    return start, end


def attachment(content, filename):
    return content, 200, {"Content-Type": MIMETYPE, "Content-Disposition": f'attachment; filename="{filename}"'}


def daily_workbook(rows, total, level, start, end):
    columns = DAILY_COLUMNS if level != SITE else DAILY_COLUMNS[:-1]
    lines = [[row.place.code, row.place.name, row.day, row.tally, row.entered, row.backlog, row.untallied]
             for row in rows]
    lines.append(["", _("Total"), None, total.tally, total.entered, total.backlog, total.untallied])
    lines = [line[:len(columns)] for line in lines]
    content = xlsx_bytes([str(column) for column in columns], lines, title=_("Doses given and entered"))
    return attachment(content, f"doi-soat-mui-tiem-{start:%Y-%m-%d}-{end:%Y-%m-%d}.xlsx")


def stock_workbook(rows, total):
    lines = [[row.site.code, row.site.name, row.lot.presentation.name, row.lot.lot_number, row.lot.expiry,
              row.received, row.sent_on, row.injected, row.wasted, row.on_hand, row.gap] for row in rows]
    lines.append(["", _("Total"), None, None, None, total["received"], total["sent_on"], total["injected"],
                  total["wasted"], total["on_hand"], total["gap"]])
    content = xlsx_bytes([str(column) for column in STOCK_COLUMNS], lines, title=_("Stock by lot"))
    return attachment(content, f"doi-soat-ton-kho-{local_today():%Y-%m-%d}.xlsx")


# --- The daily tally ---------------------------------------------------------------------------------

def my_sites():
    """The vaccination sites among the user's locations, in tree order."""
    return [place for place in locations.physical_locations(location_scope(current_user)) if place.kind == SITE]


@bp.route("/reconciliation/tally", methods=["GET", "POST"])
@roles_required(*TALLIERS)
def tally():
    """GET: the form, for today and the user's site; POST: save the tally, or show why not (422, nothing
    written). ``?site=`` preselects one of the user's sites."""
    sites = my_sites()
    if request.method == "GET":
        form = tally_form(sites, formdata=None)
        chosen = (request.args.get("site") or "").strip().upper()
        form.site.data = chosen if chosen in {site.code for site in sites} else (
            sites[0].code if len(sites) == 1 else "")
        form.day.data = local_today()
        return tally_page(form, sites)
    form = tally_form(sites)
    if not form.validate_on_submit():
        return tally_page(form, sites, 422)
    site = next(place for place in sites if place.code == form.site.data)
    try:
        reconciliation.set_tally(site, form.day.data, form.doses.data, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        field_error(form, error, {"site": "site", "day": "day", "doses": "doses"})
        return tally_page(form, sites, 422)
    db.session.commit()
    flash(_("Saved: %(doses)d doses given at %(site)s on %(day)s.", doses=form.doses.data, site=site.name,
            day=f"{form.day.data:%d/%m/%Y}"), "success")
    return redirect(url_for(".tally", site=site.code))


def tally_form(sites, **kwargs):
    form = TallyForm(**kwargs)
    form.site.choices = [("", _("Choose…"))] + location_choices(sites)
    return form


def tally_page(form, sites, status=200):
    """The form, and the last days of the user's sites: tally, entered, backlog."""
    today = local_today()
    recent = reconciliation.daily_rows([site.id for site in sites], today - timedelta(days=TALLIES_SHOWN_DAYS - 1),
                                       today) if sites else []
    return render_template("reconciliation/tally.html", form=form, sites=sites, recent=recent), status


# --- Recall: everyone injected from a lot ------------------------------------------------------------

@bp.route("/lots/<int:lot_id>/recipients")
@roles_required(*RECALL_READERS)
def recipients(lot_id):
    """A page of the lot's recipients, newest first; ``?before=<injection id>`` the page after that row (keyset
    paging: a deep page costs what the first does). Nothing is counted here: the lot's page shows the count."""
    lot = db.get_or_404(Lot, lot_id)
    ids = locations.scope_select(current_user, location_scope(current_user))
    if request.args.get("format") == "xlsx":
        if not current_user.has_role(*RECALL_EXPORTERS):
            abort(403)
        return recipients_workbook(lot, reconciliation.each_recipient(lot, ids))
    before = request.args.get("before", type=int)
    rows, more = reconciliation.recipients(lot, ids, RECIPIENTS_PAGE, before)
    return render_template("reconciliation/recipients.html", lot=lot, rows=rows,
                           older=rows[-1].injection_id if more else None, newer=before is not None,
                           export_url=url_for(".recipients", lot_id=lot.id, format="xlsx")
                           if current_user.has_role(*RECALL_EXPORTERS) else None)


def recall_list(lot, user):
    """The lot page's pointer to this list (the ``lot_recall_list`` hook): its address and what it counts in
    ``user``'s locations; ``None`` for a user the list's own access rule (``RECALL_READERS``) keeps out, so the
    lot page never offers a link its reader cannot open."""
    if not allowed(RECALL_ENDPOINT, user):
        return None
    scope = locations.scope_select(user, location_scope(user))
    injections, people = reconciliation.recipient_counts(lot, scope)
    return {"url": url_for(RECALL_ENDPOINT, lot_id=lot.id), "injections": injections, "people": people}


def recipients_workbook(lot, rows):
    written = [0]

    def lines():
        for row in rows:
            written[0] += 1
            yield [row.person.full_name, row.person.date_of_birth, shown_phone(row.person.phone),
                   identity.mask(row.person.national_id) or "—", row.dose_number, row.day, row.site.code,
                   row.site.name]

    content = xlsx_bytes([str(column) for column in RECIPIENT_COLUMNS], lines(),
                         title=_("Lot %(lot)s", lot=lot.lot_number))
    exports.audited("reconciliation.recipients", written[0], ("full_name", "date_of_birth", "phone", "national_id"),
                    lot=lot.lot_number)
    return attachment(content, f"nguoi-tiem-lo-{lot.id}.xlsx")
