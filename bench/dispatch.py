"""Benchmark the recurring dispatcher against bare set-based SQL on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/postgres python bench/dispatch.py --series 100000

Seeds N series over N/10 specialists (mixed time zones, frequencies, a few
vacations and partial-day overrides), each with an occurrence entering the
booking horizon (RECURRING_HORIZON_DAYS, 28) on the run date, beside 10*N
existing bookings in a scratch database made from DATABASE_URL, copies it, then times
1. one dispatcher run end to end (every occurrence's rules checked),
2. on a fresh copy, the same writes as bare SQL with no rules: one
   INSERT ... SELECT of the bookings, one of their history rows, one UPDATE
   of the series (the database's overlap guarantee still checks every row),
3. the same bare SQL on a third copy whose overlap guarantee was dropped
   first (no exclusion constraint, no overlap trigger: B-tree indexes only),
   the spec's "bare writes" floor, and
4. --create times (default 200) creating a weekly series through the service
   (recurring_create: the first session checked, then its 4 occurrences in the
   28-day horizon checked and booked, committed), beside the dispatched data.
Each timing starts from a settled server (CHECKPOINT, then sync), so none pays for writing
out another's pages. The dispatcher books DISPATCHER_WORKERS slices of the series at once (--workers
to change it; 1 is a single connection). Both scratch databases are dropped
afterwards. The last line printed is JSON:
{"series", "workers", "dispatch_s", "bookings_per_s", "bare_sql_s", "ratio",
 "bare_unguarded_s", "ratio_unguarded", "create_n", "create_p50_ms", "create_p95_ms", "create_booked"}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time as timer
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUN_DATE = date(2031, 3, 12)
HORIZON_DAYS = 28
# The seeded series' occurrences enter the horizon on the run date; the seed's :run_date is this day.
DUE_DATE = RUN_DATE + timedelta(days=HORIZON_DAYS)

SEED = """
INSERT INTO users (id, email, email_normalized, password_hash, role, display_name, timezone, is_active,
                   calendar_feed_version, created_at, updated_at)
SELECT md5('s' || i)::uuid, 's' || i || '@bench.test', 's' || i || '@bench.test', 'x', 'specialist',
       'Specialist ' || i, (ARRAY['UTC', 'Europe/Berlin', 'America/New_York'])[i % 3 + 1], true, 1, now(), now()
FROM generate_series(0, :specialists - 1) AS i;

INSERT INTO specialist_profiles (id, title, bio, created_at)
SELECT md5('s' || i)::uuid, '', '', now() FROM generate_series(0, :specialists - 1) AS i;

INSERT INTO services (id, specialist_id, name, description, is_active, is_default, created_at, updated_at)
SELECT md5('svc' || i)::uuid, md5('s' || i)::uuid, 'Session', '', true, true, now(), now()
FROM generate_series(0, :specialists - 1) AS i;

INSERT INTO specialist_rates (id, specialist_id, service_id, duration_minutes, price, currency, effective_from,
                              created_at)
SELECT gen_random_uuid(), md5('s' || i)::uuid, md5('svc' || i)::uuid, 60, 80 + i % 40, 'USD', DATE '2000-01-01', now()
FROM generate_series(0, :specialists - 1) AS i;

INSERT INTO specialist_working_hours (id, specialist_id, weekday, start_time, end_time)
SELECT gen_random_uuid(), md5('s' || i)::uuid, d, TIME '07:00', TIME '19:00'
FROM generate_series(0, :specialists - 1) AS i, generate_series(0, 6) AS d;

-- (Here :run_date is the day entering the horizon, DUE_DATE.)
-- 0.5% on vacation on the run date, 0.5% working only 09:00-13:00 that day.
INSERT INTO specialist_availability_exceptions (id, specialist_id, exception_date, is_available, reason,
                                                all_day, start_time, end_time, created_at)
SELECT gen_random_uuid(), md5('s' || i)::uuid, :run_date, i % 200 = 1, 'vacation',
       i % 200 = 0, CASE WHEN i % 200 = 1 THEN TIME '09:00' END, CASE WHEN i % 200 = 1 THEN TIME '13:00' END,
       now()
FROM generate_series(0, :specialists - 1) AS i WHERE i % 200 < 2;

INSERT INTO users (id, email, email_normalized, password_hash, role, display_name, timezone, is_active,
                   calendar_feed_version, email_confirmed_at, created_at, updated_at)
SELECT md5('p' || i)::uuid, 'p' || i || '@bench.test', 'p' || i || '@bench.test', 'x', 'patient',
       'Patient ' || i, 'UTC', true, 1, now(), now(), now()
FROM generate_series(0, :patients - 1) AS i;

-- Series i: specialist i % S at local hour 8 + i / S; patient i % P (P = 5 S, so a
-- patient's two series are five hours apart). Mixed frequencies, all due on the run date.
INSERT INTO recurring_bookings (id, user_id, specialist_id, frequency, start_date, end_date, time_of_day,
                                is_active, next_booking_date, next_occurrence_index, created_at, updated_at)
SELECT gen_random_uuid(), md5('p' || (i % :patients))::uuid, md5('s' || (i % :specialists))::uuid,
       f.frequency, f.start_date, NULL, make_time(8 + i / :specialists, 0, 0), true, :run_date, f.idx,
       now(), now()
FROM generate_series(0, :series - 1) AS i
CROSS JOIN LATERAL (SELECT * FROM (VALUES
    (0, 'weekly', :run_date - 28, 4), (1, 'biweekly', :run_date - 28, 2),
    (2, 'monthly', (:run_date - INTERVAL '1 month')::date, 1)) AS v(k, frequency, start_date, idx)
    WHERE v.k = i % 3) AS f;

-- Existing bookings: 100 per specialist on the days before the run date, and one
-- evening booking on the run date for every tenth specialist (loaded, not clashing).
INSERT INTO bookings (id, patient_id, specialist_id, starts_at, ends_at, status, price, currency,
                      created_at, updated_at)
SELECT gen_random_uuid(), md5('p' || (b % :patients))::uuid, md5('s' || (b % :specialists))::uuid,
       (:run_date - 1 - b / :specialists) + TIME '12:00' AT TIME ZONE 'UTC',
       (:run_date - 1 - b / :specialists) + TIME '13:00' AT TIME ZONE 'UTC',
       CASE WHEN b % 10 = 0 THEN 'cancelled' ELSE 'confirmed' END, 100, 'USD', now(), now()
FROM generate_series(0, :bookings - 1) AS b;

INSERT INTO bookings (id, patient_id, specialist_id, starts_at, ends_at, status, price, currency,
                      created_at, updated_at)
SELECT gen_random_uuid(), md5('p' || (:patients - 1 - i))::uuid, md5('s' || i)::uuid,
       (:run_date + TIME '23:00') AT TIME ZONE 'UTC', (:run_date + TIME '23:30') AT TIME ZONE 'UTC',
       'confirmed', 100, 'USD', now(), now()
FROM generate_series(0, :specialists - 1, 10) AS i;
"""

BARE_SQL = [
    """INSERT INTO bookings (id, patient_id, specialist_id, starts_at, ends_at, status, price, currency,
                             recurring_booking_id, occurrence_date, created_at, updated_at)
       SELECT gen_random_uuid(), r.user_id, r.specialist_id,
              (r.next_booking_date + r.time_of_day) AT TIME ZONE u.timezone,
              (r.next_booking_date + r.time_of_day) AT TIME ZONE u.timezone
                + make_interval(mins => rate.duration_minutes),
              'confirmed', rate.price, rate.currency, r.id, r.next_booking_date, now(), now()
       FROM recurring_bookings r
       JOIN users u ON u.id = r.specialist_id
       JOIN specialist_rates rate ON rate.specialist_id = r.specialist_id
       WHERE r.is_active AND r.paused_at IS NULL AND r.next_booking_date <= :run_date""",
    """INSERT INTO booking_status_history (id, booking_id, from_status, to_status, created_at)
       SELECT gen_random_uuid(), b.id, NULL, 'confirmed', now() FROM bookings b
       WHERE b.occurrence_date = :run_date AND b.recurring_booking_id IS NOT NULL""",
    """UPDATE recurring_bookings SET next_occurrence_index = next_occurrence_index + 1,
              last_generated_date = next_booking_date,
              next_booking_date = CASE frequency
                  WHEN 'weekly' THEN start_date + 7 * (next_occurrence_index + 1)
                  WHEN 'biweekly' THEN start_date + 14 * (next_occurrence_index + 1)
                  ELSE (start_date + make_interval(months => next_occurrence_index + 1))::date END,
              updated_at = now()
       WHERE is_active AND paused_at IS NULL AND next_booking_date <= :run_date""",
]


def _make_app(url: sa.engine.URL, workers: int | None = None):
    """One app for the run (the portal's blueprints can be registered only once per process)."""
    from portal import create_app

    config = {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
              "TESTING": True, "SECRET_KEY": "bench", "RECURRING_HORIZON_DAYS": HORIZON_DAYS}
    if workers:
        config["DISPATCHER_WORKERS"] = workers
    return create_app(config)


def _migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        from portal.extensions import db

        db.engine.dispose()


def _seed(url: sa.engine.URL, series: int) -> None:
    specialists = max(series // 10, 1)
    params = {"specialists": specialists, "patients": specialists * 5, "series": series,
              "bookings": series * 10, "run_date": DUE_DATE}
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in SEED.split(";\n"):
            if statement.strip():
                conn.execute(sa.text(statement), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


# (module of the dispatcher package, function): each is looked up there by its callers.
# ahead.draft (and the reads under it) run on the read-ahead thread, beside the batch being written.
PHASES = (("reads", "due_series"), ("reads", "rates_until"), ("reads", "hours_of"), ("reads", "exceptions_of"),
          ("ahead", "draft"), ("ahead", "locked_plan"), ("reads", "upcoming_limits"), ("run", "_plan"),
          ("postgres", "insert_bookings_unless_they_clash"), ("postgres", "why_refused"),
          ("run", "bulk_insert"), ("run", "_update_series"), ("run", "_run_batch"))


def _timed_phases() -> dict[str, float]:
    """Wrap the dispatcher's steps with timers (module globals, so calls pick them up)."""
    import importlib

    totals = dict.fromkeys((name for _, name in PHASES), 0.0)
    for module_name, name in PHASES:
        module = importlib.import_module(f"portal.services.recurring_dispatch.{module_name}")
        original = getattr(module, name)

        def timed(*args, _original=original, _name=name, **kwargs):
            started = timer.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                totals[_name] += timer.perf_counter() - started

        setattr(module, name, timed)
    return totals


SETTLE = True  # off for a smoke run (--no-settle), which checks that the bench runs, not its figures


def _settle(url: sa.engine.URL, *, vacuum: bool = False) -> None:
    """Start each timing from the same state: PostgreSQL's dirty pages written (CHECKPOINT) and
    the kernel's flushed (sync). Without it the first timing paid for writing out the seed and the
    database copies in the background (its inserts took 17.8 s where a settled run took 11.0 s).
    With `vacuum`, the tables the dispatcher wrote are vacuumed first, as autovacuum would do within
    a minute of the run: otherwise it does so during the timing that follows, on the same 2 cores."""
    if not SETTLE:
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if vacuum:
            conn.execute(sa.text("VACUUM (ANALYZE) bookings, booking_status_history, recurring_bookings"))
        conn.execute(sa.text("CHECKPOINT"))
    engine.dispose()
    os.sync()
    timer.sleep(1)


def _time_dispatcher(app) -> dict:
    from portal import clock
    from portal.extensions import db
    from portal.services.recurring import recurring_dispatch

    phases = _timed_phases()
    with app.app_context(), clock.frozen(datetime.combine(RUN_DATE, time(2), tzinfo=UTC)):
        db.session.execute(sa.text("SELECT 1"))  # connect first, as the bare SQL timing does
        db.session.commit()
        started = timer.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            result = profile.runcall(recurring_dispatch, run_date=RUN_DATE)
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
        else:
            result = recurring_dispatch(run_date=RUN_DATE)
        elapsed = timer.perf_counter() - started
        db.engine.dispose()
    print("dispatcher phases (s, nested: _run_batch holds the rest but draft): "
          + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()), file=sys.stderr)
    return {"elapsed": elapsed, "count": result["count"], "errors": len(result["errors"])}


def _time_bare_sql(url: sa.engine.URL) -> float:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        conn.rollback()
        started = timer.perf_counter()
        with conn.begin():
            for statement in BARE_SQL:
                conn.execute(sa.text(statement), {"run_date": DUE_DATE})
        elapsed = timer.perf_counter() - started
    engine.dispose()
    return elapsed


def _drop_overlap_guards(url: sa.engine.URL) -> list[str]:
    """Remove every overlap guarantee from the bookings of this copy: exclusion
    constraints and the overlap triggers (whatever the migrations made them)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        constraints = list(conn.execute(sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'bookings'::regclass AND contype = 'x'")).scalars())
        triggers = list(conn.execute(sa.text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'bookings'::regclass AND NOT tgisinternal "
            "AND tgname LIKE '%overlap%'")).scalars())
        for name in constraints:
            conn.execute(sa.text(f'ALTER TABLE bookings DROP CONSTRAINT "{name}"'))
        for name in triggers:
            conn.execute(sa.text(f'DROP TRIGGER "{name}" ON bookings'))
    engine.dispose()
    return constraints + triggers


def _time_creation(app, series: int, count: int) -> dict:
    """`count` weekly series created through the service, one transaction each, on the day after the
    run date at 18:00 (free: the seeded series sit on the run date's weekday, 08:00-17:00)."""
    from portal import clock
    from portal.extensions import db
    from portal.models import User
    from portal.services.recurring import recurring_create

    specialists = max(series // 10, 1)
    timings, booked, statements = [], 0, []
    profile = None
    if os.environ.get("BENCH_PROFILE_CREATE"):
        import cProfile

        profile = cProfile.Profile()
    with app.app_context(), clock.frozen(datetime.combine(RUN_DATE, time(2), tzinfo=UTC)):
        db.session.execute(sa.text("SELECT 1"))
        db.session.commit()
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
        for k in range(count):
            specialist_id = db.session.scalar(sa.text("SELECT md5('s' || :k)::uuid"), {"k": k % specialists})
            email = f"p{(7 * k) % (specialists * 5)}@bench.test"
            patient = db.session.scalar(sa.select(User).where(User.email == email))
            statements.clear()
            started = timer.perf_counter()
            if profile:
                profile.enable()
            change = recurring_create(actor=patient, patient=patient, specialist_id=specialist_id,
                                      frequency="weekly", start_date=RUN_DATE + timedelta(days=1 + k // specialists),
                                      time_of_day=time(18))
            db.session.commit()
            if profile:
                profile.disable()
            timings.append(timer.perf_counter() - started)
            booked += len(change.booked)
        db.engine.dispose()
    if profile:
        import pstats

        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    timings.sort()
    return {"n": count, "statements": len(statements), "p50_ms": round(1000 * timings[len(timings) // 2], 1),
            "p95_ms": round(1000 * timings[max(int(len(timings) * 0.95) - 1, 0)], 1), "booked": booked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--create", type=int, default=200, help="series to create through the service (0: none)")
    parser.add_argument("--workers", type=int, default=None,
                        help="DISPATCHER_WORKERS for the run (default: the portal's, 1)")
    parser.add_argument("--no-settle", action="store_true",
                        help="skip the CHECKPOINT and sync before each timing (a quick check that the bench runs)")
    args = parser.parse_args()
    global SETTLE
    SETTLE = not args.no_settle
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.startswith(("postgres://", "postgresql")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (a scratch database is made there).")
    from tests.scratch_db import scratch_database

    keep = bool(os.environ.get("BENCH_KEEP"))
    with scratch_database(raw, "bench_dispatch", keep=keep) as dispatch_url:
        started = timer.perf_counter()
        app = _make_app(sa.engine.make_url(dispatch_url), args.workers)
        workers = app.config["DISPATCHER_WORKERS"]
        _migrate(app)
        _seed(sa.engine.make_url(dispatch_url), args.series)
        # The bare SQL gets a copy of the same data, taken before the dispatcher writes.
        template = sa.engine.make_url(dispatch_url).database
        with scratch_database(raw, "bench_bare", template=template, keep=keep) as bare_url, \
                scratch_database(raw, "bench_none", template=template, keep=keep) as none_url:
            print(f"seeded {args.series} series in {timer.perf_counter() - started:.1f} s", file=sys.stderr)
            dropped = _drop_overlap_guards(sa.engine.make_url(none_url))
            print(f"unguarded copy: dropped {', '.join(dropped) or 'nothing'}", file=sys.stderr)
            _settle(sa.engine.make_url(dispatch_url))
            dispatched = _time_dispatcher(app)
            print(f"dispatcher: {dispatched}", file=sys.stderr)
            _settle(sa.engine.make_url(bare_url))
            bare = _time_bare_sql(sa.engine.make_url(bare_url))
            print(f"bare SQL, guarded: {bare:.2f} s", file=sys.stderr)
            _settle(sa.engine.make_url(none_url))
            unguarded = _time_bare_sql(sa.engine.make_url(none_url))
            print(f"bare SQL, unguarded: {unguarded:.2f} s", file=sys.stderr)
        if args.create:
            _settle(sa.engine.make_url(dispatch_url), vacuum=True)
        created = _time_creation(app, args.series, args.create) if args.create else {}
        print(f"creation: {created}", file=sys.stderr)
    elapsed = dispatched["elapsed"]
    print(json.dumps({"series": args.series, "workers": workers, "dispatch_s": round(elapsed, 3),
                      "bookings_per_s": round(dispatched["count"] / elapsed, 1),
                      "bare_sql_s": round(bare, 3), "ratio": round(elapsed / bare, 3),
                      "bare_unguarded_s": round(unguarded, 3), "ratio_unguarded": round(elapsed / unguarded, 3),
                      "create_n": created.get("n"), "create_p50_ms": created.get("p50_ms"),
                      "create_p95_ms": created.get("p95_ms"), "create_booked": created.get("booked")}))


if __name__ == "__main__":
    main()
