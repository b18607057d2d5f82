"""Recurring series: a patient's standing appointment with a specialist.

The dates of a series' occurrences are pure rules (portal/domain/recurrence.py).
The daily dispatcher (recurring_dispatch) turns due occurrences
into bookings; these functions create and manage the series themselves and,
like every service, flush but never commit."""
from __future__ import annotations

import logging
import uuid
from datetime import date, time
from zoneinfo import ZoneInfo

from portal import clock, policies
from portal.domain.recurrence import (
    FREQUENCIES,
    first_index_from,
    occurrence_date,
    occurrence_start,
)
from portal.extensions import db
from portal.models import RecurringBooking, Role, User
from portal.selectors.specialists import specialist_get
from portal.services import Conflict, Forbidden, NotFound, ServiceError
from portal.services.audit import audit_record, changed_fields
from portal.services.recurring_dispatch import dispatch

log = logging.getLogger(__name__)

DEFAULT_TIME = time(10, 0)


def series_status(series: RecurringBooking) -> str:
    if not series.is_active:
        return "ended"
    return "paused" if series.paused_at else "active"


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.", fields={"specialist_id": "No such specialist."})
    return specialist


def _check_dates(start_date: date, end_date: date | None) -> None:
    if end_date is not None and end_date < start_date:
        raise ServiceError("The end date is before the start date.",
                           fields={"end_date": "Must be on or after the start date."})


def recurring_create(*, actor: User, patient: User, specialist_id: uuid.UUID, frequency: str,
                     start_date: date, end_date: date | None = None,
                     time_of_day: time | None = None) -> RecurringBooking:
    """A new series; its first occurrence must be a bookable slot right now."""
    from portal.services.bookings import SlotUnavailable, booking_check, require_confirmed_address

    require_confirmed_address(patient)
    if frequency not in FREQUENCIES:
        raise ServiceError("Unknown frequency.", fields={"frequency": "weekly, biweekly or monthly."})
    _check_dates(start_date, end_date)
    specialist = _specialist(specialist_id)
    series = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency=frequency,
                              start_date=start_date, end_date=end_date,
                              time_of_day=time_of_day or DEFAULT_TIME, is_active=True,
                              next_booking_date=start_date, next_occurrence_index=0)
    if patient.role != Role.PATIENT or not policies.can("create", actor, series):
        raise Forbidden("You may not create this series.")
    first = occurrence_start(start_date, series.time_of_day, ZoneInfo(specialist.timezone or "UTC"))
    try:
        booking_check(specialist=specialist, patient_id=patient.id, starts_at=first)
    except SlotUnavailable as error:
        raise SlotUnavailable(f"The first session cannot be booked: {error.message}", code=error.code,
                              fields={"start_date": error.message}) from error
    db.session.add(series)
    db.session.flush()
    audit_record(actor=actor, action="recurring_booking_created", entity_type="recurring_booking",
                 entity_id=series.id,
                 new_values={"specialist_id": specialist.id, "user_id": patient.id,
                             "frequency": frequency, "start_date": start_date, "end_date": end_date,
                             "time_of_day": series.time_of_day})
    return series


def _require(action: str, actor: User, series: RecurringBooking) -> None:
    if not policies.can(action, actor, series):
        raise Forbidden("You may not change this series.")


def _update(actor: User, series: RecurringBooking, action: str, values: dict) -> RecurringBooking:
    old, new = changed_fields(series, values)
    for key, value in values.items():
        setattr(series, key, value)
    db.session.flush()
    audit_record(actor=actor, action=action, entity_type="recurring_booking", entity_id=series.id,
                 old_values=old, new_values=new)
    return series


def recurring_pause(*, actor: User, series: RecurringBooking) -> RecurringBooking:
    _require("update", actor, series)
    if not series.is_active:
        raise Conflict("This series has ended.")
    if series.paused_at:
        return series
    return _update(actor, series, "recurring_booking_paused", {"paused_at": clock.now()})


def recurring_resume(*, actor: User, series: RecurringBooking) -> RecurringBooking:
    """Resume from today: occurrences that fell inside the pause are not booked."""
    _require("update", actor, series)
    if not series.is_active:
        raise Conflict("This series has ended.")
    if not series.paused_at:
        return series
    index = first_index_from(series.start_date, series.frequency, series.next_occurrence_index,
                             clock.today(series_zone_name(series)))
    next_date = occurrence_date(series.start_date, series.frequency, index)
    values = {"paused_at": None, "next_occurrence_index": index, "next_booking_date": next_date}
    if series.end_date and next_date > series.end_date:
        values["is_active"] = False
    return _update(actor, series, "recurring_booking_resumed", values)


def series_zone_name(series: RecurringBooking) -> str:
    specialist = db.session.get(User, series.specialist_id)
    return (specialist.timezone if specialist else None) or "UTC"


def recurring_end(*, actor: User, series: RecurringBooking) -> RecurringBooking:
    """Stop the series for good; bookings already made stay."""
    _require("update", actor, series)
    if not series.is_active:
        return series
    return _update(actor, series, "recurring_booking_ended", {"is_active": False, "paused_at": None})


def recurring_set_end_date(*, actor: User, series: RecurringBooking,
                           end_date: date | None) -> RecurringBooking:
    _require("update", actor, series)
    _check_dates(series.start_date, end_date)
    values: dict = {"end_date": end_date}
    if end_date and series.next_booking_date and series.next_booking_date > end_date:
        values["is_active"] = False
    return _update(actor, series, "recurring_booking_updated", values)


def recurring_delete(*, actor: User, series: RecurringBooking) -> None:
    """Delete the series and its skip records; its bookings stay (unlinked)."""
    if not policies.can("delete", actor, series):
        raise Forbidden("You may not delete this series.")
    series_id = series.id
    db.session.delete(series)
    db.session.flush()
    audit_record(actor=actor, action="recurring_booking_deleted", entity_type="recurring_booking",
                 entity_id=series_id)


def recurring_dispatch(*, run_date: date | None = None, actor=None) -> dict:
    """Book every due occurrence of every active series (see recurring_dispatch).

    Unlike other services this one COMMITS, once per batch of series, so that a
    failing series never undoes the others' work; call it outside a request's
    own unit of work."""
    return dispatch(run_date=run_date, actor=actor)
