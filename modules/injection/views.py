"""The registration page for site staff: find the person (or record a new one), scan the pack, save.

One URL, ``/register``, for a table with a scanner and hundreds of people a day; the query string carries
the step: the site (``site``, a code, when the user works at several), the search (``q``), a new person
(``new``), the person being registered (``person``) and the injection just saved (``done``). POSTs carry
CSRF and say which form they are (``step``: ``person`` or ``dose``). Thin over ``people`` and ``services``:
a refused submission rolls back, shows the service's message next to the field it names and answers 422.
A site, injection or person outside the user's sites is a 404.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core.access import location_scope, roles_required
from core.clock import local_today
from core.db import db, utcnow
from core.i18n import format_day, format_number
from core.roles import SITE_STAFF
from core.service_errors import NotFoundError, ServiceError
from modules.injection import identity, people, rules, services
from modules.injection.forms import DOSE, PERSON, CloseSessionForm, DoseForm, PersonForm, SearchForm
from modules.injection.models import LIVE, Injection
from modules.lots import services as lots
from modules.lots.models import Lot
from modules.warehouse import locations
from modules.warehouse import services as stock
from modules.warehouse.models import SITE

bp = Blueprint("injection", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/injection")

REGISTRARS = (SITE_STAFF,)
FOUND_KEY, FOUND_KEPT = "people_found", 50  # people found by their whole ID or phone, remembered in the session
PERSON_FIELDS = ("full_name", "gender", "date_of_birth", "national_id", "phone", "address")
# Checked one by one before the person is created, so every wrong field is shown at once.
FIELD_CHECKS = {"full_name": identity.clean_name, "gender": identity.normalise_gender,
                "national_id": identity.parse_national_id, "phone": identity.normalise_phone}


@bp.app_template_filter("last_digits")
def last_digits(value):
    return identity.mask(value) or "—"


# --- Where -----------------------------------------------------------------------------------------

def my_sites():
    """The vaccination sites among the user's locations, in tree order."""
    return [place for place in locations.physical_locations(location_scope(current_user)) if place.kind == SITE]


def chosen_site(sites):
    """The site named by ``site`` (404 if it is not one of ``sites``); the only one; or None to choose."""
    code = (request.values.get("site") or "").strip().upper()
    if code:
        site = next((place for place in sites if place.code == code), None)
        if site is None:
            abort(404)
        return site
    return sites[0] if len(sites) == 1 else None


@bp.route("/register", methods=["GET", "POST"])
@roles_required(*REGISTRARS)
def register():
    sites = my_sites()
    site = chosen_site(sites) if sites else None
    if site is None:
        return render_template("injection/register.html", step="site", sites=sites, site=None)
    if request.method == "POST":
        step = request.form.get("step")
        if step == PERSON:
            return save_person(site, sites)
        if step == DOSE:
            return save_dose(site, sites)
        abort(400)
    if request.args.get("person"):
        return dose_page(site, sites, person_or_404(request.args["person"]))
    if request.args.get("new"):
        return person_page(site, sites, PersonForm(formdata=None, data=prefilled(request.args.get("q"))))
    return search_page(site, sites)


@bp.route("/register/close-session", methods=["POST"])
@roles_required(*REGISTRARS)
def close_session():
    """End the day at the site: what is left in its open vials goes to open-vial wastage."""
    site = chosen_site(my_sites())
    if site is None or not CloseSessionForm().validate_on_submit():
        abort(400)
    vials = services.close_session(site, user=current_user)
    db.session.commit()
    flash(ngettext("Session closed: %(num)d open vial written off.", "Session closed: %(num)d open vials written "
                   "off.", len(vials)), "success")
    return redirect(url_for(".register", site=site.code))


def page(step, site, sites, status=200, **context):
    open_vials = services.open_vials(site) if step == "search" else []
    return render_template("injection/register.html", step=step, site=site, sites=sites, open_vials=open_vials,
                           close_form=CloseSessionForm(formdata=None), **context), status


# --- Step 1: find the person -----------------------------------------------------------------------

def search_page(site, sites):
    form = SearchForm(formdata=request.args)
    form.validate()
    text = (form.q.data or "").strip()
    found = None
    if text and not form.q.errors:
        matches = found_people(text)
        certificates = services.certificates_of(matches)
        found = [(person, certificates[person.id]) for person in matches]
    return page("search", site, sites, search=form, found=found, text=text, done=done_panel(sites))


def done_panel(sites):
    """The injection just saved (``done``), with its person's certificate; 404 unless at one of ``sites``."""
    done = request.args.get("done")
    if not done:
        return None
    injection = db.session.get(Injection, int(done)) if is_id(done) else None
    if injection is None or injection.source != LIVE or injection.site_id not in {site.id for site in sites}:
        abort(404)
    return {"injection": injection, "certificate": services.certificate_of(injection.person)}


def person_or_404(value):
    """The person (followed to the record kept after a merge), if the user may look into their record."""
    if not is_id(value):
        abort(404)
    try:
        person = people.get_person(int(value))
    except NotFoundError:
        abort(404)
    return visible_or_404(person)


def visible_or_404(person):
    """``person``, if dosed at the user's locations, recorded by them, or found by their whole ID or phone
    number in this session; anyone else's record is as unknown as a wrong id."""
    if person.id in session.get(FOUND_KEY, ()) or services.is_visible(
            person, location_scope(current_user), current_user, registrar=current_user.has_role(*REGISTRARS)):
        return person
    abort(404)


def found_people(text):
    return found_page(text)[0]


def found_page(text, offset=0):
    """The search's people the user may look into, from the ``offset``-th match; for a registrar, those found
    by their whole ID or phone number too, remembered so that their pages open (someone at the desk with their
    papers may come from anywhere). ``(people, whether more matches follow)``."""
    registrar = current_user.has_role(*REGISTRARS)
    matches, more = services.search_page(text, location_scope(current_user), current_user, registrar=registrar,
                                         offset=offset)
    if registrar:
        remember_found([person for person in matches if services.found_by_identifier(person, text)])
    return matches, more


def remember_found(found):
    if found:
        known = [person.id for person in found] + [pid for pid in session.get(FOUND_KEY, ()) if pid not in
                                                   {person.id for person in found}]
        session[FOUND_KEY] = known[:FOUND_KEPT]


def is_id(value):
    """A record id as typed in a URL: digits that fit a database integer."""
    return isinstance(value, str) and value.isdigit() and len(value) <= 9


# --- A new person ----------------------------------------------------------------------------------

def prefilled(text):
    """What was searched, put where it belongs: an ID number, a phone number or a name."""
    text = identity.clean_text(text)
    digits = "".join(text.split()).lstrip("+")
    if not text:
        return {}
    if digits.isdigit():
        return {"national_id": digits} if len(digits) in (9, 12) else {"phone": text}
    return {"full_name": text}


def person_page(site, sites, form, status=200, form_error=None, twin=None):
    form.site.data = site.code
    return page("new", site, sites, status, person_form=form, form_error=form_error, twin=twin)


def save_person(site, sites):
    form = PersonForm()
    if not form.validate_on_submit() and form.csrf_token.errors:
        return person_page(site, sites, form, 422, form_error=_("The form expired: try again."))
    if field_errors(form) or form.errors:
        return person_page(site, sites, form, 422)
    data = people.PersonData(full_name=form.full_name.data, gender=form.gender.data,
                             date_of_birth=form.date_of_birth.data, national_id=form.national_id.data,
                             phone=form.phone.data, address=form.address.data or "")
    try:
        person = people.create_person(data, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        twin = people.duplicate_of(people.cleaned(data)[0]) if error.code == "duplicate_person" else None
        remember_found([twin] if twin is not None else [])  # its details were typed: open its record
        shown = show_at(form, PERSON_FIELDS, error)
        return person_page(site, sites, form, 422, form_error=None if shown else error.message, twin=twin)
    db.session.commit()
    return redirect(url_for(".register", site=site.code, person=person.id))


def field_errors(form):
    """Run each field's own check and put its message under it; True if any field is wrong."""
    for name, check in FIELD_CHECKS.items():
        try:
            check(form[name].data)
        except ServiceError as error:
            show_at(form, (name,), error)
    if not form.date_of_birth.errors:
        try:
            identity.check_date_of_birth(form.date_of_birth.data, local_today())
        except ServiceError as error:
            show_at(form, ("date_of_birth",), error)
    return any(form[name].errors for name in PERSON_FIELDS)


def show_at(form, names, error):
    """Add the error's message to its field if it is one of ``names``; False if it is not."""
    if error.field not in names:
        return False
    field = form[error.field]
    if error.message not in field.errors:
        field.errors = [*field.errors, error.message]
    return True


# --- Step 2: the dose ------------------------------------------------------------------------------

def dose_page(site, sites, person, form=None, status=200, form_error=None, scanned=""):
    injections = services.history(person)
    doses = services.doses_of(injections)
    today = local_today()
    form = form or DoseForm(formdata=None)
    form.site.data, form.person.data = site.code, str(person.id)
    form.lot.choices = lot_choices(site, today)
    earliest = rules.earliest_day(doses)
    return page("dose", site, sites, status, person=person, injections=injections, form=form,
                form_error=form_error, certificate=rules.certificate(doses),
                next_number=rules.next_dose_number(doses), earliest=earliest,
                too_early=earliest is not None and earliest > today, scanned=scanned)


def lot_choices(site, today):
    """The site's usable lots, those with an open vial first (use it before opening another)."""
    open_doses, now = {}, utcnow()
    for vial in services.open_vials(site):
        if vial.usable_until > now and vial.doses_left:
            open_doses[vial.lot_id] = open_doses.get(vial.lot_id, 0) + vial.doses_left
    lines = [line for line in stock.stock([site.id]) if not line.blocked(today)]
    lines.sort(key=lambda line: line.lot.id not in open_doses)
    choices = [("", _("Choose…"))]
    for line in lines:
        label = _("%(vaccine)s, lot %(lot)s, expires %(expiry)s: %(doses)s doses", vaccine=line.lot.presentation.name,
                  lot=line.lot.lot_number, expiry=format_day(line.lot.expiry), doses=format_number(line.doses))
        if line.lot.id in open_doses:
            label += " · " + _("open vial: %(n)s doses left", n=format_number(open_doses[line.lot.id]))
        choices.append((str(line.lot.id), label))
    return choices


def save_dose(site, sites):
    form = DoseForm()
    person = person_or_404(form.person.data)
    if not form.validate_on_submit():
        expired = _("The form expired: try again.") if form.csrf_token.errors else None
        return dose_page(site, sites, person, form, 422, form_error=expired)
    try:
        lot, used = chosen_lot(form)
    except ServiceError as error:
        return refused_dose(site, sites, person, form, error)
    try:
        injection = services.register(person, lot, site, user=current_user)
        db.session.commit()  # the dose is taken here: no dose left is refused here
    except ServiceError as error:
        if error.field == "lot_id":  # about the lot: shown where it was given
            error.field = used
        return refused_dose(site, sites, person, form, error)
    return redirect(url_for(".register", site=site.code, done=injection.id))


def refused_dose(site, sites, person, form, error):
    """Nothing is written; the message goes next to the lot fields, or on top of the form (the dose rules).
    The scan field is emptied for the next scan (a scanner types after what is there)."""
    db.session.rollback()
    scanned = (form.code.data or "").strip()
    form.code.raw_data, form.code.data = [], ""
    if show_at(form, ("code", "lot"), error):
        return dose_page(site, sites, person, form, 422, scanned=scanned)
    return dose_page(site, sites, person, form, 422, form_error=error.message, scanned=scanned)


def chosen_lot(form):
    """``(lot, "code" or "lot")``: the lot of the scanned pack, or the one chosen in the list (both must agree)."""
    code, chosen = (form.code.data or "").strip(), (form.lot.data or "").strip()
    if not code and not chosen:
        raise ServiceError(_("Scan the pack, or choose the lot in the list."), "code", "required")
    listed = None
    if chosen:
        listed = db.session.get(Lot, int(chosen)) if chosen.isdigit() else None
        if listed is None:
            raise ServiceError(_("Choose one of the options in the list."), "lot", "unknown_lot")
    if not code:
        return listed, "lot"
    lot = lots.lot_from_scan(code)
    if listed is not None and listed.id != lot.id:
        raise ServiceError(_("The pack scanned is lot %(scanned)s, but lot %(chosen)s is chosen in the list: "
                             "keep one of them.", scanned=lot.lot_number, chosen=listed.lot_number), "code",
                           "lot_disagrees")
    return lot, "code"
