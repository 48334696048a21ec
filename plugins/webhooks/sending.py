"""One signed POST, following the Standard Webhooks specification (https://www.standardwebhooks.com/).

The signature is HMAC-SHA256, keyed with the endpoint's secret (base64 after ``whsec_``), of
``"<webhook-id>.<webhook-timestamp>.<body>"``, sent as ``webhook-signature: v1,<base64>``.
"""
import base64
import hashlib
import hmac
import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

USER_AGENT = "vaxchain-webhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    http_status: int | None  # None when no answer came
    error: str | None  # why no answer came (timeout, connection refused...)
    duration_ms: int

    @property
    def delivered(self):
        return self.http_status is not None and 200 <= self.http_status < 300


def signature(key, message_id, timestamp, body):
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def post(endpoint, message_id, body, timestamp=None):
    """POST ``body`` (bytes, JSON) to ``endpoint``, signed; the answer's status or the reason for none.
    Redirects are not followed: the spec treats them as failures (the URL should be updated instead)."""
    timestamp = str(int(time.time() if timestamp is None else timestamp))
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, "webhook-id": message_id,
        "webhook-timestamp": timestamp, "webhook-signature": signature(endpoint.key, message_id, timestamp, body)})
    started = time.monotonic()
    status, error = None, None
    try:
        with NO_REDIRECTS.open(request, timeout=endpoint.timeout) as response:
            status = response.status
    except urllib.error.HTTPError as answer:  # an answer all the same: 4xx, 5xx, or a 3xx not followed
        status = answer.code
        answer.close()
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as failure:  # timeouts: OSError
        error = describe(failure)
    return Outcome(status, error, round((time.monotonic() - started) * 1000))


def describe(failure):
    reason = failure.reason if isinstance(failure, urllib.error.URLError) else failure
    if isinstance(reason, TimeoutError):
        return "timeout"
    return f"{type(reason).__name__}: {reason}"[:200]


class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None  # urllib then raises the 3xx as an HTTPError


NO_REDIRECTS = urllib.request.build_opener(RefuseRedirects)
