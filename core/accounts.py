"""User accounts: creation, password checks and changes. Services: no request, callable from anywhere."""
import re

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit, passwords, roles
from core.db import db, utcnow
from core.models import User
from core.service_errors import ServiceError

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
LOCALES = ("vi", "en")


class AccountError(ServiceError):
    """Bad input for an account operation; ``field`` names the input at fault."""


def normalise_username(username):
    return (username or "").strip().lower()


def create_user(username, password, role, full_name="", locale=None, actor=None):
    """Create a user after checking every field; adds to the session and audits, the caller commits."""
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise AccountError(
            _("The username must be 2–64 characters: lowercase letters, digits, dot, dash or underscore."),
            "username",
        )
    if role not in roles.ALL:
        raise AccountError(_("Unknown role %(role)s.", role=role), "role")
    if locale is not None and locale not in LOCALES:
        raise AccountError(_("Unknown language %(lang)s.", lang=locale), "locale")
    problems = passwords.policy_problems(password, username)
    if problems:
        raise AccountError(" ".join(problems), "password")
    if find_user(username) is not None:
        raise AccountError(_("The username %(name)s is already taken.", name=username), "username")
    user = User(
        username=username,
        full_name=" ".join((full_name or "").split()),
        password_hash=passwords.hash_password(password),
        role=role,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, user=actor, details={"username": username, "role": role})
    return user


def find_user(username):
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


def authenticate(username, password):
    """The active user with this username and password, or None — never saying which part was wrong."""
    user = find_user(username)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def change_password(user, current_password, new_password):
    if not passwords.verify_password(user.password_hash, current_password):
        raise AccountError(_("The current password is not correct."), "current_password")
    set_password(user, new_password, actor=user)


def set_password(user, new_password, actor=None):
    problems = passwords.policy_problems(new_password, user.username)
    if problems:
        raise AccountError(" ".join(problems), "new_password")
    user.password_hash = passwords.hash_password(new_password)
    audit.record("user.password_change", user, user=actor)


def set_locale(user, locale):
    if locale not in LOCALES:
        raise AccountError(_("Unknown language %(lang)s.", lang=locale), "locale")
    if user.locale != locale:
        user.locale = locale
        audit.record("user.locale", user, user=user, details={"locale": locale})


def set_active(user, active, actor=None):
    if user.active != active:
        user.active = active
        audit.record("user.activate" if active else "user.deactivate", user, user=actor)


def mark_login(user):
    user.last_login_at = utcnow()
