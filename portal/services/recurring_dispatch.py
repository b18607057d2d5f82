"""The daily dispatcher: due occurrences of every active series become bookings.

It works in batches of series, each read with a handful of set-based queries
(the series, their specialists' hours, exceptions and rates) and written with
one statement per table, so its cost grows with the data it writes, not with
round trips:
- the rules of the day (a session time already past, no rate, outside the
  specialist's hours or inside an exception) are checked in Python with the
  pure `availability.day_windows`, computed once per specialist and day;
- overlaps with other bookings are checked by the database as the rows go in:
  on PostgreSQL the bookings' exclusion constraints refuse an overlapping row
  (INSERT ... ON CONFLICT DO NOTHING), and the few refused rows are then
  classified in one query; SQLite, which has only triggers that abort, gets
  the overlaps checked in Python against the bookings loaded for the batch;
- an occurrence that breaks a rule, or whose start has passed (a catch-up
  after missed runs), is recorded as a RecurringOccurrenceSkip with its
  reason, and the series moves on to the next occurrence;
- a batch commits atomically; if it fails, its series are retried one by one,
  each in its own transaction, so one bad series cannot take the others down;
- on PostgreSQL the due series are locked FOR UPDATE SKIP LOCKED, so two
  dispatchers running at once share the work instead of doubling it, and the
  unique occurrence key makes a second booking of one occurrence impossible.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.domain.recurrence import occurrence_date, occurrence_start
from portal.extensions import db
from portal.models import (
    ACTIVE_STATUSES,
    AvailabilityException,
    Booking,
    BookingStatusHistory,
    RecurringBooking,
    RecurringOccurrenceSkip,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.services.audit import audit_record
from portal.services.availability import HoursRange, day_windows, interval_fits
from portal.services.bulk import among, bulk_insert, is_postgres, pg_array, pg_type

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
MISSED = "Missed: the session time had already passed"
NO_RATE = "No rates found"
UNAVAILABLE = "Specialist unavailable"
SLOT_TAKEN = "Slot taken: the specialist already has a booking at that time"
PATIENT_BUSY = "The patient already has a booking at that time"
LONGEST_SESSION = timedelta(days=1)
DATABASE_ERROR = "Database error; the series will be retried on the next run"


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


@dataclass
class Occurrence:
    series: Series
    day: date
    starts_at: datetime


@dataclass
class Plan:
    """What one batch will write, and what it reports.

    `bookings` holds the rows the rules allow; after `_write` it holds only
    those the database took (the rest became skips)."""

    bookings: list[dict] = field(default_factory=list)
    skips: list[dict] = field(default_factory=list)
    advances: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def skip(self, series_id: uuid.UUID, day: date, reason: str, now: datetime) -> None:
        self.skips.append({"id": uuid.uuid4(), "recurring_booking_id": series_id, "occurrence_date": day,
                           "reason": reason, "created_at": now})
        self.errors.append({"recurring_id": str(series_id), "error": reason})


def dispatch(*, run_date: date | None = None, actor=None) -> dict:
    """Book every due occurrence up to `run_date`; commits once per batch."""
    run_date = run_date or clock.today(current_app.config.get("PORTAL_TIMEZONE", "UTC"))
    now = clock.now()
    workers = current_app.config.get("DISPATCHER_WORKERS", 2)
    if workers > 1 and _can_use_threads():
        parts = _in_parallel(_id_ranges(workers), run_date, now)
    else:
        parts = [_dispatch_range(None, None, run_date, now)]
    booked = [booking_id for part_booked, _ in parts for booking_id in part_booked]
    errors = [error for _, part_errors in parts for error in part_errors]
    return _finish(actor, run_date, booked, errors)


def _can_use_threads() -> bool:
    """PostgreSQL only (SQLite has one writer at a time), and not when the
    session is pinned to one connection, which threads cannot share."""
    bind = db.session.get_bind()
    return bind.dialect.name == "postgresql" and isinstance(bind, sa.engine.Engine)


def _id_ranges(count: int) -> list[tuple[uuid.UUID | None, uuid.UUID | None]]:
    """`count` slices of the UUID space, [low, high): random ids split them evenly."""
    cuts = [uuid.UUID(int=(2**128 * i) // count) for i in range(1, count)]
    return list(zip([None, *cuts], [*cuts, None], strict=True))


def _in_parallel(ranges: list, run_date: date, now: datetime) -> list[tuple[list, list]]:
    """Each slice of the series on its own connection and thread: while one waits
    for PostgreSQL to write a batch, another plans its next one in Python."""
    app = current_app._get_current_object()

    def work(low_high):
        with app.app_context():
            try:
                return _dispatch_range(*low_high, run_date, now)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(ranges), thread_name_prefix="dispatch") as pool:
        return list(pool.map(work, ranges))


_LAST_ID = 2**128 - 1


def _dispatch_range(low, high, run_date: date, now: datetime) -> tuple[list[str], list[dict]]:
    """The due series with low <= id < high (None: unbounded), batch by batch."""
    booked: list[str] = []
    errors: list[dict] = []
    cache = _RunCache(run_date)
    while True:
        batch = _load_due(run_date, low=low, high=high, limit=BATCH_SIZE)
        if not batch:
            break
        plan = _run_batch(batch, run_date, now, cache)
        if plan is None:
            plan = _retry_one_by_one([s.id for s in batch], run_date, now, cache)
        booked += [str(b["id"]) for b in plan.bookings]
        errors += plan.errors
        if batch[-1].id.int == _LAST_ID:
            break
        low = uuid.UUID(int=batch[-1].id.int + 1)
    db.session.commit()  # ends the read-only transaction of the last, empty batch query
    return booked, errors


def _finish(actor, run_date: date, booked: list[str], errors: list[dict]) -> dict:
    audit_record(actor=actor, action="recurring_bookings_dispatched", entity_type="recurring_booking",
                 new_values={"dispatched": len(booked), "errors": len(errors)},
                 status="success_with_errors" if errors else "success")
    db.session.commit()
    log.info("dispatcher run for %s: %s bookings, %s errors", run_date, len(booked), len(errors))
    return {"success": True, "message": f"Dispatched {len(booked)} recurring bookings",
            "count": len(booked), "bookings": booked, "errors": errors}


def _run_batch(batch: list[Series], run_date: date, now: datetime, cache) -> Plan | None:
    """Plan and write a batch in one transaction; None if the database refused it."""
    try:
        plan = _plan(batch, run_date, now, cache)
        _write(plan, now)
        db.session.commit()
        return plan
    except Exception:  # noqa: BLE001 - a database refusal or a bad row: narrow it down below
        db.session.rollback()
        log.warning("dispatcher batch of %s series failed; retrying them one by one", len(batch))
        return None


def _retry_one_by_one(series_ids: list[uuid.UUID], run_date: date, now: datetime, cache) -> Plan:
    total = Plan()
    for series_id in series_ids:
        try:
            batch = _load_due(run_date, only=series_id)
            plan = _plan(batch, run_date, now, cache) if batch else Plan()
            _write(plan, now)
            db.session.commit()
        except Exception:  # one bad series must not stop the run; Sentry sees the log
            db.session.rollback()
            log.exception("dispatcher could not handle series %s", series_id)
            plan = Plan(errors=[{"recurring_id": str(series_id), "error": DATABASE_ERROR}])
        total.bookings += plan.bookings
        total.errors += plan.errors
    return total


# ---------- reading ----------

def _load_due(run_date: date, *, low: uuid.UUID | None = None, high: uuid.UUID | None = None,
              limit: int = 1, only: uuid.UUID | None = None) -> list[Series]:
    rb = RecurringBooking
    query = (
        sa.select(rb.id, rb.user_id, rb.specialist_id, rb.frequency, rb.start_date, rb.end_date,
                  rb.time_of_day, rb.next_occurrence_index, rb.last_generated_date, User.timezone,
                  User.is_active)
        .join(User, User.id == rb.specialist_id)
        .where(rb.is_active.is_(True), rb.paused_at.is_(None), rb.next_booking_date <= run_date)
        .order_by(rb.id)
        .limit(limit)
    )
    if low is not None:
        query = query.where(rb.id >= low)
    if high is not None:
        query = query.where(rb.id < high)
    if only is not None:
        query = query.where(rb.id == only)
    if is_postgres():
        query = query.with_for_update(of=rb, skip_locked=True)
    return [
        Series(r.id, r.user_id, r.specialist_id, r.frequency, r.start_date, r.end_date, r.time_of_day,
               r.next_occurrence_index, r.last_generated_date, ZoneInfo(r.timezone or "UTC"),
               bool(r.is_active))
        for r in db.session.execute(query)
    ]


def _due_occurrences(series: Series, run_date: date) -> tuple[list[Occurrence], int, date]:
    """The series' occurrences due by `run_date`, and the index and date after them."""
    found, index = [], series.index
    while True:
        day = occurrence_date(series.start_date, series.frequency, index)
        if day > run_date or (series.end_date and day > series.end_date):
            return found, index, day
        found.append(Occurrence(series, day, occurrence_start(day, series.time_of_day, series.zone)))
        index += 1


def _rates_of(specialist_ids: set, last: date) -> dict[uuid.UUID, list]:
    rows = db.session.execute(
        sa.select(SpecialistRate.specialist_id, SpecialistRate.effective_from,
                  SpecialistRate.duration_minutes, SpecialistRate.price, SpecialistRate.currency)
        .where(among(SpecialistRate.specialist_id, specialist_ids), SpecialistRate.effective_from <= last)
        .order_by(SpecialistRate.specialist_id, SpecialistRate.effective_from.desc(),
                  SpecialistRate.created_at.desc())
    )
    rates: dict[uuid.UUID, list] = defaultdict(list)
    for row in rows:
        rates[row.specialist_id].append(row)
    return rates


def _hours_of(specialist_ids: set) -> dict[uuid.UUID, list[HoursRange]]:
    hours: dict[uuid.UUID, list[HoursRange]] = defaultdict(list)
    for sid, weekday, start, end in db.session.execute(
        sa.select(WorkingHours.specialist_id, WorkingHours.weekday, WorkingHours.start_time,
                  WorkingHours.end_time).where(among(WorkingHours.specialist_id, specialist_ids))
    ):
        hours[sid].append(HoursRange(weekday, start, end))
    return hours


def _exceptions_of(specialist_ids: set, first: date, last: date) -> dict[tuple, list]:
    found: dict[tuple, list] = defaultdict(list)
    for exception in db.session.scalars(sa.select(AvailabilityException).where(
        among(AvailabilityException.specialist_id, specialist_ids),
        AvailabilityException.exception_date.between(first, last),
    )):
        found[(exception.specialist_id, exception.exception_date)].append(exception)
    return found


def _busy(column, ids: set, start: datetime, end: datetime) -> dict[uuid.UUID, list]:
    """Active bookings of these specialists (or patients) that overlap start..end.

    The lower bound on starts_at lets the (owner, starts_at) index read only the
    window instead of each owner's whole history; sessions last at most a day
    (rates cap them at 8 hours)."""
    rows = db.session.execute(
        sa.select(column, Booking.starts_at, Booking.ends_at).where(
            among(column, ids), Booking.status.in_(ACTIVE_STATUSES),
            Booking.starts_at < end, Booking.starts_at > start - LONGEST_SESSION, Booking.ends_at > start,
        )
    )
    busy: dict[uuid.UUID, list] = defaultdict(list)
    for owner, starts_at, ends_at in rows:
        busy[owner].append((starts_at, ends_at))
    return busy


def _already_done(series_ids: set, first: date, last: date) -> set[tuple[uuid.UUID, date]]:
    """Occurrences already booked or skipped (a defence against overlapping runs;
    on PostgreSQL the inserts' ON CONFLICT does this job)."""
    done = set()
    for model in (Booking, RecurringOccurrenceSkip):
        done.update((series_id, day) for series_id, day in db.session.execute(
            sa.select(model.recurring_booking_id, model.occurrence_date).where(
                among(model.recurring_booking_id, series_ids), model.occurrence_date.between(first, last))
        ))
    return done


# ---------- checking ----------

class _RunCache:
    """Hours, rates and each day's working windows, loaded once per run:
    batches share most specialists, and the rules of a day do not change
    while the run lasts."""

    def __init__(self, run_date: date):
        self.run_date = run_date
        self.hours: dict[uuid.UUID, list] = {}
        self.rates: dict[uuid.UUID, list] = {}
        self.windows: dict[tuple[uuid.UUID, date], list] = {}
        self._rate_on: dict[tuple[uuid.UUID, date], object] = {}

    def load(self, occurrences: list[Occurrence]) -> None:
        specialists = {o.series.specialist_id for o in occurrences}
        missing = specialists - self.hours.keys()
        if missing:
            hours, rates = _hours_of(missing), _rates_of(missing, self.run_date)
            for specialist_id in missing:
                self.hours[specialist_id] = hours.get(specialist_id, [])
                self.rates[specialist_id] = rates.get(specialist_id, [])
        self._load_windows([o for o in occurrences if (o.series.specialist_id, o.day) not in self.windows])

    def _load_windows(self, occurrences: list[Occurrence]) -> None:
        if not occurrences:
            return
        days = [o.day for o in occurrences]
        exceptions = _exceptions_of({o.series.specialist_id for o in occurrences}, min(days), max(days))
        for occ in occurrences:
            key = (occ.series.specialist_id, occ.day)
            if key not in self.windows:
                self.windows[key] = day_windows(occ.day, occ.series.zone, self.hours[key[0]],
                                                exceptions.get(key, []))

    def rate_on(self, specialist_id: uuid.UUID, day: date):
        """Rates come newest first: the first one in effect on `day` is current."""
        key = (specialist_id, day)
        if key not in self._rate_on:
            self._rate_on[key] = next((r for r in self.rates[specialist_id] if r.effective_from <= day), None)
        return self._rate_on[key]


class _Bookings:
    """SQLite only: the active bookings a batch could overlap, and those it adds."""

    def __init__(self, occurrences: list[Occurrence], cache: _RunCache):
        longest = max((r.duration_minutes for rs in cache.rates.values() for r in rs), default=0)
        start = min(o.starts_at for o in occurrences)
        end = max(o.starts_at for o in occurrences) + _minutes(longest)
        self.of_specialist = _busy(Booking.specialist_id, {o.series.specialist_id for o in occurrences},
                                   start, end)
        self.of_patient = _busy(Booking.patient_id, {o.series.user_id for o in occurrences}, start, end)
        self.done = _already_done({o.series.id for o in occurrences}, min(o.day for o in occurrences),
                                  max(o.day for o in occurrences))

    def clash(self, series: Series, starts_at: datetime, ends_at: datetime) -> str | None:
        if _overlaps(self.of_specialist[series.specialist_id], starts_at, ends_at):
            return SLOT_TAKEN
        if _overlaps(self.of_patient[series.user_id], starts_at, ends_at):
            return PATIENT_BUSY
        return None

    def add(self, series: Series, starts_at: datetime, ends_at: datetime) -> None:
        self.of_specialist[series.specialist_id].append((starts_at, ends_at))
        self.of_patient[series.user_id].append((starts_at, ends_at))


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _overlaps(intervals: list, start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in intervals)


def _check(cache: _RunCache, occ: Occurrence, now: datetime):
    """(None, rate) when the day's rules allow the occurrence, else (reason, None)."""
    series = occ.series
    if occ.starts_at <= now:
        return MISSED, None
    rate = cache.rate_on(series.specialist_id, occ.day)
    if rate is None:
        return NO_RATE, None
    ends_at = occ.starts_at + _minutes(rate.duration_minutes)
    if not series.specialist_active or not interval_fits(cache.windows[(series.specialist_id, occ.day)],
                                                         occ.starts_at, ends_at):
        return UNAVAILABLE, None
    return None, rate


# ---------- planning and writing ----------

def _plan(batch: list[Series], run_date: date, now: datetime, cache: _RunCache) -> Plan:
    plan = Plan()
    due = {s.id: _due_occurrences(s, run_date) for s in batch}
    occurrences = [o for occs, _, _ in due.values() for o in occs]
    cache.load(occurrences)
    others = _Bookings(occurrences, cache) if occurrences and not is_postgres() else None
    for series in batch:
        occs, next_index, next_day = due[series.id]
        for occ in occs:
            if others and (series.id, occ.day) in others.done:
                continue
            reason, rate = _check(cache, occ, now)
            if reason is None and others:
                reason = others.clash(series, occ.starts_at, occ.starts_at + _minutes(rate.duration_minutes))
            if reason:
                plan.skip(series.id, occ.day, reason, now)
                continue
            _book(plan, occ, rate, now)
            if others:
                others.add(series, occ.starts_at, plan.bookings[-1]["ends_at"])
        plan.advances.append({
            "id": series.id, "next_occurrence_index": next_index, "next_booking_date": next_day,
            "last_generated_date": series.last_generated_date,
            "is_active": not (series.end_date and next_day > series.end_date),
        })
    return plan


def _book(plan: Plan, occ: Occurrence, rate, now: datetime) -> None:
    series = occ.series
    plan.bookings.append({
        "id": uuid.uuid4(), "patient_id": series.user_id, "specialist_id": series.specialist_id,
        "starts_at": occ.starts_at, "ends_at": occ.starts_at + _minutes(rate.duration_minutes),
        "status": "confirmed", "price": rate.price, "currency": rate.currency,
        "recurring_booking_id": series.id, "occurrence_date": occ.day, "created_at": now, "updated_at": now,
    })


def _write(plan: Plan, now: datetime) -> None:
    if is_postgres():
        _insert_bookings_unless_they_clash(plan, now)
    else:
        bulk_insert(Booking.__table__, plan.bookings)
        bulk_insert(BookingStatusHistory.__table__, [
            {"id": uuid.uuid4(), "booking_id": b["id"], "from_status": None, "to_status": "confirmed",
             "created_at": now} for b in plan.bookings])
    bulk_insert(RecurringOccurrenceSkip.__table__, plan.skips, skip_conflicts=is_postgres())
    last_booked = {b["recurring_booking_id"]: b["occurrence_date"] for b in plan.bookings}
    for advance in plan.advances:
        advance["last_generated_date"] = last_booked.get(advance["id"], advance["last_generated_date"])
    _update_series(plan.advances, now)


_BOOKING_COLUMNS = ("id", "patient_id", "specialist_id", "starts_at", "ends_at", "price", "currency",
                    "recurring_booking_id", "occurrence_date")


def _insert_bookings_unless_they_clash(plan: Plan, now: datetime) -> None:
    """PostgreSQL: insert the bookings and their history in one statement.

    The exclusion constraints check every row against the bookings already
    there and those inserted before it; a row they refuse (or one whose
    occurrence is already booked) is left out rather than failing the batch,
    then given its reason here."""
    if not plan.bookings:
        return
    table = Booking.__table__
    arrays = ", ".join(f"CAST(:{name} AS {pg_type(table.c[name])}[])" for name in _BOOKING_COLUMNS)
    inserted = set(db.session.scalars(sa.text(f"""
        WITH inserted AS (
            INSERT INTO bookings ({', '.join(_BOOKING_COLUMNS)}, status, created_at, updated_at)
            SELECT *, 'confirmed', CAST(:now AS timestamptz), CAST(:now AS timestamptz)
            FROM unnest({arrays})
            ON CONFLICT DO NOTHING
            RETURNING id, created_at
        ), history AS (
            INSERT INTO booking_status_history (id, booking_id, from_status, to_status, created_at)
            SELECT gen_random_uuid(), id, NULL, 'confirmed', created_at FROM inserted
        )
        SELECT id FROM inserted
    """), {"now": now, **{name: pg_array(b[name] for b in plan.bookings) for name in _BOOKING_COLUMNS}}))
    refused = [b for b in plan.bookings if b["id"] not in inserted]
    if refused:
        plan.bookings = [b for b in plan.bookings if b["id"] in inserted]
        for booking, reason in _why_refused(refused):
            if reason:
                plan.skip(booking["recurring_booking_id"], booking["occurrence_date"], reason, now)


def _why_refused(refused: list[dict]) -> list[tuple[dict, str | None]]:
    """The reason each refused booking was refused; None when its occurrence
    was booked already (by a run that overlapped this one)."""
    rows = db.session.execute(sa.text(f"""
        SELECT c.n,
               EXISTS (SELECT 1 FROM bookings b
                       WHERE b.recurring_booking_id = c.series AND b.occurrence_date = c.day) AS booked,
               EXISTS (SELECT 1 FROM bookings b
                       WHERE b.specialist_id = c.specialist AND b.status IN {tuple(ACTIVE_STATUSES)}
                         AND tstzrange(b.starts_at, b.ends_at, '[)') && tstzrange(c.s, c.e, '[)')) AS taken
        FROM unnest(CAST(:series AS uuid[]), CAST(:days AS date[]), CAST(:specialists AS uuid[]),
                    CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))
             WITH ORDINALITY AS c(series, day, specialist, s, e, n)
    """), {"series": pg_array(b["recurring_booking_id"] for b in refused),
           "days": pg_array(b["occurrence_date"] for b in refused),
           "specialists": pg_array(b["specialist_id"] for b in refused),
           "starts": pg_array(b["starts_at"] for b in refused),
           "ends": pg_array(b["ends_at"] for b in refused)})
    reasons = {n: None if booked else SLOT_TAKEN if taken else PATIENT_BUSY for n, booked, taken in rows}
    return [(booking, reasons[n]) for n, booking in enumerate(refused, start=1)]


def _update_series(advances: list[dict], now: datetime) -> None:
    if not advances:
        return
    if is_postgres():
        db.session.execute(sa.text(
            "UPDATE recurring_bookings AS r SET next_occurrence_index = v.idx, "
            "next_booking_date = v.next_day, last_generated_date = v.last_day, is_active = v.active, "
            "updated_at = :now FROM unnest(CAST(:ids AS uuid[]), CAST(:idx AS integer[]), "
            "CAST(:next_days AS date[]), CAST(:last_days AS date[]), CAST(:active AS boolean[])) "
            "AS v(id, idx, next_day, last_day, active) WHERE r.id = v.id"
        ), {"now": now, "ids": pg_array(a["id"] for a in advances),
            "idx": pg_array(a["next_occurrence_index"] for a in advances),
            "next_days": pg_array(a["next_booking_date"] for a in advances),
            "last_days": pg_array(a["last_generated_date"] for a in advances),
            "active": pg_array(a["is_active"] for a in advances)})
        return
    table = RecurringBooking.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(
            next_occurrence_index=sa.bindparam("b_idx"), next_booking_date=sa.bindparam("b_next"),
            last_generated_date=sa.bindparam("b_last"), is_active=sa.bindparam("b_active"),
            updated_at=sa.bindparam("b_now", type_=table.c.updated_at.type)),
        [{"b_id": a["id"], "b_idx": a["next_occurrence_index"], "b_next": a["next_booking_date"],
          "b_last": a["last_generated_date"], "b_active": a["is_active"], "b_now": now} for a in advances],
    )
