from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, new_id, utcnow
from portal.models.users import User

BOOKING_STATUSES = ("pending", "confirmed", "cancelled", "completed", "no_show")
ACTIVE_STATUSES = ("pending", "confirmed")
# What the specialist (or an admin) records once a session has started.
ATTENDANCE_STATUSES = ("completed", "no_show")
# Whom an admin cancelled for: on the patient's behalf, or by the clinic.
CANCELLED_FOR = ("patient", "clinic")
# No active booking lasts longer (rates cap a session at 8 hours; on PostgreSQL the overlap
# trigger refuses a longer one, migration 0020), so an overlap search may start this far back.
LONGEST_SESSION = timedelta(days=1)


class Booking(db.Model):
    __tablename__ = "bookings"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    specialist_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("specialist_profiles.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default="confirmed")
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    recurring_booking_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("recurring_bookings.id", ondelete="SET NULL"), nullable=True
    )
    # The series occurrence this booking fulfils; unique per series among the active
    # bookings so that no dispatcher run, however repeated or concurrent, books an
    # occurrence twice, while a cancelled one (a paused series) can be booked again.
    occurrence_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    # The package enrolment whose credit paid for this booking (None: paid singly).
    package_enrolment_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("package_enrolments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The calendar invitation's SEQUENCE: raised by every move, so that the same UID moves the event.
    ics_sequence: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # The service booked (its length and price were read from its history at booking time).
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("services.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The session's own video room (a video service without a fixed room): made with the booking,
    # kept when it moves, read by the parties and admins only.
    room_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    # Set when an availability exception was placed over the booking and kept.
    attention_reason: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    specialist_user: Mapped[User] = relationship(
        primaryjoin="Booking.specialist_id == User.id", foreign_keys=[specialist_id], viewonly=True
    )
    # Who cancelled, when and why: read by both parties' pages and the API (the policies
    # decide who may load the booking; its cancellation goes with it).
    cancellation: Mapped[BookingCancellation | None] = relationship(
        "BookingCancellation", uselist=False, viewonly=True,
        primaryjoin="Booking.id == BookingCancellation.booking_id",
    )

    __table_args__ = (
        sa.CheckConstraint(f"status IN {BOOKING_STATUSES!r}", name="status"),
        sa.CheckConstraint("starts_at < ends_at", name="interval"),
        sa.CheckConstraint("price >= 0", name="price"),
        sa.Index("uq_bookings_occurrence", "recurring_booking_id", "occurrence_date", unique=True,
                 sqlite_where=sa.text(f"status IN {ACTIVE_STATUSES!r}"),
                 postgresql_where=sa.text(f"status IN {ACTIVE_STATUSES!r}")),
        # specialist_id and status ride along: the upcoming counts per (patient, specialist) of
        # the booking rules read the index alone (migration 0022).
        sa.Index("ix_bookings_patient_starts", "patient_id", "starts_at",
                 postgresql_include=["specialist_id", "status"]),
        sa.Index("ix_bookings_specialist_starts", "specialist_id", "starts_at"),
        sa.Index("ix_bookings_recurring", "recurring_booking_id"),
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class BookingStatusHistory(db.Model):
    __tablename__ = "booking_status_history"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    booking_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(sa.String(16))
    changed_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # A move: the session's start before and after (its status stays the same).
    from_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    to_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Why it was moved, when someone said: for the parties and staff, never for audit values or mail.
    reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changer: Mapped[User | None] = relationship(foreign_keys=[changed_by])

    @property
    def is_move(self) -> bool:
        return self.to_starts_at is not None


class BookingCancellation(db.Model):
    """Immutable: one per booking, written once by the cancel service."""

    __tablename__ = "booking_cancellations"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    booking_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), unique=True)
    cancelled_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    cancellation_policy_applied: Mapped[str] = mapped_column(
        sa.String(32), default="no_refund", server_default="no_refund"
    )
    # Inside the specialist's late-cancellation notice window when it was cancelled.
    is_late: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # An admin's cancellation: on the patient's behalf ("patient": the patient's rules apply)
    # or by the clinic ("clinic": a package credit returns). None when a party cancelled.
    cancelled_for: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    booking: Mapped[Booking] = relationship()
    canceller: Mapped[User] = relationship(foreign_keys=[cancelled_by])

    __table_args__ = (
        sa.CheckConstraint("cancellation_policy_applied = 'no_refund'", name="policy"),
        sa.CheckConstraint(f"cancelled_for IS NULL OR cancelled_for IN {CANCELLED_FOR!r}", name="cancelled_for"),
    )

    @property
    def party(self) -> str:
        """"patient", "specialist", or "staff" (an admin cancelled on the parties' behalf)."""
        if self.cancelled_by == self.booking.patient_id:
            return "patient"
        return "specialist" if self.cancelled_by == self.booking.specialist_id else "staff"


class RecurringBooking(db.Model):
    __tablename__ = "recurring_bookings"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    specialist_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("specialist_profiles.id"), index=True)
    frequency: Mapped[str] = mapped_column(sa.String(16), index=True)
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    # Local time in the specialist's zone; the spec fixed 10:00.
    time_of_day: Mapped[datetime] = mapped_column(sa.Time, server_default="10:00:00")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_booking_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    # Which occurrence next_booking_date is, counted from start_date; dates are
    # computed from the start so that monthly series never drift to the 28th.
    next_occurrence_index: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    last_generated_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    # The service each session is for (None: the specialist's default service).
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("services.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[User] = relationship(foreign_keys=[user_id])
    specialist_user: Mapped[User] = relationship(
        primaryjoin="RecurringBooking.specialist_id == User.id", foreign_keys=[specialist_id], viewonly=True
    )

    __table_args__ = (
        sa.CheckConstraint("frequency IN ('weekly', 'biweekly', 'monthly')", name="frequency"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
        sa.Index("ix_recurring_bookings_due", "is_active", "next_booking_date"),
    )


class RecurringOccurrenceSkip(db.Model):
    """An occurrence the dispatcher could not book, and why."""

    __tablename__ = "recurring_occurrence_skips"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    recurring_booking_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("recurring_bookings.id", ondelete="CASCADE")
    )
    occurrence_date: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("recurring_booking_id", "occurrence_date", name="uq_recurring_skips_occurrence"),
    )
