"""The outbox: deliveries queued inside the change's transaction, sent later by the worker, retried on a schedule.

An event hook calls :func:`queue`, which writes one row per subscribed endpoint in one INSERT, or does nothing
at all (no statement) when no endpoint wants that event. The worker (:func:`deliver_due`) sends each endpoint's
deliveries one at a time, oldest first: a later event never overtakes an earlier one that is waiting for a
retry, so a receiver sees events in the order they happened (save those given up as failed).
"""
import itertools
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update

from core import audit
from core.db import db, utcnow
from core.paging import fetched_page
from core.service_errors import ConflictError
from plugins.webhooks import sending
from plugins.webhooks.models import DELIVERED, FAILED, PENDING, WebhooksAttempt, WebhooksDelivery

EXTENSION = "webhooks"  # app.extensions key of the endpoints read at start-up (settings.Webhooks)
# After attempt n fails, the next one waits RETRY_DELAYS[n - 1]; when they are spent, the delivery has failed
# (nine attempts over almost three days: 2 d 20 h 36 min).
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                timedelta(hours=6), timedelta(hours=12), timedelta(hours=24), timedelta(hours=24))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
GONE = 410  # the receiver wants no more: failed at once, not retried
LEASE_MARGIN = timedelta(seconds=60)  # claimed deliveries are left alone for their timeouts and this much
REMOVED_ENDPOINT = "endpoint no longer in VAXCHAIN_WEBHOOKS"
log = logging.getLogger(__name__)


def configured():
    """The endpoints read at start-up (plugins.webhooks.settings.Webhooks)."""
    return current_app.extensions[EXTENSION]


# --- Queueing, inside the event's transaction ---------------------------------------------------------

def queue(event_type, data_of):
    """Queue the event for every endpoint subscribed to ``event_type``; ``data_of()`` makes its ``data``, and is
    not called when nobody subscribed. Returns the number of deliveries queued."""
    urls = configured().subscribers(event_type)
    if not urls:
        return 0
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": event_type, "occurred_at": now.isoformat(), "data": data_of()},
                      ensure_ascii=False, separators=(",", ":"))
    db.session.execute(insert(WebhooksDelivery.__table__), [
        {"event_id": event_id, "event_type": event_type, "url": url, "body": body, "status": PENDING,
         "attempts": 0, "created_at": now, "next_attempt_at": now, "delivered_at": None} for url in urls])
    return len(urls)


# --- Sending, by the worker ------------------------------------------------------------------------------

@dataclass
class Report:
    delivered: int = 0
    retried: int = 0  # failed this time, tried again later
    failed: int = 0  # given up


@dataclass(frozen=True)
class Due:
    id: int
    event_id: str
    body: str
    attempts: int


BATCH = 50  # deliveries of one endpoint claimed, sent and recorded together (one commit, not three each)


def deliver_due(stop=lambda: False):
    """Send what is due, endpoint by endpoint, each oldest first, until nothing is due or ``stop()`` says so.
    No transaction stays open while a receiver answers."""
    report = Report()
    for endpoint in configured().endpoints:
        while not stop():
            batch = claim_due(endpoint)
            if not batch or not send(endpoint, batch, report, stop):
                break
    return report


def claim_due(endpoint):
    """The endpoint's oldest pending deliveries, up to :data:`BATCH` and up to the first one not yet due (the
    later ones wait behind it), claimed: their next attempt moves past the time sending them all may take, so
    that another worker leaves them alone. Empty if none is due or another worker claimed them first."""
    now = utcnow()
    rows = db.session.execute(
        select(WebhooksDelivery.id, WebhooksDelivery.event_id, WebhooksDelivery.body, WebhooksDelivery.attempts,
               WebhooksDelivery.next_attempt_at)
        .where(WebhooksDelivery.url == endpoint.url, WebhooksDelivery.status == PENDING)
        .order_by(WebhooksDelivery.id).limit(BATCH)).all()
    due = [Due(row.id, row.event_id, row.body, row.attempts)
           for row in itertools.takewhile(lambda row: row.next_attempt_at <= now, rows)]
    lease = now + timedelta(seconds=endpoint.timeout) * len(due) + LEASE_MARGIN
    taken = db.session.execute(
        update(WebhooksDelivery)
        .where(WebhooksDelivery.id.in_([delivery.id for delivery in due]), WebhooksDelivery.status == PENDING,
               WebhooksDelivery.next_attempt_at <= now)
        .values(next_attempt_at=lease).execution_options(synchronize_session=False)).rowcount if due else 0
    if taken != len(due):
        db.session.rollback()
        return []
    db.session.commit()
    return due


def send(endpoint, batch, report, stop):
    """POST the claimed deliveries in order, up to the first to be retried later (the rest wait behind it) or
    until ``stop()``; record the attempts made and give the others back. True if all were sent for good."""
    results = []
    for due in batch:
        if stop():
            break
        started = utcnow()
        outcome = sending.post(endpoint, due.event_id, due.body.encode("utf-8"))
        results.append((due, started, outcome))
        if verdict(due, outcome) == PENDING:
            break
    record(results, report)
    give_back(batch[len(results):])
    db.session.commit()
    return len(results) == len(batch) and all(verdict(due, outcome) != PENDING for due, _at, outcome in results)


def verdict(due, outcome):
    """The delivery's status after this attempt: delivered on a 2xx; failed on 410 Gone or when the schedule
    is spent; else pending, to be retried."""
    if outcome.delivered:
        return DELIVERED
    if outcome.http_status == GONE or due.attempts + 1 >= MAX_ATTEMPTS:
        return FAILED
    return PENDING


UPDATE_DELIVERY = (update(WebhooksDelivery.__table__).where(WebhooksDelivery.id == bindparam("delivery_id"))
                   .values(status=bindparam("new_status"), attempts=bindparam("new_attempts"),
                           next_attempt_at=bindparam("next_at"), delivered_at=bindparam("done_at")))


def record(results, report):
    """Log each attempt and set its delivery's status; one to retry waits the schedule's next delay."""
    changes, attempts = [], []
    for due, started, outcome in results:
        now, status = utcnow(), verdict(due, outcome)
        change = {"delivery_id": due.id, "new_status": status, "new_attempts": due.attempts + 1, "next_at": None,
                  "done_at": None}
        if status == DELIVERED:
            change["done_at"] = now
            report.delivered += 1
        elif status == FAILED:
            report.failed += 1
        else:
            change["next_at"] = now + RETRY_DELAYS[due.attempts]
            report.retried += 1
        changes.append(change)
        attempts.append({"delivery_id": due.id, "at": started, "http_status": outcome.http_status,
                         "error": outcome.error, "duration_ms": outcome.duration_ms})
    if changes:
        db.session.execute(UPDATE_DELIVERY, changes)
        db.session.execute(insert(WebhooksAttempt.__table__), attempts)


def give_back(deliveries):
    """Claimed deliveries not sent: due again at once (still behind the one that failed, if one did)."""
    if deliveries:
        db.session.execute(update(WebhooksDelivery).where(WebhooksDelivery.id.in_([d.id for d in deliveries]))
                           .values(next_attempt_at=utcnow()).execution_options(synchronize_session=False))


def fail_removed_endpoints():
    """Give up the pending deliveries to URLs no longer configured (their secret is gone), each logged as an
    attempt with the reason; returns how many. The worker does it as it starts: the endpoints are read then."""
    orphans = db.session.scalars(select(WebhooksDelivery.id).where(
        WebhooksDelivery.status == PENDING, WebhooksDelivery.url.not_in(list(configured().urls)))).all()
    if orphans:
        now = utcnow()
        db.session.execute(update(WebhooksDelivery).where(WebhooksDelivery.id.in_(orphans))
                           .values(status=FAILED, next_attempt_at=None).execution_options(synchronize_session=False))
        db.session.add_all(WebhooksAttempt(delivery_id=delivery_id, at=now, error=REMOVED_ENDPOINT, duration_ms=0)
                           for delivery_id in orphans)
        log.warning("webhooks: %d pending deliveries failed: %s", len(orphans), REMOVED_ENDPOINT)
    db.session.commit()
    return len(orphans)


# --- The delivery log, for the admin page ------------------------------------------------------------------

def deliveries_page(status, number, size, url_of):
    """Page ``number`` of the deliveries (of ``status``, or all), newest first; each row is
    ``(delivery, its last attempt or None)``."""
    query = select(WebhooksDelivery)
    if status:
        query = query.where(WebhooksDelivery.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))

    def fetch(start, count):
        rows = db.session.scalars(query.order_by(WebhooksDelivery.id.desc()).offset(start).limit(count)).all()
        last = last_attempts([row.id for row in rows])
        return [(row, last.get(row.id)) for row in rows]

    return fetched_page(total, fetch, number, size, url_of)


def last_attempts(delivery_ids):
    """``{delivery id: its newest attempt}`` in one query."""
    if not delivery_ids:
        return {}
    newest = (select(func.max(WebhooksAttempt.id)).where(WebhooksAttempt.delivery_id.in_(delivery_ids))
              .group_by(WebhooksAttempt.delivery_id))
    return {attempt.delivery_id: attempt
            for attempt in db.session.scalars(select(WebhooksAttempt).where(WebhooksAttempt.id.in_(newest)))}


def retry_now(delivery, user=None):
    """Put a failed delivery back in the queue, due now: the first of its endpoint's to go. The caller commits."""
    if delivery.status != FAILED:
        raise ConflictError(_("Only a failed delivery can be sent again."), "delivery", "not_failed")
    if delivery.url not in configured().urls:
        raise ConflictError(_("%(url)s is no longer a configured endpoint (VAXCHAIN_WEBHOOKS).", url=delivery.url),
                            "delivery", "endpoint_removed")
    delivery.status, delivery.next_attempt_at = PENDING, utcnow()
    audit.record("webhooks.retry", delivery, user=user, details={"event": delivery.event_id, "url": delivery.url})
