"""Due doses and reminders: who, among the people whose last dose was given at some sites, has their next
dose due in a range of days (or overdue) — the next dose of an unfinished primary series, or a booster after
a complete one (``rules.next_dose``: how many boosters, how long after) — and the daily hand-over of those due
soon to whoever sends reminders (the ``doses_due`` hook). The caller commits.

A person belongs to the site of their last dose that counts (live or backlog, not reversed), so someone who
moved to another site is listed there only. Records merged into a person count as theirs, as in
``services.history``. One query, however many people: per person, the first dose's vaccine, how many doses
and the last one's day and site (window functions); the dose rules then run in Python on those three values
(``rules.next_dose_after``), never on whole histories.

Who was already reminded of a dose is the senders' business: ``send_due`` hands over everyone due, every
run, and a sender skips those it already has (the ``reminder_outbox`` plugin keeps one message per person
and dose).
"""
from dataclasses import dataclass
from datetime import date, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import and_, exists, func, select, union, union_all
from sqlalchemy.orm import aliased

from core import audit, plugins
from core.cli import needs_database
from core.clock import local_today
from core.db import db
from modules.injection import rules
from modules.injection.models import BACKLOG, LIVE, Injection, Person
from modules.lots.models import Presentation
from modules.warehouse.models import Location

DEFAULT_DAYS_AHEAD = 3


@dataclass(frozen=True)
class Reminder:
    """A person whose next dose is due: what a reminder says and where it goes."""

    person_id: int
    full_name: str
    phone: str | None
    dose_number: int
    vaccine: str  # the name of the series' vaccine (its first dose's), whose schedule sets the due day
    due_on: date
    site: str  # the code of the site of their last dose
    kind: str = rules.PRIMARY  # rules.PRIMARY (a dose of the primary series) or rules.BOOSTER

    @property
    def is_booster(self):
        return self.kind == rules.BOOSTER

    def is_overdue(self, today):
        return self.due_on < today


def due_between(site_ids, start, end):
    """The people whose last dose was at ``site_ids`` (``None``: any site) and whose next dose — of an
    unfinished primary series, or a booster after a complete one — falls from ``start`` (``None``: however
    long overdue) to ``end``, both included; sorted by due day, then name."""
    presentations = {p.id: p for p in db.session.scalars(select(Presentation))}  # few; loads them for the doses
    # A dose due from ``start`` to ``end`` follows a last dose given in this window (boosters, and a series'
    # dose without an interval of its own, wait ``BOOSTER_INTERVAL_DAYS``).
    intervals = [rules.BOOSTER_INTERVAL_DAYS] + [days for p in presentations.values()
                                                 for days in (p.min_interval_days or [])]
    since = start - timedelta(days=max(intervals)) if start is not None else None
    until = end - timedelta(days=min(intervals))
    due = []
    for holder_id, full_name, phone, first_presentation_id, doses_given, last_day, site_code in holder_summaries(
            candidate_records(site_ids, since, until), site_ids):
        first = presentations[first_presentation_id]
        following = rules.next_dose_after(first, doses_given, last_day)
        if following is None or following.due_on > end or (start is not None and following.due_on < start):
            continue
        due.append(Reminder(holder_id, full_name, phone, following.number, first.name, following.due_on,
                            site_code, following.kind))
    return sorted(due, key=lambda reminder: (reminder.due_on, reminder.full_name, reminder.person_id))


def send_due(today=None, days_ahead=DEFAULT_DAYS_AHEAD, user=None):
    """Hand the people due within ``days_ahead`` days of ``today``, or overdue, to the ``doses_due`` hook
    (every site); returns them. Senders skip the people they already reminded of that dose."""
    today = today or local_today()
    reminders = due_between(None, None, today + timedelta(days=days_ahead))
    plugins.hook().doses_due(reminders=reminders)
    audit.record("injection.reminders_sent", object_type="injection_person", user=user,
                 details={"day": today.isoformat(), "days_ahead": days_ahead, "reminders": len(reminders)})
    return reminders


# --- Queries -------------------------------------------------------------------------------------------

def counted(injection=Injection):
    """Live and backlog injections that no correction reverses (``services.effective_injections``)."""
    correction = aliased(Injection)
    return and_(injection.source.in_((LIVE, BACKLOG)), ~exists().where(correction.reverses_id == injection.id))


def candidate_records(site_ids, since, until):
    """The ids of the person records with a dose at ``site_ids`` given from ``since`` to ``until`` (a CTE,
    read twice): a superset of those whose last dose, given there then, makes someone due — which keeps
    the next query to their doses. Straight from the injections' (site_id, injected_on) index: joining the
    people here to find whom each record counts for made PostgreSQL hash the whole person table."""
    query = select(Injection.person_id).where(Injection.injected_on <= until)
    if since is not None:
        query = query.where(Injection.injected_on >= since)
    if site_ids is not None:
        query = query.where(Injection.site_id.in_(site_ids))
    return query.distinct().cte("candidates")


def holder_summaries(candidates, site_ids):
    """``(holder's id, name, phone, first dose's presentation id, doses, last dose's day, last dose's site
    code)`` for the people among ``candidates`` (record ids) whose last dose that counts was given at
    ``site_ids``: one query, window functions (SQLite ≥ 3.25 and PostgreSQL), one short row a person, not
    their histories nor whole person records (a busy site has thousands of candidates; a page shows 200).

    A record counts for the person it was merged into. Merged records are few (one in thousands, found by
    their partial index), so they are the only people read besides the holders shown: the candidates'
    holders are the candidates and those merged ones point to, and the doses read are those of the holders
    and of the records merged into them, through the (person_id, injected_on) index."""
    merged = select(Person.id, Person.merged_into_id).where(Person.merged_into_id.is_not(None)).subquery()
    holders = union(select(candidates.c.person_id),
                    select(merged.c.merged_into_id).where(merged.c.id.in_(select(candidates.c.person_id)))).cte(
        "holders")
    records = union_all(select(holders.c.person_id),
                        select(merged.c.id).where(merged.c.merged_into_id.in_(select(holders.c.person_id))))
    dose_merged = aliased(merged)
    holder = func.coalesce(dose_merged.c.merged_into_id, Injection.person_id)
    per_holder = {"partition_by": holder}
    ranked = (select(holder.label("holder_id"), Injection.site_id, Injection.injected_on,
                     func.row_number().over(**per_holder, order_by=(Injection.injected_on.desc(),
                                                                    Injection.id.desc())).label("rank"),
                     func.first_value(Injection.presentation_id).over(
                         **per_holder, order_by=(Injection.injected_on, Injection.id)).label("first_presentation"),
                     func.count().over(**per_holder).label("doses"))
              .select_from(Injection).outerjoin(dose_merged, dose_merged.c.id == Injection.person_id)
              .where(counted(), Injection.person_id.in_(records)).subquery())
    query = (select(Person.id, Person.full_name, Person.phone, ranked.c.first_presentation, ranked.c.doses,
                    ranked.c.injected_on, Location.code)
             .join(ranked, ranked.c.holder_id == Person.id)
             .join(Location, Location.id == ranked.c.site_id)
             .where(ranked.c.rank == 1))
    if site_ids is not None:
        query = query.where(ranked.c.site_id.in_(site_ids))
    return db.session.execute(query).all()


# --- vaxchain reminders ... ---------------------------------------------------------------------------

reminders_group = AppGroup("reminders", help="Reminders of due doses.")


@reminders_group.command("send")
@click.option("--days-ahead", type=click.IntRange(0, 60), default=DEFAULT_DAYS_AHEAD, show_default=True,
              help="Remind people whose next dose is due within this many days (and the overdue).")
@needs_database
def send_command(days_ahead):
    """Hand the people due soon or overdue to the reminder senders (run it daily, e.g. from cron)."""
    reminders = send_due(local_today(), days_ahead)
    db.session.commit()
    click.echo(f"{len(reminders)} people due or overdue handed over to the reminder senders.")
