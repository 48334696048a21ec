"""The vaccine catalogue (presentations and their GTINs), lots and the history of lot status."""
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow

AVAILABLE = "available"
QUARANTINED = "quarantined"
RELEASED = "released"
DISCARDED = "discarded"
RECALLED = "recalled"
STATUSES = (AVAILABLE, QUARANTINED, RELEASED, DISCARDED, RECALLED)
USABLE_STATUSES = (AVAILABLE, RELEASED)
# available → quarantined → released | discarded; recalled from anywhere but discarded
TRANSITIONS = {
    AVAILABLE: (QUARANTINED, RECALLED),
    QUARANTINED: (RELEASED, DISCARDED, RECALLED),
    RELEASED: (QUARANTINED, RECALLED),
    RECALLED: (DISCARDED,),
    DISCARDED: (),
}


class Presentation(db.Model):
    """A vaccine product as it is packed: brand, doses per vial, storage and dose rules."""

    __tablename__ = "lots_presentation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    manufacturer: Mapped[str] = mapped_column(String(160), default="")
    doses_per_vial: Mapped[int]
    storage_min_c: Mapped[int]
    storage_max_c: Mapped[int]
    freeze_sensitive: Mapped[bool] = mapped_column(default=False)
    hours_after_opening: Mapped[int | None]  # None: single-dose vial
    series_length: Mapped[int]
    min_interval_days: Mapped[list] = mapped_column(JSON, default=list)  # before dose 2, 3, ...
    active: Mapped[bool] = mapped_column(default=True)

    gtins: Mapped[list["Gtin"]] = relationship(back_populates="presentation", order_by="Gtin.gtin",
                                               cascade="all, delete-orphan")

    @property
    def storage_range(self):
        return f"{self.storage_min_c}…{self.storage_max_c} °C"


class Gtin(db.Model):
    """A 14-digit GTIN printed on a presentation's packs (one product may carry several)."""

    __tablename__ = "lots_gtin"

    id: Mapped[int] = mapped_column(primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    presentation_id: Mapped[int] = mapped_column(ForeignKey("lots_presentation.id"), index=True)

    presentation: Mapped[Presentation] = relationship(back_populates="gtins")


class Lot(db.Model):
    __tablename__ = "lots_lot"
    __table_args__ = (
        UniqueConstraint("presentation_id", "lot_number"),
        Index("ix_lots_lot_lot_number", "lot_number"),
        Index("ix_lots_lot_expiry", "expiry"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    presentation_id: Mapped[int] = mapped_column(ForeignKey("lots_presentation.id"))
    lot_number: Mapped[str] = mapped_column(String(40))
    expiry: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=AVAILABLE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    presentation: Mapped[Presentation] = relationship(lazy="joined")

    def is_expired(self, on: date) -> bool:
        """Expired once the expiry day is over (the day itself is still usable)."""
        return self.expiry < on

    def is_usable(self, on: date) -> bool:
        return self.status in USABLE_STATUSES and not self.is_expired(on)


class StatusChange(db.Model):
    """Why and by whom a lot's status changed (also in the audit log)."""

    __tablename__ = "lots_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots_lot.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
