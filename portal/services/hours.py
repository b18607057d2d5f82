"""Changing when a specialist works: weekly hours, rates and date exceptions.

Only the specialist themself or an admin may change them (policies); every
change is audited in the same transaction. Placing an exception over active
bookings never drops them silently: the caller chooses to keep them (they are
flagged through Booking.attention_reason) or to cancel them through the
cancellation service."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, time

from portal import clock, policies
from portal.domain.inputs import CENTS, MAX_PRICE, WINDOW_MESSAGE, InputError, date_in_window, parse_decimal
from portal.domain.intervals import interval_fits
from portal.domain.zones import zone_of
from portal.errors import Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import (
    EXCEPTION_REASONS,
    AvailabilityException,
    Booking,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.selectors.availability import windows_between
from portal.selectors.hours import (
    affected_bookings,
    bookings_flagged_on,
    exceptions_on_day,
    working_hours_of,
)
from portal.selectors.specialists import specialist_get
from portal.services.audit import audit_record

log = logging.getLogger(__name__)

AFFECTED_CHOICES = ("keep", "cancel")
AVAILABLE_ONLY_NEEDS_RANGE = ("“Available only” needs a time range: give the hours you are available "
                              "that day (an all-day “available only” would open all 24 hours).")


@dataclass(frozen=True)
class HoursInput:
    weekday: int
    start: time
    end: time


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return specialist


ONLY_THEIRS = "Only the specialist or an admin may change this."


def _require(action: str, actor, row) -> None:
    if not policies.can(action, actor, row):
        raise Forbidden(ONLY_THEIRS)


# ---------- weekly hours ----------

def _validate_hours(ranges: list[HoursInput]) -> list[HoursInput]:
    ranges = sorted(ranges, key=lambda r: (r.weekday, r.start))
    for index, item in enumerate(ranges):
        if not 0 <= item.weekday <= 6:
            raise ServiceError("Weekday must be 0 (Monday) to 6.", fields={"weekday": "Use 0-6."})
        if item.start >= item.end:
            raise ServiceError("Each range must end after it starts.",
                               fields={"end": "End must be after start."})
        previous = ranges[index - 1] if index else None
        if previous and previous.weekday == item.weekday and item.start < previous.end:
            raise ServiceError("Ranges on the same day must not overlap.",
                               fields={"start": "Overlaps another range that day."})
    return ranges


def working_hours_replace(*, actor, specialist_id, ranges: list[HoursInput]) -> list[WorkingHours]:
    """Replace the specialist's whole week with `ranges` (their own time zone)."""
    specialist = _specialist(specialist_id)
    _require("update", actor, WorkingHours(specialist_id=specialist.id))
    ranges = _validate_hours(list(ranges))
    old = working_hours_of(specialist.id)
    old_values = [(h.weekday, h.start_time, h.end_time) for h in old]
    for row in old:
        db.session.delete(row)
    db.session.flush()
    rows = [WorkingHours(specialist_id=specialist.id, weekday=r.weekday, start_time=r.start, end_time=r.end)
            for r in ranges]
    db.session.add_all(rows)
    db.session.flush()
    audit_record(actor=actor, action="working_hours_replaced", entity_type="specialist",
                 entity_id=specialist.id, old_values={"hours": old_values},
                 new_values={"hours": [(r.weekday, r.start, r.end) for r in ranges]})
    log.info("working hours of %s replaced by %s", specialist.id, actor.id)
    return rows


# ---------- rates ----------

def rate_add(*, actor, specialist_id, duration_minutes: int, price, currency: str,
             effective_from: date, service_id=None) -> SpecialistRate:
    """A new rate of the service (the default one when None), current from `effective_from`
    (today or later); older ones stay as history."""
    specialist = _specialist(specialist_id)
    _require("create", actor, SpecialistRate(specialist_id=specialist.id))
    try:
        price = parse_decimal(price).quantize(CENTS)
    except InputError as error:
        raise ServiceError("Enter a price.", fields={"price": "Not a number."}) from error
    currency = (currency or "").strip().upper()
    errors = {}
    if not isinstance(duration_minutes, int) or not 5 <= duration_minutes <= 480:
        errors["duration_minutes"] = "Between 5 and 480 minutes."
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        errors["price"] = "Zero or more, below 100,000,000."
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = "A three-letter code such as USD."
    if effective_from < clock.today(zone_of(specialist).key):
        errors["effective_from"] = "Today or later: past rates are history."
    elif not date_in_window(effective_from):
        errors["effective_from"] = WINDOW_MESSAGE
    if errors:
        raise ServiceError("Some fields are invalid.", fields=errors)
    rate = SpecialistRate(specialist_id=specialist.id, service_id=service_id, duration_minutes=duration_minutes,
                          price=price, currency=currency, effective_from=effective_from)
    db.session.add(rate)
    db.session.flush()
    audit_record(actor=actor, action="rate_added", entity_type="specialist_rate", entity_id=rate.id,
                 new_values={"specialist_id": specialist.id, "service_id": rate.service_id,
                             "duration_minutes": duration_minutes,
                             "price": price, "currency": currency, "effective_from": effective_from})
    return rate


# ---------- exceptions ----------

@dataclass(frozen=True)
class ExceptionInput:
    exception_date: date
    reason: str
    is_available: bool = False
    all_day: bool = True
    start_time: time | None = None
    end_time: time | None = None


def _validate_exception(data: ExceptionInput) -> ExceptionInput:
    if not date_in_window(data.exception_date):
        raise ServiceError(WINDOW_MESSAGE, fields={"exception_date": WINDOW_MESSAGE})
    if data.reason not in EXCEPTION_REASONS:
        raise ServiceError("Pick a reason from the list.", fields={"reason": "Unknown reason."})
    if data.all_day and data.is_available:  # would open all 24 hours of the day
        raise ServiceError(AVAILABLE_ONLY_NEEDS_RANGE,
                           fields={"all_day": "Must be false when is_available is true.",
                                   "start_time": "Required when is_available is true."})
    if data.all_day:
        return ExceptionInput(data.exception_date, data.reason, data.is_available, True, None, None)
    if data.start_time is None or data.end_time is None:
        raise ServiceError("Give a start and an end time, or choose all day.",
                           fields={"start_time": "Required unless all day."})
    if data.start_time >= data.end_time:
        raise ServiceError("The end must be after the start.", fields={"end_time": "End before start."})
    return data


def _resolve_affected(*, actor, exception: AvailabilityException, bookings: list[Booking],
                      affected: str, cancel_reason: str | None) -> None:
    if affected == "cancel":
        from portal.services.cancellations import booking_cancel  # it audits through services.hours

        for booking in bookings:
            booking_cancel(actor=actor, booking_id=booking.id, reason=cancel_reason, as_staff=True)
        return
    for booking in bookings:
        booking.attention_reason = _flag_note(exception)
    db.session.flush()


def _flag_note(exception: AvailabilityException) -> str:
    # No reason: the flag is shown to the patient, and why the specialist is away is theirs.
    day = exception.exception_date.isoformat()
    if exception.all_day:
        return f"Specialist marked {day} unavailable"
    span = f"{exception.start_time:%H:%M}–{exception.end_time:%H:%M}"
    if exception.is_available:
        return f"Specialist available only {span} on {day}"
    return f"Specialist marked {day} {span} unavailable"


def _check_resolution(bookings, affected: str, cancel_reason: str | None) -> None:
    if affected not in AFFECTED_CHOICES:
        raise ServiceError("Choose to keep or cancel the affected bookings.",
                           fields={"affected": "keep or cancel"})
    if bookings and affected == "cancel" and not (cancel_reason or "").strip():
        raise ServiceError("Give a reason for cancelling the affected bookings.",
                           fields={"cancel_reason": "Required to cancel."})


def _exception_values(row: AvailabilityException) -> dict:
    return {"specialist_id": row.specialist_id, "exception_date": row.exception_date,
            "is_available": row.is_available, "reason": row.reason, "all_day": row.all_day,
            "start_time": row.start_time, "end_time": row.end_time}


def exception_create(*, actor, specialist_id, data: ExceptionInput, affected: str = "keep",
                     cancel_reason: str | None = None) -> tuple[AvailabilityException, list[Booking]]:
    """Add an exception; bookings it affects are kept and flagged, or cancelled."""
    specialist = _specialist(specialist_id)
    _require("create", actor, AvailabilityException(specialist_id=specialist.id))
    data = _validate_exception(data)
    bookings = affected_bookings(specialist=specialist, data=data)
    _check_resolution(bookings, affected, cancel_reason)
    row = AvailabilityException(specialist_id=specialist.id, exception_date=data.exception_date,
                                is_available=data.is_available, reason=data.reason, all_day=data.all_day,
                                start_time=data.start_time, end_time=data.end_time)
    db.session.add(row)
    db.session.flush()
    _resolve_affected(actor=actor, exception=row, bookings=bookings, affected=affected,
                      cancel_reason=cancel_reason)
    audit_record(actor=actor, action="availability_exception_created", entity_type="availability_exception",
                 entity_id=row.id, new_values={**_exception_values(row), "affected": affected,
                                               "affected_bookings": [b.id for b in bookings]})
    return row, bookings


def exception_update(*, actor, exception_id, changes: dict, affected: str = "keep",
                     cancel_reason: str | None = None) -> tuple[AvailabilityException, list[Booking]]:
    row = _load_exception(actor, exception_id, "update")
    values = {**_exception_values(row), **changes}
    data = _validate_exception(ExceptionInput(
        values["exception_date"], values["reason"], values["is_available"], values["all_day"],
        values["start_time"], values["end_time"]))
    specialist = db.session.get(User, row.specialist_id)
    bookings = affected_bookings(specialist=specialist, data=data)
    _check_resolution(bookings, affected, cancel_reason)
    old = _exception_values(row)
    for key in ("exception_date", "reason", "is_available", "all_day", "start_time", "end_time"):
        setattr(row, key, getattr(data, key))
    db.session.flush()
    _resolve_affected(actor=actor, exception=row, bookings=bookings, affected=affected,
                      cancel_reason=cancel_reason)
    cleared = _clear_flags_that_no_longer_apply(specialist, old["exception_date"])
    audit_record(actor=actor, action="availability_exception_updated", entity_type="availability_exception",
                 entity_id=row.id, old_values=old,
                 new_values={**_exception_values(row), "affected": affected,
                             **({"cleared_bookings": [b.id for b in cleared]} if cleared else {})})
    return row, bookings


def exception_delete(*, actor, exception_id) -> None:
    row = _load_exception(actor, exception_id, "delete")
    old = _exception_values(row)
    db.session.delete(row)
    db.session.flush()
    cleared = _clear_flags_that_no_longer_apply(db.session.get(User, old["specialist_id"]),
                                                old["exception_date"])
    audit_record(actor=actor, action="availability_exception_deleted", entity_type="availability_exception",
                 entity_id=exception_id, old_values=old,
                 new_values={"cleared_bookings": [b.id for b in cleared]} if cleared else None)


def _clear_flags_that_no_longer_apply(specialist: User, day: date) -> list[Booking]:
    """Kept bookings flagged for an exception on `day` that lie inside the day's
    working time again (the exception was removed or moved): they need no
    attention any more. Those still outside it stay flagged, under the name
    of an exception that remains on that day."""
    windows = windows_between(specialist, day, day)[day]
    flagged = bookings_flagged_on(specialist=specialist, day=day)
    remaining = exceptions_on_day(specialist_id=specialist.id, day=day)
    cleared = []
    for booking in flagged:
        if interval_fits(windows, booking.starts_at, booking.ends_at):
            booking.attention_reason = None
            cleared.append(booking)
        elif remaining:  # still outside working time: name an exception that is still there
            booking.attention_reason = _flag_note(remaining[0])
    db.session.flush()
    return cleared


def _load_exception(actor, exception_id, action: str) -> AvailabilityException:
    return policies.load(AvailabilityException, exception_id, actor, action=action, missing="No such exception.",
                         refused=ONLY_THEIRS)
