"""The endpoints, from the ``VAXCHAIN_WEBHOOKS`` setting: read and checked once, when the app starts.

The setting is a JSON list of ``{"url", "secret", "events", "timeout"}`` objects (README.md). A mistake stops
the start-up with a :class:`core.config.ConfigError` naming the entry, the field and the reason.
"""
import base64
import binascii
import json
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config import ConfigError

SETTING = "VAXCHAIN_WEBHOOKS"
INJECTION_REGISTERED = "injection.registered"
SHIPMENT_DISPATCHED = "shipment.dispatched"
SHIPMENT_RECEIVED = "shipment.received"
TEMPERATURE_EXCURSION = "shipment.temperature_excursion"
EVENTS = (INJECTION_REGISTERED, SHIPMENT_DISPATCHED, SHIPMENT_RECEIVED, TEMPERATURE_EXCURSION)
SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64  # Standard Webhooks: 192 to 512 bits
DEFAULT_TIMEOUT = 15  # seconds; the spec recommends 15 to 30
MAX_TIMEOUT = 30
KEYS = ("url", "secret", "events", "timeout")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")  # plain http is accepted to these only


@dataclass(frozen=True)
class Endpoint:
    url: str
    key: bytes  # the HMAC key: the secret's base64 decoded
    events: frozenset
    timeout: float


@dataclass(frozen=True)
class Webhooks:
    """The configured endpoints, and for each event type the URLs subscribed to it (what the event hooks ask,
    with no database work, on every registration)."""

    endpoints: tuple

    @property
    def urls(self):
        return frozenset(endpoint.url for endpoint in self.endpoints)

    def subscribers(self, event_type):
        return [endpoint.url for endpoint in self.endpoints if event_type in endpoint.events]


def from_config(config):
    """The :class:`Webhooks` of an app's ``config`` (an override given to ``create_app``), else of the
    environment; none configured when the setting is unset or empty."""
    raw = config.get(SETTING, os.environ.get(SETTING, ""))
    return Webhooks(parse(raw) if isinstance(raw, str) else check_endpoints(raw))


def parse(raw):
    if not raw.strip():
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{SETTING} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}; "
                          'expected a list like [{"url": "https://...", "secret": "whsec_...", '
                          '"events": ["injection.registered"]}]') from None
    return check_endpoints(value)


def check_endpoints(value):
    if not isinstance(value, list):
        raise ConfigError(f"{SETTING} must be a JSON list of endpoints, not {type(value).__name__}")
    endpoints, seen = [], {}
    for index, entry in enumerate(value):
        endpoint = check_endpoint(entry, f"{SETTING}[{index}]")
        if endpoint.url in seen:
            raise ConfigError(f"{SETTING}[{index}].url: {endpoint.url} is already the URL of "
                              f"{SETTING}[{seen[endpoint.url]}]; list each endpoint once with all its events")
        seen[endpoint.url] = index
        endpoints.append(endpoint)
    return tuple(endpoints)


def check_endpoint(entry, where):
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object with url, secret and events")
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(KEYS)})")
    for key in ("url", "secret", "events"):
        if key not in entry:
            raise ConfigError(f"{where}.{key} is missing")
    return Endpoint(check_url(entry["url"], f"{where}.url"), check_secret(entry["secret"], f"{where}.secret"),
                    check_events(entry["events"], f"{where}.events"),
                    check_timeout(entry.get("timeout", DEFAULT_TIMEOUT), f"{where}.timeout"))


def check_url(url, where):
    if not isinstance(url, str):
        raise ConfigError(f"{where} must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise ConfigError(f"{where}: {url!r} must start with https://")
    if not parts.hostname:
        raise ConfigError(f"{where}: {url!r} names no host")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(f"{where}: {url!r} uses plain http; use https:// (events carry people's ids), "
                          "http is accepted only to this machine (127.0.0.1, localhost)")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: {url!r} carries a user name or password; the signature authenticates us")
    if parts.fragment:
        raise ConfigError(f"{where}: {url!r} has a #fragment, which is never sent")
    return url


def check_secret(secret, where):
    example = ("make one with python3 -c \"import base64, secrets; "
               "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\"")
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ConfigError(f"{where} must be a string starting with {SECRET_PREFIX} ({example})")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: what follows {SECRET_PREFIX} is not base64 ({example})") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ConfigError(f"{where} is {len(key)} bytes long; it must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} "
                          f"random bytes ({example})")
    return key


def check_events(events, where):
    if not isinstance(events, list) or not events or not all(isinstance(event, str) for event in events):
        raise ConfigError(f"{where} must be a non-empty list of event names ({', '.join(EVENTS)})")
    for event in events:
        if event not in EVENTS:
            raise ConfigError(f"{where}: unknown event {event!r} (known: {', '.join(EVENTS)})")
    return frozenset(events)


def check_timeout(timeout, where):
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= MAX_TIMEOUT:
        raise ConfigError(f"{where} must be a number of seconds from 1 to {MAX_TIMEOUT}")
    return float(timeout)
