"""Signed certificate payloads: what the QR code of a vaccination certificate carries, checkable offline.

A payload is ``VXC1.<body>.<signature>``: ``body`` is the base64url (no padding) of a compact UTF-8 JSON object,
``signature`` the base64url of the Ed25519 signature of the ASCII text before the last dot (``VXC1.<body>``), so
the version prefix is signed too. docs/certificates.md describes the format for third parties, who need only our
public key (``public_key_pem()`` / ``public_key_raw()``) to check a certificate without calling us.

The key pair lives in the instance folder (``certificate_signing_key.pem``, PKCS#8, mode 0600), made on first use
the way ``core.config.instance_secret_key`` makes the secret key, and read once per app (kept on
``app.extensions``). The QR is shown in public, so the payload holds what the certificate prints about the person —
full name and date of birth, to be matched against an identity document — and never an ID or phone number.
"""
import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask_babel import gettext as _

from core.config import ConfigError

__all__ = ["PREFIX", "KEY_FILENAME", "STATUSES", "MAX_DOSES", "OK", "MALFORMED", "UNKNOWN_VERSION", "BAD_BASE64",
           "BAD_JSON", "UNKNOWN_KEY", "BAD_SIGNATURE", "SigningKeyError", "SigningKey", "Verification",
           "load_or_create_key", "signing_key", "init_app", "public_key_pem", "public_key_raw", "key_id", "sign",
           "verify", "public_key_from_raw", "public_key_from_pem"]

PREFIX = "VXC1"
KEY_FILENAME = "certificate_signing_key.pem"
EXTENSION = "vaxchain.certificate_signing_key"
STATUSES = ("none", "partial", "complete")  # encoded as their index: 0, 1, 2
MAX_DOSES = 12
MAX_NAME = 100
MAX_CODE = 32  # vaccine code and lot
MAX_DOSE_NUMBER = 20
MAX_PAYLOAD = 4096  # a QR code holds at most 2 953 bytes: anything longer is not ours, and is not decoded
KEYS = ("k", "t", "n", "b", "s", "d")

OK = "ok"
MALFORMED = "malformed"
UNKNOWN_VERSION = "unknown_version"
BAD_BASE64 = "bad_base64"
BAD_JSON = "bad_json"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"

VERSION = re.compile(r"VXC[0-9]+")
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def reason_message(code):
    """What a verifier shows for ``code``, in the current locale."""
    return {
        OK: _("The certificate is genuine: its signature is valid."),
        MALFORMED: _("This is not a vaccination certificate code."),
        UNKNOWN_VERSION: _("This certificate code has a format version this system does not know."),
        BAD_BASE64: _("The certificate code is damaged: it holds characters that do not belong in it."),
        BAD_JSON: _("The certificate code is damaged: its content cannot be read."),
        UNKNOWN_KEY: _("The certificate was signed with a key this system does not know."),
        BAD_SIGNATURE: _("The signature does not match: the certificate was altered or is not genuine."),
    }[code]


# --- the key pair -------------------------------------------------------------------------------------------------

class SigningKeyError(ConfigError):
    """The key file is unusable; the message names it and says how to fix it."""


def b64encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64decode(text):
    """Strict base64url without padding: ValueError for any other character, a padding ``=``, an impossible
    length or unused bits that are not zero (so each byte string has exactly one text)."""
    if not BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
    if b64encode(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def raw_public_bytes(public_key):
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key):
    """The key id: base64url of the first 8 bytes of SHA-256 of the raw 32-byte public key (11 characters)."""
    return b64encode(hashlib.sha256(raw_public_bytes(public_key)).digest()[:8])


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    path: Path | None = None

    @property
    def public_key(self):
        return self.private_key.public_key()

    @property
    def key_id(self):
        return key_id_of(self.public_key)

    def public_pem(self):
        """The public key as PEM (SubjectPublicKeyInfo), what OpenSSL and most libraries read."""
        return self.public_key.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def public_raw(self):
        """The raw 32-byte public key as base64url without padding (43 characters)."""
        return b64encode(raw_public_bytes(self.public_key))


def read_key(path):
    mode = path.stat().st_mode
    if mode & 0o077:
        raise SigningKeyError(f"{path} can be read by other users (mode {mode & 0o777:o}); "
                              f"run `chmod 600 {path}`")
    try:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key ({error}); restore it from a backup "
                              "— deleting it makes a new key, and certificates signed with the old one stop "
                              "verifying") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(private_key).__name__}, not an Ed25519 key")
    return SigningKey(private_key, path)


def load_or_create_key(instance_path):
    """The certificate key pair of the instance folder, made (mode 0600) if it has none yet.

    Several workers may start at once: each writes a complete key to its own temporary file (``mkstemp``:
    O_EXCL, 0600), then hard-links it to the final name, which fails if the name exists. The key file thus
    appears whole or not at all (an O_EXCL create of the final name would let another worker read it half
    written), and the loser reads the winner's key."""
    path = Path(instance_path) / KEY_FILENAME
    try:
        return read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    handle, temporary = tempfile.mkstemp(prefix=f".{KEY_FILENAME}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another worker linked its key first: use theirs
            return read_key(path)
    finally:
        os.unlink(temporary)
    return SigningKey(private_key, path)


def signing_key(app=None):
    """The app's key pair, read (or made) on first use and then kept on ``app.extensions``."""
    app = app if app is not None else current_app._get_current_object()
    key = app.extensions.get(EXTENSION)
    if key is None:
        key = app.extensions.setdefault(EXTENSION, load_or_create_key(app.instance_path))
    return key


def init_app(app):
    """Load the key at start-up, so that a broken key file stops the app before the first request."""
    signing_key(app)


def public_key_pem():
    return signing_key().public_pem()


def public_key_raw():
    return signing_key().public_raw()


def key_id():
    return signing_key().key_id


# --- the payload --------------------------------------------------------------------------------------------------

def clean_name(value):
    if not isinstance(value, str):
        raise ValueError(f"name must be a string, got {value!r}")
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"name must have 1 to {MAX_NAME} characters, got {value!r}")
    return name


def check_code(value, field):
    if (not isinstance(value, str) or not 1 <= len(value) <= MAX_CODE or value != value.strip()
            or not value.isprintable()):
        raise ValueError(f"{field} must be 1 to {MAX_CODE} printable characters, got {value!r}")
    return value


def check_date(value, field):
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValueError(f"{field} must be a date, got {value!r}")
    return value


def check_dose_number(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DOSE_NUMBER:
        raise ValueError(f"dose number must be a whole number from 1 to {MAX_DOSE_NUMBER}, got {value!r}")
    return value


def check_status(status, doses):
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    if (status == "none") != (not doses):
        raise ValueError(f"status {status!r} does not match {len(doses)} dose(s)")
    if len(doses) > MAX_DOSES:
        raise ValueError(f"a certificate carries at most {MAX_DOSES} doses, got {len(doses)}")
    return status


def compact(data, key_id, issued_at):
    """The JSON object of the payload, short keys in a fixed order, from ``sign``'s data."""
    doses = list(data.get("doses") or ())
    for dose in doses:
        if not isinstance(dose, Mapping):
            raise ValueError(f"each dose must be a mapping, got {dose!r}")
    if not isinstance(issued_at, datetime.datetime) or issued_at.utcoffset() is None:
        raise ValueError(f"issued_at must be a timezone-aware datetime, got {issued_at!r}")
    return {
        "k": key_id,
        "t": int(issued_at.timestamp()),
        "n": clean_name(data.get("name")),
        "b": check_date(data.get("birth_date"), "birth_date").isoformat(),
        "s": STATUSES.index(check_status(data.get("status"), doses)),
        "d": [[check_date(dose.get("date"), "dose date").isoformat(), check_code(dose.get("vaccine"), "vaccine"),
               check_code(dose.get("lot"), "lot"), check_dose_number(dose.get("dose"))] for dose in doses],
    }


def sign(data, *, key=None):
    """The signed payload for one certificate, the text its QR code carries.

    ``data``: ``name`` (full name as printed), ``birth_date`` (date), ``status`` (none | partial | complete),
    ``doses`` (a list of ``{"date": date, "vaccine": code, "lot": lot number, "dose": dose number}``, empty for
    none) and optionally ``issued_at`` (aware datetime; now by default). ``key`` defaults to the current app's.
    ValueError for data the format cannot carry."""
    if not isinstance(data, Mapping):
        raise ValueError(f"data must be a mapping, got {type(data).__name__}")
    key = key if key is not None else signing_key()
    issued_at = data.get("issued_at") or datetime.datetime.now(datetime.UTC)
    text = json.dumps(compact(data, key.key_id, issued_at), ensure_ascii=False, separators=(",", ":"))
    signed = f"{PREFIX}.{b64encode(text.encode('utf-8'))}"
    return f"{signed}.{b64encode(key.private_key.sign(signed.encode('ascii')))}"


@dataclass(frozen=True)
class Verification:
    """The outcome of ``verify``: ``reason_code`` is one of the module's constants (``ok`` when valid),
    ``message`` says it to a person in the current locale, ``data`` is the certificate when valid."""

    valid: bool
    reason_code: str
    message: str
    data: dict | None = None


def refused(code):
    return Verification(False, code, reason_message(code))


def verify(payload, *, public_keys=None):
    """Check a scanned payload. ``public_keys``: the Ed25519 public keys to trust (default: the current app's).

    Valid gives ``data``: ``name``, ``birth_date`` (date), ``status``, ``doses`` (as ``sign`` takes them),
    ``issued_at`` (aware UTC datetime), ``key_id``. Surrounding whitespace (a scanner's line end) is ignored."""
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
        return refused(MALFORMED)
    parts = payload.strip().split(".")
    if not VERSION.fullmatch(parts[0]):
        return refused(MALFORMED)
    if parts[0] != PREFIX:
        return refused(UNKNOWN_VERSION)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return refused(MALFORMED)
    try:
        body, signature = b64decode(parts[1]), b64decode(parts[2])
    except ValueError:
        return refused(BAD_BASE64)
    content = parse_json(body)
    if not isinstance(content, dict) or not isinstance(content.get("k"), str):
        return refused(BAD_JSON)
    trusted = {key_id_of(key): key for key in trusted_keys(public_keys)}
    if content["k"] not in trusted:
        return refused(UNKNOWN_KEY)
    try:
        trusted[content["k"]].verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature:
        return refused(BAD_SIGNATURE)
    data = expand(content)
    if data is None:
        return refused(BAD_JSON)
    return Verification(True, OK, reason_message(OK), data)


def trusted_keys(public_keys):
    if public_keys is None:
        return [signing_key().public_key]
    keys = [public_keys] if isinstance(public_keys, Ed25519PublicKey) else list(public_keys)
    for key in keys:
        if not isinstance(key, Ed25519PublicKey):
            raise TypeError(f"public_keys must hold Ed25519PublicKey objects, got {type(key).__name__}")
    return keys


def parse_json(body):
    """The JSON value of ``body`` (strict UTF-8; no duplicate keys, NaN or Infinity), None when unreadable."""
    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key")
        return dict(pairs)

    def no_constants(name):
        raise ValueError(f"{name} is not allowed")

    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def iso_date(text):
    if not isinstance(text, str) or not ISO_DATE.fullmatch(text):
        raise ValueError(f"not a yyyy-mm-dd date: {text!r}")
    return datetime.date.fromisoformat(text)


def expand(content):
    """``sign``'s data from the payload's JSON object, or None when it is not a version 1 certificate."""
    try:
        if sorted(content) != sorted(KEYS):
            raise ValueError("unexpected keys")
        issued = content["t"]
        if isinstance(issued, bool) or not isinstance(issued, int):
            raise ValueError("issue time")
        status = content["s"]
        if isinstance(status, bool) or status not in range(len(STATUSES)):
            raise ValueError("status")
        if not isinstance(content["d"], list):
            raise ValueError("doses")
        doses = []
        for dose in content["d"]:
            if not isinstance(dose, list) or len(dose) != 4:
                raise ValueError("dose")
            doses.append({"date": iso_date(dose[0]), "vaccine": check_code(dose[1], "vaccine"),
                          "lot": check_code(dose[2], "lot"), "dose": check_dose_number(dose[3])})
        return {"name": clean_name(content["n"]), "birth_date": iso_date(content["b"]),
                "status": check_status(STATUSES[status], doses), "doses": doses,
                "issued_at": datetime.datetime.fromtimestamp(issued, datetime.UTC), "key_id": content["k"]}
    except (ValueError, OverflowError, OSError):
        return None


def public_key_from_raw(text):
    """An Ed25519 public key from its raw base64url form (what ``public_key_raw`` exports)."""
    return Ed25519PublicKey.from_public_bytes(b64decode(text))


def public_key_from_pem(text):
    key = serialization.load_pem_public_key(text.encode("ascii") if isinstance(text, str) else text)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 public key: {type(key).__name__}")
    return key
