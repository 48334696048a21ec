"""Dose rules: the next dose's number, the earliest day it may be given, which vaccine may follow which,
and the certificate a person's doses earn. Pure functions over a person's doses, oldest first.

The schedule is the first dose's vaccine's: its series length (Janssen 1, most 2, Abdala 3) and minimum
intervals (``Presentation.min_interval_days``: before dose 2, 3, ...). A dose after the series is a booster,
``BOOSTER_INTERVAL_DAYS`` after the previous dose; people are called for at most ``MAX_BOOSTERS`` of them.
"""
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from core.service_errors import ServiceError

# Boosters: at least this long after the previous dose (the Ministry of Health's 3 months).
BOOSTER_INTERVAL_DAYS = 90
# A primary-series dose of another vaccine than the first: only these follow-ups are allowed (the Ministry's
# guidance on mixing: an mRNA vaccine after Vaxzevria; the two mRNA vaccines in place of each other).
SERIES_MIXES = {
    "VAXZEVRIA": {"COMIRNATY", "SPIKEVAX"},
    "COMIRNATY": {"SPIKEVAX"},
    "SPIKEVAX": {"COMIRNATY"},
}
# Any of these may be given as a booster, whatever the series was.
BOOSTER_VACCINES = {"COMIRNATY", "SPIKEVAX", "VAXZEVRIA"}
# Boosters the Ministry's schedule offers after a complete primary series (a first and a second booster):
# nobody is called for one more.
MAX_BOOSTERS = 2

NONE, PARTIAL, COMPLETE = "none", "partial", "complete"
PRIMARY, BOOSTER = "primary", "booster"  # kinds of dose
COLORS = {NONE: None, PARTIAL: "yellow", COMPLETE: "green"}


@dataclass(frozen=True)
class Dose:
    """A dose a person received, as the rules need it."""

    day: date
    vaccine: object  # a Presentation: code, name, series_length, min_interval_days
    dose_number: int


@dataclass(frozen=True)
class Certificate:
    status: str
    color: str | None
    doses: int
    next_dose_due: date | None


@dataclass(frozen=True)
class NextDose:
    """The dose a person is called for next: its number, its kind (``PRIMARY`` or ``BOOSTER``) and the first
    day it may be given."""

    number: int
    kind: str
    due_on: date


def next_dose_number(doses):
    return len(doses) + 1


def dose_kind(first_vaccine, dose_number):
    return PRIMARY if dose_number <= first_vaccine.series_length else BOOSTER


def next_dose(doses):
    """The dose ``doses`` call for next: the rest of the primary series, then up to ``MAX_BOOSTERS`` boosters
    (any person with a complete series may have one: the series' own vaccine or one of ``BOOSTER_VACCINES``),
    each from the earliest day the rules allow. ``None`` with no dose on record or every booster given."""
    if not doses:
        return None
    return next_dose_after(doses[0].vaccine, len(doses), doses[-1].day)


def next_dose_after(first_vaccine, doses_given, last_day):
    """``next_dose`` from what it needs of the doses: the first one's vaccine, how many, the last one's day
    (so a list of many people reads three values a person, not their histories)."""
    number = doses_given + 1
    if number > first_vaccine.series_length + MAX_BOOSTERS:
        return None
    return NextDose(number, dose_kind(first_vaccine, number),
                    last_day + timedelta(days=interval_before(first_vaccine, number)))


def earliest_day(doses):
    """The first day the next dose may be given (``None`` for a first dose)."""
    if not doses:
        return None
    return doses[-1].day + timedelta(days=interval_before(doses[0].vaccine, len(doses) + 1))


def interval_before(first_vaccine, dose_number):
    """Minimum days between dose ``dose_number - 1`` and dose ``dose_number`` on ``first_vaccine``'s schedule
    (a booster's: ``BOOSTER_INTERVAL_DAYS`` after the previous dose, the series' last for the first booster)."""
    intervals = list(first_vaccine.min_interval_days or [])
    if dose_number - 2 < len(intervals) and dose_kind(first_vaccine, dose_number) == PRIMARY:
        return intervals[dose_number - 2]
    return BOOSTER_INTERVAL_DAYS


def check_next_dose(doses, vaccine, day, dose_number=None):
    """Refuse a dose of ``vaccine`` on ``day`` that the rules do not allow after ``doses``; returns its number."""
    expected = next_dose_number(doses)
    if dose_number is not None and dose_number != expected:
        raise ServiceError(_("This person has %(n)d doses on record: the next one is dose %(next)d, not %(given)d.",
                             n=len(doses), next=expected, given=dose_number), "dose_number", "wrong_dose_number")
    if doses and any(dose.day == day for dose in doses):
        raise ServiceError(_("This person already has a dose on %(day)s.", day=day.strftime("%d/%m/%Y")),
                           "injected_at", "duplicate_injection")
    earliest = earliest_day(doses)
    if earliest is not None and day < earliest:
        raise ServiceError(_("Too early for dose %(n)d: the previous dose was on %(previous)s; the earliest day "
                             "allowed is %(earliest)s.", n=expected, previous=doses[-1].day.strftime("%d/%m/%Y"),
                             earliest=earliest.strftime("%d/%m/%Y")), "injected_at", "interval_too_short")
    if doses and not may_follow(doses[0].vaccine, vaccine, expected):
        raise ServiceError(_("Dose %(n)d cannot be %(vaccine)s after a series of %(first)s.", n=expected,
                             vaccine=vaccine.name, first=doses[0].vaccine.name), "vaccine", "vaccine_not_allowed")
    return expected


def may_follow(first, vaccine, dose_number):
    if vaccine.code == first.code:
        return True
    if dose_kind(first, dose_number) == PRIMARY:
        return vaccine.code in SERIES_MIXES.get(first.code, set())
    return vaccine.code in BOOSTER_VACCINES


def certificate(doses):
    """The certificate ``doses`` earn: none, partial (yellow: series started) or complete (green). Its next
    dose due is the series' next dose only: a booster is offered by ``next_dose``, never printed as due."""
    if not doses:
        return Certificate(NONE, None, 0, None)
    status = COMPLETE if len(doses) >= doses[0].vaccine.series_length else PARTIAL
    return Certificate(status, COLORS[status], len(doses), next_dose(doses).due_on if status == PARTIAL else None)
