"""When a specialist can be booked: weekly hours, date exceptions, current rate.

The rules, shared by the booking pages, the API and the recurring dispatcher:
- a booking lies wholly inside one of the day's working windows;
- weekly hours are in the specialist's own zone (so DST days come out right);
- an exception with is_available=False removes its interval (the whole day
  when all_day); one with is_available=True replaces that date's weekly hours
  with its own range (the spec's "partially available");
- the session length and price are those of the rate current on that date.
Overlaps with other bookings are checked by the booking service and enforced
by the database.

`day_windows` is pure (no queries) so bulk callers can load hours and
exceptions once for many days and specialists."""
from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    ACTIVE_STATUSES,
    AvailabilityException,
    Booking,
    SpecialistRate,
    User,
    WorkingHours,
)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class HoursRange:
    weekday: int
    start: time
    end: time


def local_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(windows: list[Interval], blocked: Interval) -> list[Interval]:
    out: list[Interval] = []
    b_start, b_end = blocked
    for start, end in windows:
        if b_end <= start or end <= b_start:
            out.append((start, end))
            continue
        if start < b_start:
            out.append((start, b_start))
        if b_end < end:
            out.append((b_end, end))
    return out


def exception_interval(exception: AvailabilityException, zone: ZoneInfo) -> Interval:
    day = exception.exception_date
    if exception.all_day:
        return local_at(day, time(0), zone), day_end(day, zone)
    return local_at(day, exception.start_time, zone), local_at(day, exception.end_time, zone)


def day_windows(day: date, zone: ZoneInfo, hours: Iterable[HoursRange],
                exceptions: Iterable[AvailabilityException]) -> list[Interval]:
    """The UTC intervals in which the specialist works on `day` (their local date)."""
    exceptions = list(exceptions)
    overrides = [e for e in exceptions if e.is_available]
    if overrides:
        windows = [exception_interval(e, zone) for e in overrides]
    else:
        windows = [(local_at(day, h.start, zone), local_at(day, h.end, zone))
                   for h in hours if h.weekday == day.weekday()]
    windows = _merge(windows)
    for blocked in (e for e in exceptions if not e.is_available):
        windows = _subtract(windows, exception_interval(blocked, zone))
    return windows


def interval_fits(windows: list[Interval], starts_at: datetime, ends_at: datetime) -> bool:
    return any(start <= starts_at and ends_at <= end for start, end in windows)


def specialist_zone(specialist: User) -> ZoneInfo:
    return ZoneInfo(specialist.timezone or "UTC")


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
                  ) -> dict[tuple[uuid.UUID, date], list[AvailabilityException]]:
    ids = list(specialist_ids)
    found: dict[tuple[uuid.UUID, date], list[AvailabilityException]] = defaultdict(list)
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
    zone = specialist_zone(specialist)
    hours = hours_of([specialist.id])[specialist.id]
    exceptions = exceptions_of([specialist.id], first, last)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return {day: day_windows(day, zone, hours, exceptions.get((specialist.id, day), [])) for day in days}


def rate_on(specialist_id: uuid.UUID, on: date) -> SpecialistRate | None:
    """The rate current on `on`: the latest effective_from not after it."""
    return db.session.scalar(
        sa.select(SpecialistRate)
        .where(SpecialistRate.specialist_id == specialist_id, SpecialistRate.effective_from <= on)
        .order_by(SpecialistRate.effective_from.desc(), SpecialistRate.created_at.desc())
        .limit(1)
    )


def active_bookings_between(specialist_id: uuid.UUID, start: datetime, end: datetime,
                            patient_id: uuid.UUID | None = None) -> list[Interval]:
    """Busy intervals of the specialist (and of the patient, when given), sorted."""
    party = Booking.specialist_id == specialist_id
    if patient_id is not None:
        party = sa.or_(party, Booking.patient_id == patient_id)
    rows = db.session.execute(
        sa.select(Booking.starts_at, Booking.ends_at).where(
            party, Booking.status.in_(ACTIVE_STATUSES), Booking.starts_at < end, Booking.ends_at > start,
        ).order_by(Booking.starts_at)
    )
    return _merge((s, e) for s, e in rows)


def _slots_in(window: Interval, duration: timedelta, busy: list[Interval], now: datetime) -> list[Interval]:
    """Back-to-back slots of a window from its start, skipping busy and past ones.

    `busy` is merged and sorted, so one forward pass finds each clash."""
    slots: list[Interval] = []
    start, end = window
    index = bisect.bisect_left(busy, (start,)) - 1 if busy else 0
    index = max(index, 0)
    cursor = start
    while cursor + duration <= end:
        slot_end = cursor + duration
        while index < len(busy) and busy[index][1] <= cursor:
            index += 1
        clash = index < len(busy) and busy[index][0] < slot_end
        if cursor > now and not clash:
            slots.append((cursor, slot_end))
        cursor = slot_end
    return slots


def free_slots(specialist: User, first: date, last: date, *, now: datetime,
               duration: timedelta, patient_id: uuid.UUID | None = None) -> list[Interval]:
    """Bookable intervals of `duration` between two local dates, after `now`.

    With `patient_id`, times the patient is already booked elsewhere are left out."""
    windows = windows_between(specialist, first, last)
    all_windows = [w for day in sorted(windows) for w in windows[day]]
    if not all_windows or duration <= timedelta(0):
        return []
    busy = active_bookings_between(specialist.id, all_windows[0][0], all_windows[-1][1], patient_id)
    return [slot for window in all_windows for slot in _slots_in(window, duration, busy, now)]


def next_free_slots(specialist: User, *, now: datetime, patient_id: uuid.UUID | None = None,
                    days: int = 14, limit: int | None = None) -> list[Interval]:
    """Free slots from today (specialist's zone) for `days` days, at the current rate's length."""
    zone = specialist_zone(specialist)
    first = now.astimezone(zone).date()
    rate = rate_on(specialist.id, first)
    if rate is None:
        return []
    slots = free_slots(specialist, first, first + timedelta(days=days - 1), now=now,
                       duration=timedelta(minutes=rate.duration_minutes), patient_id=patient_id)
    return slots[:limit] if limit else slots
