"""A patient's rights over their record: who read it (the access log) and their requests
to be forgotten (erasure requests)."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.bookings import Booking
from portal.models.types import UTCDateTime, new_id, utcnow
from portal.models.users import User

# What a row of the access log says was read. "intake_response" is kept for the intake forms.
ACCESS_RECORD_TYPES = ("session_note", "meeting_recording", "intake_response")
ERASURE_STATUSES = ("pending", "carried_out", "refused")


class RecordAccess(db.Model):
    """One reader's reading of one record of a patient, at most one row per clock hour.

    Written in the same transaction as the read's audit (portal.services.access_log);
    never edited, and kept as long as the patient's records are."""

    __tablename__ = "record_access_log"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    reader_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                        nullable=True)
    reader_role: Mapped[str] = mapped_column(sa.String(16))  # the reader's role when they read it
    record_type: Mapped[str] = mapped_column(sa.String(32))
    record_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    # The session the record belongs to (null once that booking is deleted by the retention job).
    booking_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("bookings.id", ondelete="SET NULL"),
                                                         nullable=True)
    accessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # accessed_at truncated to the hour: the unique key that keeps one row per reader, record and hour.
    accessed_hour: Mapped[datetime] = mapped_column(UTCDateTime)

    reader: Mapped[User | None] = relationship(foreign_keys=[reader_id])
    booking: Mapped[Booking | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(f"record_type IN {ACCESS_RECORD_TYPES!r}", name="record_type"),
        sa.UniqueConstraint("reader_id", "record_type", "record_id", "accessed_hour", name="uq_record_access_hour"),
        sa.Index("ix_record_access_log_patient", "patient_id", "accessed_at"),
        sa.Index("ix_record_access_log_record", "record_type", "record_id"),
    )


class ErasureRequest(db.Model):
    """A patient's request to be forgotten: pending until an admin carries it out or refuses it
    (with a reason the patient sees). One pending request per patient."""

    __tablename__ = "erasure_requests"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", server_default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                         nullable=True)
    refusal_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # Set when the retention job deleted the clinical notes and booking history the erasure kept.
    records_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])

    __table_args__ = (
        sa.CheckConstraint(f"status IN {ERASURE_STATUSES!r}", name="status"),
        sa.Index("ix_erasure_requests_one_pending", "patient_id", unique=True,
                 sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'")),
        sa.Index("ix_erasure_requests_status", "status", "requested_at"),
    )
