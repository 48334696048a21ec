"""Cold-chain shipments and their lines."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import BigId, UTCDateTime, db, utcnow
from core.models import User
from modules.lots.models import Lot, Presentation
from modules.warehouse.models import Location

DRAFT, PICKED, DISPATCHED = "draft", "picked", "dispatched"
RECEIVED, PARTIALLY_RECEIVED, CLOSED, CANCELLED = "received", "partially_received", "closed", "cancelled"
STATES = (DRAFT, PICKED, DISPATCHED, RECEIVED, PARTIALLY_RECEIVED, CLOSED, CANCELLED)
REJECTION_REASONS = ("damaged", "vvm", "temperature", "missing")


class Shipment(db.Model):
    __tablename__ = "transport_shipment"
    __table_args__ = (Index("ix_transport_shipment_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    origin_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"), index=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"), index=True)
    state: Mapped[str] = mapped_column(String(24), default=DRAFT)
    planned_date: Mapped[date] = mapped_column(Date)
    vehicle: Mapped[str] = mapped_column(String(64), default="")
    driver: Mapped[str] = mapped_column(String(120), default="")
    cold_box: Mapped[str] = mapped_column(String(64), default="")
    temperature_min: Mapped[int | None]
    temperature_max: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    origin: Mapped[Location] = relationship(foreign_keys=[origin_id])
    destination: Mapped[Location] = relationship(foreign_keys=[destination_id])
    creator: Mapped[User | None] = relationship()
    lines: Mapped[list["ShipmentLine"]] = relationship(back_populates="shipment", order_by="ShipmentLine.id",
                                                       cascade="all, delete-orphan")


class ShipmentLine(db.Model):
    """Doses of a vaccine to send; ``lot_id`` is set when picked. After receipt: what was accepted and
    rejected (with a reason and the VVM stage seen)."""

    __tablename__ = "transport_line"
    __table_args__ = (
        CheckConstraint("doses > 0", name="doses_positive"),
        CheckConstraint("vvm_stage IS NULL OR vvm_stage BETWEEN 1 AND 4", name="vvm_stage_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("transport_shipment.id"), index=True)
    presentation_id: Mapped[int] = mapped_column(ForeignKey("lots_presentation.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots_lot.id"), index=True)
    doses: Mapped[int]
    accepted: Mapped[int | None]
    rejected: Mapped[int | None]
    reject_reason: Mapped[str | None] = mapped_column(String(16))
    vvm_stage: Mapped[int | None]

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    presentation: Mapped[Presentation] = relationship()
    lot: Mapped[Lot | None] = relationship()

    @property
    def vials(self):
        return self.doses // self.presentation.doses_per_vial


class Reading(db.Model):
    """One data-logger reading taken during a shipment."""

    __tablename__ = "transport_reading"
    __table_args__ = (Index("ix_transport_reading_shipment_at", "shipment_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("transport_shipment.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    celsius: Mapped[float] = mapped_column(Float)
