"""People and the doses they received; open multi-dose vials at sites; sites' daily tallies.

Injections are never edited: a correction is a new row (``source`` "correction") that reverses an earlier
one, and the doses a person counts are the live and backlog rows that nothing reverses.
"""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import BigId, UTCDateTime, db, utcnow
from modules.lots.models import Lot, Presentation
from modules.warehouse.models import Location

MALE, FEMALE = "male", "female"
GENDERS = (MALE, FEMALE)
LIVE, BACKLOG, CORRECTION = "live", "backlog", "correction"
SOURCES = (LIVE, BACKLOG, CORRECTION)
CCCD, CMND = "cccd", "cmnd"


class Person(db.Model):
    __tablename__ = "injection_person"
    __table_args__ = (
        Index("ix_injection_person_name_key_birth", "name_key", "date_of_birth"),
        # Merged records only: "merged_into_id IS NULL" (every registration asks it) must not use it.
        Index("ix_injection_person_merged_into", "merged_into_id", postgresql_where=text("merged_into_id IS NOT NULL"),
              sqlite_where=text("merged_into_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    national_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    id_kind: Mapped[str | None] = mapped_column(String(8))
    full_name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))  # folded: no accents, lower case, for search
    gender: Mapped[str] = mapped_column(String(8))
    date_of_birth: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(10), index=True)
    insurance_number: Mapped[str | None] = mapped_column(String(15))
    ethnicity: Mapped[str] = mapped_column(String(40), default="")
    nationality: Mapped[str] = mapped_column(String(40), default="")
    admin_unit_code: Mapped[str | None] = mapped_column(ForeignKey("warehouse_admin_unit.code"))
    address: Mapped[str] = mapped_column(Text, default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("injection_person.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))


class Injection(db.Model):
    __tablename__ = "injection_injection"
    __table_args__ = (
        Index("ix_injection_injection_person", "person_id", "injected_on"),
        Index("ix_injection_injection_site_day", "site_id", "injected_on"),
        Index("ix_injection_injection_day_site", "injected_on", "site_id"),  # national views by date
        Index("ix_injection_injection_lot_day", "lot_id", "injected_on", "id"),  # recall list pages
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("injection_person.id"))
    presentation_id: Mapped[int] = mapped_column(ForeignKey("lots_presentation.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots_lot.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    injected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    injected_on: Mapped[date] = mapped_column(Date)  # the day in Asia/Ho_Chi_Minh, for rules and reports
    dose_number: Mapped[int]
    source: Mapped[str] = mapped_column(String(16), default=LIVE)
    move_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("warehouse_move.id"))  # the dose taken from stock
    open_vial_id: Mapped[int | None] = mapped_column(ForeignKey("injection_open_vial.id"))  # drawn from it
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("injection_injection.id"), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))

    person: Mapped[Person] = relationship()
    presentation: Mapped[Presentation] = relationship()
    lot: Mapped[Lot] = relationship()
    site: Mapped[Location] = relationship()

    certificate = None  # not stored: set by services.register to the certificate the person now holds


class OpenVial(db.Model):
    """A multi-dose vial opened at a site: injections draw from it first until its usable time after
    opening runs out or the site closes its session; what is left then goes to wastage."""

    __tablename__ = "injection_open_vial"
    __table_args__ = (Index("ix_injection_open_vial_site_lot", "site_id", "lot_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots_lot.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    usable_until: Mapped[datetime] = mapped_column(UTCDateTime)
    doses_left: Mapped[int]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(16))  # expired, session_closed, empty

    lot: Mapped[Lot] = relationship()


class DailyTally(db.Model):
    """The doses a site says it gave on a day (its paper count), to reconcile with what was entered."""

    __tablename__ = "injection_tally"
    __table_args__ = (UniqueConstraint("site_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    day: Mapped[date] = mapped_column(Date)
    doses: Mapped[int]
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))


class DoseTally(db.Model):
    """The doses that count (see ``services.effective_injections``) per day, site, vaccine and dose number,
    kept by :mod:`modules.injection.tally` in the same transaction as every injection and correction, so that
    dashboards sum a few rows a site a day instead of counting millions of injections. Not the site's own
    paper count: that is :class:`DailyTally`."""

    __tablename__ = "injection_daily_tally"
    __table_args__ = (Index("ix_injection_daily_tally_site_day", "site_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # first: national views walk it by day
    site_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"), primary_key=True)
    presentation_id: Mapped[int] = mapped_column(ForeignKey("lots_presentation.id"), primary_key=True)
    dose_number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    doses: Mapped[int]


class AreaTally(db.Model):
    """The daily tally summed per province: the doses that count per day, area, vaccine and dose number,
    written by :mod:`modules.injection.tally` in the same transaction, so that national and province
    dashboards sum a few rows a province a day. The area is the province-level location above the site, or
    the site itself when it is under no province (so that every dose has an area inside its site's subtrees)."""

    __tablename__ = "injection_area_tally"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"), primary_key=True)
    presentation_id: Mapped[int] = mapped_column(ForeignKey("lots_presentation.id"), primary_key=True)
    dose_number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    doses: Mapped[int]


class ImportJob(db.Model):
    """One import of a backlog file. Its counts are written in the same transaction as each chunk of
    rows, so they always match what the database holds, also after a crash.

    Status: "running", then "done"; "failed" when the import stopped on an error it could tell (a file it
    cannot read, the database lost), with ``message`` saying why; "interrupted" when the process running it
    vanished (killed, a crash, a restart of the server) without a word. What was written stays either way,
    and importing the same file again adds exactly the rest.

    A vanished process cannot mark its own job, so others do: the process running a job records itself as
    ``owner`` ("host:pid") and refreshes ``heartbeat_at`` with every chunk. A running job counts as
    interrupted (and is stored so) when its owner is gone: in the owner process itself, when no import of
    that job is going on in it; elsewhere, when its heartbeat is older than ``importer.STALE_AFTER`` (from
    another host, which cannot see that process, the only sign; on the same host too, as a container
    restarted under the same hostname reuses pids), or on the same host no live process has its pid. This is
    checked when an import starts and whenever the import pages show the job.
    """

    __tablename__ = "injection_import_job"
    __table_args__ = (Index("ix_injection_import_job_file", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    site_code: Mapped[str | None] = mapped_column(String(32))  # the rows' site when the file has none
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed, interrupted
    stored_as: Mapped[str] = mapped_column(String(255), default="")  # the upload, in the instance folder
    rows_total: Mapped[int | None]  # as the file declares it (empty rows included), for the progress bar
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)     # rows that added at least one injection
    rows_skipped: Mapped[int] = mapped_column(default=0)      # every dose already recorded
    rows_rejected: Mapped[int] = mapped_column(default=0)
    injections_added: Mapped[int] = mapped_column(default=0)
    people_added: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    owner: Mapped[str | None] = mapped_column(String(255))  # "host:pid" of the process running it
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its last sign of life (a chunk)
