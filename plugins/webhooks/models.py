"""The outbox of webhook deliveries and the log of their attempts.

A delivery is one event for one endpoint, written in the transaction of the change it tells about; the worker
(``vaxchain webhooks deliver``) posts it and records each attempt.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import BigId, UTCDateTime, db

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
URL_LENGTH = 500
ERROR_LENGTH = 200


class WebhooksDelivery(db.Model):
    __tablename__ = "webhooks_delivery"
    __table_args__ = (
        Index("ix_webhooks_delivery_url_status", "url", "status", "id"),  # the worker: an endpoint's oldest pending
        Index("ix_webhooks_delivery_status", "status", "id"),  # the page: newest first, by status
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))  # the webhook-id header, the same for every endpoint
    event_type: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, as signed
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the event happened
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # empty once delivered or failed
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempt_log: Mapped[list["WebhooksAttempt"]] = relationship(order_by="WebhooksAttempt.id",
                                                                 back_populates="delivery")


class WebhooksAttempt(db.Model):
    """One POST of a delivery: the HTTP status it got, or the error (timeout, refused connection...)."""

    __tablename__ = "webhooks_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhooks_delivery.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    duration_ms: Mapped[int]

    delivery: Mapped[WebhooksDelivery] = relationship(back_populates="attempt_log")
