"""The dispatcher's queries: due series, their specialists' rules, and the bookings they could overlap."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from portal.domain import zones
from portal.domain.intervals import HoursRange
from portal.extensions import db
from portal.models import (
    ACTIVE_STATUSES,
    LONGEST_SESSION,
    AvailabilityException,
    Booking,
    PackageEnrolment,
    RecurringBooking,
    RecurringOccurrenceSkip,
    Service,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.models.bulk import among, is_postgres, pg_array
from portal.selectors.booking_rules import booking_rules_of_many, upcoming_counts
from portal.services.booking_rules import lock_pairs, pair_lock_keys
from portal.services.recurring_dispatch.planning import (
    Credits,
    Occurrence,
    OtherBookings,
    RunCache,
    Series,
    UpcomingLimits,
)


def due_series(until: date, *, low: uuid.UUID | None = None, high: uuid.UUID | None = None,
               limit: int = 1, only: uuid.UUID | None = None, ids: list[uuid.UUID] | None = None,
               lock: bool = True) -> list[Series]:
    """Series with an occurrence not yet booked or skipped by `until` (the run's horizon end),
    with low <= id < high (None: unbounded), in id order (`only` one, or among `ids`).

    On PostgreSQL they are locked FOR UPDATE SKIP LOCKED, so a second
    dispatcher running at once takes other series instead of waiting. Without
    `lock` (a read-ahead) each row's version comes along, for lock_unchanged."""
    rb = RecurringBooking
    version = sa.cast(sa.literal_column("recurring_bookings.xmin"), sa.Text) if is_postgres() and not lock \
        else sa.null()
    query = (
        sa.select(rb.id, rb.user_id, rb.specialist_id, rb.frequency, rb.start_date, rb.end_date,
                  rb.time_of_day, rb.next_occurrence_index, rb.last_generated_date, User.timezone,
                  User.is_active, version, rb.service_id)
        .join(User, User.id == rb.specialist_id)
        .where(rb.is_active.is_(True), rb.paused_at.is_(None), rb.next_booking_date <= until)
        .order_by(rb.id)
        .limit(limit)
    )
    if low is not None:
        query = query.where(rb.id >= low)
    if high is not None:
        query = query.where(rb.id < high)
    if only is not None:
        query = query.where(rb.id == only)
    if ids is not None:
        query = query.where(among(rb.id, ids))
    if is_postgres() and lock:
        query = query.with_for_update(of=rb, skip_locked=True)
    zones = _ZONES
    # One fetch of all rows (iterating fetches them one by one), plain tuples, one ZoneInfo per name.
    return [Series(sid, user_id, specialist_id, frequency, start, end, at, index, last,
                   zones.get(zone) or zone_named(zone), bool(active), row_version, service_id)
            for sid, user_id, specialist_id, frequency, start, end, at, index, last, zone, active, row_version,
            service_id
            in db.session.execute(query).all()]


# A series row is as it was read ahead while its xmin (the transaction that wrote this version) is
# the same; a row updated since, or locked by someone else, is left out (and the batch read again).
_LOCK_UNCHANGED = sa.text("""
    SELECT count(*) FROM (
        SELECT FROM recurring_bookings AS r
        JOIN unnest(CAST(:ids AS uuid[]), CAST(:versions AS xid[])) AS v(id, version)
          ON r.id = v.id AND r.xmin = v.version
        FOR UPDATE OF r SKIP LOCKED) AS locked
""")


def lock_parameters(batch: list[Series]) -> dict[str, str]:
    return {"ids": pg_array(s.id for s in batch), "versions": pg_array(s.version for s in batch)}


def lock_unchanged(parameters: dict[str, str], count: int) -> bool:
    """PostgreSQL: lock the series read ahead (lock_parameters) as due_series would; False
    unless all `count` of them are still as they were read, and now locked by this transaction."""
    return db.session.scalar(_LOCK_UNCHANGED, parameters) == count


_ZONES: dict[str | None, ZoneInfo] = {}


def zone_named(name: str | None) -> ZoneInfo:
    """One ZoneInfo per zone name for the whole process (UTC for none or an unknown one)."""
    return _ZONES.get(name) or _ZONES.setdefault(name, zones.zone_named(name))


def hours_of(specialist_ids: set) -> dict[uuid.UUID, list[HoursRange]]:
    """The specialists' weekly hours (selectors.availability.hours_of, one array parameter)."""
    wh = WorkingHours
    found: dict[uuid.UUID, list[HoursRange]] = defaultdict(list)
    for specialist_id, weekday, start, end in db.session.execute(
            sa.select(wh.specialist_id, wh.weekday, wh.start_time, wh.end_time)
            .where(among(wh.specialist_id, specialist_ids))).all():
        found[specialist_id].append(HoursRange(weekday, start, end))
    return found


def exceptions_of(specialist_ids: set, first: date, last: date) -> dict[tuple[uuid.UUID, date], list]:
    """The specialists' date exceptions from first to last by (specialist, date), as rows
    (selectors.availability.exceptions_of, without ORM objects)."""
    ae = AvailabilityException
    found: dict[tuple[uuid.UUID, date], list] = defaultdict(list)
    for row in db.session.execute(
            sa.select(ae.specialist_id, ae.exception_date, ae.is_available, ae.all_day, ae.start_time, ae.end_time)
            .where(among(ae.specialist_id, specialist_ids), ae.exception_date.between(first, last))).all():
        found[(row.specialist_id, row.exception_date)].append(row)
    return found


def rates_until(specialist_ids: set, last: date) -> dict[uuid.UUID, list]:
    """Each specialist's rates in effect by `last`, newest first (what RunCache.rate_on expects)."""
    rows = db.session.execute(
        sa.select(SpecialistRate.specialist_id, SpecialistRate.effective_from,
                  SpecialistRate.duration_minutes, SpecialistRate.price, SpecialistRate.currency,
                  SpecialistRate.service_id, Service.is_default)
        .join(Service, Service.id == SpecialistRate.service_id)
        .where(among(SpecialistRate.specialist_id, specialist_ids), SpecialistRate.effective_from <= last)
        .order_by(SpecialistRate.specialist_id, SpecialistRate.effective_from.desc(),
                  SpecialistRate.created_at.desc())
    )
    rates: dict[uuid.UUID, list] = defaultdict(list)
    for row in rows:
        rates[row.specialist_id].append(row)
    return rates


def load_rules(cache: RunCache, occurrences: list[Occurrence]) -> None:
    """Add to the run's cache the hours, rates and windows these occurrences need and it lacks."""
    missing = cache.specialists_missing(occurrences)
    if missing:
        cache.add_specialists(missing, hours_of(missing), rates_until(missing, cache.until))
    unknown = cache.days_missing(occurrences)
    if unknown:
        days = [o.day for o in unknown]
        specialists = {o.series.specialist_id for o in unknown}
        cache.add_windows(unknown, exceptions_of(specialists, min(days), max(days)))


@dataclass
class Pairs:
    """A batch's (patient, specialist) pairs in patient order, with their lock keys and the counts
    query's parameters (PostgreSQL), worked out before the lock is taken."""

    ordered: list[tuple[uuid.UUID, uuid.UUID]]
    lock_keys: list[int] | None = None
    count_parameters: dict | None = None


def pairs_of(occurrences: list[Occurrence], now: datetime, cache: RunCache) -> Pairs:
    """The occurrences' pairs; their specialists' booking rules are added to `cache` (read once a run).

    In patient order, so the counts read the index from one end to the other instead of at random
    (a third faster beside 1M bookings); PostgreSQL orders uuids as their integers."""
    ordered = sorted({(o.series.user_id, o.series.specialist_id) for o in occurrences}, key=lambda p: p[0].int)
    missing = {s for _, s in ordered} - cache.booking_rules.keys()
    if missing:
        cache.booking_rules.update(booking_rules_of_many(missing))
    if not is_postgres():
        return Pairs(ordered)
    return Pairs(ordered, pair_lock_keys(ordered), {
        "patients": pg_array(p for p, _ in ordered), "specialists": pg_array(s for _, s in ordered), "now": now})


def upcoming_limits(occurrences: list[Occurrence], now: datetime, cache: RunCache,
                    pairs: Pairs | None = None) -> UpcomingLimits:
    """The pairs' upcoming counts and their specialists' limits (`pairs`: pairs_of, worked out ahead).

    On PostgreSQL the pairs are locked first (see counted_pairs)."""
    pairs = pairs or pairs_of(occurrences, now, cache)
    if not is_postgres():
        return UpcomingLimits(upcoming_counts(pairs.ordered, now), cache.booking_rules)
    return UpcomingLimits({pairs.ordered[n]: count for n, count in counted_pairs(pairs)}, cache.booking_rules)


def counted_pairs(pairs: Pairs) -> list[tuple[int, int]]:
    """PostgreSQL: lock the pairs (services/booking_rules.lock_pairs, one statement), so a one-off
    booking for one of them waits until the batch commits; then (position in `pairs.ordered`,
    upcoming count) of those with upcoming bookings (plain numbers: no uuid to build per row)."""
    lock_pairs(keys=pairs.lock_keys)
    return [(n - 1, count) for n, count in db.session.execute(_UPCOMING_COUNTS, pairs.count_parameters).all()]


# selectors.booking_rules.upcoming_counts for thousands of pairs on PostgreSQL: each pair counted on its
# own (LATERAL), an index-only range of the patient's upcoming bookings. Instead of `specialist_id =
# ANY(array)`, which compares every row with every specialist of the batch (300 ms a batch of 5,000),
# and instead of a join, which the planner, expecting a few matches, made a hash join over every
# upcoming booking (290 ms a batch of 20,000 pairs beside 1M bookings, against 100 ms this way).
_UPCOMING_COUNTS = sa.text("""
    SELECT c.n, k.count
    FROM unnest(CAST(:patients AS uuid[]), CAST(:specialists AS uuid[])) WITH ORDINALITY AS c(patient, specialist, n)
    CROSS JOIN LATERAL (
        SELECT count(*) AS count FROM bookings b
        WHERE b.patient_id = c.patient AND b.specialist_id = c.specialist
          AND b.status IN :active AND b.starts_at > :now) AS k
    WHERE k.count > 0
""").bindparams(sa.bindparam("active", value=list(ACTIVE_STATUSES), expanding=True))


def other_bookings(occurrences: list[Occurrence], cache: RunCache) -> OtherBookings:
    """SQLite: what these occurrences could clash with (`cache` must hold their rates)."""
    start = min(o.starts_at for o in occurrences)
    end = max(o.starts_at for o in occurrences) + cache.longest_session()
    return OtherBookings(
        _busy(Booking.specialist_id, {o.series.specialist_id for o in occurrences}, start, end),
        _busy(Booking.patient_id, {o.series.user_id for o in occurrences}, start, end),
        _already_done({o.series.id for o in occurrences}, min(o.day for o in occurrences),
                      max(o.day for o in occurrences)),
    )


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


def skipped_days(series_id: uuid.UUID) -> set[date]:
    """The occurrence dates recorded as skipped for one series (not booked again when it books ahead)."""
    return set(db.session.scalars(sa.select(RecurringOccurrenceSkip.occurrence_date).where(
        RecurringOccurrenceSkip.recurring_booking_id == series_id)))


def _already_done(series_ids: set, first: date, last: date) -> set[tuple[uuid.UUID, date]]:
    """Occurrences already booked (actively: a cancelled one may be booked again when a
    paused series resumes) or skipped (a defence against overlapping runs; on PostgreSQL
    the inserts' ON CONFLICT does this job)."""
    done = set()
    for model, *more in ((Booking, Booking.status.in_(ACTIVE_STATUSES)), (RecurringOccurrenceSkip,)):
        done.update((series_id, day) for series_id, day in db.session.execute(
            sa.select(model.recurring_booking_id, model.occurrence_date).where(
                among(model.recurring_booking_id, series_ids), model.occurrence_date.between(first, last), *more)
        ))
    return done


def usable_enrolments(bookings: list[dict]) -> list[Credits]:
    """One query: the active enrolments with credits left of these bookings' patients with
    their specialists, soonest-expiring first; locked FOR UPDATE on PostgreSQL, so that
    credits drawn at the same time by a patient's own booking are counted, not spent twice."""
    pe = PackageEnrolment
    query = (
        sa.select(pe.id, pe.patient_id, pe.specialist_id, pe.expires_on, pe.credits_total - pe.credits_used)
        .where(among(pe.patient_id, {b["patient_id"] for b in bookings}), pe.status == "active",
               pe.credits_used < pe.credits_total)
        .order_by(pe.expires_on.is_(None), pe.expires_on, pe.created_at, pe.id)
    )
    if is_postgres():
        query = query.with_for_update(of=pe)
    rows = db.session.execute(query).all()
    if not rows:
        return []
    # Only the patients filter in SQL: the pairs are checked here (a second array of every
    # specialist cost more to build and compare than the few other enrolments it would leave out).
    pairs = {(b["patient_id"], b["specialist_id"]) for b in bookings}
    return [Credits(*row) for row in rows if (row[1], row[2]) in pairs]
