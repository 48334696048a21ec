"""Business operations on the catalogue and lots: callable from pages, the API, the CLI and tests.

Services add to the session and audit; the caller commits.
"""
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import audit, plugins
from core.clock import local_today
from core.db import db
from core.service_errors import ConflictError, NotFoundError, ServiceError
from modules.lots.gs1 import Scan, ScanError, normalise_gtin
from modules.lots.labels import STATUS_LABELS
from modules.lots.models import (
    AVAILABLE,
    RECALLED,
    STATUSES,
    TRANSITIONS,
    Gtin,
    Lot,
    Presentation,
    StatusChange,
)

MAX_LOT_NUMBER = 40
MAX_SCAN = 500  # characters; a GS1 barcode holds at most 48 data characters
EARLIEST_EXPIRY = date(2020, 1, 1)  # no COVID-19 vaccine lot expired before this
LATEST_EXPIRY_YEARS = 10


# --- Scanning ----------------------------------------------------------------------------------------

@dataclass
class ScanMatch:
    """A scan matched against the catalogue: what it is, and what does not fit."""

    scan: Scan
    presentation: Presentation | None = None
    lot: Lot | None = None
    conflicts: list = field(default_factory=list)  # [{"code": ..., "message": ...}]

    @property
    def known(self):
        return self.lot is not None


def parse(code):
    """The scan as a :class:`Scan`, through the ``parse_barcode`` hook (GS1 unless a plugin knows it)."""
    if not isinstance(code, str) or not code.strip():
        raise ScanError(_("The scan is empty."), "empty_scan")
    scan = plugins.hook().parse_barcode(code=code)
    if scan is None:
        raise ScanError(_("This code is not a GS1 barcode of a vaccine pack."), "invalid_scan")
    return scan


def match(code):
    """Parse a scan and match it on (GTIN, lot) — never on the lot number alone — reporting conflicts.

    Never creates anything: an unknown lot is created only by a receipt.
    """
    scan = parse(code)
    result = ScanMatch(scan=scan, presentation=presentation_for_gtin(scan.gtin))
    if result.presentation is None:
        result.conflicts.append({"code": "unknown_gtin", "message": _(
            "GTIN %(gtin)s is not in the vaccine catalogue.", gtin=scan.gtin)})
        return result
    if scan.lot is None:
        return result
    result.lot = find_lot(result.presentation, scan.lot)
    if result.lot is None:
        others = lots_numbered(scan.lot)
        if others:
            result.conflicts.append({"code": "lot_of_another_vaccine", "message": _(
                "Lot %(lot)s is registered for %(other)s, not for %(vaccine)s (GTIN %(gtin)s).",
                lot=scan.lot, other=others[0].presentation.name, vaccine=result.presentation.name,
                gtin=scan.gtin)})
        return result
    if scan.expiry is not None and scan.expiry != result.lot.expiry:
        result.conflicts.append({"code": "expiry_mismatch", "message": _(
            "The pack says expiry %(scanned)s but lot %(lot)s is recorded with %(stored)s.",
            scanned=scan.expiry.strftime("%d/%m/%Y"), lot=scan.lot,
            stored=result.lot.expiry.strftime("%d/%m/%Y"))})
    return result


def lot_from_scan(code):
    """The registered lot a pack's scan names, matched on (GTIN, lot); every refusal names the field
    ``code`` (too long, unknown GTIN, lot of another vaccine, expiry contradicting the lot's, no lot number
    in the barcode, lot not registered)."""
    if isinstance(code, str) and len(code) > MAX_SCAN:
        raise ServiceError(_("This is too long to be a barcode of a vaccine pack."), "code", "invalid_scan")
    matched = match(code)
    if matched.conflicts:
        conflict = matched.conflicts[0]
        error = ConflictError if conflict["code"] == "expiry_mismatch" else ServiceError
        raise error(conflict["message"], "code", conflict["code"])
    if matched.lot is not None:
        return matched.lot
    if matched.scan.lot is None:
        raise ServiceError(_("This barcode has no lot number: scan the barcode that carries the lot."),
                           "code", "no_lot")
    raise ServiceError(_("Lot %(lot)s of %(vaccine)s is not registered.", lot=matched.scan.lot,
                         vaccine=matched.presentation.name), "code", "unknown_lot")


# --- Catalogue --------------------------------------------------------------------------------------

def presentation_for_gtin(gtin):
    return db.session.scalar(select(Presentation).join(Gtin).where(Gtin.gtin == gtin))


def presentation_by_code(code):
    presentation = db.session.scalar(select(Presentation).where(Presentation.code == (code or "").strip()))
    if presentation is None:
        raise NotFoundError(_("Unknown vaccine %(code)s.", code=code), "vaccine", "unknown_vaccine")
    return presentation


def list_presentations(active_only=False):
    query = select(Presentation).options(selectinload(Presentation.gtins)).order_by(Presentation.name)
    if active_only:
        query = query.where(Presentation.active.is_(True))
    return db.session.scalars(query).all()


@dataclass
class PresentationData:
    code: str
    name: str
    manufacturer: str
    doses_per_vial: int
    storage_min_c: int
    storage_max_c: int
    freeze_sensitive: bool
    hours_after_opening: int | None
    series_length: int
    min_interval_days: list
    gtins: list
    active: bool = True


def save_presentation(data, presentation=None, user=None):
    """Create a presentation, or update ``presentation``, after checking every field."""
    check_presentation(data, presentation)
    gtins = [normalise_gtin_field(value) for value in data.gtins]
    taken = db.session.scalars(select(Gtin).where(Gtin.gtin.in_(gtins))).all()
    for gtin in taken:
        if presentation is None or gtin.presentation_id != presentation.id:
            raise ServiceError(_("GTIN %(gtin)s already belongs to %(name)s.", gtin=gtin.gtin,
                                 name=gtin.presentation.name), "gtins", "gtin_taken")
    creating = presentation is None
    presentation = presentation or Presentation()
    for name in ("code", "name", "manufacturer", "doses_per_vial", "storage_min_c", "storage_max_c",
                 "freeze_sensitive", "hours_after_opening", "series_length", "active"):
        setattr(presentation, name, getattr(data, name))
    presentation.min_interval_days = list(data.min_interval_days)
    kept = {g.gtin: g for g in presentation.gtins}
    presentation.gtins = [kept.get(value) or Gtin(gtin=value) for value in dict.fromkeys(gtins)]
    db.session.add(presentation)
    db.session.flush()
    audit.record("presentation.create" if creating else "presentation.update", presentation, user=user,
                 details={"code": presentation.code, "gtins": gtins})
    return presentation


def check_presentation(data, presentation):
    text_fields = {"code": (data.code, 32), "name": (data.name, 120), "manufacturer": (data.manufacturer, 160)}
    for name, (value, longest) in text_fields.items():
        if name != "manufacturer" and not (value or "").strip():
            raise ServiceError(_("This field is required."), name, "required")
        if len(value or "") > longest:
            raise ServiceError(_("At most %(n)d characters.", n=longest), name, "too_long")
    other = db.session.scalar(select(Presentation).where(Presentation.code == data.code))
    if other is not None and other is not presentation:
        raise ServiceError(_("The code %(code)s is already used.", code=data.code), "code", "code_taken")
    whole_in("doses_per_vial", data.doses_per_vial, 1, 100)
    whole_in("storage_min_c", data.storage_min_c, -90, 30)
    whole_in("storage_max_c", data.storage_max_c, -90, 30)
    if data.storage_min_c >= data.storage_max_c:
        raise ServiceError(_("The lowest storage temperature must be below the highest."), "storage_min_c",
                           "bad_range")
    if data.hours_after_opening is not None:
        whole_in("hours_after_opening", data.hours_after_opening, 0, 720)
    whole_in("series_length", data.series_length, 1, 5)
    if len(data.min_interval_days) != data.series_length - 1:
        raise ServiceError(_("Give one minimum interval for each dose after the first (%(n)d).",
                             n=data.series_length - 1), "min_interval_days", "bad_intervals")
    for days in data.min_interval_days:
        whole_in("min_interval_days", days, 1, 730)


def whole_in(field_name, value, lowest, highest):
    if not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= highest:
        raise ServiceError(_("Enter a whole number from %(low)d to %(high)d.", low=lowest, high=highest),
                           field_name, "out_of_range")


def normalise_gtin_field(value, field="gtins"):
    """A typed GTIN (not a scan): its errors name ``field`` rather than the scan field "code"."""
    try:
        return normalise_gtin(value)
    except ScanError as exc:
        raise ServiceError(exc.message, field, exc.code) from None


# --- Lots ----------------------------------------------------------------------------------------------

def find_lot(presentation, lot_number):
    return db.session.scalar(select(Lot).where(Lot.presentation_id == presentation.id,
                                               Lot.lot_number == lot_number))


def lots_numbered(lot_number):
    return db.session.scalars(select(Lot).where(Lot.lot_number == lot_number)).all()


def get_lot(lot_id):
    lot = db.session.get(Lot, lot_id) if isinstance(lot_id, int) else None
    if lot is None:
        raise NotFoundError(_("No lot with id %(id)s.", id=lot_id), "lot_id", "unknown_lot")
    return lot


def create_lot(presentation, lot_number, expiry, user=None):
    """Register a new lot. Only receipts call this, after the user confirmed GTIN, lot and expiry."""
    lot_number = (lot_number or "").strip()
    if not lot_number:
        raise ServiceError(_("The lot number is required."), "lot", "required")
    if len(lot_number) > MAX_LOT_NUMBER or not lot_number.isprintable():
        raise ServiceError(_("The lot number must be at most %(n)d printable characters.", n=MAX_LOT_NUMBER),
                           "lot", "bad_lot_number")
    if not isinstance(expiry, date):
        raise ServiceError(_("The expiry date is required."), "expiry", "required")
    latest = date(local_today().year + LATEST_EXPIRY_YEARS, 12, 31)
    if not EARLIEST_EXPIRY <= expiry <= latest:
        raise ServiceError(_("The expiry date %(date)s is not plausible.", date=expiry.strftime("%d/%m/%Y")),
                           "expiry", "implausible_expiry")
    if find_lot(presentation, lot_number) is not None:
        raise ConflictError(_("Lot %(lot)s of %(vaccine)s already exists.", lot=lot_number,
                              vaccine=presentation.name), "lot", "lot_exists")
    lot = Lot(presentation=presentation, lot_number=lot_number, expiry=expiry, status=AVAILABLE)
    db.session.add(lot)
    db.session.flush()
    audit.record("lot.create", lot, user=user, details={"vaccine": presentation.code, "lot": lot_number,
                                                        "expiry": expiry.isoformat()})
    return lot


def change_status(lot, to_status, reason, user=None):
    """Move a lot along its status machine; a reason is required and kept."""
    if to_status not in STATUSES:
        raise ServiceError(_("Unknown status %(status)s.", status=to_status), "status", "unknown_status")
    if to_status not in TRANSITIONS[lot.status]:
        raise ConflictError(_("A lot that is %(current)s cannot become %(wanted)s.",
                              current=status_label(lot.status), wanted=status_label(to_status)),
                            "status", "bad_transition")
    reason = required_reason(reason)
    db.session.add(StatusChange(lot_id=lot.id, from_status=lot.status, to_status=to_status, reason=reason,
                                user_id=user.id if user else None))
    audit.record("lot.status", lot, user=user, details={"from": lot.status, "to": to_status, "reason": reason})
    lot.status = to_status
    return lot


def required_reason(reason):
    """The reason a user gave for a change, single-spaced; refused when missing or too short to mean anything."""
    reason = " ".join((reason or "").split())
    if len(reason) < 3:
        raise ServiceError(_("Give the reason for this change."), "reason", "reason_required")
    return reason


def recall(lot, reason, user=None):
    """Recall a lot: it can no longer be picked, dispatched, received as usable or injected anywhere."""
    return change_status(lot, RECALLED, reason, user)


def status_history(lot):
    return db.session.scalars(select(StatusChange).where(StatusChange.lot_id == lot.id)
                              .order_by(StatusChange.id)).all()


def status_label(status):
    return str(STATUS_LABELS.get(status, status))
