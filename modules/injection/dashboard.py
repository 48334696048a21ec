"""The viewers' dashboard: the doses that count (live and backlog injections no correction reverses, as
:func:`services.effective_injections` defines them) per day, dose number, vaccine and province, within a
viewer's locations and a period; and the small SVG bar charts that draw them.

The doses are summed from the tallies (:mod:`modules.injection.tally`, kept in the same transaction as the
injections), each figure one grouped query; only the people are counted from the injections (see
:func:`people`). When the sites are whole areas (everywhere, or the subtrees of provinces or stores above them)
the figures come from the area tally, a few rows a province a day; otherwise from the daily tally, a few rows a
site a day. The sites are given as ``EVERYWHERE`` (then no filter on sites), a collection of location ids or a
select of ids; with the period this lets the database walk the (site_id, day) indexes site by site.

A site's province is the province-level location above it in the tree (from ``Location.path``, which lists
every ancestor), not its administrative unit: the tree is what the stores and scopes are built on, and every
site has a path while an administrative unit is optional. A site under no province (one run by a regional or
the national store) counts under ``None``.
"""
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup, escape
from sqlalchemy import distinct, false, func, or_, select

from core.access import EVERYWHERE
from core.db import db
from core.i18n import format_day, format_number
from modules.injection import tally
from modules.injection.models import AreaTally, DoseTally, Injection, Person
from modules.injection.services import effective_injections
from modules.lots.models import Presentation
from modules.warehouse import locations
from modules.warehouse.models import DISTRICT, NATIONAL, PROVINCE, REGIONAL, SITE, Location

STORE_KINDS = (NATIONAL, REGIONAL, PROVINCE, DISTRICT)
AREA_BOUNDS = (NATIONAL, REGIONAL, PROVINCE)  # no province lies below these: each holds whole ones


@dataclass(frozen=True)
class Where:
    """The injections a dashboard counts: given from ``start`` to ``end`` (both included) at ``sites``."""

    start: date
    end: date
    sites: object = EVERYWHERE  # EVERYWHERE, a collection of location ids, or a select of ids
    # The same sites as the areas (provinces, sites under none) holding them, when they are whole areas: a
    # select of location ids among which the areas are exactly those of the sites (see ``within``); then the
    # figures come from the area tally. With ``sites`` EVERYWHERE they always do (every area counts).
    areas: object = None

    @property
    def days(self):
        return [self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]


@dataclass
class Summary:
    doses: int = 0
    people: int = 0  # people with at least one dose in the period (merged records count once)
    per_day: list = field(default_factory=list)  # [(day, doses)] for every day of the period
    per_dose_number: list = field(default_factory=list)  # [(dose number, doses)]
    per_vaccine: list = field(default_factory=list)  # [(presentation name, doses)], most first
    per_province: list = field(default_factory=list)  # [(province location or None, doses)], most first


def summary(where):
    tally.write_pending(db.session)  # this transaction's own doses count too
    per_day = doses_per_day(where)
    return Summary(doses=sum(doses for _day, doses in per_day), people=people(where), per_day=per_day,
                   per_dose_number=doses_per_dose_number(where), per_vaccine=doses_per_vaccine(where),
                   per_province=doses_per_province(where))


def tally_of(where):
    """(the tally ``where``'s figures come from, its column of places): the area tally when the sites are
    whole areas, else the daily tally. Both have day, presentation_id, dose_number and doses."""
    if where.sites is EVERYWHERE or where.areas is not None:
        return AreaTally, AreaTally.area_id
    return DoseTally, DoseTally.site_id


def tallied(where, *columns):
    """A select of ``columns`` over the tally rows of ``where``: one row a place, day, vaccine and dose number
    given, however many doses that was. Every place's rows are the whole tally (it holds sites or areas only)."""
    table, place = tally_of(where)
    query = select(*columns).select_from(table).where(table.day.between(where.start, where.end))
    if where.sites is EVERYWHERE:
        return query
    if where.areas is not None:
        return query.where(place.in_(where.areas))
    sites = where.sites
    return query.where(place.in_(sites if hasattr(sites, "subquery") else sorted(sites)))


def dose_sum(where):
    return func.sum(tally_of(where)[0].doses)


def grouped(where, *columns):
    """``tallied`` summed per ``columns``, groups whose doses were all corrected away left out."""
    return tallied(where, *columns, dose_sum(where)).group_by(*columns).having(dose_sum(where) != 0)


def counted(where, *columns):
    """A select of ``columns`` over the injections ``where`` counts (for what the tally cannot say: people)."""
    sites = where.sites
    if sites is EVERYWHERE:
        sites = select(Location.id).where(Location.kind == SITE)
    elif not hasattr(sites, "subquery"):
        sites = sorted(sites)
    return (effective_injections().with_only_columns(*columns)
            .where(Injection.injected_on.between(where.start, where.end), Injection.site_id.in_(sites)))


def totals(where):
    """(doses, people with at least one of them)."""
    tally.write_pending(db.session)
    return db.session.scalar(tallied(where, func.coalesce(dose_sum(where), 0))), people(where)


def people(where):
    """People with at least one dose in the period, a merged record counting once with the one it went into.
    A daily tally cannot give it (a person given doses on two days is one person), so this one figure is
    counted from the injections, on the (site_id, injected_on) index: see docs/query-plans.md for its cost.
    Only the merged records (one in thousands, on their partial index) are joined: joining every person made
    PostgreSQL hash the whole person table, about 3 times slower for a week nationally."""
    merged = select(Person.id, Person.merged_into_id).where(Person.merged_into_id.is_not(None)).subquery()
    person = func.coalesce(merged.c.merged_into_id, Injection.person_id)
    query = counted(where, func.count(distinct(person))).outerjoin_from(
        Injection, merged, merged.c.id == Injection.person_id)
    return db.session.scalar(query)


def doses_per_day(where):
    """[(day, doses)] for every day of the period, days without a dose included."""
    counts = dict(db.session.execute(grouped(where, tally_of(where)[0].day)).all())
    return [(day, counts.get(day, 0)) for day in where.days]


def doses_per_dose_number(where):
    number = tally_of(where)[0].dose_number
    query = grouped(where, number).order_by(number)
    return [tuple(row) for row in db.session.execute(query)]


def doses_per_vaccine(where):
    query = (grouped(where, Presentation.id, Presentation.name)
             .join(Presentation, Presentation.id == tally_of(where)[0].presentation_id)
             .order_by(dose_sum(where).desc(), Presentation.name))
    return [(name, doses) for _id, name, doses in db.session.execute(query)]


def doses_per_province(where):
    """[(province, doses)], most first: the doses grouped by the path of their place (site or area), then each
    path given to the province in it (one more small query: the provinces)."""
    query = grouped(where, Location.path).join(Location, Location.id == tally_of(where)[1])
    per_site = db.session.execute(query).all()
    if not per_site:
        return []
    provinces = {place.id: place for place in db.session.scalars(
        select(Location).where(Location.kind == PROVINCE))}
    doses = {}
    for path, count in per_site:
        province = next((provinces[int(part)] for part in path.strip("/").split("/")
                         if int(part) in provinces), None)
        doses[province] = doses.get(province, 0) + count
    return sorted(doses.items(), key=lambda item: (-item[1], item[0] is None, item[0].name if item[0] else ""))


def within(user, scope, start, end, location=None):
    """The ``Where`` of a dashboard of ``user`` over the period: their whole ``scope``, or ``location``'s
    subtree within it. The sites are given as a select of ids on the locations' paths, not as the scope's set:
    a national viewer's scope holds ~10 000 ids, and sent as an IN list they cost the database more than the
    sums. The warehouse module's scope is the subtrees of the user's assignments, so it is the locations whose
    path starts with an assigned one's. A plugin that narrows the scope answers its own set instead (a
    different object from ``scope_of``'s, cached for the request): then only that set says which sites count.

    When every subtree bounding the sites is a province's or above, each area (a province, or a site under
    none) is wholly in or out, and the same select gives the areas: the figures come from the area tally."""
    if scope is not EVERYWHERE and scope is not locations.scope_of(user):
        return Where(start, end, locations.subtree_ids(location, scope) if location is not None else scope)
    bounds = [] if location is None else [location]
    query = select(Location.id)
    if location is not None:
        query = query.where(Location.path.startswith(location.path))
    if scope is not EVERYWHERE:
        roots = locations.assigned_locations(user)
        bounds += roots
        query = query.where(or_(false(), *(Location.path.startswith(root.path) for root in roots)))
    if location is None and scope is EVERYWHERE:
        return Where(start, end)
    whole_areas = all(place.kind in AREA_BOUNDS for place in bounds)
    return Where(start, end, query, query if whole_areas else None)


def stores(scope):
    """The stores (not the sites) in ``scope`` a dashboard can be narrowed to, in tree order."""
    query = (select(Location).where(Location.kind.in_(STORE_KINDS), Location.active.is_(True))
             .order_by(Location.path))
    return [place for place in db.session.scalars(query) if place.id in scope]


# --- Charts --------------------------------------------------------------------------------------------
# Self-contained SVG (no script, no style attribute: the CSP forbids inline styles), every text escaped,
# named by <title> and aria-label, summed up by <desc>; every bar carries its number in a <title>.

BAR = "#0b6e4f"
TEXT = "#37474f"
GRID = "#e0e4e7"
AXIS = "#90a4ae"
LABEL_LENGTH = 26
ROW_HEIGHT = 22


def day_chart(per_day, title, width=960, height=280):
    """Vertical bars, one a day, numbered above when there is room; days as dd/mm under them."""
    total = sum(doses for _day, doses in per_day)
    if not per_day or not total:
        return empty_chart(title, width)
    left, right, top, bottom = 56, width - 12, 22, height - 30
    highest, step = scale(max(doses for _day, doses in per_day))
    slot = (right - left) / len(per_day)
    labelled = slot >= 30
    bars, numbers = [], []
    for index, (day, doses) in enumerate(per_day):
        x = left + index * slot
        y = bottom - doses / highest * (bottom - top)
        tip = escape(f"{format_day(day)}: {dose_text(doses)}")
        bars.append(f'<rect x="{x + slot * .15:.1f}" y="{y:.1f}" width="{max(slot * .7, 1):.1f}" '
                    f'height="{bottom - y:.1f}"><title>{tip}</title></rect>')
        if labelled and doses:
            numbers.append(f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}">{escape(format_number(doses))}</text>')
    body = [*y_axis(left, right, top, bottom, highest, step), f'<g fill="{BAR}">{"".join(bars)}</g>',
            f'<g text-anchor="middle" fill="{TEXT}">{"".join(numbers)}</g>', x_axis(per_day, left, slot, bottom)]
    description = _("%(doses)s from %(first)s to %(last)s; at most %(most)s in a day.",
                    doses=dose_text(total), first=format_day(per_day[0][0]), last=format_day(per_day[-1][0]),
                    most=format_number(max(doses for _day, doses in per_day)))
    return svg(width, height, title, description, body)


def scale(most):
    """The top of the axis and the step between its lines: 1, 2 or 5 × 10ⁿ, about four lines."""
    rough = most / 4
    magnitude = 10 ** max(math.floor(math.log10(rough)), 0) if rough >= 1 else 1
    step = next(factor * magnitude for factor in (1, 2, 5, 10) if factor * magnitude >= rough)
    return math.ceil(most / step) * step, step


def y_axis(left, right, top, bottom, highest, step):
    lines, labels = [], []
    for value in range(0, highest + 1, step):
        y = bottom - value / highest * (bottom - top)
        lines.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
        labels.append(f'<text x="{left - 6}" y="{y + 4:.1f}">{escape(format_number(value))}</text>')
    return [f'<g stroke="{GRID}">{"".join(lines)}</g>', f'<g text-anchor="end" fill="{TEXT}">{"".join(labels)}</g>']


def x_axis(per_day, left, slot, bottom):
    every = max(1, math.ceil(44 / slot))  # a dd/mm label is about 30 px wide
    labels = [f'<text x="{left + (index + .5) * slot:.1f}" y="{bottom + 16}">{day:%d/%m}</text>'
              for index, (day, _doses) in enumerate(per_day) if index % every == 0]
    return (f'<line x1="{left}" y1="{bottom}" x2="{left + slot * len(per_day):.1f}" y2="{bottom}" stroke="{AXIS}"/>'
            f'<g text-anchor="middle" fill="{TEXT}">{"".join(labels)}</g>')


def row_chart(rows, title, width=480):
    """Horizontal bars, one a row of ``(label, doses)``, the label on the left and the number at the end."""
    if not rows or not sum(doses for _label, doses in rows):
        return empty_chart(title, width)
    label_width, number_width, top = 170, 60, 8
    height = top * 2 + ROW_HEIGHT * len(rows)
    longest = width - label_width - number_width
    most = max(doses for _label, doses in rows)
    bars, labels, numbers = [], [], []
    for index, (label, doses) in enumerate(rows):
        y = top + index * ROW_HEIGHT
        length = doses / most * longest
        shown, tip = escape(shorten(label)), escape(f"{label}: {dose_text(doses)}")
        bars.append(f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1):.1f}" height="{ROW_HEIGHT - 6}">'
                    f'<title>{tip}</title></rect>')
        labels.append(f'<text x="{label_width - 8}" y="{y + 15}">{shown}</text>')
        numbers.append(f'<text x="{label_width + length + 6:.1f}" y="{y + 15}">{escape(format_number(doses))}</text>')
    body = [f'<g fill="{BAR}">{"".join(bars)}</g>', f'<g text-anchor="end" fill="{TEXT}">{"".join(labels)}</g>',
            f'<g fill="{TEXT}">{"".join(numbers)}</g>',
            f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - top}" stroke="{AXIS}"/>']
    description = "; ".join(f"{label}: {format_number(doses)}" for label, doses in rows)
    return svg(width, height, title, description, body)


def empty_chart(title, width):
    message = _("No doses in this period.")
    body = [f'<text x="{width / 2:.0f}" y="34" text-anchor="middle" fill="{TEXT}">{escape(message)}</text>']
    return svg(width, 60, title, message, body)


def shorten(text):
    text = str(text)
    return text if len(text) <= LABEL_LENGTH else text[:LABEL_LENGTH - 1] + "…"


def dose_text(doses):
    return ngettext("%(doses)s dose", "%(doses)s doses", doses, doses=format_number(doses))


def svg(width, height, title, description, body):
    """The drawing, as markup safe to put in a page: ``title`` and ``description`` are escaped here."""
    name = escape(title)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img" aria-label="{name}" font-family="sans-serif" '
                  f'font-size="11"><title>{name}</title><desc>{escape(description)}</desc>{"".join(body)}</svg>')
