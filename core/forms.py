"""The core's forms. WTForms ships no Vietnamese catalog, so every validator gets our own message."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from core import roles
from core.accounts import LOCALES

REQUIRED = _l("This field is required.")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=256)])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(REQUIRED), Length(max=256)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(REQUIRED), EqualTo("new_password", _l("The two new passwords differ."))])


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LOCALES],
                       validate_choice=False)  # checked by the service, in our words
    next = HiddenField()


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), Length(max=64)])
    full_name = StringField(_l("Full name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=[SelectChoice(role, roles.LABELS[role]) for role in roles.ALL],
                       validate_choice=False)
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=256)])


class ConfirmForm(FlaskForm):
    """A form with nothing but the CSRF token, for buttons that change state (logout, deactivate)."""
