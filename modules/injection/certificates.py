"""A person's vaccination certificate: the doses that count, their colour, the signed QR payload
(``signing``) and the PDF (``reports.certificate``)."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from core.clock import local_today
from modules.injection import identity, rules, services, signing
from reports import certificate as document

STATUS_LABELS = {rules.NONE: _l("No dose"), rules.PARTIAL: _l("Series started (yellow certificate)"),
                 rules.COMPLETE: _l("Series complete (green certificate)")}


@dataclass(frozen=True)
class PersonCertificate:
    person: object
    injections: list
    status: rules.Certificate
    payload: str | None  # None while no dose counts: there is nothing to certify


def certificate_for(person):
    injections = services.history(person)
    status = rules.certificate(services.doses_of(injections))
    payload = None
    if injections:
        payload = signing.sign({
            "name": person.full_name, "birth_date": person.date_of_birth, "status": status.status,
            "doses": [{"date": dose.injected_on, "vaccine": dose.presentation.code, "lot": dose.lot.lot_number,
                       "dose": dose.dose_number} for dose in injections]})
    return PersonCertificate(person, injections, status, payload)


def initials(full_name):
    """"Nguyễn Thị Lan" → "N. T. L.": enough to recognise oneself, not enough to identify someone."""
    return " ".join(f"{word[0]}." for word in full_name.split())


def certificate_pdf(certificate, lang="vi"):
    person = certificate.person
    return document.certificate_pdf(document.Certificate(
        person_name=person.full_name, birth_date=person.date_of_birth, masked_id=identity.mask(person.national_id),
        status=certificate.status.status,
        doses=[document.CertificateDose(number=dose.dose_number, date=dose.injected_on, vaccine=dose.presentation.name,
                                        lot=dose.lot.lot_number, site=dose.site.name)
               for dose in certificate.injections],
        next_due=certificate.status.next_dose_due, issued_on=local_today(), payload=certificate.payload or "",
        lang=lang))
