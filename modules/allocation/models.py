"""Allocation plans: N doses of a vaccine from a source store, split among destinations."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from modules.lots.models import Presentation
from modules.warehouse.models import Location

POPULATION, DEMAND, MANUAL = "population", "demand", "manual"
STRATEGIES = (POPULATION, DEMAND, MANUAL)
DRAFT, APPROVED, CANCELLED = "draft", "approved", "cancelled"
STATES = (DRAFT, APPROVED, CANCELLED)


class Target(db.Model):
    """The target population of an administrative unit (importable, updated as campaigns change)."""

    __tablename__ = "allocation_target"

    admin_unit_code: Mapped[str] = mapped_column(ForeignKey("warehouse_admin_unit.code"), primary_key=True)
    population: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Plan(db.Model):
    __tablename__ = "allocation_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    presentation_id: Mapped[int] = mapped_column(ForeignKey("lots_presentation.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"), index=True)
    total_doses: Mapped[int]
    strategy: Mapped[str] = mapped_column(String(16))
    lead_days: Mapped[int] = mapped_column(default=30)
    pack_vials: Mapped[int] = mapped_column(default=1)  # shares rounded to packs of this many vials
    usable_doses: Mapped[int] = mapped_column(default=0)  # sendable stock at the source when it was planned
    state: Mapped[str] = mapped_column(String(16), default=DRAFT)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))

    presentation: Mapped[Presentation] = relationship()
    source: Mapped[Location] = relationship()
    @property
    def unit_doses(self):
        """The doses in one rounding unit: a vial, or a pack of ``pack_vials`` vials."""
        return self.presentation.doses_per_vial * self.pack_vials

    @property
    def allocated_doses(self):
        return sum(line.allocated_doses for line in self.lines)

    @property
    def shortage(self):
        return sum(line.shortage for line in self.lines)

    lines: Mapped[list["PlanLine"]] = relationship(back_populates="plan", order_by="PlanLine.id",
                                                   cascade="all, delete-orphan")


class PlanLine(db.Model):
    """One destination's share: what the strategy asked for, what stock allows, and the shortage."""

    __tablename__ = "allocation_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("allocation_plan.id"), index=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    weight: Mapped[int] = mapped_column(default=0)  # population or remaining demand behind the share
    requested_doses: Mapped[int] = mapped_column(default=0)
    allocated_doses: Mapped[int] = mapped_column(default=0)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("transport_shipment.id"))

    plan: Mapped[Plan] = relationship(back_populates="lines")
    destination: Mapped[Location] = relationship()

    @property
    def shortage(self):
        return max(self.requested_doses - self.allocated_doses, 0)
