"""A shipment's transport manifest: the :class:`reports.manifest.Manifest` it prints, and the PDF.

The layout lives in ``reports/manifest.py``; this module only gathers what a picked shipment says
(parties, lots, transport, temperature range, sections added by modules and plugins through the
``manifest_sections`` hook).
"""
from flask_babel import force_locale
from flask_babel import gettext as _

from core import plugins
from core.service_errors import ConflictError, ServiceError
from modules.transport.models import DRAFT
from reports.manifest import LANGUAGES, Manifest, ManifestLine, Party, Section, manifest_pdf


def party(location):
    """A location as the manifest prints it: code, name and its administrative unit as the address."""
    address = location.admin_unit.name if location.admin_unit is not None else ""
    return Party(code=location.code, name=location.name, address=address)


def manifest_line(line):
    presentation = line.presentation
    if not presentation.gtins:
        raise ConflictError(_("%(vaccine)s has no GTIN: add one before printing a manifest.",
                              vaccine=presentation.name), "lines", "no_gtin")
    return ManifestLine(vaccine=presentation.name, gtin=presentation.gtins[0].gtin, lot=line.lot.lot_number,
                        expiry=line.lot.expiry, vials=line.vials, doses=line.doses)


def contributed_sections(shipment):
    """The sections every ``manifest_sections`` implementation returned, in one flat list."""
    sections = []
    for answer in plugins.hook().manifest_sections(shipment=shipment):
        for section in answer or ():
            if not isinstance(section, Section):
                raise TypeError(f"manifest_sections must return Section objects, got {type(section).__name__}")
            sections.append(section)
    return sections


def manifest_for(shipment) -> Manifest:
    """What the manifest of a picked (or later) shipment prints. A draft has no lots yet: refused."""
    if shipment.state == DRAFT or not shipment.lines or any(line.lot is None for line in shipment.lines):
        raise ConflictError(_("Shipment %(number)s is not picked yet: it has no lots to print.",
                              number=shipment.number), "state", "not_picked")
    creator = shipment.creator
    return Manifest(
        number=shipment.number,
        origin=party(shipment.origin),
        destination=party(shipment.destination),
        planned_date=shipment.planned_date,
        dispatched_at=shipment.dispatched_at,
        vehicle=shipment.vehicle or "",
        driver=shipment.driver or "",
        cold_box=shipment.cold_box or "",
        temperature_min=shipment.temperature_min,
        temperature_max=shipment.temperature_max,
        lines=[manifest_line(line) for line in shipment.lines],
        sections=contributed_sections(shipment),
        issued_by=(creator.full_name or creator.username) if creator is not None else "",
    )


def manifest_bytes(shipment, lang) -> bytes:
    """The manifest as a PDF in ``lang`` ("vi" or "en"); sections are built in that language."""
    if lang not in LANGUAGES:
        raise ServiceError(_("lang must be one of: %(languages)s.", languages=", ".join(LANGUAGES)),
                           "lang", "invalid_parameter", status=400)
    with force_locale(lang):
        manifest = manifest_for(shipment)
    return manifest_pdf(manifest, lang)
