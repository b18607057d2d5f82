"""Working windows as UTC intervals, computed from weekly hours and date exceptions.

The rules, shared by the booking pages, the API and the recurring dispatcher:
- a booking lies wholly inside one of the day's working windows;
- its start lies on the specialist's grid, counted from the top of the hour the window starts in
  (on_grid, grid_slots);
- weekly hours are in the specialist's own zone (so DST days come out right);
- an exception with is_available=False removes its interval (the whole day
  when all_day); one with is_available=True replaces that date's weekly hours
  with its own range (the spec's "partially available").

Nothing here queries: bulk callers (the dispatcher) load hours and exceptions
once for many days and specialists, and the selectors load them for one."""
from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class HoursRange:
    weekday: int
    start: time
    end: time


class DateException(Protocol):
    """What the arithmetic reads of an exception: a stored row and a form's input both qualify."""

    exception_date: date
    is_available: bool
    all_day: bool
    start_time: time | None
    end_time: time | None


def local_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
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


def exception_interval(exception: DateException, zone: ZoneInfo) -> Interval:
    day = exception.exception_date
    if exception.all_day:
        return local_at(day, time(0), zone), day_end(day, zone)
    return local_at(day, exception.start_time, zone), local_at(day, exception.end_time, zone)


def day_windows(day: date, zone: ZoneInfo, hours: Iterable[HoursRange],
                exceptions: Iterable[DateException]) -> list[Interval]:
    """The UTC intervals in which the specialist works on `day` (their local date)."""
    exceptions = list(exceptions)
    overrides = [e for e in exceptions if e.is_available]
    if overrides:
        windows = [exception_interval(e, zone) for e in overrides]
    else:
        windows = [(local_at(day, h.start, zone), local_at(day, h.end, zone))
                   for h in hours if h.weekday == day.weekday()]
    windows = merge_intervals(windows)
    for blocked in (e for e in exceptions if not e.is_available):
        windows = _subtract(windows, exception_interval(blocked, zone))
    return windows


def interval_fits(windows: list[Interval], starts_at: datetime, ends_at: datetime) -> bool:
    return any(start <= starts_at and ends_at <= end for start, end in windows)


def hour_of(moment: datetime, zone: ZoneInfo) -> datetime:
    """The top of the hour at or before `moment` in `zone` (where a start-time grid is counted from)."""
    return moment.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def on_grid(windows: list[Interval], starts_at: datetime, step: timedelta, zone: ZoneInfo) -> bool:
    """Whether `starts_at` lies on the grid of the working window it falls in: every `step`
    from the top of the hour the window starts in."""
    for start, end in windows:
        if start <= starts_at < end:
            return (starts_at - hour_of(start, zone)) % step == timedelta(0)
    return False


def grid_slots(window: Interval, duration: timedelta, busy: list[Interval], now: datetime, *,
               step: timedelta, before: timedelta, after: timedelta, zone: ZoneInfo) -> list[Interval]:
    """Slots of a window on its grid (see on_grid) whose session plus buffers fits the window,
    skipping past ones and those whose session meets `busy` (merged, sorted; the specialist's
    bookings already widened by both buffers)."""
    start, end = window
    anchor = hour_of(start, zone)
    earliest = start + before
    cursor = anchor + -(-(earliest - anchor) // step) * step if earliest > anchor else anchor
    index = max(bisect.bisect_left(busy, (cursor,)) - 1, 0)
    slots: list[Interval] = []
    while cursor + duration + after <= end:
        slot_end = cursor + duration
        while index < len(busy) and busy[index][1] <= cursor:
            index += 1
        if cursor > now and not (index < len(busy) and busy[index][0] < slot_end):
            slots.append((cursor, slot_end))
        cursor += step
    return slots
