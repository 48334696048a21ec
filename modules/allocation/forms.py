"""Forms of the allocation pages (our own words: WTForms ships no Vietnamese catalog)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, TextAreaField
from wtforms.validators import Length

from modules.allocation.labels import STRATEGY_LABELS
from modules.allocation.models import POPULATION
from modules.allocation.services import MAX_LEAD_DAYS, MAX_PACK_VIALS
from modules.warehouse.forms import (
    NOTE_LENGTH,
    NOTE_TOO_LONG,
    ChoiceField,
    FilterForm,
    Required,
    WholeNumberField,
    options,
)


class SourceForm(FilterForm):
    """Step one: the store the doses leave from (its subtree gives the destinations offered)."""

    source = ChoiceField(_l("From store"))


class PlanForm(FlaskForm):
    destinations_error = None  # an error about the destinations as a whole (shown above them)

    source = ChoiceField(_l("From store"), validators=[Required()], strict=False)
    vaccine = ChoiceField(_l("Vaccine"), validators=[Required()])
    doses = WholeNumberField(_l("Doses to allocate"), validators=[Required()])
    strategy = ChoiceField(_l("Split"), validators=[Required()], default=POPULATION,
                           choices=options(STRATEGY_LABELS.items()))
    lead_days = WholeNumberField(_l("Lead days (lots expiring sooner are not sent)"), validators=[Required()],
                                 minimum=0, maximum=MAX_LEAD_DAYS, default=30)
    pack_vials = WholeNumberField(_l("Round to packs of (vials)"), validators=[Required()], minimum=1,
                                  maximum=MAX_PACK_VIALS, default=1)
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


def plan_form(places, **kwargs):
    """A :class:`PlanForm` with a tick box ``to_<id>`` and a doses field ``doses_<id>`` per offered place."""

    class Form_(PlanForm):
        pass

    for place in places:
        setattr(Form_, f"to_{place.id}", BooleanField(place.name))
        setattr(Form_, f"doses_{place.id}", WholeNumberField(_l("Doses")))
    return Form_(**kwargs)


def destination_rows(form, places):
    """``[(place, tick box, doses field)]`` in the order offered."""
    return [(place, form[f"to_{place.id}"], form[f"doses_{place.id}"]) for place in places]


class ActionForm(FlaskForm):
    """A button that changes a plan (approve, cancel): only the CSRF token."""


class TargetFileForm(FlaskForm):
    file = FileField(_l("Target populations file (CSV: code,population)"))
