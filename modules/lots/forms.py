"""Forms of the catalogue and lots pages. WTForms ships no Vietnamese catalog: every message is ours.

The forms only turn text into values (whole numbers, a list of GTINs, a list of intervals); the rules
(ranges, check digits, a GTIN already used) are checked by ``modules.lots.services``, whose errors
the view shows next to the field they name.
"""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, StopValidation, ValidationError

from core.forms import REQUIRED
from modules.lots.labels import STATUS_LABELS
from modules.lots.models import STATUSES
from modules.lots.services import PresentationData

WHOLE_NUMBER = _l("Enter a whole number.")
EXPIRED = "expired"  # a status filter: the expiry date has passed, whatever the stored status
MAX_EXPIRING_WITHIN_DAYS = 3650
_INTERVAL_SEPARATORS = re.compile(r"[,;\s]+")


def whole_number(label, required=True, extra=(), **kwargs):
    validators = [InputRequired(REQUIRED) if required else Optional(), stop_if_not_a_number, *extra]
    return IntegerField(label, validators=validators, invalid_value_message=WHOLE_NUMBER, **kwargs)


def stop_if_not_a_number(form, field):
    """Text that is not a number gets "Enter a whole number." alone, not a range error on top."""
    if field.process_errors:
        raise StopValidation()


class PresentationForm(FlaskForm):
    """Add or edit a vaccine presentation. Field names are those of ``PresentationData``, so that a
    ``ServiceError`` naming a field lands next to it."""

    code = StringField(_l("Code"), validators=[InputRequired(REQUIRED)],
                       description=_l("Short and unique, in capitals, e.g. VEROCELL."))
    name = StringField(_l("Name"), validators=[InputRequired(REQUIRED)])
    manufacturer = StringField(_l("Manufacturer"))
    gtins = TextAreaField(_l("GTINs"), render_kw={"rows": 3},
                          description=_l("One per line, as printed on the packs; 8, 12 or 13 digits are "
                                         "completed to 14 with zeros in front."))
    doses_per_vial = whole_number(_l("Doses per vial"))
    storage_min_c = whole_number(_l("Lowest storage temperature (°C)"))
    storage_max_c = whole_number(_l("Highest storage temperature (°C)"))
    freeze_sensitive = BooleanField(_l("Damaged by freezing"))
    hours_after_opening = whole_number(_l("Hours usable after opening"), required=False,
                                       description=_l("Leave empty for a single-dose vial."))
    series_length = whole_number(_l("Doses in the primary series"))
    min_interval_days = StringField(_l("Minimum intervals (days)"),
                                    description=_l("One per dose after the first, separated by commas, "
                                                   "e.g. 21 or 14, 14. Empty for a single-dose series."))
    active = BooleanField(_l("In use"), default=True)

    @classmethod
    def for_presentation(cls, presentation):
        """The form filled with ``presentation`` (edit page, first display)."""
        form = cls()
        if not form.is_submitted():
            form = cls(obj=presentation)
            form.gtins.data = "\n".join(gtin.gtin for gtin in presentation.gtins)
            form.min_interval_days.data = ", ".join(str(days) for days in presentation.min_interval_days or [])
        return form

    def validate_min_interval_days(self, field):
        try:
            intervals_of(field.data)
        except ValueError:
            raise ValidationError(_l("Give the intervals as whole numbers of days separated by commas.")) from None

    def to_data(self):
        return PresentationData(
            code=self.code.data.strip().upper(),
            name=" ".join(self.name.data.split()),
            manufacturer=" ".join((self.manufacturer.data or "").split()),
            doses_per_vial=self.doses_per_vial.data,
            storage_min_c=self.storage_min_c.data,
            storage_max_c=self.storage_max_c.data,
            freeze_sensitive=bool(self.freeze_sensitive.data),
            hours_after_opening=self.hours_after_opening.data,
            series_length=self.series_length.data,
            min_interval_days=intervals_of(self.min_interval_days.data),
            gtins=[line.strip() for line in (self.gtins.data or "").splitlines() if line.strip()],
            active=bool(self.active.data),
        )


def intervals_of(text):
    """"21" → [21]; "14, 14" → [14, 14]; "" → []. Raises ValueError on anything but whole numbers."""
    parts = [part for part in _INTERVAL_SEPARATORS.split((text or "").strip()) if part]
    if not all(part.isdigit() for part in parts):
        raise ValueError(text)
    return [int(part) for part in parts]


class LotFilterForm(FlaskForm):
    """The filters of the lots list, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    vaccine = SelectField(_l("Vaccine"), validate_choice=False)  # an unknown code simply matches nothing
    status = SelectField(_l("Status"), validate_choice=False)
    expiring_within = whole_number(_l("Expiring within (days)"), required=False, extra=[NumberRange(
        1, MAX_EXPIRING_WITHIN_DAYS, _l("Enter a number of days from %(min)d to %(max)d."))])
    lot = StringField(_l("Lot number"))

    def __init__(self, presentations, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.vaccine.choices = [("", _l("All vaccines"))] + [(p.code, p.name) for p in presentations]
        self.status.choices = ([("", _l("All statuses"))] + [(status, STATUS_LABELS[status]) for status in STATUSES]
                               + [(EXPIRED, _l("expired (date passed)"))])

    def validate_status(self, field):
        if field.data and field.data not in dict(field.choices):
            raise ValidationError(_l("Unknown status."))
