"""JSON endpoints of the catalogue and lots: the vaccine catalogue and lot labels.

The list of lots (``GET /lots``) is served by the warehouse module: filtering it by location needs the
stock, and the lots module depends on nothing (DESIGN §2, ``lots`` ← ``warehouse``).
"""
from flask import Response, jsonify, request
from flask_babel import gettext as _

from core import roles
from core.api import ApiBlueprint, ApiError
from core.service_errors import ServiceError
from modules.lots import services
from reports.labels import MAX_LABELS, SIZES, LotLabel, lot_labels_pdf

api = ApiBlueprint("lots", __name__)

LABEL_PRINTERS = (roles.WAREHOUSE_MANAGER, roles.LOGISTICS_OFFICER, roles.INTEGRATOR)

VACCINE_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "manufacturer": {"type": "string"},
        "gtins": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{14}$"}},
        "doses_per_vial": {"type": "integer"},
        "storage_min_c": {"type": "integer"}, "storage_max_c": {"type": "integer"},
        "freeze_sensitive": {"type": "boolean"},
        "hours_after_opening": {"type": ["integer", "null"], "description": "null: single-dose vial"},
        "series_length": {"type": "integer", "description": "Doses in a complete primary series."},
        "min_interval_days": {"type": "array", "items": {"type": "integer"},
                              "description": "Minimum days before dose 2, 3, ..."},
        "active": {"type": "boolean"},
    },
}
LABEL_PARAMETERS = [
    {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LABELS,
                                                 "default": 1}, "description": "How many labels."},
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(SIZES), "default": "a4"},
     "description": "`a4`: sheets of 2 × 8 labels of 105 × 37 mm; `thermal`: one 50 × 30 mm page per label."},
    {"name": "gtin", "in": "query", "schema": {"type": "string"},
     "description": "Which of the vaccine's GTINs to print (default: the first)."},
]


def vaccine_json(presentation):
    return {
        "code": presentation.code, "name": presentation.name, "manufacturer": presentation.manufacturer,
        "gtins": [gtin.gtin for gtin in presentation.gtins], "doses_per_vial": presentation.doses_per_vial,
        "storage_min_c": presentation.storage_min_c, "storage_max_c": presentation.storage_max_c,
        "freeze_sensitive": presentation.freeze_sensitive, "hours_after_opening": presentation.hours_after_opening,
        "series_length": presentation.series_length, "min_interval_days": list(presentation.min_interval_days),
        "active": presentation.active,
    }


@api.endpoint("/vaccines", summary="The vaccine catalogue: presentations with their GTINs and dose rules",
              response_schema={"type": "object", "required": ["items"],
                               "properties": {"items": {"type": "array", "items": VACCINE_SCHEMA}}})
def vaccines():
    return jsonify({"items": [vaccine_json(p) for p in services.list_presentations()]})


@api.endpoint("/lots/<int:lot_id>/labels.pdf", roles=LABEL_PRINTERS, parameters=LABEL_PARAMETERS,
              summary="Labels of a lot as a PDF (application/pdf): a GS1-128 barcode of (01)(17)(10), "
                      "the human-readable line, vaccine name and expiry in Vietnamese")
def lot_labels(lot_id):
    count = label_count()
    size = request.args.get("format", "a4")
    if size not in SIZES:
        raise ApiError(400, "invalid_parameter", _("format must be one of: %(choices)s.",
                                                    choices=", ".join(SIZES)), "format")
    lot = services.get_lot(lot_id)
    gtin = label_gtin(lot.presentation)
    try:  # the GTIN, expiry and vaccine come checked from the catalogue: only the lot number can be refused
        label = LotLabel(gtin=gtin, lot=lot.lot_number, expiry=lot.expiry, vaccine_name=lot.presentation.name,
                         manufacturer=lot.presentation.manufacturer, doses_per_vial=lot.presentation.doses_per_vial)
    except ValueError:
        raise ServiceError(_("Lot %(lot)s cannot be written in a GS1 barcode.", lot=lot.lot_number),
                           "lot_id", "lot_not_printable") from None
    try:
        pdf = lot_labels_pdf(label, count, size)
    except ValueError:  # count and size are checked above: only a lot too long for the label is left
        raise ServiceError(_("Lot %(lot)s is too long for a readable barcode on this label size; print it on A4.",
                             lot=lot.lot_number), "format", "lot_too_long") from None
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="labels-lot-{lot.id}.pdf"'})


def label_count():
    raw = request.args.get("count", "1")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LABELS:
        raise ApiError(400, "invalid_parameter",
                       _("count must be a whole number from 1 to %(max)d.", max=MAX_LABELS), "count")
    return int(raw)


def label_gtin(presentation):
    """The GTIN asked for (one of the vaccine's), or its first one."""
    gtins = [gtin.gtin for gtin in presentation.gtins]
    wanted = request.args.get("gtin")
    if wanted is not None:
        if wanted.strip() not in gtins:
            raise ApiError(400, "invalid_parameter", _("GTIN %(gtin)s is not a GTIN of %(vaccine)s.",
                                                        gtin=wanted, vaccine=presentation.name), "gtin")
        return wanted.strip()
    if not gtins:
        raise ServiceError(_("%(vaccine)s has no GTIN in the catalogue: add one before printing labels.",
                             vaccine=presentation.name), "lot_id", "no_gtin")
    return gtins[0]

