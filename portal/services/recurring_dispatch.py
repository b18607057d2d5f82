"""The daily dispatcher: due occurrences of every active series become bookings.

It works in batches of series, each checked with a handful of set-based
queries (the series, their specialists' hours, exceptions and rates, and the
active bookings that could overlap) and written with one statement per table,
so its cost grows with the data it writes, not with round trips:
- every occurrence is checked against the booking rules in Python with the
  pure `availability.day_windows`, against the bookings already there and
  against the occurrences booked earlier in the same batch;
- an occurrence whose start has passed (a catch-up after missed runs) or
  that breaks a rule is recorded as a RecurringOccurrenceSkip with its reason,
  and the series moves on to the next occurrence;
- a batch commits atomically; if it fails (the database's overlap or
  uniqueness guards are the backstop), its series are retried one by one,
  each in its own transaction, so one bad series cannot take the others down;
- on PostgreSQL the due series are locked FOR UPDATE SKIP LOCKED, so two
  dispatchers running at once share the work instead of doubling it.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql

from portal import clock
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
from portal.models.types import UTCDateTime
from portal.services.audit import audit_record
from portal.services.availability import HoursRange, day_windows, interval_fits
from portal.services.recurring import occurrence_date, occurrence_start

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
    """What one batch will write, and what it reports."""

    bookings: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    skips: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def dispatch(*, run_date: date | None = None, actor=None) -> dict:
    """Book every due occurrence up to `run_date`; commits once per batch."""
    run_date = run_date or clock.today(current_app.config.get("PORTAL_TIMEZONE", "UTC"))
    now = clock.now()
    booked: list[str] = []
    errors: list[dict] = []
    after: uuid.UUID | None = None
    cache = _RunCache(run_date)
    while True:
        batch = _load_due(run_date, after=after, limit=BATCH_SIZE)
        if not batch:
            break
        after = batch[-1].id
        plan = _run_batch(batch, run_date, now, cache)
        if plan is None:
            plan = _retry_one_by_one([s.id for s in batch], run_date, now, cache)
        booked += [str(b["id"]) for b in plan.bookings]
        errors += plan.errors
    db.session.commit()  # ends the read-only transaction of the last, empty batch query
    return _finish(actor, run_date, booked, errors)


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

def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _among(column, values) -> sa.ColumnElement:
    """column IN values; on PostgreSQL one array parameter (= ANY) instead of thousands."""
    values = list(values)
    if _is_postgres():
        # An untyped parameter: with a VARCHAR bind cast PostgreSQL re-parses the array per row.
        array = sa.bindparam(None, _pg_array(values), type_=sa.types.NullType())
        return column == sa.any_(sa.cast(array, postgresql.ARRAY(column.type)))
    return column.in_(values)


def _quoted(value) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pg_format(sample):
    if isinstance(sample, bool):
        return lambda v: "t" if v else "f"
    if isinstance(sample, (uuid.UUID, int, Decimal)):
        return str
    if isinstance(sample, (datetime, date)):
        return lambda v: v.isoformat()
    return _quoted


def _pg_array(values) -> str:
    """A PostgreSQL array literal: built as text here, parsed by the server in one go
    (psycopg dumps Python lists element by element, which costs more than the insert)."""
    values = list(values)
    sample = next((v for v in values if v is not None), None)
    fmt = _pg_format(sample)
    return "{" + ",".join("NULL" if v is None else fmt(v) for v in values) + "}"


def _load_due(run_date: date, *, after: uuid.UUID | None = None, limit: int = 1,
              only: uuid.UUID | None = None) -> list[Series]:
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
    if after is not None:
        query = query.where(rb.id > after)
    if only is not None:
        query = query.where(rb.id == only)
    if _is_postgres():
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
        .where(_among(SpecialistRate.specialist_id, specialist_ids), SpecialistRate.effective_from <= last)
        .order_by(SpecialistRate.specialist_id, SpecialistRate.effective_from.desc(),
                  SpecialistRate.created_at.desc())
    )
    rates: dict[uuid.UUID, list] = defaultdict(list)
    for row in rows:
        rates[row.specialist_id].append(row)
    return rates


def _rate_on(rates: list, day: date):
    """Rates come newest first: the first one in effect on `day` is current."""
    return next((rate for rate in rates if rate.effective_from <= day), None)


def _busy(column, ids: set, start: datetime, end: datetime) -> dict[uuid.UUID, list]:
    """Active bookings of these specialists (or patients) that overlap start..end.

    The lower bound on starts_at lets the (owner, starts_at) index read only the
    window instead of each owner's whole history; sessions last at most a day
    (rates cap them at 8 hours)."""
    rows = db.session.execute(
        sa.select(column, Booking.starts_at, Booking.ends_at).where(
            _among(column, ids), Booking.status.in_(ACTIVE_STATUSES),
            Booking.starts_at < end, Booking.starts_at > start - LONGEST_SESSION, Booking.ends_at > start,
        )
    )
    busy: dict[uuid.UUID, list] = defaultdict(list)
    for owner, starts_at, ends_at in rows:
        busy[owner].append((starts_at, ends_at))
    return busy


def _busy_near(owner_column: str, owners_and_starts: list[tuple], reach: timedelta
               ) -> dict[uuid.UUID, list]:
    """PostgreSQL: active bookings of each owner that could overlap a session of at
    most `reach` starting at the paired time, in one index-probing join."""
    owners_and_starts = sorted(set(owners_and_starts))
    if not owners_and_starts:
        return defaultdict(list)
    owners, starts = zip(*owners_and_starts)
    query = sa.text(f"""
        SELECT DISTINCT b.{owner_column} AS owner, b.starts_at, b.ends_at
        FROM unnest(CAST(:owners AS uuid[]), CAST(:starts AS timestamptz[])) AS c(owner, s)
        JOIN bookings AS b ON b.{owner_column} = c.owner
        WHERE b.status IN ('pending', 'confirmed')
          AND b.starts_at > c.s - CAST(:longest AS interval)
          AND b.starts_at < c.s + CAST(:reach AS interval)
          AND b.ends_at > c.s
    """).columns(sa.column("owner", sa.Uuid), sa.column("starts_at", UTCDateTime),
                 sa.column("ends_at", UTCDateTime))
    busy: dict[uuid.UUID, list] = defaultdict(list)
    rows = db.session.execute(query, {
        "owners": _pg_array(owners), "starts": _pg_array(starts),
        "longest": f"{int(LONGEST_SESSION.total_seconds())} seconds",
        "reach": f"{int(reach.total_seconds())} seconds",
    })
    for owner, starts_at, ends_at in rows:
        busy[owner].append((starts_at, ends_at))
    return busy


def _hours_of(specialist_ids: set) -> dict[uuid.UUID, list[HoursRange]]:
    hours: dict[uuid.UUID, list[HoursRange]] = defaultdict(list)
    for sid, weekday, start, end in db.session.execute(
        sa.select(WorkingHours.specialist_id, WorkingHours.weekday, WorkingHours.start_time,
                  WorkingHours.end_time).where(_among(WorkingHours.specialist_id, specialist_ids))
    ):
        hours[sid].append(HoursRange(weekday, start, end))
    return hours


def _exceptions_of(specialist_ids: set, first: date, last: date) -> dict[tuple, list]:
    found: dict[tuple, list] = defaultdict(list)
    for exception in db.session.scalars(sa.select(AvailabilityException).where(
        _among(AvailabilityException.specialist_id, specialist_ids),
        AvailabilityException.exception_date.between(first, last),
    )):
        found[(exception.specialist_id, exception.exception_date)].append(exception)
    return found


def _already_done(series_ids: set, first: date, last: date) -> set[tuple[uuid.UUID, date]]:
    """Occurrences already booked or skipped (a defence against overlapping runs)."""
    done = set()
    for model in (Booking, RecurringOccurrenceSkip):
        done.update((series_id, day) for series_id, day in db.session.execute(
            sa.select(model.recurring_booking_id, model.occurrence_date).where(
                _among(model.recurring_booking_id, series_ids), model.occurrence_date.between(first, last))
        ))
    return done


# ---------- checking ----------

class _RunCache:
    """Weekly hours and rates, loaded once per run: batches share most specialists."""

    def __init__(self, run_date: date):
        self.run_date = run_date
        self.hours: dict[uuid.UUID, list] = {}
        self.rates: dict[uuid.UUID, list] = {}

    def load(self, specialists: set) -> None:
        missing = specialists - self.hours.keys()
        if missing:
            hours, rates = _hours_of(missing), _rates_of(missing, self.run_date)
            for specialist_id in missing:
                self.hours[specialist_id] = hours.get(specialist_id, [])
                self.rates[specialist_id] = rates.get(specialist_id, [])


class _Context:
    """Everything a batch's rules need, loaded in a few set-based queries."""

    def __init__(self, occurrences: list[Occurrence], cache: _RunCache):
        specialists = {o.series.specialist_id for o in occurrences}
        first, last = min(o.day for o in occurrences), max(o.day for o in occurrences)
        cache.load(specialists)
        self.rates, self.hours = cache.rates, cache.hours
        self.exceptions = _exceptions_of(specialists, first, last)
        longest = max((r.duration_minutes for rs in self.rates.values() for r in rs), default=0)
        start = min(o.starts_at for o in occurrences)
        end = max(o.starts_at for o in occurrences) + _minutes(longest)
        if _is_postgres():
            # Each occurrence reads only the bookings near its own start: a batch
            # that catches up weeks would otherwise load every booking in between.
            reach = _minutes(longest)
            self.specialist_busy = _busy_near("specialist_id", [(o.series.specialist_id, o.starts_at)
                                                                for o in occurrences], reach)
            self.patient_busy = _busy_near("patient_id", [(o.series.user_id, o.starts_at)
                                                          for o in occurrences], reach)
        else:
            self.specialist_busy = _busy(Booking.specialist_id, specialists, start, end)
            self.patient_busy = _busy(Booking.patient_id, {o.series.user_id for o in occurrences},
                                      start, end)
        self.done = _already_done({o.series.id for o in occurrences}, first, last)
        self._windows: dict = {}

    def windows(self, series: Series, day: date):
        key = (series.specialist_id, day)
        if key not in self._windows:
            self._windows[key] = day_windows(day, series.zone, self.hours.get(series.specialist_id, []),
                                             self.exceptions.get(key, []))
        return self._windows[key]


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _overlaps(intervals: list, start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in intervals)


def _check(ctx: _Context, occ: Occurrence, now: datetime):
    """(None, rate) when the occurrence can be booked, else (reason, None)."""
    series = occ.series
    if occ.starts_at <= now:
        return MISSED, None
    rate = _rate_on(ctx.rates.get(series.specialist_id, []), occ.day)
    if rate is None:
        return NO_RATE, None
    ends_at = occ.starts_at + _minutes(rate.duration_minutes)
    if not series.specialist_active or not interval_fits(ctx.windows(series, occ.day), occ.starts_at,
                                                         ends_at):
        return UNAVAILABLE, None
    if _overlaps(ctx.specialist_busy[series.specialist_id], occ.starts_at, ends_at):
        return SLOT_TAKEN, None
    if _overlaps(ctx.patient_busy[series.user_id], occ.starts_at, ends_at):
        return PATIENT_BUSY, None
    return None, rate


# ---------- planning and writing ----------

def _plan(batch: list[Series], run_date: date, now: datetime, cache: _RunCache) -> Plan:
    plan = Plan()
    due = {s.id: _due_occurrences(s, run_date) for s in batch}
    occurrences = [o for occs, _, _ in due.values() for o in occs]
    ctx = _Context(occurrences, cache) if occurrences else None
    for series in batch:
        occs, next_index, next_day = due[series.id]
        last_booked = series.last_generated_date
        for occ in occs:
            if (series.id, occ.day) in ctx.done:
                continue
            reason, rate = _check(ctx, occ, now)
            if reason:
                plan.skips.append({"id": uuid.uuid4(), "recurring_booking_id": series.id,
                                   "occurrence_date": occ.day, "reason": reason, "created_at": now})
                plan.errors.append({"recurring_id": str(series.id), "error": reason})
                continue
            _book(plan, ctx, occ, rate, now)
            last_booked = occ.day
        plan.updates.append({
            "id": series.id, "next_occurrence_index": next_index, "next_booking_date": next_day,
            "last_generated_date": last_booked,
            "is_active": not (series.end_date and next_day > series.end_date),
        })
    return plan


def _book(plan: Plan, ctx: _Context, occ: Occurrence, rate, now: datetime) -> None:
    series = occ.series
    ends_at = occ.starts_at + _minutes(rate.duration_minutes)
    booking_id = uuid.uuid4()
    plan.bookings.append({
        "id": booking_id, "patient_id": series.user_id, "specialist_id": series.specialist_id,
        "starts_at": occ.starts_at, "ends_at": ends_at, "status": "confirmed", "price": rate.price,
        "currency": rate.currency, "recurring_booking_id": series.id, "occurrence_date": occ.day,
        "created_at": now, "updated_at": now,
    })
    plan.history.append({"id": uuid.uuid4(), "booking_id": booking_id, "from_status": None,
                         "to_status": "confirmed", "created_at": now})
    # Later occurrences in this batch must not overlap this one either.
    ctx.specialist_busy[series.specialist_id].append((occ.starts_at, ends_at))
    ctx.patient_busy[series.user_id].append((occ.starts_at, ends_at))


def _write(plan: Plan, now: datetime) -> None:
    bulk_insert(Booking.__table__, plan.bookings)
    bulk_insert(BookingStatusHistory.__table__, plan.history)
    bulk_insert(RecurringOccurrenceSkip.__table__, plan.skips)
    _update_series(plan.updates, now)


def bulk_insert(table: sa.Table, rows: list[dict]) -> None:
    """Insert rows with one statement: unnest() of arrays on PostgreSQL, executemany elsewhere.

    Every row must have the same keys, and no key may be None in every row."""
    if not rows:
        return
    if not _is_postgres():
        db.session.execute(sa.insert(table), rows)
        return
    columns = [name for name in rows[0] if any(row[name] is not None for row in rows)]
    dialect = postgresql.dialect()
    arrays = ", ".join(
        f"CAST(:c{i} AS {table.c[name].type.compile(dialect=dialect)}[])" for i, name in enumerate(columns)
    )
    statement = sa.text(f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})")
    db.session.execute(statement, {f"c{i}": _pg_array(row[name] for row in rows)
                                   for i, name in enumerate(columns)})


def _update_series(updates: list[dict], now: datetime) -> None:
    if not updates:
        return
    if _is_postgres():
        db.session.execute(sa.text(
            "UPDATE recurring_bookings AS r SET next_occurrence_index = v.idx, "
            "next_booking_date = v.next_day, last_generated_date = v.last_day, is_active = v.active, "
            "updated_at = :now FROM unnest(CAST(:ids AS uuid[]), CAST(:idx AS integer[]), "
            "CAST(:next_days AS date[]), CAST(:last_days AS date[]), CAST(:active AS boolean[])) "
            "AS v(id, idx, next_day, last_day, active) WHERE r.id = v.id"
        ), {"now": now, "ids": _pg_array(u["id"] for u in updates),
            "idx": _pg_array(u["next_occurrence_index"] for u in updates),
            "next_days": _pg_array(u["next_booking_date"] for u in updates),
            "last_days": _pg_array(u["last_generated_date"] for u in updates),
            "active": _pg_array(u["is_active"] for u in updates)})
        return
    table = RecurringBooking.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(
            next_occurrence_index=sa.bindparam("b_idx"), next_booking_date=sa.bindparam("b_next"),
            last_generated_date=sa.bindparam("b_last"), is_active=sa.bindparam("b_active"),
            updated_at=sa.bindparam("b_now", type_=table.c.updated_at.type)),
        [{"b_id": u["id"], "b_idx": u["next_occurrence_index"], "b_next": u["next_booking_date"],
          "b_last": u["last_generated_date"], "b_active": u["is_active"], "b_now": now} for u in updates],
    )
