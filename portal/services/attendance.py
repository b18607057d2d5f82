"""Attendance: whether a session took place ("completed") or the patient missed it ("no_show").

Once a session has started, its specialist or an admin records the answer, and may change it
for ATTENDANCE_DAYS after the session ended. A no-show keeps its package credit used. Every
night `bookings_complete_past` marks the confirmed sessions that ended AUTO_COMPLETE_HOURS ago
completed, in one set-based statement; it is idempotent."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import clock, policies
from portal.errors import Conflict, Forbidden, ServiceError
from portal.extensions import db
from portal.models import ATTENDANCE_STATUSES, Booking, BookingStatusHistory, User
from portal.services.audit import audit_record

log = logging.getLogger(__name__)

ATTENDANCE_DAYS = 7
NOT_YOURS = "Only the session's specialist or an admin can record attendance."
MARKABLE = ("confirmed", "pending", *ATTENDANCE_STATUSES)


class NotStarted(Conflict):
    code = "NOT_STARTED"


class AttendanceClosed(Conflict):
    code = "ATTENDANCE_CLOSED"


def attendance_open(booking: Booking, now: datetime | None = None) -> bool:
    """Started, not cancelled, and ended at most ATTENDANCE_DAYS ago: what the buttons and the service require."""
    now = now or clock.now()
    return (booking.status in MARKABLE and booking.starts_at <= now
            and now <= booking.ends_at + timedelta(days=ATTENDANCE_DAYS))


def booking_attendance_set(*, actor: User, booking_id: uuid.UUID, status: str) -> Booking:
    """Record that the session took place or was missed. Flushes; the caller commits.

    Raises INVALID_REQUEST (an unknown status), NOT_FOUND, FORBIDDEN, NOT_STARTED,
    ALREADY_CANCELLED or ATTENDANCE_CLOSED. Giving the same answer twice changes nothing."""
    if status not in ATTENDANCE_STATUSES:
        raise ServiceError("status must be completed or no_show.",
                           fields={"status": "Either completed or no_show."})
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.", refused=NOT_YOURS, lock=True)
    if not policies.can_mark_attendance(actor, booking):
        raise Forbidden(NOT_YOURS)
    now = clock.now()
    if booking.status == "cancelled":
        raise Conflict("This session was cancelled.", code="ALREADY_CANCELLED")
    if booking.starts_at > now:
        raise NotStarted("Attendance can be recorded once the session has started.")
    if not attendance_open(booking, now):
        raise AttendanceClosed(f"Attendance can be changed for {ATTENDANCE_DAYS} days after a session.")
    if booking.status == status:
        return booking
    previous = booking.status
    booking.status = status
    db.session.add(BookingStatusHistory(booking_id=booking.id, from_status=previous, to_status=status,
                                        changed_by=actor.id))
    db.session.flush()
    audit_record(actor=actor, action="booking_attendance_set", entity_type="booking", entity_id=booking.id,
                 old_values={"status": previous}, new_values={"status": status})
    log.info("booking %s marked %s by %s", booking.id, status, actor.id)
    return booking


def auto_complete_hours() -> int:
    return current_app.config["AUTO_COMPLETE_HOURS"]


def bookings_complete_past(*, now: datetime | None = None) -> int:
    """Mark every confirmed session that ended at least AUTO_COMPLETE_HOURS before `now` completed:
    one UPDATE for them all, their history rows in one more statement. Returns how many."""
    cutoff = (now or clock.now()) - timedelta(hours=auto_complete_hours())
    moment = now or clock.now()
    ids = list(db.session.scalars(
        sa.update(Booking).where(Booking.status == "confirmed", Booking.ends_at <= cutoff)
        .values(status="completed", updated_at=moment).returning(Booking.id)
        .execution_options(synchronize_session=False)))
    if ids:
        db.session.execute(sa.insert(BookingStatusHistory), [
            {"id": uuid.uuid4(), "booking_id": booking_id, "from_status": "confirmed", "to_status": "completed",
             "changed_by": None, "created_at": moment} for booking_id in ids])
        audit_record(actor=None, action="bookings_auto_completed", entity_type="booking",
                     new_values={"count": len(ids), "ended_before": cutoff})
    log.info("auto-complete: %s sessions completed", len(ids))
    return len(ids)
