"""The dispatcher's run: slices of the series on threads, batches in transactions, failed batches retried one by one."""
from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.domain.booking_rules import BookingRules
from portal.domain.recurrence import occurrence_date, occurrence_start
from portal.extensions import db
from portal.models import Booking, BookingStatusHistory, RecurringBooking, RecurringOccurrenceSkip
from portal.models.bulk import bulk_insert, is_postgres
from portal.selectors.public_cache import touch
from portal.services.audit import audit_record
from portal.services.meetings import rooms_give
from portal.services.outbox import outbox_add_many
from portal.services.recurring_dispatch import ahead, credits, planning, postgres, reads
from portal.services.recurring_dispatch.planning import Plan, RunCache

log = logging.getLogger(__name__)

# Series per batch (one transaction). Each batch pays fixed costs (the pairs' counts, the rules'
# reads, one overlap check): 20,000 ran a 100,000-series night 18 % faster than 5,000. While a
# batch is written its pairs and parties are locked, so a patient booking at that moment waits
# for its commit (about 5 s at 20,000 on a 2-core machine; the run is at night).
BATCH_SIZE = 20000
DATABASE_ERROR = "Database error; the series will be retried on the next run"
_LAST_ID = 2**128 - 1


def portal_today() -> date:
    return clock.today(current_app.config.get("PORTAL_TIMEZONE", "UTC"))


def horizon_end(run_date: date) -> date:
    """The last date whose occurrences a run on `run_date` books: the series hold them ahead."""
    return run_date + timedelta(days=current_app.config.get("RECURRING_HORIZON_DAYS", 28))


def dispatch(*, run_date: date | None = None, actor=None) -> dict:
    """Book every occurrence not yet booked or skipped up to the horizon of `run_date`;
    commits once per batch. An occurrence whose start has passed by now is skipped as missed."""
    run_date = run_date or portal_today()
    until = horizon_end(run_date)
    now = clock.now()
    workers = current_app.config.get("DISPATCHER_WORKERS", 1)
    with _without_cycle_collection():
        if workers > 1 and _can_use_threads():
            parts = _in_parallel(_id_ranges(workers), until, now)
        else:
            parts = [_dispatch_range(None, None, until, now)]
    booked = [booking_id for part_booked, _ in parts for booking_id in part_booked]
    errors = [error for _, part_errors in parts for error in part_errors]
    return _finish(actor, run_date, booked, errors)


@contextmanager
def _without_cycle_collection():
    """No cyclic garbage collection during a run: a batch allocates tens of thousands of
    rows, which kept triggering full collections over the whole app's heap (half of the
    run's Python time at 20,000 series). The rows are freed by reference counting anyway;
    the collector is back on (as it was) when the run ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def book_series(series_id: uuid.UUID, *, run_date: date | None = None, skipped: set[date] | None = None,
                rules: BookingRules | None = None, row: planning.Series | None = None,
                cache: RunCache | None = None) -> Plan:
    """Book one series' horizon now, inside the caller's transaction (flushes, never commits):
    creating or resuming a series holds its sessions at once, through the dispatcher's own rules
    and statements. The plan's `bookings` are the rows taken, its `skips` the occurrences refused.

    Occurrences recorded as skipped (e.g. a session cancelled on its own before a pause) stay so:
    `skipped` names them when the caller knows them all (a series it has just made), else they are read;
    `rules` are the specialist's booking rules when the caller has them at hand. A caller that has
    just made the series passes its `row` (series_row) and the `cache` of its first session's check
    (first_session_rules) instead of having them read again."""
    until = horizon_end(run_date or portal_today())
    now = clock.now()
    if row is not None:
        batch = [row] if occurrence_date(row.start_date, row.frequency, row.index) <= until else []
    else:
        batch = reads.due_series(until, only=series_id)
    if not batch:
        return Plan()
    leave_out = reads.skipped_days(series_id) if skipped is None else skipped
    cache = cache or RunCache(until)
    if rules is not None:
        cache.booking_rules[batch[0].specialist_id] = rules
    plan = _plan(batch, until, now, cache, leave_out=leave_out)
    _write(plan, now)
    db.session.flush()
    return plan


def series_row(series, specialist) -> planning.Series:
    """The planning's view of a series the caller holds (one it has just made), read from the
    objects instead of from the database (a row nobody else can see yet needs no lock)."""
    return planning.Series(series.id, series.user_id, series.specialist_id, series.frequency, series.start_date,
                           series.end_date, series.time_of_day, series.next_occurrence_index,
                           series.last_generated_date, reads.zone_named(specialist.timezone),
                           bool(specialist.is_active), service_id=series.service_id)


def first_session_rules(row: planning.Series, *, run_date: date | None = None) -> tuple[RunCache, tuple]:
    """The rules of the series' next occurrence's day, (rate, session length, working windows), and the
    cache that holds them and those of the rest of its horizon, ready for book_series: the hours,
    rates and exceptions are read once (three queries) for the check and the booking."""
    until = horizon_end(run_date or portal_today())
    day = occurrence_date(row.start_date, row.frequency, row.index)
    first = planning.Occurrence(row, day, occurrence_start(day, row.time_of_day, row.zone))
    cache = RunCache(max(until, day))
    reads.load_rules(cache, [first, *planning.due_occurrences(row, until).occurrences])
    return cache, cache.day_of(row.specialist_id, day, row.service_id)


def _can_use_threads() -> bool:
    """PostgreSQL only (SQLite has one writer at a time), and not when the
    session is pinned to one connection, which threads cannot share."""
    bind = db.session.get_bind()
    return bind.dialect.name == "postgresql" and isinstance(bind, sa.engine.Engine)


def _id_ranges(count: int) -> list[tuple[uuid.UUID | None, uuid.UUID | None]]:
    """`count` slices of the UUID space, [low, high): random ids split them evenly."""
    cuts = [uuid.UUID(int=(2**128 * i) // count) for i in range(1, count)]
    return list(zip([None, *cuts], [*cuts, None], strict=True))


def _in_parallel(ranges: list, until: date, now: datetime) -> list[tuple[list, list]]:
    """Each slice of the series on its own connection and thread: while one waits
    for PostgreSQL to write a batch, another plans its next one in Python."""
    app = current_app._get_current_object()

    def work(low_high):
        with app.app_context():
            try:
                return _dispatch_range(*low_high, until, now)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(ranges), thread_name_prefix="dispatch") as pool:
        return list(pool.map(work, ranges))


def _dispatch_range(low, high, until: date, now: datetime) -> tuple[list[str], list[dict]]:
    """The due series with low <= id < high (None: unbounded), batch by batch."""
    if _can_use_threads():
        return _dispatch_reading_ahead(low, high, until, now)
    booked: list[str] = []
    errors: list[dict] = []
    cache = RunCache(until)
    while True:
        batch = reads.due_series(until, low=low, high=high, limit=BATCH_SIZE)
        if not batch:
            break
        plan = _batch_or_one_by_one(lambda batch=batch: _plan(batch, until, now, cache), batch, until, now, cache)
        booked += [str(b["id"]) for b in plan.bookings]
        errors += plan.errors
        if batch[-1].id.int == _LAST_ID:
            break
        low = uuid.UUID(int=batch[-1].id.int + 1)
    db.session.commit()  # ends the read-only transaction of the last, empty batch query
    return booked, errors


def _dispatch_reading_ahead(low, high, until: date, now: datetime) -> tuple[list[str], list[dict]]:
    """_dispatch_range on PostgreSQL: each batch is read and planned on a second connection and thread
    while the one before it is written (ahead.py). The two threads share the run's cache: each only
    adds facts that hold for the whole run."""
    app = current_app._get_current_object()
    booked: list[str] = []
    errors: list[dict] = []
    cache = RunCache(until)

    def read_ahead(start, size=BATCH_SIZE):
        with app.app_context():
            try:
                return ahead.draft(start, high, until, now, cache, size)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(1, thread_name_prefix="dispatch-ahead") as pool:
        # Nothing overlaps the first batch's reading and planning, so it is a small one: the
        # writing starts sooner, and each later batch is planned while the one before is written.
        upcoming = pool.submit(read_ahead, low, max(BATCH_SIZE // 4, 1))
        while True:
            draft = upcoming.result()
            if not draft.batch:
                break
            last = draft.batch[-1].id.int
            if last != _LAST_ID:
                upcoming = pool.submit(read_ahead, uuid.UUID(int=last + 1))
            plan = _batch_or_one_by_one(lambda draft=draft: _drafted_plan(draft, until, now, cache), draft.batch,
                                        until, now, cache)
            booked += [str(b["id"]) for b in plan.bookings]
            errors += plan.errors
            if last == _LAST_ID:
                break
    return booked, errors


def _drafted_plan(draft: ahead.Draft, until: date, now: datetime, cache: RunCache) -> Plan:
    plan = ahead.locked_plan(draft, now, cache)
    if plan is None:  # a series changed after the draft read it: read the batch again, locked
        ids = [s.id for s in draft.batch]
        plan = _plan(reads.due_series(until, ids=ids, limit=len(ids)), until, now, cache)
    return plan


def _finish(actor, run_date: date, booked: list[str], errors: list[dict]) -> dict:
    audit_record(actor=actor, action="recurring_bookings_dispatched", entity_type="recurring_booking",
                 new_values={"dispatched": len(booked), "errors": len(errors)},
                 status="success_with_errors" if errors else "success")
    db.session.commit()
    log.info("dispatcher run for %s: %s bookings, %s errors", run_date, len(booked), len(errors))
    return {"success": True, "message": f"Dispatched {len(booked)} recurring bookings",
            "count": len(booked), "bookings": booked, "errors": errors}


def _batch_or_one_by_one(plan_batch: Callable[[], Plan], batch: list[planning.Series], until: date,
                         now: datetime, cache: RunCache) -> Plan:
    """The batch in one transaction, or its series one by one if the database refused it."""
    plan = _run_batch(plan_batch, len(batch), now)
    return plan if plan is not None else _retry_one_by_one([s.id for s in batch], until, now, cache)


def _run_batch(plan_batch: Callable[[], Plan], size: int, now: datetime) -> Plan | None:
    """Plan and write a batch of `size` series in one transaction; None if the database refused it."""
    try:
        plan = plan_batch()
        _write(plan, now)
        db.session.commit()
        return plan
    except Exception:  # noqa: BLE001 - a database refusal or a bad row: narrow it down below
        db.session.rollback()
        log.warning("dispatcher batch of %s series failed; retrying them one by one", size)
        return None


def _retry_one_by_one(series_ids: list[uuid.UUID], until: date, now: datetime, cache: RunCache) -> Plan:
    total = Plan()
    for series_id in series_ids:
        try:
            batch = reads.due_series(until, only=series_id)
            plan = _plan(batch, until, now, cache) if batch else Plan()
            _write(plan, now)
            db.session.commit()
        except Exception:  # one bad series must not stop the run; Sentry sees the log
            db.session.rollback()
            log.exception("dispatcher could not handle series %s", series_id)
            plan = Plan(errors=[{"recurring_id": str(series_id), "error": DATABASE_ERROR}])
        total.bookings += plan.bookings
        total.errors += plan.errors
    return total


def _plan(batch: list[planning.Series], until: date, now: datetime, cache: RunCache,
          leave_out: set[date] = frozenset()) -> Plan:
    """Read what the batch's rules need, then plan it (the planning itself reads nothing)."""
    dues = [planning.due_occurrences(series, until) for series in batch]
    for due in dues if leave_out else ():
        due.occurrences = [occ for occ in due.occurrences if occ.day not in leave_out]
    occurrences = [occ for due in dues for occ in due.occurrences]
    reads.load_rules(cache, occurrences)
    others = reads.other_bookings(occurrences, cache) if occurrences and not is_postgres() else None
    # The rules first, then the pairs' locks and counts: the lock is held until the batch commits,
    # and a second dispatcher worker waits for it, so as little as possible happens under it.
    checked = planning.check_batch(dues, cache, now) if others is None else None
    limits = reads.upcoming_limits(occurrences, now, cache) if occurrences else None
    return planning.plan_batch(dues, cache, others, now, limits, checked)


def _write(plan: Plan, now: datetime) -> None:
    if is_postgres():
        postgres.insert_bookings_unless_they_clash(plan, now)
    else:
        _insert_bookings(plan, now)
    rooms_give(plan.bookings)
    credits.draw_credits(plan, now)
    bulk_insert(RecurringOccurrenceSkip.__table__, plan.skips, skip_conflicts=is_postgres())
    _owe_skip_summaries(plan, now)
    plan.note_last_booked()
    _update_series(plan, now)


def _owe_skip_summaries(plan: Plan, now: datetime) -> None:
    """The only mail of the night: to each patient whose series had occurrences skipped, one summary
    (extending a series mails nobody, so a night of 100,000 bookings writes rows only for the skips)."""
    if not plan.skips:
        return
    days: dict[uuid.UUID, list[str]] = {}
    for skip in plan.skips:
        days.setdefault(skip["recurring_booking_id"], []).append(skip["occurrence_date"].isoformat())
    table = RecurringBooking.__table__
    patients = dict(db.session.execute(sa.select(table.c.id, table.c.user_id).where(table.c.id.in_(list(days)))).all())
    # An occurrence is skipped once, so its dates name the event: a retried batch writes nothing twice.
    outbox_add_many([{"recipient_id": patients[series_id], "template": "series_skips",
                      "about": {"recurring_id": series_id, "dates": sorted(dates)},
                      "dedup_key": f"series_skips:{series_id}:{min(dates)}:{max(dates)}"}
                     for series_id, dates in days.items() if series_id in patients])


def _insert_bookings(plan: Plan, now: datetime) -> None:
    """SQLite: every booking was checked for overlaps while planning, so all go in."""
    bulk_insert(Booking.__table__, plan.bookings)
    touch(db.session, {b["specialist_id"] for b in plan.bookings})
    bulk_insert(BookingStatusHistory.__table__, [
        {"id": uuid.uuid4(), "booking_id": b["id"], "from_status": None, "to_status": "confirmed",
         "created_at": now} for b in plan.bookings])


def _update_series(plan: Plan, now: datetime) -> None:
    advances = plan.advances
    if not advances:
        return
    if is_postgres():
        postgres.update_series(plan, now)
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
