"""The outbox an SMS gateway reads: one message per person and dose, queued until the gateway marks it."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow

QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES = (QUEUED, SENT, FAILED)
TEXT_LENGTH = 160  # one GSM-7 SMS


class ReminderOutboxMessage(db.Model):
    __tablename__ = "reminder_outbox_message"
    __table_args__ = (
        UniqueConstraint("person_id", "dose_number"),  # a person is reminded once of each dose
        Index("ix_reminder_outbox_message_status", "status", "id"),  # what the gateway polls
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("injection_person.id"))
    phone: Mapped[str] = mapped_column(String(16))
    dose_number: Mapped[int]
    due_on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(String(TEXT_LENGTH))
    status: Mapped[str] = mapped_column(String(8), default=QUEUED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
