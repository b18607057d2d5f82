"""Creating bookings under the availability rules."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from portal import clock, policies
from portal.domain.booking_rules import OUTSIDE_BOOKING_WINDOW
from portal.domain.inputs import WINDOW_MESSAGE, moment_in_window
from portal.domain.intervals import interval_fits
from portal.domain.zones import zone_of
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import Booking, BookingStatusHistory, Role, User
from portal.selectors.availability import rate_on, windows_between
from portal.selectors.booking_rules import booking_rules_of
from portal.selectors.bookings import booking_clash
from portal.selectors.specialists import specialist_get
from portal.selectors.users import patient_get
from portal.services.audit import audit_record
from portal.services.booking_rules import BookingRuleBroken, booking_rules_enforce, max_ahead_days, may_override
from portal.services.enrolments import credit_draw

log = logging.getLogger(__name__)


class SlotUnavailable(Conflict):
    code = "SLOT_UNAVAILABLE"


def _clash_message(*, specialist_id: uuid.UUID, patient_id: uuid.UUID, starts_at: datetime,
                   ends_at: datetime, moving_id: uuid.UUID | None = None, for_patient: bool = True) -> str | None:
    clash = booking_clash(specialist_id=specialist_id, patient_id=patient_id, starts_at=starts_at,
                          ends_at=ends_at, moving_id=moving_id)
    if clash is None:
        return None
    if clash.specialist_id == specialist_id:
        return "The specialist already has a booking at that time."
    if for_patient:
        return "You already have a booking at that time."
    return "The patient already has a booking at that time."


def booking_check(*, specialist: User, patient_id: uuid.UUID, starts_at: datetime,
                  now: datetime | None = None, day_rules: tuple | None = None, length: timedelta | None = None,
                  moving_id: uuid.UUID | None = None, for_patient: bool = True) -> tuple[datetime, object]:
    """The end time and rate of a booking starting at `starts_at`, or SlotUnavailable.

    `day_rules` is the day's (rate, session length, working windows) when the caller has read
    them already (a new series: recurring_dispatch.run.first_session_rules); else they are read.
    `length`: the session's length when it is not the rate's (a moved session keeps its own);
    `moving_id`: the booking being moved, whose own time does not clash with itself."""
    now = now or clock.now()
    if starts_at <= now:
        raise SlotUnavailable("Bookings must start in the future.", code="SLOT_UNAVAILABLE")
    local_day = starts_at.astimezone(zone_of(specialist)).date()
    rate = rate_on(specialist.id, local_day) if day_rules is None else day_rules[0]
    if rate is None:
        raise SlotUnavailable("This specialist has no rate set yet.", code="NO_RATE")
    ends_at = starts_at + (length or timedelta(minutes=rate.duration_minutes))
    windows = windows_between(specialist, local_day, local_day)[local_day] if day_rules is None else day_rules[2]
    if not interval_fits(windows, starts_at, ends_at):
        raise SlotUnavailable("The specialist is not available at that time.")
    clash = _clash_message(specialist_id=specialist.id, patient_id=patient_id, starts_at=starts_at,
                           ends_at=ends_at, moving_id=moving_id, for_patient=for_patient)
    if clash:
        raise SlotUnavailable(clash)
    return ends_at, rate


@dataclass(frozen=True)
class CheckedTime:
    """A time that passed every check: its end, the rate it is booked at, the rules staff overrode."""

    ends_at: datetime
    rate: object
    overridden: list[str]


def booking_time_check(*, actor: User, specialist: User, patient_id: uuid.UUID, starts_at: datetime,
                       override_rules: bool = False, length: timedelta | None = None,
                       moving_id: uuid.UUID | None = None, now: datetime | None = None) -> CheckedTime:
    """Every check a booking's time must pass, for a new booking and a moved one alike:
    an aware moment the portal accepts, the specialist's hours and exceptions, both
    parties' clashes, and the specialist's booking rules (which staff may override:
    an admin on any calendar, a specialist on their own; the codes overridden come back).

    The database's overlap guarantee still holds when two requests race past these
    checks: the caller's write turns its refusal into SlotUnavailable."""
    if starts_at.tzinfo is None:
        raise ServiceError("starts_at needs a UTC offset.", fields={"starts_at": "Give a UTC offset."})
    if not moment_in_window(starts_at):
        raise ServiceError(WINDOW_MESSAGE, fields={"starts_at": WINDOW_MESSAGE})
    if override_rules and not may_override(actor, specialist.id):
        raise Forbidden("Only staff may override a specialist's booking rules.")
    now = now or clock.now()
    if override_rules and starts_at > now + timedelta(days=max_ahead_days()):
        # Staff override the specialist's window, never the portal's (MAX_BOOKING_AHEAD_DAYS).
        message = f"Book at most {max_ahead_days()} days ahead."
        raise BookingRuleBroken(message, code=OUTSIDE_BOOKING_WINDOW, fields={"starts_at": message})
    ends_at, rate = booking_check(specialist=specialist, patient_id=patient_id, starts_at=starts_at, now=now,
                                  length=length, moving_id=moving_id, for_patient=actor.id == patient_id)
    overridden = booking_rules_enforce(rules=booking_rules_of(specialist.id), patient_id=patient_id,
                                       specialist_id=specialist.id, starts_at=starts_at, now=now,
                                       override=override_rules, moving_id=moving_id)
    return CheckedTime(ends_at, rate, overridden)


def require_confirmed_address(patient: User) -> None:
    """Self-service patients browse at once but book only once their address is confirmed."""
    if patient.email_confirmed_at is None:
        raise Forbidden("Confirm your e-mail address before booking: open the link we sent you, "
                        "or ask for a new one.", code="EMAIL_NOT_CONFIRMED")


BOOK_FOR_YOURSELF = "Patients book for themselves; staff book a patient on a calendar they keep."


def booking_patient(*, actor: User, patient_id: uuid.UUID | None = None,
                    specialist_id: uuid.UUID | None = None) -> User:
    """Whom `actor` books for: themself, or a patient staff book (an admin with any
    specialist, a specialist on their own calendar: policies.can_book_for).

    NotFound for an id that names no active patient; Forbidden for anyone else's booking
    (a patient booking for another, a specialist on another's calendar)."""
    if patient_id is None or patient_id == actor.id:
        if actor.role != Role.PATIENT:
            raise Forbidden(BOOK_FOR_YOURSELF)
        return actor
    if not policies.may_book_for_others(actor):
        raise Forbidden(BOOK_FOR_YOURSELF)
    patient = patient_get(patient_id=patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    if not policies.can("create", actor, Booking(patient_id=patient.id, specialist_id=specialist_id)):
        raise Forbidden(BOOK_FOR_YOURSELF)
    return patient


def booking_create(*, actor: User, patient: User, specialist_id: uuid.UUID, starts_at: datetime,
                   recurring_booking_id: uuid.UUID | None = None, override_rules: bool = False,
                   use_package: bool = True) -> Booking:
    """Book `patient` with a specialist at `starts_at` (aware), under every rule.

    The time passes booking_time_check (hours, exceptions, clashes, booking rules:
    409 SLOT_UNAVAILABLE, BOOKING_LIMIT_REACHED, TOO_SHORT_NOTICE or
    OUTSIDE_BOOKING_WINDOW); staff may pass `override_rules`, and the audit row
    names the rules overridden. When staff book, history and audit name them.

    With `use_package` (the default) the session draws one credit from the
    patient's usable enrolment with this specialist, if they have one, in the
    same transaction; otherwise it is paid singly at the current rate.

    The database refuses an overlapping active booking even when two requests
    race past the check above; that refusal becomes SlotUnavailable too."""
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    if patient.role != Role.PATIENT or not patient.is_active:
        raise Forbidden("Only patients can be booked.")
    if actor.id == patient.id:  # staff book a client in (a phone call, the front desk) before they confirm
        require_confirmed_address(patient)
    checked = booking_time_check(actor=actor, specialist=specialist, patient_id=patient.id, starts_at=starts_at,
                                 override_rules=override_rules)
    ends_at, rate, overridden = checked.ends_at, checked.rate, checked.overridden
    booking = Booking(
        patient_id=patient.id, specialist_id=specialist.id, starts_at=starts_at, ends_at=ends_at,
        status="confirmed", price=rate.price, currency=rate.currency,
        recurring_booking_id=recurring_booking_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(booking)
            db.session.flush()
    except IntegrityError as error:
        log.info("booking for specialist %s at %s lost a race", specialist.id, starts_at)
        raise SlotUnavailable("That time was just taken. Please pick another slot.") from error
    if use_package:
        local_day = starts_at.astimezone(zone_of(specialist)).date()
        enrolment_id = credit_draw(patient_id=patient.id, specialist_id=specialist.id, day=local_day)
        if enrolment_id is not None:  # assigning None would still write the row again
            booking.package_enrolment_id = enrolment_id
            db.session.flush()
    db.session.add(BookingStatusHistory(booking_id=booking.id, from_status=None, to_status="confirmed",
                                        changed_by=actor.id))
    audit_record(actor=actor, action="booking_created", entity_type="booking", entity_id=booking.id,
                 new_values={"specialist_id": specialist.id, "patient_id": patient.id,
                             "starts_at": starts_at, "price": rate.price, "currency": rate.currency,
                             "package_enrolment_id": booking.package_enrolment_id,
                             **({"rules_overridden": overridden} if overridden else {})})
    if recurring_booking_id is None:  # a series' bookings are confirmed by one series mail instead
        booking_mail(booking, "booking_confirmed", [patient, specialist])
    return booking


def booking_mail(booking: Booking, template: str, recipients) -> None:
    """Owe each recipient the booking's `template` mail (in the caller's transaction, one statement)."""
    from portal.services.outbox import outbox_add_many

    outbox_add_many([{"recipient_id": user.id, "template": template, "about": {"booking_id": booking.id},
                      "dedup_key": f"{template}:{booking.id}:{user.id}"} for user in recipients])
