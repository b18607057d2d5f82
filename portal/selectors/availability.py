"""When a specialist can be booked: their weekly hours, date exceptions, current rate and free slots.

The window rules themselves live in portal.domain.intervals; here they meet the
rows. The session length and price are those of the rate current on that date.
Overlaps with other bookings are checked by the booking service and enforced
by the database."""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import ARRAY

from portal.domain.booking_rules import NO_RULES, allowed_slots
from portal.domain.intervals import (
    DateException,
    HoursRange,
    Interval,
    day_windows,
    grid_slots,
    merge_intervals,
)
from portal.domain.zones import zone_of
from portal.extensions import db
from portal.models import (
    ACTIVE_STATUSES,
    AvailabilityException,
    Booking,
    Service,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.models.row_security import row_security_active
from portal.models.types import UTCDateTime
from portal.selectors.booking_rules import booking_rules_of, upcoming_count
from portal.selectors.services import grid_default_minutes


def hours_of(specialist_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[HoursRange]]:
    ids = list(specialist_ids)
    found: dict[uuid.UUID, list[HoursRange]] = defaultdict(list)
    rows = db.session.execute(
        sa.select(WorkingHours.specialist_id, WorkingHours.weekday, WorkingHours.start_time,
                  WorkingHours.end_time).where(WorkingHours.specialist_id.in_(ids))
    )
    for specialist_id, weekday, start, end in rows:
        found[specialist_id].append(HoursRange(weekday, start, end))
    return found


def exceptions_of(specialist_ids: Iterable[uuid.UUID], first: date, last: date
                  ) -> dict[tuple[uuid.UUID, date], list[DateException]]:
    """The dates that differ, as the window arithmetic reads them. Under row-level security the
    reader is the database's (portal_exceptions_of): a stranger's free times need them too, and
    it gives times, never the reasons."""
    ids = list(specialist_ids)
    found: dict[tuple[uuid.UUID, date], list[DateException]] = defaultdict(list)
    if row_security_active():
        rows = db.session.execute(sa.select(sa.column("specialist_id"), sa.column("exception_date"),
                                            sa.column("is_available"), sa.column("all_day"),
                                            sa.column("start_time"), sa.column("end_time"))
                                  .select_from(sa.func.portal_exceptions_of(sa.literal(ids, ARRAY(sa.Uuid)),
                                                                            first, last)))
    else:
        rows = db.session.scalars(
            sa.select(AvailabilityException).where(
                AvailabilityException.specialist_id.in_(ids),
                AvailabilityException.exception_date.between(first, last),
            )
        )
    for exception in rows:
        found[(exception.specialist_id, exception.exception_date)].append(exception)
    return found


def windows_between(specialist: User, first: date, last: date) -> dict[date, list[Interval]]:
    """Working windows for each local date from `first` to `last` inclusive."""
    zone = zone_of(specialist)
    hours = hours_of([specialist.id])[specialist.id]
    exceptions = exceptions_of([specialist.id], first, last)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return {day: day_windows(day, zone, hours, exceptions.get((specialist.id, day), [])) for day in days}


def rate_on(specialist_id: uuid.UUID, on: date, service_id: uuid.UUID | None = None) -> SpecialistRate | None:
    """The length and price current on `on` of the service (the specialist's default one when
    None): the latest effective_from not after it."""
    if service_id is None:
        service_id = sa.select(Service.id).where(Service.specialist_id == specialist_id,
                                                 Service.is_default.is_(True)).scalar_subquery()
    return db.session.scalar(
        sa.select(SpecialistRate)
        .where(SpecialistRate.specialist_id == specialist_id, SpecialistRate.service_id == service_id,
               SpecialistRate.effective_from <= on)
        .order_by(SpecialistRate.effective_from.desc(), SpecialistRate.created_at.desc())
        .limit(1)
    )


def busy_between(specialist_id: uuid.UUID, start: datetime, end: datetime, *, gap: timedelta,
                 patient_id: uuid.UUID | None = None, moving_id: uuid.UUID | None = None) -> list[Interval]:
    """Busy intervals, merged and sorted: the specialist's sessions widened by `gap` on each side
    (their buffers and the new session's), and the patient's own sessions elsewhere as they are.
    The booking being moved (`moving_id`) does not count: its time is free for its own move."""
    if row_security_active():
        rows = db.session.execute(
            sa.select(sa.column("starts_at", UTCDateTime), sa.column("ends_at", UTCDateTime), sa.column("own"))
            .select_from(sa.func.portal_busy_between(specialist_id, start, end, gap, patient_id, moving_id)))
        return merge_intervals((s - gap, e + gap) if own else (s, e) for s, e, own in rows)
    party = Booking.specialist_id == specialist_id
    if patient_id is not None:
        party = sa.or_(party, Booking.patient_id == patient_id)
    rows = db.session.execute(
        sa.select(Booking.starts_at, Booking.ends_at, Booking.specialist_id == specialist_id).where(
            party, Booking.status.in_(ACTIVE_STATUSES), Booking.starts_at < end + gap, Booking.ends_at > start - gap,
            *([Booking.id != moving_id] if moving_id else []),
        )
    )
    return merge_intervals((s - gap, e + gap) if own else (s, e) for s, e, own in rows)


def grid_of(specialist_id: uuid.UUID, rules, on: date, default_minutes: int | None = None) -> timedelta:
    """The start-time grid in force: the specialist's, or the default their services give
    (`default_minutes`, when the caller has read it already: selectors.services.service_day)."""
    return timedelta(minutes=rules.slot_interval_minutes or default_minutes
                     or grid_default_minutes(specialist_id, on))


def free_slots(specialist: User, first: date, last: date, *, now: datetime,
               duration: timedelta, patient_id: uuid.UUID | None = None,
               moving_id: uuid.UUID | None = None, rules_apply: bool = True,
               grid_minutes: int | None = None) -> list[Interval]:
    """Bookable intervals of `duration` between two local dates, after `now`, on the specialist's
    start-time grid, whose session plus buffers fits a working window and clears every other
    booking's session plus buffers, that the booking rules allow (minimum notice, window).

    With `patient_id`, times the patient is already booked elsewhere are left out,
    and every slot once the patient holds as many upcoming sessions as allowed.
    `moving_id`: the booking being moved neither blocks its own time nor counts
    towards that limit. Without `rules_apply` (staff, who may override the rules)
    only the portal's own limit on how far ahead remains. `grid_minutes`: the default grid on
    `first`, when the caller has read it already (selectors.services.grid_minutes_of)."""
    windows = windows_between(specialist, first, last)
    all_windows = [w for day in sorted(windows) for w in windows[day]]
    if not all_windows or duration <= timedelta(0):
        return []
    rules = booking_rules_of(specialist.id)
    before, after = timedelta(minutes=rules.buffer_before_minutes), timedelta(minutes=rules.buffer_after_minutes)
    busy = busy_between(specialist.id, all_windows[0][0], all_windows[-1][1], gap=before + after,
                        patient_id=patient_id, moving_id=moving_id)
    step, zone = grid_of(specialist.id, rules, first, grid_minutes), zone_of(specialist)
    slots = [slot for window in all_windows
             for slot in grid_slots(window, duration, busy, now, step=step, before=before, after=after, zone=zone)]
    upcoming = (upcoming_count(patient_id=patient_id, specialist_id=specialist.id, now=now, moving_id=moving_id)
                if patient_id is not None and rules_apply else None)
    limits = rules if rules_apply else NO_RULES
    return allowed_slots(slots, limits, now, current_app.config["MAX_BOOKING_AHEAD_DAYS"], upcoming)


def next_free_slots(specialist: User, *, now: datetime, patient_id: uuid.UUID | None = None,
                    days: int = 14, limit: int | None = None, rate: SpecialistRate | None = None,
                    duration: timedelta | None = None, moving_id: uuid.UUID | None = None,
                    rules_apply: bool = True, service_id: uuid.UUID | None = None) -> list[Interval]:
    """Free slots from today (specialist's zone) for `days` days, at the length the service (the
    default one when None) has today (`rate`, when the caller has read it already; `duration`,
    when the session keeps a length of its own, as a moved one does)."""
    zone = zone_of(specialist)
    first = now.astimezone(zone).date()
    rate = rate or rate_on(specialist.id, first, service_id)
    if rate is None:
        return []
    slots = free_slots(specialist, first, first + timedelta(days=days - 1), now=now,
                       duration=duration or timedelta(minutes=rate.duration_minutes), patient_id=patient_id,
                       moving_id=moving_id, rules_apply=rules_apply)
    return slots[:limit] if limit else slots
