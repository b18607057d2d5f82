"""Creating bookings under the availability rules."""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError

from portal import clock, policies
from portal.domain.booking_rules import OUTSIDE_BOOKING_WINDOW
from portal.domain.inputs import WINDOW_MESSAGE, moment_in_window
from portal.domain.intervals import interval_fits, on_grid
from portal.domain.zones import zone_of
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import Booking, Role, Service, User
from portal.selectors.availability import busy_between, grid_of, windows_between
from portal.selectors.booking_rules import booking_rules_of
from portal.selectors.bookings import booking_clash
from portal.selectors.services import default_service_of, service_day, service_get
from portal.selectors.specialists import specialist_get
from portal.selectors.users import patient_get
from portal.services.booking_records import booking_change_write, booking_mail_rows
from portal.services.booking_rules import BookingRuleBroken, booking_rules_enforce, max_ahead_days, may_override
from portal.services.enrolments import credit_draw
from portal.services.meetings import needs_own_room, own_room_url

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


OFF_GRID = "OFF_GRID"
BUFFER = "BUFFER"


class BookingTime(NamedTuple):
    ends_at: datetime
    rate: object  # the service's SpecialistRate row current that day
    overridden: list[str]  # the rules a staff override set aside (BUFFER), for the audit row
    service: Service | None = None  # the service booked, when the check read it


def bookable_service(specialist: User, service_id: uuid.UUID | None, *,
                     moving: bool = False) -> uuid.UUID | None:
    """The service booked: the given one, if it is the specialist's and active (a session being
    moved keeps its service even when it is no longer offered); else the default."""
    if service_id is None:
        service = default_service_of(specialist.id)
        return service and service.id
    return _offered(specialist, service_get(service_id), service_id, moving=moving).id


def _offered(specialist: User, service: Service | None, service_id: uuid.UUID | None, *,
             moving: bool) -> Service | None:
    """`service`, read for `service_id` (None: the default), if it may be booked (see bookable_service)."""
    if service_id is None:
        return service
    if service is None or service.specialist_id != specialist.id:
        raise NotFound("No such service for this specialist.", fields={"service_id": "Unknown service."})
    if not service.is_active and not moving:
        raise SlotUnavailable("This service is no longer offered.", code="SERVICE_INACTIVE",
                              fields={"service_id": "No longer offered."})
    return service


def _buffers_clear(specialist: User, rules, windows, starts_at: datetime, ends_at: datetime,
                   moving_id: uuid.UUID | None) -> bool:
    before, after = timedelta(minutes=rules.buffer_before_minutes), timedelta(minutes=rules.buffer_after_minutes)
    if not before and not after:
        return True
    if not interval_fits(windows, starts_at - before, ends_at + after):
        return False
    busy = busy_between(specialist.id, starts_at, ends_at, gap=before + after, moving_id=moving_id)
    return not any(s < ends_at and starts_at < e for s, e in busy)


def booking_check(*, specialist: User, patient_id: uuid.UUID, starts_at: datetime,
                  now: datetime | None = None, day_rules: tuple | None = None,
                  service_id: uuid.UUID | None = None, staff: bool = False, override: bool = False,
                  length: timedelta | None = None, moving_id: uuid.UUID | None = None,
                  for_patient: bool = True) -> BookingTime:
    """The checks of a booking's time against hours, exceptions, clashes, the grid and buffers:
    the end time and rate of a booking of the service (the default one when None) starting at
    `starts_at`, or SlotUnavailable.

    Start times lie on the specialist's grid (409 OFF_GRID; `staff` may book off it); the
    session plus buffers fits the working window and clears other bookings' sessions plus
    buffers (409 BUFFER; an `override` sets that aside). What staff set aside is named in
    `overridden`, for the audit row.

    `day_rules` is the day's (rate, session length, working windows) when the caller has read
    them already (a new series: recurring_dispatch.run.first_session_rules); else they are read.
    `length`: the session's length when it is not the rate's (a moved session keeps its own);
    `moving_id`: the booking being moved, whose own time does not clash with itself."""
    now = now or clock.now()
    if starts_at <= now:
        raise SlotUnavailable("Bookings must start in the future.", code="SLOT_UNAVAILABLE")
    local_day = starts_at.astimezone(zone_of(specialist)).date()
    if day_rules is None:
        offer = service_day(specialist.id, local_day, service_id)
        service = _offered(specialist, offer.service, service_id, moving=moving_id is not None)
        rate, grid_minutes = offer.rate, offer.grid_minutes
    else:
        bookable_service(specialist, service_id, moving=moving_id is not None)
        service, rate, grid_minutes = None, day_rules[0], None
    if rate is None:
        raise SlotUnavailable("This specialist has no rate set yet.", code="NO_RATE")
    ends_at = starts_at + (length or timedelta(minutes=rate.duration_minutes))
    windows = windows_between(specialist, local_day, local_day)[local_day] if day_rules is None else day_rules[2]
    if not interval_fits(windows, starts_at, ends_at):
        raise SlotUnavailable("The specialist is not available at that time.")
    rules = booking_rules_of(specialist.id)
    clash = _clash_message(specialist_id=specialist.id, patient_id=patient_id, starts_at=starts_at,
                           ends_at=ends_at, moving_id=moving_id, for_patient=for_patient)
    if clash:
        raise SlotUnavailable(clash)
    overridden = []
    if not on_grid(windows, starts_at, grid_of(specialist.id, rules, local_day, grid_minutes), zone_of(specialist)):
        if not staff:
            raise SlotUnavailable("Sessions start on the specialist's grid of times. Please pick a listed time.",
                                  code=OFF_GRID)
        overridden.append(OFF_GRID)
    if not _buffers_clear(specialist, rules, windows, starts_at, ends_at, moving_id):
        if not override:
            raise SlotUnavailable("The specialist keeps time free between sessions. Please pick another time.",
                                  code=BUFFER)
        overridden.append(BUFFER)
    return BookingTime(ends_at, rate, overridden, service)


def booking_time_check(*, actor: User, specialist: User, patient_id: uuid.UUID, starts_at: datetime,
                       override_rules: bool = False, service_id: uuid.UUID | None = None,
                       length: timedelta | None = None, moving_id: uuid.UUID | None = None,
                       now: datetime | None = None) -> BookingTime:
    """Every check a booking's time must pass, for a new booking and a moved one alike:
    an aware moment the portal accepts, the specialist's hours and exceptions, both
    parties' clashes, the start-time grid and buffers, and the specialist's booking rules
    (staff may override the rules and buffers, and start off the grid: an admin on any
    calendar, a specialist on their own; the codes set aside come back).

    The database's overlap guarantee still holds when two requests race past these
    checks: the caller's write turns its refusal into SlotUnavailable."""
    if starts_at.tzinfo is None:
        raise ServiceError("starts_at needs a UTC offset.", fields={"starts_at": "Give a UTC offset."})
    if not moment_in_window(starts_at):
        raise ServiceError(WINDOW_MESSAGE, fields={"starts_at": WINDOW_MESSAGE})
    staff = may_override(actor, specialist.id)
    if override_rules and not staff:
        raise Forbidden("Only staff may override a specialist's booking rules.")
    now = now or clock.now()
    if override_rules and starts_at > now + timedelta(days=max_ahead_days()):
        # Staff override the specialist's window, never the portal's (MAX_BOOKING_AHEAD_DAYS).
        message = f"Book at most {max_ahead_days()} days ahead."
        raise BookingRuleBroken(message, code=OUTSIDE_BOOKING_WINDOW, fields={"starts_at": message})
    checked = booking_check(specialist=specialist, patient_id=patient_id, starts_at=starts_at, now=now,
                            service_id=service_id, staff=staff, override=override_rules, length=length,
                            moving_id=moving_id, for_patient=actor.id == patient_id)
    overridden = checked.overridden + booking_rules_enforce(
        rules=booking_rules_of(specialist.id), patient_id=patient_id, specialist_id=specialist.id,
        starts_at=starts_at, now=now, override=override_rules, moving_id=moving_id)
    return checked._replace(overridden=overridden)


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
                   use_package: bool = True, service_id: uuid.UUID | None = None) -> Booking:
    """Book `patient` with a specialist at `starts_at` (aware), under every rule.

    The time passes booking_time_check (hours, exceptions, clashes, grid, buffers, booking
    rules: 409 SLOT_UNAVAILABLE, OFF_GRID, BUFFER, BOOKING_LIMIT_REACHED, TOO_SHORT_NOTICE or
    OUTSIDE_BOOKING_WINDOW); staff may pass `override_rules`, and the audit row names the
    rules overridden. When staff book, history and audit name them.

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
                                 override_rules=override_rules, service_id=service_id)
    ends_at, rate, overridden = checked.ends_at, checked.rate, checked.overridden
    # In UTC, as the database keeps them: the answer is built from this object, not read back.
    booking = Booking(
        patient_id=patient.id, specialist_id=specialist.id, starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        status="confirmed", price=rate.price, currency=rate.currency, service_id=rate.service_id,
        recurring_booking_id=recurring_booking_id, room_url=_own_room(checked.service or service_get(rate.service_id)),
    )
    try:
        with db.session.begin_nested():  # a lost race takes the credit drawn for it back too
            if use_package:
                booking.package_enrolment_id = credit_draw(
                    patient_id=patient.id, specialist_id=specialist.id, service_id=rate.service_id,
                    day=starts_at.astimezone(zone_of(specialist)).date())
            db.session.add(booking)
            db.session.flush()
    except IntegrityError as error:
        log.info("booking for specialist %s at %s lost a race", specialist.id, starts_at)
        raise SlotUnavailable("That time was just taken. Please pick another slot.") from error
    booking_change_write(
        booking=booking, actor=actor, from_status=None, to_status="confirmed", action="booking_created",
        new_values={"specialist_id": specialist.id, "patient_id": patient.id, "starts_at": starts_at,
                    "price": rate.price, "currency": rate.currency, "service_id": rate.service_id,
                    "package_enrolment_id": booking.package_enrolment_id,
                    **({"rules_overridden": overridden} if overridden else {})},
        # a series' bookings are confirmed by one series mail instead
        template="booking_confirmed" if recurring_booking_id is None else None,
        recipient_ids=[patient.id, specialist.id])
    return booking


def _own_room(service: Service | None) -> str | None:
    """A video service without a fixed room gives each booking its own, never reused."""
    return own_room_url() if needs_own_room(service) else None


def booking_mail(booking: Booking, template: str, recipients) -> None:
    """Owe each recipient the booking's `template` mail (in the caller's transaction, one statement)."""
    from portal.services.outbox import outbox_add_many

    outbox_add_many(booking_mail_rows(booking, template, [user.id for user in recipients]))
