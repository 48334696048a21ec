"""Public pages about certificates, for anyone without an account: check a certificate's QR code, and find
one's own certificate by ID number and date of birth (rate-limited; shows only initials and status)."""
from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from core.access import public
from core.rate_limit import limited
from modules.injection import certificates, identity, people, signing
from modules.warehouse.forms import DayField, Required

bp = Blueprint("certificates", __name__, template_folder="templates")


@bp.context_processor
def labels():
    return {"status_labels": certificates.STATUS_LABELS}

LOOKUPS_PER_WINDOW, WINDOW_SECONDS = 10, 600


class VerifyForm(FlaskForm):
    payload = TextAreaField(_l("Certificate code (scan the QR code)"), validators=[
        Required(), Length(max=signing.MAX_PAYLOAD, message=_l("This is too long to be a certificate code."))])


class LookupForm(FlaskForm):
    national_id = StringField(_l("CCCD or CMND number"), validators=[Required(), Length(max=20)])
    date_of_birth = DayField(_l("Date of birth (dd/mm/yyyy)"), validators=[Required()])


@bp.route("/verify", methods=["GET", "POST"])
@public
def verify():
    form = VerifyForm()
    result = signing.verify(form.payload.data) if form.validate_on_submit() else None
    status = 200 if result is None or result.valid else 422
    return render_template("certificates/verify.html", form=form, result=result), status


@bp.route("/lookup", methods=["GET", "POST"])
@public
@limited("certificate_lookup", LOOKUPS_PER_WINDOW, WINDOW_SECONDS)
def lookup():
    form = LookupForm()
    found, status = None, 200
    if form.validate_on_submit():
        found = matching_person(form)
        status = 200 if found is not None else 404
        if found is not None and request.form.get("pdf"):
            return certificate_download(found)
    certificate = certificates.certificate_for(found) if found is not None else None
    return render_template("certificates/lookup.html", form=form, searched=form.is_submitted(), person=found,
                           certificate=certificate, initials=certificates.initials(found.full_name) if found else ""
                           ), status


def matching_person(form):
    """The person with this ID number and date of birth, or ``None`` (the page says the same either way
    about why: it must not tell which of the two was wrong)."""
    number = "".join((form.national_id.data or "").split())
    person = people.by_national_id(number) if number.isdigit() else None
    if person is None or person.merged_into_id is not None or person.date_of_birth != form.date_of_birth.data:
        return None
    return person


def certificate_download(person):
    locale = get_locale()
    lang = "en" if locale is not None and locale.language == "en" else "vi"
    pdf = certificates.certificate_pdf(certificates.certificate_for(person), lang)
    name = identity.fold(person.full_name).replace(" ", "-") or "certificate"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="certificate-{name}.pdf"',
                             "Cache-Control": "no-store"})
