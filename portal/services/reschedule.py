"""Moving a session to another time: the same booking at another start.

The booking keeps its id, status, price, package credit, series link and occurrence date
(so the dispatcher never books a moved occurrence twice). The time moved to passes every
check a booking's time does (services.bookings.booking_time_check); the time it leaves is free
as soon as the move commits. The patient moves only outside the specialist's
late-cancellation window and within the booking rules; staff (the session's specialist,
an admin) move any future session and may step past the rules, which the audit row names.

Both parties get one mail whose invitation keeps the booking's UID with a higher SEQUENCE,
so their calendars move the event. The reason is the parties': it goes into the status
history only, never into audit values, mail or logs."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import clock, policies
from portal.domain.inputs import MAX_REASON, has_control_chars
from portal.errors import Conflict, Forbidden, ServiceError
from portal.extensions import db
from portal.models import ACTIVE_STATUSES, Booking, BookingStatusHistory, Role, User
from portal.selectors.public_cache import touch
from portal.selectors.specialists import late_cancel_notice_hours, specialist_get
from portal.services.audit import audit_record
from portal.services.bookings import SlotUnavailable, booking_time_check
from portal.services.cancellations import AlreadyCancelled, BookingInPast

log = logging.getLogger(__name__)

NOT_YOURS = "Not your booking."
MOVED_MAIL = "booking_moved"


class LateReschedule(Conflict):
    code = "LATE_RESCHEDULE"


TOO_LATE_TO_MOVE = "This session has started or ended, so it cannot be moved."


def late_window_hours(booking: Booking) -> int:
    return late_cancel_notice_hours(specialist_id=booking.specialist_id)


def is_late_for_patient(booking: Booking, now: datetime | None = None) -> bool:
    """Inside the specialist's late-cancellation window: the patient must ask the clinic."""
    hours = late_window_hours(booking)
    return hours > 0 and booking.starts_at - (now or clock.now()) < timedelta(hours=hours)


def is_movable(booking: Booking, now: datetime | None = None) -> bool:
    """Active and in the future: what the Move button and the service both require."""
    return booking.status in ACTIVE_STATUSES and booking.starts_at > (now or clock.now())


def moves_as_staff(actor: User, booking: Booking) -> bool:
    """The session's specialist and admins move as staff (any future session, rules overridable)."""
    return actor.role == Role.ADMIN or actor.id == booking.specialist_id


def late_message(booking: Booking) -> str:
    return (f"This session starts in less than {late_window_hours(booking)} hours, so it cannot be "
            "moved online. Please contact the clinic to change it.")


def clean_move_reason(reason) -> str | None:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        return None
    if len(text) > MAX_REASON:
        raise ServiceError(f"The reason must be at most {MAX_REASON:,} characters.",
                           fields={"reason": f"At most {MAX_REASON:,} characters."})
    if has_control_chars(text, multiline=True):
        raise ServiceError("The reason holds characters that are not allowed.",
                           fields={"reason": "Remove the control characters (such as NUL) from this text."})
    return text


def _movable_booking(actor: User, booking_id, now: datetime) -> Booking:
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.", refused=NOT_YOURS, lock=True)
    if not policies.can_reschedule(actor, booking):
        raise Forbidden(NOT_YOURS)
    if booking.status == "cancelled":
        raise AlreadyCancelled("This booking is cancelled, so it cannot be moved.")
    if not is_movable(booking, now):
        raise BookingInPast(TOO_LATE_TO_MOVE)
    if not moves_as_staff(actor, booking) and is_late_for_patient(booking, now):
        raise LateReschedule(late_message(booking))
    return booking


def _set_time(booking: Booking, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """The move itself, one UPDATE; the database's overlap guard refuses a clash that raced past the checks."""
    try:
        with db.session.begin_nested():
            changed = db.session.execute(
                sa.update(Booking).where(Booking.id == booking.id, Booking.status.in_(ACTIVE_STATUSES))
                .values(starts_at=starts_at, ends_at=ends_at, ics_sequence=Booking.ics_sequence + 1,
                        updated_at=now)
                .execution_options(synchronize_session=False)).rowcount
    except IntegrityError as error:
        log.info("move of booking %s to %s lost a race", booking.id, starts_at)
        raise SlotUnavailable("That time was just taken. Please pick another slot.") from error
    touch(db.session, [booking.specialist_id])  # the UPDATE passed the ORM: both times change publicly
    if changed != 1:
        raise AlreadyCancelled("This booking was cancelled meanwhile, so it cannot be moved.")
    db.session.refresh(booking)


def booking_reschedule(*, actor: User, booking_id: uuid.UUID, starts_at: datetime, reason=None) -> Booking:
    """Move the booking to `starts_at` (aware), keeping its length. Flushes; the caller commits.

    Raises NOT_FOUND, FORBIDDEN, ALREADY_CANCELLED, BOOKING_IN_PAST (422), LATE_RESCHEDULE,
    SAME_TIME (400), or what booking_time_check raises (SLOT_UNAVAILABLE, a booking rule's code)."""
    now = clock.now()
    text = clean_move_reason(reason)
    booking = _movable_booking(actor, booking_id, now)
    if starts_at.tzinfo is not None and starts_at == booking.starts_at:
        raise ServiceError("The session is at that time: pick a different one.", code="SAME_TIME",
                           fields={"starts_at": "Pick a different time."})
    staff = moves_as_staff(actor, booking)
    old_start, old_end = booking.starts_at, booking.ends_at
    checked = booking_time_check(actor=actor, specialist=specialist_get(specialist_id=booking.specialist_id),
                                 patient_id=booking.patient_id, starts_at=starts_at, override_rules=staff,
                                 service_id=booking.service_id, length=old_end - old_start,
                                 moving_id=booking.id, now=now)
    _set_time(booking, starts_at, checked.ends_at, now)
    db.session.add(BookingStatusHistory(booking_id=booking.id, from_status=booking.status, to_status=booking.status,
                                        changed_by=actor.id, from_starts_at=old_start, to_starts_at=starts_at,
                                        reason=text))
    audit_record(actor=actor, action="booking_rescheduled", entity_type="booking", entity_id=booking.id,
                 old_values={"starts_at": old_start, "ends_at": old_end},
                 new_values={"starts_at": booking.starts_at, "ends_at": booking.ends_at,
                             "moved_by": actor.id, "moved_as": _moved_as(actor, booking),
                             "sequence": booking.ics_sequence,
                             **({"rules_overridden": checked.overridden} if checked.overridden else {})})
    _tell_both_parties(booking)
    log.info("booking %s moved by %s", booking.id, actor.id)
    return booking


def _moved_as(actor: User, booking: Booking) -> str:
    if actor.id == booking.patient_id:
        return "patient"
    return "specialist" if actor.id == booking.specialist_id else "staff"


def _tell_both_parties(booking: Booking) -> None:
    """One mail each, keyed by the invitation's sequence: a retried request owes no second one."""
    from portal.services.outbox import outbox_add_many

    outbox_add_many([{"recipient_id": party, "template": MOVED_MAIL,
                      "about": {"booking_id": booking.id, "sequence": booking.ics_sequence},
                      "dedup_key": f"{MOVED_MAIL}:{booking.id}:{booking.ics_sequence}:{party}"}
                     for party in (booking.patient_id, booking.specialist_id)])
