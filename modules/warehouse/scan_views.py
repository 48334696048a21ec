"""The scan page: receive vaccine packs with a keyboard-wedge scanner (or a tablet's camera app).

The page (``scan.js``) posts each raw scan, as the scanner typed it, to ``/scan/check``, which says
in one JSON answer what the pack is and whether it can be received (green), needs the user to confirm
a new lot (amber) or cannot be received (red). The running list is then posted to ``/scan/receive``
as one receipt: one line per lot, in vials (one scan = one pack = one vial, or the quantity asked).
Both are session-authenticated JSON views of this blueprint: CSRF comes in the ``X-CSRFToken`` header.
"""
from flask import jsonify, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core.access import roles_required
from core.clock import local_today
from core.db import db
from core.i18n import format_day, format_number
from core.service_errors import ServiceError
from modules.lots import services as lot_services
from modules.lots.models import USABLE_STATUSES
from modules.warehouse import ledger, locations, services
from modules.warehouse.forms import parse_day
from modules.warehouse.pages import location_choices
from modules.warehouse.views import OPERATORS, bp, user_scope

SCAN_LOCATION_KEY = "warehouse_scan_location"
MAX_LINES = 500

OK, NEW, ERROR = "ok", "new", "error"  # green, amber, red on the page


@bp.route("/scan")
@roles_required(*OPERATORS)
def scan():
    places = locations.physical_locations(user_scope())
    codes = [place.code for place in places]
    asked = (request.args.get("location") or "").strip().upper()
    if asked in codes:
        session[SCAN_LOCATION_KEY] = asked
    chosen = session.get(SCAN_LOCATION_KEY)
    if chosen not in codes:
        chosen = codes[0] if codes else None
    return render_template("warehouse/scan.html", choices=location_choices(places), chosen=chosen)


@bp.route("/scan/check", methods=["POST"])
@roles_required(*OPERATORS)
def scan_check():
    body, location, refused = scan_request()
    if refused:
        return refused
    raw = body.get("code")
    if isinstance(raw, str) and len(raw) > lot_services.MAX_SCAN:
        return jsonify(state=ERROR, code="invalid_scan",
                       message=_("This is too long to be a barcode of a vaccine pack."))
    try:
        matched = lot_services.match(raw)
    except ServiceError as error:
        return jsonify(state=ERROR, message=error.message, code=error.code)
    return jsonify(feedback(matched, location))


@bp.route("/scan/receive", methods=["POST"])
@roles_required(*OPERATORS)
def scan_receive():
    body, location, refused = scan_request()
    if refused:
        return refused
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        return refusal(_("Scan at least one pack before receiving."), "lines")
    if len(lines) > MAX_LINES:
        return refusal(_("At most %(n)d lots in one receipt.", n=MAX_LINES), "lines")
    reference = body.get("reference") if isinstance(body.get("reference"), str) else ""
    receipt = []
    for index, line in enumerate(lines):
        parsed = receipt_line(line)
        if isinstance(parsed, str):
            return refusal(_("Line %(n)d: %(message)s", n=index + 1, message=parsed), f"lines[{index}]", line=index)
        receipt.append(parsed)
    try:
        refuse_expired(receipt)
        result = services.receive(location, receipt, user=current_user, reference=reference.strip() or None)
        refuse_expired(receipt, result.moves)
    except ServiceError as error:
        db.session.rollback()
        return refusal(error.message, error.field, error.status, line=line_index(error.field))
    db.session.commit()
    doses = sum(move.doses for move in result.moves)
    vials = sum(move.doses // move.lot.presentation.doses_per_vial for move in result.moves)
    return jsonify(ok=True, doses=doses, vials=vials, new_lots=[lot.id for lot in result.new_lots],
                   message=ngettext("Received %(doses)s doses (%(vials)s vials) of %(num)d lot into %(location)s.",
                                    "Received %(doses)s doses (%(vials)s vials) of %(num)d lots into %(location)s.",
                                    len(result.moves), doses=format_number(doses), vials=format_number(vials),
                                    location=location.name),
                   stock_url=url_for(".stock", filtered=1, location=location.code))


def scan_request():
    """``(body, location, None)``, or a JSON refusal: no JSON object, no location, a foreign location."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, None, refusal(_("Send a JSON object."), None, 400)
    code = body.get("location")
    if not isinstance(code, str) or not code.strip():
        return None, None, refusal(_("Choose the location first."), "location")
    try:
        location = locations.by_code(code, user_scope())
    except ServiceError as error:
        return None, None, refusal(error.message, "location", error.status)
    session[SCAN_LOCATION_KEY] = location.code
    return body, location, None


def refusal(message, field, status=422, line=None):
    return jsonify(ok=False, state=ERROR, message=message, field=field, line=line), status


def feedback(matched, location):
    """What the page shows for one scan: the pack's facts and a state (ok, new or error) with a message."""
    scan, presentation, lot = matched.scan, matched.presentation, matched.lot
    expiry = lot.expiry if lot is not None else scan.expiry
    answer = {
        "gtin": scan.gtin, "lot": scan.lot, "serial": scan.serial,
        "expiry": expiry.isoformat() if expiry else None, "expiry_display": format_day(expiry),
        "vaccine": presentation.name if presentation else None,
        "vaccine_code": presentation.code if presentation else None,
        "doses_per_vial": presentation.doses_per_vial if presentation else None,
        "known": matched.known, "lot_id": lot.id if lot else None, "status": lot.status if lot else None,
        "on_hand_doses": ledger.on_hand(location.id, lot.id) if lot else None,
        "conflicts": [conflict["message"] for conflict in matched.conflicts],
    }
    return {**answer, **verdict(matched, expiry)}


def verdict(matched, expiry):
    scan, lot = matched.scan, matched.lot
    today = local_today()
    if matched.conflicts:
        return {"state": ERROR, "message": " ".join(answer["message"] for answer in matched.conflicts)}
    if not scan.lot:
        return {"state": ERROR, "message": _("This barcode has no lot number (10): scan the barcode that "
                                             "carries the lot and the expiry date.")}
    if expiry is not None and expiry < today:
        return {"state": ERROR, "message": _("Lot %(lot)s expired on %(date)s: it cannot be received as usable.",
                                             lot=scan.lot, date=format_day(expiry))}
    if lot is None:
        return {"state": NEW, "message": _(
            "New lot %(lot)s of %(vaccine)s: check the GTIN, lot and expiry date against the pack, then confirm.",
            lot=scan.lot, vaccine=matched.presentation.name)}
    if lot.status not in USABLE_STATUSES:
        return {"state": ERROR, "message": _("Lot %(lot)s is %(status)s: it cannot be received as usable.",
                                             lot=lot.lot_number, status=lot_services.status_label(lot.status))}
    return {"state": OK, "message": _("%(vaccine)s, lot %(lot)s, expiry %(expiry)s.", vaccine=lot.presentation.name,
                                      lot=lot.lot_number, expiry=format_day(lot.expiry))}


def receipt_line(line):
    """A :class:`services.ReceiptLine` from one posted line, or what is wrong with it (a message)."""
    if not isinstance(line, dict):
        return _("not a line of the list.")
    vials = line.get("vials")
    if not isinstance(vials, int) or isinstance(vials, bool) or vials < 1:
        return _("the number of packs must be a whole number above zero.")
    expiry_text = line.get("expiry") or ""
    expiry = parse_day(expiry_text) if isinstance(expiry_text, str) else None
    if expiry_text and expiry is None:
        return _("enter the expiry date as dd/mm/yyyy, for example 31/12/2025.")
    text = {name: line.get(name) if isinstance(line.get(name), str) else "" for name in ("gtin", "lot")}
    return services.ReceiptLine(gtin=text["gtin"], lot=text["lot"], expiry=expiry, vials=vials,
                                confirm_new_lot=line.get("confirm_new_lot") is True)


def refuse_expired(lines, moves=()):
    """Expired doses are never received as usable (they go back to the supplier or to wastage).

    Checked on the lines' expiry dates before the receipt, and on the lots it touched after (a line
    may leave out the expiry of a lot already known); the caller rolls back on the error."""
    today = local_today()
    expired = {move.lot.lot_number: move.lot.expiry for move in moves if move.lot.is_expired(today)}
    for index, line in enumerate(lines):
        expiry = line.expiry if line.expiry is not None and line.expiry < today else expired.get(line.lot.strip())
        if expiry is not None:
            raise ServiceError(_("Line %(n)d: lot %(lot)s expired on %(date)s and cannot be received as usable.",
                                 n=index + 1, lot=line.lot, date=format_day(expiry)),
                               f"lines[{index}].expiry", "lot_expired")


def line_index(field):
    """The 0-based line a service error names (``lines[2].expiry`` → 2), or ``None``."""
    if field and field.startswith("lines[") and "]" in field:
        number = field[len("lines["):field.index("]")]
        return int(number) if number.isdigit() else None
    return None
