"""Pages about one person: find them (``/persons``), see their details, doses (corrected ones marked) and
certificate (``/persons/<id>``), edit them (``/persons/<id>/edit``), fold a duplicate record into theirs
(``/persons/<id>/merge``) and cancel a wrongly recorded injection (``POST /injections/<id>/correct``).

Thin over ``people`` and ``services``, on the registration page's blueprint. Reading is for site staff,
warehouse managers and viewers (as ``GET /api/v1/persons``); writing is for site staff, the registrars, whose
role held at a district or province store makes them that area's officers. People belong to no location but
injections do: one at a site outside the user's locations is a 404 and shows no correction form. ID and phone
numbers show their last digits only, as on the registration page; the edit form holds them whole. Every POST
carries CSRF; a refused one writes nothing and shows the service's message next to the field it names.
"""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField, StringField

from core.access import location_scope, roles_required
from core.db import db
from core.roles import SITE_STAFF, VIEWER, WAREHOUSE_MANAGER
from core.service_errors import ServiceError
from modules.injection import people, services
from modules.injection.forms import PersonForm, SearchForm, too_long
from modules.injection.models import BACKLOG, LIVE, Injection, Person
from modules.injection.views import (
    PERSON_FIELDS,
    REGISTRARS,
    bp,
    field_errors,
    found_page,
    is_id,
    person_or_404,
    remember_found,
    show_at,
    visible_or_404,
)

READERS = (SITE_STAFF, WAREHOUSE_MANAGER, VIEWER)  # those who look people up through the API, integrators aside
EDITORS = REGISTRARS
REASON_LENGTH = 500
MAX_SEARCH_PAGES = people.MAX_SEARCH_MATCHES // people.SEARCH_LIMIT
SOURCE_LABELS = {LIVE: _l("Live"), BACKLOG: _l("Backlog import")}


class CorrectionForm(FlaskForm):
    """Why an injection is cancelled; the reason's length and presence are checked by ``services.correct``."""

    reason = StringField(_l("Reason for cancelling"), validators=[too_long(REASON_LENGTH)])


class MergeForm(FlaskForm):
    """The duplicate record to fold into the one whose page this is."""

    duplicate = HiddenField()


@bp.context_processor
def person_labels():
    return {"source_labels": SOURCE_LABELS}


# --- Finding and showing ---------------------------------------------------------------------------

@bp.route("/persons")
@roles_required(*READERS)
def persons():
    number = request.args.get("page", 1, type=int)
    number = number if 1 <= number <= MAX_SEARCH_PAGES else 1
    form, text, found, more = searched(offset=(number - 1) * people.SEARCH_LIMIT)

    def link(to):
        return url_for(".persons", q=text, page=to) if found is not None and to >= 1 else None

    return render_template("injection/persons.html", search=form, text=text, found=found,
                           previous_url=link(number - 1),
                           next_url=link(number + 1) if more and number < MAX_SEARCH_PAGES else None)


def searched(leave_out=None, offset=0):
    """The search of ``?q=`` from its ``offset``-th match: ``(form, text, [(person, certificate)], whether more
    matches follow)``, the list ``None`` when nothing was asked (or the text is too long); ``leave_out``: a
    person id not to list."""
    form = SearchForm(formdata=request.args)
    form.validate()
    text = (form.q.data or "").strip()
    if not text or form.q.errors:
        return form, text, None, False
    matches, more = found_page(text, offset)
    matches = [person for person in matches if person.id != leave_out]
    certificates = services.certificates_of(matches)
    return form, text, [(person, certificates[person.id]) for person in matches], more


@bp.route("/persons/<person_id>")
@roles_required(*READERS)
def person(person_id):
    found = person_or_404(person_id)
    if found.id != int(person_id):
        return merged_into(person_id, found, ".person")
    return person_page(found)


def merged_into(person_id, kept, endpoint):
    """A merged record's pages lead to the record kept, saying so."""
    flash(_("Record %(old)s was merged into this one.", old=person_id), "info")
    return redirect(url_for(endpoint, person_id=kept.id))


def person_page(person, status=200, refused=None):
    """The person's page; ``refused``: ``(injection id, form)`` of a correction to show again with its error.
    ID and phone numbers show their last digits (a busy site's screen is read over shoulders); ``?numbers=whole``
    shows them whole to those who may read them."""
    may_read = may_read_whole_numbers(person)
    return render_template("injection/person.html", person=person, rows=record_rows(person, refused),
                           certificate=services.certificate_of(person), may_edit=current_user.has_role(*EDITORS),
                           may_read_whole_numbers=may_read,
                           whole_numbers=may_read and request.args.get("numbers") == "whole"), status


def may_read_whole_numbers(person):
    return services.reads_whole_numbers(person, current_user, location_scope(current_user),
                                        registrar=current_user.has_role(*REGISTRARS))


def record_rows(person, refused):
    """``(injection, correction or None, correction form or None)`` per dose: a form only for a registrar,
    on a dose not yet corrected, given at one of their sites."""
    scope = location_scope(current_user)
    may_edit = current_user.has_role(*EDITORS)
    rows = []
    for injection, correction in services.record_of(person):
        form = None
        if may_edit and correction is None and injection.site_id in scope:
            form = refused[1] if refused and refused[0] == injection.id else correction_form(injection, None)
        rows.append((injection, correction, form))
    return rows


def correction_form(injection, formdata):
    # One form per row: the prefix keeps their fields' ids apart.
    return CorrectionForm(formdata=formdata, prefix=f"correct-{injection.id}")


# --- Editing ---------------------------------------------------------------------------------------

@bp.route("/persons/<person_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_person(person_id):
    person = person_or_404(person_id)
    if person.id != int(person_id):
        return merged_into(person_id, person, ".edit_person")
    if request.method == "GET":
        return edit_page(person, PersonForm(formdata=None, data=form_data(person)))
    form = PersonForm()
    form.validate_on_submit()
    if field_errors(form) or form.errors:
        return edit_page(person, form, 422)
    data = edited(person, form)
    try:
        people.update_person(person, data, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        twin = people.duplicate_of(people.cleaned(data)[0]) if error.code == "duplicate_person" else None
        remember_found([twin] if twin is not None else [])  # offered for a merge: its record must open
        shown = show_at(form, PERSON_FIELDS, error)
        return edit_page(person, form, 422, form_error=None if shown else error.message, twin=twin)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for(".person", person_id=person.id))


def edit_page(person, form, status=200, form_error=None, twin=None):
    return render_template("injection/person_edit.html", person=person, person_form=form, form_error=form_error,
                           twin=twin, editing=True), status


def form_data(person):
    return {"full_name": person.full_name, "gender": person.gender, "date_of_birth": person.date_of_birth,
            "national_id": person.national_id or "", "phone": person.phone or "", "address": person.address}


def edited(person, form):
    """What the form says, with what it does not show (insurance, ethnicity...) kept as recorded."""
    return people.PersonData(
        full_name=form.full_name.data, gender=form.gender.data, date_of_birth=form.date_of_birth.data,
        national_id=form.national_id.data, phone=form.phone.data, address=form.address.data or "",
        insurance_number=person.insurance_number, ethnicity=person.ethnicity, nationality=person.nationality,
        admin_unit_code=person.admin_unit_code)


# --- Merging ---------------------------------------------------------------------------------------

@bp.route("/persons/<person_id>/merge", methods=["GET", "POST"])
@roles_required(*EDITORS)
def merge_person(person_id):
    if request.method == "POST":
        return save_merge(record_or_404(person_id))  # exactly these records: the service refuses merged ones
    keep = person_or_404(person_id)
    if keep.id != int(person_id):
        return merged_into(person_id, keep, ".merge_person")
    if request.args.get("duplicate"):
        duplicate = record_or_404(request.args["duplicate"])
        return merge_page(keep, duplicate, MergeForm(formdata=None, data={"duplicate": str(duplicate.id)}))
    form, text, found, _more = searched(leave_out=keep.id)
    candidates = [(person, certificate, services.history(person)) for person, certificate in found or []]
    return render_template("injection/person_merge.html", keep=keep, keep_doses=services.history(keep),
                           duplicate=None, search=form, text=text, found=found, candidates=candidates)


def merge_page(keep, duplicate, form, status=200, form_error=None):
    """The two records side by side, and the button that merges them."""
    return render_template("injection/person_merge.html", keep=keep, keep_doses=services.history(keep),
                           duplicate=duplicate, duplicate_doses=services.history(duplicate), form=form,
                           form_error=form_error), status


def save_merge(keep):
    form = MergeForm()
    if not form.validate_on_submit():
        abort(400)
    duplicate = record_or_404(form.duplicate.data)
    try:
        people.merge(keep, duplicate, user=current_user)
    except ServiceError as error:
        db.session.rollback()
        return merge_page(keep, duplicate, form, error.status, form_error=error.message)
    message = _("Record %(old)s (%(name)s) was merged into this one: its doses count here.", old=duplicate.id,
                name=duplicate.full_name)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".person", person_id=keep.id))


def record_or_404(value):
    """The person recorded with this id, not followed to the record it may have been merged into."""
    found = db.session.get(Person, int(value)) if is_id(value) else None
    if found is None:
        abort(404)
    return visible_or_404(found)


# --- Correcting ------------------------------------------------------------------------------------

@bp.route("/injections/<injection_id>/correct", methods=["POST"])
@roles_required(*EDITORS)
def correct_injection(injection_id):
    injection = injection_in_scope(injection_id)
    person = people.get_person(injection.person_id)
    form = correction_form(injection, request.form)
    if not form.validate_on_submit():
        return person_page(person, 422, refused=(injection.id, form))
    message = corrected_message(injection)
    try:
        services.correct(injection, form.reason.data, user=current_user)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        if not show_at(form, ("reason",), error):
            flash(error.message, "error")
        return person_page(person, error.status, refused=(injection.id, form))
    except IntegrityError:  # a colleague corrected it in the same instant: the database kept theirs
        db.session.rollback()
        flash(_("This injection has already been corrected."), "error")
        return person_page(person, 409)
    flash(message, "success")
    return redirect(url_for(".person", person_id=person.id))


def injection_in_scope(value):
    """The injection, if given at one of the user's sites; otherwise as unknown as a wrong id."""
    injection = db.session.get(Injection, int(value)) if is_id(value) else None
    if injection is None or injection.site_id not in location_scope(current_user):
        abort(404)
    return injection


def corrected_message(injection):
    day = injection.injected_on.strftime("%d/%m/%Y")
    if injection.move_id is not None:
        return _("Dose %(n)s of %(day)s cancelled: its dose of lot %(lot)s is back in the stock of %(site)s.",
                 n=injection.dose_number, day=day, lot=injection.lot.lot_number, site=injection.site.name)
    return _("Dose %(n)s of %(day)s cancelled (a backlog record: no stock moves).", n=injection.dose_number,
             day=day)
