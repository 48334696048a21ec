"""Locations, administrative units, users' assignments, and the double-entry stock ledger."""
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import BigId, UTCDateTime, db, utcnow
from core.models import User
from modules.lots.models import Lot

# Physical locations, from the top of the tree down.
NATIONAL, REGIONAL, PROVINCE, DISTRICT, SITE = "national", "regional", "province", "district", "site"
PHYSICAL_KINDS = (NATIONAL, REGIONAL, PROVINCE, DISTRICT, SITE)
# Virtual locations: where doses come from and go to outside the physical tree. One of each.
SUPPLIER, TRANSIT, CONSUMED, WASTAGE, ADJUSTMENT = "supplier", "transit", "consumed", "wastage", "adjustment"
VIRTUAL_KINDS = (SUPPLIER, TRANSIT, CONSUMED, WASTAGE, ADJUSTMENT)
KINDS = PHYSICAL_KINDS + VIRTUAL_KINDS


class AdminUnit(db.Model):
    """A province, district or ward, by its official code; the depth varies with reforms."""

    __tablename__ = "warehouse_admin_unit"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    level: Mapped[str] = mapped_column(String(16))  # province, district, ward
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("warehouse_admin_unit.code"), index=True)


class Location(db.Model):
    """A store or site in the tree, or a virtual location. ``path`` ("/1/4/9/") makes subtrees one
    indexed prefix query."""

    __tablename__ = "warehouse_location"
    __table_args__ = (
        Index("ix_warehouse_location_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_location.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="")
    admin_unit_code: Mapped[str | None] = mapped_column(ForeignKey("warehouse_admin_unit.code"))
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped["Location | None"] = relationship(remote_side=[id])
    admin_unit: Mapped[AdminUnit | None] = relationship()

    @property
    def is_virtual(self):
        return self.kind in VIRTUAL_KINDS

    @property
    def depth(self):
        return self.path.count("/") - 2


class UserLocation(db.Model):
    """A user's assignment: they see and act on this location and everything below it."""

    __tablename__ = "warehouse_user_location"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"), primary_key=True, index=True)

    user: Mapped[User] = relationship()
    location: Mapped[Location] = relationship()


class Move(db.Model):
    """N doses of one lot from one location to another. Append-only: corrections are reversing moves."""

    __tablename__ = "warehouse_move"
    __table_args__ = (
        CheckConstraint("doses > 0", name="doses_positive"),
        CheckConstraint("from_location_id <> to_location_id", name="two_locations"),
        Index("ix_warehouse_move_from", "from_location_id", "lot_id"),
        Index("ix_warehouse_move_to", "to_location_id", "lot_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots_lot.id"), index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    doses: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # receipt, transfer, adjustment, wastage, count, ...
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("warehouse_move.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))

    lot: Mapped[Lot] = relationship()
    from_location: Mapped[Location] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[Location] = relationship(foreign_keys=[to_location_id])
    user: Mapped[User | None] = relationship()


# Where a physical location's doses went or came from, as its balance row keeps them (see ``ledger.flow``).
RECEIVED, SENT_ON, WASTED, INJECTED = "received", "sent_on", "wasted", "injected"
FLOWS = (RECEIVED, SENT_ON, WASTED, INJECTED)


class Balance(db.Model):
    """Doses of a lot at a location, kept equal to the ledger's sum in the same transaction.

    Physical locations never go below zero (conditional decrement); virtual ones may (the supplier
    is negative by everything received), so every lot nets to zero over all locations.

    A physical location's row also keeps, in the same statements, the running totals of its moves by where
    the doses came from or went (``FLOWS``, net of reversals): what the reconciliation reads for a nation's
    sites and lots instead of adding up every move since the start. Virtual locations keep the doses alone.
    """

    __tablename__ = "warehouse_balance"

    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots_lot.id"), primary_key=True, index=True)
    doses: Mapped[int] = mapped_column(default=0)
    received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sent_on: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    wasted: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    injected: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    location: Mapped[Location] = relationship()
    lot: Mapped[Lot] = relationship()


class Hold(db.Model):
    """Doses of a lot held back at one location (e.g. after a temperature excursion on the way there)
    until someone releases them; the lot stays usable elsewhere."""

    __tablename__ = "warehouse_hold"
    __table_args__ = (Index("ix_warehouse_hold_location_lot", "location_id", "lot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots_lot.id"))
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    release_reason: Mapped[str | None] = mapped_column(Text)

    location: Mapped[Location] = relationship()
    lot: Mapped[Lot] = relationship()
    creator: Mapped[User | None] = relationship(foreign_keys=[created_by])
    releaser: Mapped[User | None] = relationship(foreign_keys=[released_by])
