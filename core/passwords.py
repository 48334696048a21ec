"""Password hashing (argon2id) and the password policy."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

MIN_LENGTH = 10

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
# Verified against when the username does not exist, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such user: dummy password")


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """True if ``password`` matches; a missing hash still spends the time of a real check."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return _hasher.check_needs_rehash(password_hash)


def policy_problems(password, username=""):
    """What is wrong with a new password, as translated sentences (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("The password must have at least %(n)d characters.", n=MIN_LENGTH))
    if len(set(password)) < 4:
        problems.append(_("The password must not repeat the same few characters."))
    if username and username.lower() in password.lower():
        problems.append(_("The password must not contain the username."))
    if password.isdigit():
        problems.append(_("The password must not be digits only."))
    return problems
