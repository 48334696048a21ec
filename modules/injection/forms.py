"""Forms of the registration page, in our own words (WTForms ships no Vietnamese catalog).

The person's fields carry the names the identity checks give their errors (``full_name``, ``gender``,
``date_of_birth``, ``national_id``, ``phone``, ``address``), so a service error lands next to its field.
The search is read from the query string (no CSRF); the person and dose forms are POSTed with CSRF.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from modules.injection.models import FEMALE, MALE
from modules.injection.people import MAX_ADDRESS
from modules.warehouse.forms import ChoiceField, DayField, FilterForm

SEARCH_LENGTH = 120
SCAN_LENGTH = 200  # longer than any pack's GS1 string; the lots module says what is wrong with it
GENDER_LABELS = {MALE: _l("Male"), FEMALE: _l("Female")}
PERSON, DOSE = "person", "dose"  # which form a POST to /register carries


def too_long(n):
    return Length(max=n, message=_l("At most %(n)d characters.", n=n))


class SearchForm(FilterForm):
    site = HiddenField()
    q = StringField(_l("ID number, phone or name"), validators=[too_long(SEARCH_LENGTH)])


class PersonForm(FlaskForm):
    """A new person. Required fields and formats are checked by ``people``, which names the field."""

    step = HiddenField(default=PERSON)
    site = HiddenField()
    full_name = StringField(_l("Full name"), validators=[too_long(SEARCH_LENGTH)])
    gender = ChoiceField(_l("Gender"))
    date_of_birth = DayField(_l("Date of birth (dd/mm/yyyy)"))
    national_id = StringField(_l("CCCD / CMND number"), validators=[too_long(20)])
    phone = StringField(_l("Mobile phone"), validators=[too_long(20)])
    address = StringField(_l("Address"), validators=[too_long(MAX_ADDRESS)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gender.choices = [("", _l("Choose…"))] + [(key, label) for key, label in GENDER_LABELS.items()]


class DoseForm(FlaskForm):
    """The lot of the dose, scanned from its pack (``code``) or chosen from the site's stock (``lot``)."""

    step = HiddenField(default=DOSE)
    site = HiddenField()
    person = HiddenField()
    code = StringField(_l("Scan the pack"), validators=[too_long(SCAN_LENGTH)])
    lot = ChoiceField(_l("or choose the lot"), strict=False)


class CloseSessionForm(FlaskForm):
    """The button that ends the day's session at a site: only the CSRF token."""
