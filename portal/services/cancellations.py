"""Cancelling bookings (spec section 1): no refund, one immutable record per booking.

`booking_cancel` is the one way a booking becomes cancelled by a person: the
booking page, the booking lists, the `booking-cancel` function and other
features (a specialist's availability exception placed over bookings) all call it. It raises
without touching the caller's transaction, so a caller cancelling several
bookings decides itself what a refusal means; interfaces that end the request
on a refusal record it with `booking_cancel_refused`.

The reason text is health-adjacent: it goes into the cancellation row only,
never into audit values, logs or error reports.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sentry_sdk
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from portal import clock, policies
from portal.domain.inputs import MAX_REASON, as_uuid, has_control_chars
from portal.errors import Conflict, Forbidden, ServiceError
from portal.extensions import db
from portal.models import ACTIVE_STATUSES, CANCELLED_FOR, Booking, BookingCancellation, User
from portal.selectors.public_cache import touch
from portal.selectors.specialists import late_cancel_notice_hours
from portal.services.audit import audit_failure, audit_record
from portal.services.booking_records import booking_change_write
from portal.services.enrolments import credit_return

log = logging.getLogger(__name__)

REASON_MAX_LENGTH = MAX_REASON
NO_REFUND = "no_refund"
HISTORICAL_REASON = "historical_cancellation"
AUDIT_ACTION = "booking_cancelled"
NOT_YOURS = "Not your booking."
SUCCESS_MESSAGE = "Booking cancelled successfully. No refund will be processed."


@dataclass(frozen=True)
class CancelTerms:
    """What cancelling a booking means at this moment: shown in the dialog, and in the answer."""

    is_late: bool
    notice_hours: int
    by_patient: bool
    uses_credit: bool

    @property
    def forfeits_credit(self) -> bool:
        return self.is_late and self.by_patient and self.uses_credit

    @property
    def returns_credit(self) -> bool:
        return self.uses_credit and not self.forfeits_credit

    def explain(self) -> str:
        """One plain sentence about lateness and the package credit."""
        if self.is_late:
            text = f"This is a late cancellation (less than {self.notice_hours} hours' notice)"
            if self.forfeits_credit:
                return text + ": the package credit this session used is forfeited."
            if self.uses_credit:
                return text + ", but the package credit is returned because the patient did not cancel it."
            return text + "; it is recorded as late."
        notice = f"at least {self.notice_hours} hours' notice" if self.notice_hours else "no notice window"
        text = f"This is not a late cancellation ({notice})"
        return text + (": the package credit is returned." if self.uses_credit else ".")

    def in_one_sentence(self) -> str:
        """explain() and what happens to a payment, as the cancel dialog's one sentence."""
        if self.uses_credit:
            return self.explain()
        return self.explain().rstrip(".") + ", and any payment for it is not refunded."


def cancel_terms(*, actor: User, booking: Booking, now: datetime | None = None,
                 cancelled_for: str | None = None) -> CancelTerms:
    """Whether cancelling `booking` at `now` is late, and what happens to its package credit.

    Staff cancelling `cancelled_for="patient"` (on the patient's behalf) meet the patient's rules."""
    hours = late_cancel_notice_hours(specialist_id=booking.specialist_id)
    now = now or clock.now()
    is_late = hours > 0 and booking.starts_at - now < timedelta(hours=hours)
    by_patient = actor.id == booking.patient_id or (cancelled_for == "patient" and _is_staff(actor, booking))
    return CancelTerms(is_late=is_late, notice_hours=hours, by_patient=by_patient,
                       uses_credit=booking.package_enrolment_id is not None)


def _is_staff(actor: User, booking: Booking) -> bool:
    """Cancelling for the parties: an admin who is neither of them."""
    return actor.id not in (booking.patient_id, booking.specialist_id)


def staff_cancelled_for(actor: User, booking: Booking, cancelled_for: str | None) -> str | None:
    """Whom a staff cancellation is for ("patient" or "clinic", the default); None for a party's own."""
    if not _is_staff(actor, booking):
        return None
    if cancelled_for not in (None, "", *CANCELLED_FOR):
        raise ServiceError("Say whether the clinic cancels or cancels on the patient's behalf.",
                           fields={"cancelled_for": "Either patient or clinic."})
    return cancelled_for or "clinic"


def success_message(terms: CancelTerms) -> str:
    """The spec's success message, and what the cancellation meant for lateness and credits."""
    return f"{SUCCESS_MESSAGE} {terms.explain()}"


class AlreadyCancelled(Conflict):
    code = "ALREADY_CANCELLED"


TOO_LATE_TO_CANCEL = "This session has started or ended, so it cannot be cancelled."


class BookingInPast(ServiceError):
    code = "BOOKING_IN_PAST"
    http_status = 422


def parse_booking_id(value) -> uuid.UUID:
    key = as_uuid(value)
    if key is None:
        raise ServiceError("booking_id must be a UUID.", fields={"booking_id": "Not a valid UUID."})
    return key


def clean_reason(reason) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ServiceError("Please give a reason for cancelling.",
                           fields={"reason": "A reason is required."})
    if len(text) > REASON_MAX_LENGTH:
        raise ServiceError(f"The reason must be at most {REASON_MAX_LENGTH:,} characters.",
                           fields={"reason": f"At most {REASON_MAX_LENGTH:,} characters."})
    if has_control_chars(text, multiline=True):
        raise ServiceError("The reason holds characters that are not allowed.",
                           fields={"reason": "Remove the control characters (such as NUL) from this text."})
    return text


def is_cancellable(booking: Booking, now: datetime | None = None) -> bool:
    """Active and in the future: what the cancel button and the service both require."""
    return booking.status in ACTIVE_STATUSES and booking.starts_at > (now or clock.now())


def _cancellable_booking(actor: User, booking_id: uuid.UUID, as_staff: bool) -> Booking:
    """The booking, read fresh and its row locked until the transaction ends (PostgreSQL).

    Someone else's booking is FORBIDDEN, as the spec's booking-cancel function answers,
    whether or not the actor may see it."""
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.", refused=NOT_YOURS,
                            forbid_unseen=True, lock=True)
    if not policies.can_cancel(actor, booking, as_staff=as_staff):
        raise Forbidden(NOT_YOURS)
    if booking.status == "cancelled":
        raise AlreadyCancelled("This booking is already cancelled.")
    if not is_cancellable(booking):
        raise BookingInPast(TOO_LATE_TO_CANCEL)
    return booking


def _set_cancelled(booking: Booking) -> None:
    """Only one transaction can move an active booking to cancelled, whatever the isolation."""
    now = clock.now()
    changed = db.session.execute(
        sa.update(Booking)
        .where(Booking.id == booking.id, Booking.status.in_(ACTIVE_STATUSES))
        .values(status="cancelled", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise AlreadyCancelled("This booking is already cancelled.")
    # The UPDATE bypasses the ORM's events: the public cache learns of the freed time here.
    touch(db.session, [booking.specialist_id])
    # The row is locked and now holds exactly this: no need to read it back.
    set_committed_value(booking, "status", "cancelled")
    set_committed_value(booking, "updated_at", now)


def cancelled_as(actor: User, booking: Booking) -> str:
    """How the cancellation reads to the parties: "patient", "specialist" or "staff"."""
    if actor.id == booking.patient_id:
        return "patient"
    return "specialist" if actor.id == booking.specialist_id else "staff"


def booking_cancel(*, actor: User, booking_id, reason, as_staff: bool = False,
                   cancelled_for: str | None = None) -> Booking:
    """Cancel a booking (see booking_cancel_with_terms); the booking."""
    return booking_cancel_with_terms(actor=actor, booking_id=booking_id, reason=reason, as_staff=as_staff,
                                     cancelled_for=cancelled_for)[0]


def booking_cancel_with_terms(*, actor: User, booking_id, reason, as_staff: bool = False,
                              cancelled_for: str | None = None) -> tuple[Booking, CancelTerms]:
    """Cancel a booking for its patient or specialist: status, record, history, audit.

    With `as_staff` (the portal's pages, an exception placed by an admin) an admin
    may cancel any upcoming booking on the parties' behalf; the row and the audit
    name the admin and say whom it was for: `cancelled_for="patient"` (on the
    patient's behalf: a late cancellation forfeits the credit, as the patient's own
    would) or "clinic" (the default: the credit returns). The spec's booking-cancel
    function never passes either.

    Raises ServiceError subclasses: INVALID_REQUEST, NOT_FOUND, FORBIDDEN,
    ALREADY_CANCELLED, BOOKING_IN_PAST. Flushes; the caller commits. Returns the booking and
    the terms it was cancelled under."""
    key = parse_booking_id(booking_id)
    text = clean_reason(reason)
    booking = _cancellable_booking(actor, key, as_staff)
    previous = booking.status
    behalf = staff_cancelled_for(actor, booking, cancelled_for)
    terms = cancel_terms(actor=actor, booking=booking, cancelled_for=behalf)
    cancellation = BookingCancellation(booking_id=booking.id, cancelled_by=actor.id, reason=text,
                                       cancellation_policy_applied=NO_REFUND, is_late=terms.is_late,
                                       cancelled_for=behalf)
    try:
        with db.session.begin_nested():  # a refusal here leaves the caller's transaction as it was
            _set_cancelled(booking)
            db.session.add(cancellation)
            db.session.flush()
    except IntegrityError as error:  # the unique booking_id: another cancel got there first
        raise AlreadyCancelled("This booking is already cancelled.") from error
    if terms.returns_credit:
        credit_return(enrolment_id=booking.package_enrolment_id)
    booking_change_write(
        booking=booking, actor=actor, from_status=previous, to_status="cancelled", action=AUDIT_ACTION,
        old_values={"status": previous},
        new_values={"status": "cancelled", "cancellation_id": cancellation.id,
                    "cancelled_by": actor.id, "cancelled_as": cancelled_as(actor, booking),
                    "cancelled_for": behalf,
                    "policy": NO_REFUND, "is_late": terms.is_late,
                    "credit": "forfeited" if terms.forfeits_credit else
                              "returned" if terms.returns_credit else None},
        # The notice (with its .ics CANCEL) to whoever did not cancel: both, when staff did.
        template="booking_cancelled",
        recipient_ids=[party for party in (booking.patient_id, booking.specialist_id) if party != actor.id])
    log.info("booking %s cancelled by %s", booking.id, actor.id)
    return booking, terms


def booking_cancel_and_commit(*, actor: User, booking_id, reason, as_staff: bool = False,
                              cancelled_for: str | None = None) -> CancelTerms:
    """For the interfaces that own the transaction (the page, the function): cancel, commit.
    The terms it was cancelled under (success_message says them), kept as written: the
    answer reads nothing back."""
    _booking, terms = booking_cancel_with_terms(actor=actor, booking_id=booking_id, reason=reason,
                                                as_staff=as_staff, cancelled_for=cancelled_for)
    db.session.commit()
    return terms


def booking_cancel_refused(*, actor: User, booking_id, error: ServiceError) -> None:
    """Record a refused cancel (rolls back the attempt, commits a failure audit row)."""
    try:
        entity_id = parse_booking_id(booking_id)
    except ServiceError:
        entity_id = None
    actor_id = actor.id  # read before audit_failure's rollback expires the actor
    audit_failure(actor=actor_id, action=AUDIT_ACTION, entity_type="booking", entity_id=entity_id,
                  error=error.code)


def report_unexpected(error: BaseException, *, booking_id, user_id) -> None:
    """Tell Sentry about a failure that is not the user's: ids as context, never the reason."""
    if isinstance(error, sa.exc.StatementError):
        error.hide_parameters = True  # its message would otherwise carry the SQL parameters: the reason
    log.exception("cancelling booking %s by %s failed", booking_id, user_id)
    with sentry_sdk.new_scope() as scope:
        scope.set_context("booking_cancel", {"booking_id": str(booking_id)[:64], "user_id": str(user_id)})
        scope.capture_exception(error)


def cancellations_backfill(*, batch_size: int = 1000) -> int:
    """Record bookings already cancelled without a cancellation row (the spec's
    migration path: cancelled by the patient, reason 'historical_cancellation').
    Idempotent: a booking that has its row is left out. Returns how many rows it added."""
    missing = sa.select(Booking.id, Booking.patient_id, Booking.updated_at).where(
        Booking.status == "cancelled",
        ~sa.exists().where(BookingCancellation.booking_id == Booking.id),
    )
    rows = db.session.execute(missing).all()
    for start in range(0, len(rows), batch_size):
        db.session.execute(sa.insert(BookingCancellation), [
            {"id": uuid.uuid4(), "booking_id": row.id, "cancelled_by": row.patient_id,
             "reason": HISTORICAL_REASON, "cancellation_policy_applied": NO_REFUND,
             "created_at": row.updated_at or clock.now()}
            for row in rows[start:start + batch_size]
        ])
    if rows:
        audit_record(actor=None, action="cancellations_backfilled", entity_type="booking_cancellation",
                     new_values={"count": len(rows)})
    return len(rows)
