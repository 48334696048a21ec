"""Forms of the warehouse pages. WTForms ships no Vietnamese catalog: every message here is ours.

Numbers and dates are typed by people, so they get fields that parse them strictly and say what is
expected (``WholeNumberField``, ``DayField``); selects check their choices with our own message.
Filter forms are read from the query string and carry no CSRF token; every POST form does.
"""
import re
from datetime import date

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from core.forms import REQUIRED
from modules.warehouse.ledger import MAX_DOSES_PER_MOVE

DAY_PATTERN = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# digits, optionally grouped by thousands with a dot, comma or space as people write "1.200"
NUMBER_PATTERN = re.compile(r"\d+|\d{1,3}(?:([., \u00a0])\d{3})(?:\1\d{3})*")
VIALS, DOSES = "vials", "doses"
UNIT_CHOICES = [SelectChoice(VIALS, _l("vials")), SelectChoice(DOSES, _l("doses"))]
NOTE_LENGTH = 500
NOTE_TOO_LONG = _l("At most %(n)d characters.", n=NOTE_LENGTH)


class TypedTextField(StringField):
    """Text a person types that the field turns into a value in ``pre_validate`` (``parse``); what
    was typed is shown back unchanged when the form comes back with an error."""

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        self.data = None
        self.text = valuelist[0].strip() if valuelist and valuelist[0] else ""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else self.show(self.data)

    def show(self, value):
        return str(value)

    def pre_validate(self, form):
        text = getattr(self, "text", "")
        if text:
            self.data = self.parse(text)


class WholeNumberField(TypedTextField):
    """A whole number from ``minimum`` to ``maximum``; ``data`` is an ``int``, or ``None`` when empty."""

    def __init__(self, label=None, validators=None, minimum=1, maximum=MAX_DOSES_PER_MOVE, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def parse(self, text):
        if not NUMBER_PATTERN.fullmatch(text):
            raise StopValidation(_l("Enter a whole number, without a unit."))
        value = int(re.sub(r"\D", "", text))
        if not self.minimum <= value <= self.maximum:
            raise StopValidation(_("Enter a whole number from %(low)s to %(high)s.",
                                   low=format_decimal(self.minimum), high=format_decimal(self.maximum)))
        return value


class DayField(TypedTextField):
    """A day typed as dd/mm/yyyy (the form Vietnamese documents use); ``data`` is a ``date`` or ``None``."""

    def show(self, value):
        return value.strftime("%d/%m/%Y")

    def parse(self, text):
        value = parse_day(text)
        if value is None:
            raise StopValidation(_l("Enter the date as dd/mm/yyyy, for example 31/12/2025."))
        return value


def parse_day(text):
    """``date`` from "dd/mm/yyyy" (day and month may have one digit), or ``None`` if it is not one."""
    found = DAY_PATTERN.fullmatch((text or "").strip())
    if not found:
        return None
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


class ChoiceField(SelectField):
    """A select whose choices the view fills in as ``(value, label)`` pairs; a value outside them is
    refused in our words. ``strict=False`` leaves the check to the view (a location or lot the user
    may not see must answer 404 with the service's message, not "choose from the list")."""

    def __init__(self, label=None, validators=None, strict=True, **kwargs):
        self.strict = strict
        super().__init__(label, validators, validate_choice=False, **kwargs)

    choices = property(SelectField.choices.fget,
                       lambda self, pairs: SelectField.choices.fset(self, options(pairs)))

    def pre_validate(self, form):
        if not self.strict or self.data in (None, ""):
            return
        if str(self.data) not in {str(choice.value) for choice in self.iter_choices()}:
            raise StopValidation(_l("Choose one of the options in the list."))


def options(pairs):
    """``(value, label)`` pairs as the ``SelectChoice`` objects WTForms wants."""
    if pairs is None or callable(pairs):
        return pairs
    return [pair if isinstance(pair, SelectChoice) else SelectChoice(*pair) for pair in pairs]


class Required(DataRequired):
    """Required, in our words (a field left empty or a select on its blank option)."""

    def __init__(self):
        super().__init__(REQUIRED)

    def __call__(self, form, field):
        if field.data in (None, "") or (isinstance(field.data, str) and not field.data.strip()):
            field.errors[:] = []
            raise StopValidation(self.message)


class FilterForm(FlaskForm):
    """A form read from the query string (GET): no CSRF token, nothing is written."""

    class Meta:
        csrf = False


class StockFilterForm(FilterForm):
    filtered = HiddenField(default="1")
    location = ChoiceField(_l("Location"))
    vaccine = ChoiceField(_l("Vaccine"))
    sub = BooleanField(_l("Include sub-locations"), default=True)
    blocked = BooleanField(_l("Blocked or expired lots only"))


class MovesFilterForm(FilterForm):
    location = ChoiceField(_l("Location"))
    lot = StringField(_l("Lot number"), validators=[Optional(), Length(max=40, message=_l(
        "At most %(n)d characters.", n=40))])
    kind = ChoiceField(_l("Kind of move"))
    since = DayField(_l("From (dd/mm/yyyy)"))
    until = DayField(_l("To (dd/mm/yyyy)"))

    def validate_until(self, field):
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))


class TransferForm(FlaskForm):
    source = HiddenField()
    destination = ChoiceField(_l("To"), validators=[Required()], strict=False)
    lot = ChoiceField(_l("Lot"), validators=[Required()], strict=False)
    quantity = WholeNumberField(_l("Quantity"), validators=[Required()])
    unit = ChoiceField(_l("Unit"), choices=UNIT_CHOICES, default=VIALS)
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


class FefoForm(FilterForm):
    source = HiddenField()
    vaccine = ChoiceField(_l("Vaccine"), validators=[Required()])
    need = WholeNumberField(_l("Quantity needed"), validators=[Required()])
    need_unit = ChoiceField(_l("Unit"), choices=UNIT_CHOICES, default=VIALS)


class AdjustForm(FlaskForm):
    location = HiddenField()
    lot = ChoiceField(_l("Lot"), validators=[Required()], strict=False)
    reason = ChoiceField(_l("Reason"), validators=[Required()])
    quantity = WholeNumberField(_l("Quantity"), validators=[Required()])
    unit = ChoiceField(_l("Unit"), choices=UNIT_CHOICES, default=VIALS)
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


class CountForm(FlaskForm):
    """The counted quantity of each lot on hand: one ``lot_<id>`` field per lot, added by :func:`count_form`."""

    unit = ChoiceField(_l("Counted in"), choices=UNIT_CHOICES, default=VIALS)
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])

    def lot_fields(self):
        return [(int(name.removeprefix("lot_")), field) for name, field in self._fields.items()
                if name.startswith("lot_")]


def count_form(lot_ids, **kwargs):
    """A :class:`CountForm` with an optional whole-number field (0 allowed) for each of ``lot_ids``."""

    class Form(CountForm):
        pass

    for lot_id in lot_ids:
        setattr(Form, f"lot_{lot_id}", WholeNumberField(_l("Counted"), minimum=0))
    return Form(**kwargs)


class LotStatusForm(FlaskForm):
    status = ChoiceField(_l("New status"), validators=[Required()])
    reason = TextAreaField(_l("Reason"), validators=[Required(), Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


class RecallForm(FlaskForm):
    recall_reason = TextAreaField(_l("Reason for the recall"), validators=[
        Required(), Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


class HoldReleaseForm(FlaskForm):
    """Release one hold on the lot page. Made with ``prefix=hold_prefix(hold id)``: a page shows one per hold,
    and the status form next to them has a ``reason`` of its own."""

    reason = StringField(_l("Reason for the release"), validators=[
        Required(), Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


def hold_prefix(hold_id):
    return f"hold-{hold_id}"
