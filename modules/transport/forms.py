"""Forms of the shipment pages, in our own words (WTForms ships no Vietnamese catalog).

Typed numbers and days reuse the warehouse's strict fields; every POST form carries a CSRF token.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from modules.transport.models import REJECTION_REASONS
from modules.warehouse.forms import (
    NOTE_LENGTH,
    NOTE_TOO_LONG,
    ChoiceField,
    DayField,
    FilterForm,
    Required,
    WholeNumberField,
)

MAX_LINES = 10
MAX_VIALS = 100_000
REASON_LABELS = {
    "damaged": _l("Damaged"),
    "vvm": _l("VVM stage 3–4"),
    "temperature": _l("Temperature"),
    "missing": _l("Missing"),
}
assert set(REASON_LABELS) == set(REJECTION_REASONS)


def too_long(n):
    return Length(max=n, message=_l("At most %(n)d characters.", n=n))


class ShipmentFilterForm(FilterForm):
    state = ChoiceField(_l("State"))
    location = ChoiceField(_l("Location"))


class TransportDetailsForm(FlaskForm):
    """How a shipment travels: given when it is created, filled in or corrected until it is dispatched."""

    planned_date = DayField(_l("Planned date (dd/mm/yyyy)"), validators=[Required()])
    vehicle = StringField(_l("Vehicle"), validators=[too_long(64)])
    driver = StringField(_l("Driver"), validators=[too_long(120)])
    cold_box = StringField(_l("Cold box or refrigerated truck"), validators=[too_long(64)])


class ShipmentForm(TransportDetailsForm):
    lines_error = None  # an error about the lines as a whole (shown above them)

    origin = ChoiceField(_l("From"), validators=[Required()], strict=False)
    destination = ChoiceField(_l("To"), validators=[Required()], strict=False)
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


def shipment_form(vaccine_choices, **kwargs):
    """A :class:`ShipmentForm` with ``MAX_LINES`` line rows, ``line_<i>_vaccine`` / ``line_<i>_vials``."""

    class Form_(ShipmentForm):
        pass

    for index in range(MAX_LINES):
        setattr(Form_, f"line_{index}_vaccine", ChoiceField(_l("Vaccine")))
        setattr(Form_, f"line_{index}_vials", WholeNumberField(_l("Vials"), maximum=MAX_VIALS))
    form = Form_(**kwargs)
    for index in range(MAX_LINES):
        form[f"line_{index}_vaccine"].choices = vaccine_choices
    return form


def line_rows(form):
    """``[(vaccine field, vials field)]`` of the form's rows, in order."""
    return [(form[f"line_{index}_vaccine"], form[f"line_{index}_vials"]) for index in range(MAX_LINES)]


class ActionForm(FlaskForm):
    """A button that changes a shipment (dispatch, cancel): only the CSRF token."""


class TemperatureForm(FlaskForm):
    file = FileField(_l("Data-logger file"))


class RepickForm(FlaskForm):
    """A pack scanned at the origin and the doses taken from its lot, replacing picked lots."""

    code = StringField(_l("Scan a pack"), validators=[Required()])
    doses = WholeNumberField(_l("Doses"), validators=[Required()])


class ScanForm(FilterForm):
    number = StringField(_l("Shipment number"), validators=[too_long(32)])


class ReceiveForm(FlaskForm):
    """One row per shipped line, ``accepted_<id>``, ``rejected_<id>``, ``reason_<id>``, ``vvm_<id>``."""

    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


def receive_form(lines, **kwargs):
    class Form_(ReceiveForm):
        pass

    for line in lines:
        setattr(Form_, f"accepted_{line.id}", WholeNumberField(_l("Accepted doses"), minimum=0,
                                                               default=line.doses))
        setattr(Form_, f"rejected_{line.id}", WholeNumberField(_l("Rejected doses"), minimum=0, default=0))
        setattr(Form_, f"reason_{line.id}", ChoiceField(_l("Reason")))
        setattr(Form_, f"vvm_{line.id}", ChoiceField(_l("VVM stage")))
    form = Form_(**kwargs)
    for line in lines:
        form[f"reason_{line.id}"].choices = [("", "—")] + [(key, str(label)) for key, label in REASON_LABELS.items()]
        form[f"vvm_{line.id}"].choices = [("", "—")] + [(str(stage), str(stage)) for stage in (1, 2, 3, 4)]
    return form


def receive_rows(form, lines):
    """``[(line, accepted, rejected, reason, vvm)]`` fields of each shipped line."""
    return [(line, form[f"accepted_{line.id}"], form[f"rejected_{line.id}"], form[f"reason_{line.id}"],
             form[f"vvm_{line.id}"]) for line in lines]
