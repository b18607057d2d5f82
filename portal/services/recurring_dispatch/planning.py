"""Which due occurrences a batch books and which it skips, and why: pure code over rows already loaded."""
from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from portal.domain.booking_rules import (
    BOOKING_LIMIT_REACHED,
    SKIP_REASONS,
    BookingRules,
    limit_headroom,
    limit_refusal,
)
from portal.domain.intervals import HoursRange, day_windows
from portal.domain.recurrence import occurrence_date, occurrence_start

MISSED = "Missed: the session time had already passed"
NO_RATE = "No rates found"
UNAVAILABLE = "Specialist unavailable"
SLOT_TAKEN = "Slot taken: the specialist already has a booking at that time"
PATIENT_BUSY = "The patient already has a booking at that time"
LIMIT_REACHED = SKIP_REASONS[BOOKING_LIMIT_REACHED]


@dataclass
class Series:
    id: uuid.UUID
    user_id: uuid.UUID
    specialist_id: uuid.UUID
    frequency: str
    start_date: date
    end_date: date | None
    time_of_day: time
    index: int
    last_generated_date: date | None
    zone: ZoneInfo
    specialist_active: bool
    version: str | None = None  # the row's xmin when it was read without a lock (PostgreSQL's read-ahead)
    service_id: uuid.UUID | None = None  # None: the specialist's default service


@dataclass
class Occurrence:
    series: Series
    day: date
    starts_at: datetime


@dataclass
class Due:
    """A series' occurrences due by the run date, and the index and date that follow them."""

    series: Series
    occurrences: list[Occurrence]
    next_index: int
    next_day: date


@dataclass
class Plan:
    """What one batch will write, and what it reports.

    `bookings` holds the rows the rules allow; after the write it holds only
    those the database took (the rest became skips)."""

    bookings: list[dict] = field(default_factory=list)
    skips: list[dict] = field(default_factory=list)
    advances: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    new_ids: Iterator[uuid.UUID] | None = field(default=None, repr=False)  # ids for the bookings, made at once
    prepared: object | None = field(default=None, repr=False)  # its statements' parameters (postgres.prepare)

    def skip(self, series_id: uuid.UUID, day: date, reason: str, now: datetime) -> None:
        self.skips.append({"id": uuid.uuid4(), "recurring_booking_id": series_id, "occurrence_date": day,
                           "reason": reason, "created_at": now})
        self.errors.append({"recurring_id": str(series_id), "error": reason})

    def note_last_booked(self) -> None:
        """Only bookings the database took count as generated, so this runs after the insert."""
        for advance, last in zip(self.advances, last_generated_dates(self.advances, self.bookings), strict=True):
            advance["last_generated_date"] = last


def last_generated_dates(advances: list[dict], bookings: list[dict]) -> list[date | None]:
    """Each advancing series' last generated date once `bookings` are in."""
    last_booked = {b["recurring_booking_id"]: b["occurrence_date"] for b in bookings}
    return [last_booked.get(advance["id"], advance["last_generated_date"]) for advance in advances]


# The UTC start of a local date and time: many series share a few (day, time, zone)s, and a zone conversion is slow.
_start = lru_cache(maxsize=65536)(occurrence_start)


def due_occurrences(series: Series, until: date) -> Due:
    """The series' occurrences from its next one up to `until` (the run's horizon end)."""
    found, index = [], series.index
    while True:
        day = occurrence_date(series.start_date, series.frequency, index)
        if day > until or (series.end_date and day > series.end_date):
            return Due(series, found, index, day)
        found.append(Occurrence(series, day, _start(day, series.time_of_day, series.zone)))
        index += 1


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


class RunCache:
    """Hours, rates and each day's working windows, kept for the whole run:
    batches share most specialists, and the rules of a day do not change
    while the run lasts. The reads module fills it; nothing here queries."""

    def __init__(self, until: date):
        self.until = until
        self.hours: dict[uuid.UUID, list[HoursRange]] = {}
        self.rates: dict[uuid.UUID, list] = {}
        self.windows: dict[tuple[uuid.UUID, date], list] = {}
        self._rate_on: dict[tuple, object] = {}
        self.booking_rules: dict[uuid.UUID, BookingRules] = {}

    def specialists_missing(self, occurrences: list[Occurrence]) -> set[uuid.UUID]:
        return {o.series.specialist_id for o in occurrences} - self.hours.keys()

    def add_specialists(self, specialist_ids: set[uuid.UUID], hours: dict, rates: dict) -> None:
        """`rates` newest first per specialist; a specialist missing from either has none.
        Their hours go in last: a specialist whose hours are in is loaded (specialists_missing),
        also for a second thread sharing the cache."""
        for specialist_id in specialist_ids:
            self.rates[specialist_id] = rates.get(specialist_id, [])
            self.hours[specialist_id] = hours.get(specialist_id, [])

    def days_missing(self, occurrences: list[Occurrence]) -> list[Occurrence]:
        return [o for o in occurrences if (o.series.specialist_id, o.day) not in self.windows]

    def add_windows(self, occurrences: list[Occurrence], exceptions: dict[tuple, list]) -> None:
        """`exceptions` by (specialist id, date); the specialists' hours must be added first."""
        for occ in occurrences:
            key = (occ.series.specialist_id, occ.day)
            if key not in self.windows:
                self.windows[key] = day_windows(occ.day, occ.series.zone, self.hours[key[0]],
                                                exceptions.get(key, []))

    def rate_on(self, specialist_id: uuid.UUID, day: date, service_id: uuid.UUID | None = None):
        """Rates come newest first: the first one of the service in effect on `day` is current."""
        return self.day_of(specialist_id, day, service_id)[0]

    def day_of(self, specialist_id: uuid.UUID, day: date, service_id: uuid.UUID | None = None) -> tuple:
        """(the service's rate on `day` or None, its session length, the day's working windows), worked
        out once per specialist, day and service: the planning's one lookup per occurrence."""
        key = (specialist_id, day, service_id)
        found = self._rate_on.get(key)
        if found is None:
            rate = next((r for r in self.rates[specialist_id] if r.effective_from <= day
                         and (r.service_id == service_id if service_id else r.is_default)), None)
            found = self._rate_on[key] = (rate, rate and minutes(rate.duration_minutes),
                                          self.windows[(specialist_id, day)])
        return found

    def longest_session(self) -> timedelta:
        return minutes(max((r.duration_minutes for rs in self.rates.values() for r in rs), default=0))


def _overlaps(intervals: list, start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in intervals)


class OtherBookings:
    """The active bookings a batch could overlap, the occurrences already done, and
    the bookings the batch adds: on SQLite while planning; on PostgreSQL (whose
    trigger checks the rows as they go in) only once the trigger has refused a batch."""

    def __init__(self, of_specialist: dict[uuid.UUID, list], of_patient: dict[uuid.UUID, list],
                 done: set[tuple[uuid.UUID, date]]):
        self.of_specialist = of_specialist
        self.of_patient = of_patient
        self.done = done

    def clash(self, series: Series, starts_at: datetime, ends_at: datetime) -> str | None:
        return self.clash_of(series.specialist_id, series.user_id, starts_at, ends_at)

    def clash_of(self, specialist_id, patient_id, starts_at: datetime, ends_at: datetime) -> str | None:
        if _overlaps(self.of_specialist.get(specialist_id, ()), starts_at, ends_at):
            return SLOT_TAKEN
        if _overlaps(self.of_patient.get(patient_id, ()), starts_at, ends_at):
            return PATIENT_BUSY
        return None

    def add(self, series: Series, starts_at: datetime, ends_at: datetime) -> None:
        self.add_of(series.specialist_id, series.user_id, starts_at, ends_at)

    def add_of(self, specialist_id, patient_id, starts_at: datetime, ends_at: datetime) -> None:
        self.of_specialist.setdefault(specialist_id, []).append((starts_at, ends_at))
        self.of_patient.setdefault(patient_id, []).append((starts_at, ends_at))


class UpcomingLimits:
    """Each (patient, specialist) pair's active upcoming bookings and the specialist's
    max_upcoming_per_patient, counted on as the batch books (reads.upcoming_limits fills it)."""

    def __init__(self, counts: dict[tuple[uuid.UUID, uuid.UUID], int], rules: dict[uuid.UUID, BookingRules]):
        self.counts = counts
        self.rules = rules

    def reached(self, series: Series) -> bool:
        pair = (series.user_id, series.specialist_id)
        return limit_refusal(self.rules[series.specialist_id], self.counts.get(pair, 0)) is not None

    def add(self, series: Series) -> None:
        pair = (series.user_id, series.specialist_id)
        self.counts[pair] = self.counts.get(pair, 0) + 1

    def take(self, series: Series) -> bool:
        """`reached`, then `add` if not, with one lookup of the pair: False when the limit is reached."""
        pair = (series.user_id, series.specialist_id)
        count = self.counts.get(pair, 0)
        if limit_refusal(self.rules[series.specialist_id], count) is not None:
            return False
        self.counts[pair] = count + 1
        return True


NO_LIMIT = 2**31  # a pair with no new booking: whatever it holds, nothing of this batch is refused


def headroom(pairs: list[tuple[uuid.UUID, uuid.UUID]], bookings: list[dict],
             rules: dict[uuid.UUID, BookingRules]) -> list[int]:
    """For each pair, the most upcoming bookings it may already hold for all of `bookings` to stay
    within its specialist's max_upcoming_per_patient: where every pair's count is within its headroom,
    plan_batch with the limits would book every one of them."""
    new = Counter((b["patient_id"], b["specialist_id"]) for b in bookings)
    return [limit_headroom(rules[pair[1]], new[pair]) if pair in new else NO_LIMIT for pair in pairs]


def check(cache: RunCache, occ: Occurrence, now: datetime):
    """(None, rate) when the day's rules allow the occurrence, else (reason, None)."""
    reason, rate, _ = _check(cache, occ, now)
    return reason, rate


def _check(cache: RunCache, occ: Occurrence, now: datetime):
    """(None, rate, ends_at) when the day's rules allow the occurrence, else (reason, None, None)."""
    series = occ.series
    starts_at = occ.starts_at
    if starts_at <= now:
        return MISSED, None, None
    rate, length, windows = cache.day_of(series.specialist_id, occ.day, series.service_id)
    if rate is None:
        return NO_RATE, None, None
    ends_at = starts_at + length
    if series.specialist_active:
        for start, end in windows:  # interval_fits, inlined: this runs once per occurrence
            if start <= starts_at and ends_at <= end:
                return None, rate, ends_at
    return UNAVAILABLE, None, None


def plan_batch(dues: list[Due], cache: RunCache, others: OtherBookings | None, now: datetime,
               limits: UpcomingLimits | None = None, checked: list | None = None) -> Plan:
    """Book or skip each due occurrence, then advance each series past them.

    `cache` must hold the rules of every occurrence; `others` is None where
    the database checks overlaps itself; `limits` (None: not checked) holds the
    upcoming counts and limits of every pair. `checked` (only where `others` is
    None) is check_batch's answer for these dues, worked out before the pairs
    were locked: what is left to do here is the limits, in the same order."""
    plan = Plan()
    if checked is None and others is None:
        checked = check_batch(dues, cache, now)
    if checked is None:
        plan.new_ids = _new_ids(sum(len(due.occurrences) for due in dues))
    advances = plan.advances
    for n, due in enumerate(dues):
        series = due.series
        if checked is not None:
            for occ, reason, booking in checked[n]:
                if reason is None and limits is not None and not limits.take(series):
                    reason = LIMIT_REACHED
                if reason:
                    plan.skip(series.id, occ.day, reason, now)
                else:
                    plan.bookings.append(booking)
        else:
            for occ in due.occurrences:
                if (series.id, occ.day) in others.done:
                    continue
                reason, rate, ends_at = _check(cache, occ, now)
                if reason is None:
                    reason = others.clash(series, occ.starts_at, ends_at)
                if reason is None and limits is not None and not limits.take(series):
                    reason = LIMIT_REACHED
                if reason:
                    plan.skip(series.id, occ.day, reason, now)
                    continue
                _book(plan, occ, rate, now, ends_at)
                others.add(series, occ.starts_at, ends_at)
        advances.append({
            "id": series.id, "next_occurrence_index": due.next_index, "next_booking_date": due.next_day,
            "last_generated_date": series.last_generated_date,
            "is_active": not (series.end_date and due.next_day > series.end_date),
        })
    return plan


def check_batch(dues: list[Due], cache: RunCache, now: datetime) -> list[list[tuple]]:
    """The day's rules for every occurrence, each due's as (occurrence, reason, booking row):
    the reason None with the row it would book, or the reason and None. Pure, so the
    dispatcher runs it before it locks the batch's pairs (their counts come after)."""
    rows = Plan(new_ids=_new_ids(sum(len(due.occurrences) for due in dues)))
    checked = []
    for due in dues:
        outcomes = []
        for occ in due.occurrences:
            reason, rate, ends_at = _check(cache, occ, now)
            if reason:
                outcomes.append((occ, reason, None))
            else:
                _book(rows, occ, rate, now, ends_at)
                outcomes.append((occ, None, rows.bookings[-1]))
        checked.append(outcomes)
    return checked


def _book(plan: Plan, occ: Occurrence, rate, now: datetime, ends_at: datetime) -> None:
    series = occ.series
    plan.bookings.append({
        "id": next(plan.new_ids) if plan.new_ids else uuid.uuid4(), "patient_id": series.user_id,
        "specialist_id": series.specialist_id, "starts_at": occ.starts_at, "ends_at": ends_at, "status": "confirmed",
        "price": rate.price, "currency": rate.currency, "service_id": rate.service_id,
        "recurring_booking_id": series.id,
        "occurrence_date": occ.day, "created_at": now, "updated_at": now,
    })


def _new_ids(count: int):
    """`count` random (version 4) UUIDs from one read of the system's randomness, not one read each."""
    randomness = os.urandom(16 * count)
    return (uuid.UUID(bytes=randomness[i:i + 16], version=4) for i in range(0, 16 * count, 16))


@dataclass
class Credits:
    """A usable enrolment as the dispatcher sees it: whose, until when, how many credits left."""

    id: uuid.UUID
    patient_id: uuid.UUID
    specialist_id: uuid.UUID
    expires_on: date | None
    remaining: int


def allocate_credits(bookings: list[dict], enrolments: list[Credits]) -> dict[uuid.UUID, uuid.UUID]:
    """Which enrolment pays for which booking (booking id -> enrolment id), as booking_create
    would choose one at a time: earliest sessions first, each from the usable enrolment of its
    patient with its specialist that expires soonest. `enrolments` come soonest-expiring first."""
    by_pair: dict[tuple, list[Credits]] = {}
    for enrolment in enrolments:
        by_pair.setdefault((enrolment.patient_id, enrolment.specialist_id), []).append(enrolment)
    paid: dict[uuid.UUID, uuid.UUID] = {}
    for booking in sorted(bookings, key=lambda b: b["starts_at"]):
        for enrolment in by_pair.get((booking["patient_id"], booking["specialist_id"]), ()):
            usable = enrolment.expires_on is None or enrolment.expires_on >= booking["occurrence_date"]
            if enrolment.remaining > 0 and usable:
                enrolment.remaining -= 1
                paid[booking["id"]] = enrolment.id
                break
    return paid
