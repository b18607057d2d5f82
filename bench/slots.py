"""Free slots and the month calendar beside 10,000 specialists and 1,000,000 bookings.

    DATABASE_URL=postgresql://postgres@127.0.0.1/postgres python bench/slots.py [--requests 200]

Creates its own scratch database from DATABASE_URL (dropped afterwards), builds
the schema with the migrations, seeds it with set-based SQL (generate_series),
then times, for one specialist:
- computing 30 days of free slots (selectors.availability.free_slots) of their default service;
- 30 days of free slots of a second service (50 minutes, a 10-minute buffer after, a 60-minute
  grid) with 200 bookings of theirs in those 30 days (working 08:00-20:00 every day); and
- rendering the month calendar page through the Flask test client, signed in
  as that specialist.
Each is timed twice in the run: with row-level security (the specialist's role switch, as their
requests run) and with it off (DATABASE_APP_ROLE empty, keys ending "_rls_off").
The last line printed is one JSON object with p50/p95 in milliseconds."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPECIALISTS = 10_000
BOOKINGS_PER_SPECIALIST = 100  # 1,000,000 in all
SPECIALISTS_PER_PATIENT = 8    # each patient's bookings fall at different hours
PASSWORD = "bench-password"

SEED = [
    # Specialists and patients; ids derived from the index so that later statements can join on them.
    """INSERT INTO users (id, email, email_normalized, password_hash, role, display_name, timezone,
                          is_active, calendar_feed_version, created_at, updated_at)
       SELECT md5('spec' || i)::uuid, 'spec' || i || '@bench.test', 'spec' || i || '@bench.test', 'x',
              'specialist', 'Specialist ' || i, 'Europe/Berlin', true, 1, now(), now()
       FROM generate_series(0, :specialists - 1) AS i""",
    """INSERT INTO users (id, email, email_normalized, password_hash, role, display_name, timezone,
                          is_active, calendar_feed_version, created_at, updated_at)
       SELECT md5('pat' || p)::uuid, 'pat' || p || '@bench.test', 'pat' || p || '@bench.test', 'x',
              'patient', 'Patient ' || p, 'UTC', true, 1, now(), now()
       FROM generate_series(0, :specialists / :per_patient) AS p""",
    """INSERT INTO specialist_profiles (id, title, bio, created_at)
       SELECT md5('spec' || i)::uuid, 'Therapist', '', now() FROM generate_series(0, :specialists - 1) AS i""",
    """INSERT INTO specialist_working_hours (id, specialist_id, weekday, start_time, end_time)
       SELECT gen_random_uuid(), md5('spec' || i)::uuid, d, r.s, r.e
       FROM generate_series(0, :specialists - 1) AS i, generate_series(0, 4) AS d,
            (VALUES (time '09:00', time '12:00'), (time '13:00', time '18:00')) AS r(s, e)""",
    """INSERT INTO services (id, specialist_id, name, description, is_active, is_default, created_at, updated_at)
       SELECT md5('svc' || i)::uuid, md5('spec' || i)::uuid, 'Session', '', true, true, now(), now()
       FROM generate_series(0, :specialists - 1) AS i""",
    """INSERT INTO specialist_rates (id, specialist_id, service_id, duration_minutes, price, currency, effective_from,
                                     created_at)
       SELECT gen_random_uuid(), md5('spec' || i)::uuid, md5('svc' || i)::uuid, m, 90 + (i % 5) * 10, 'EUR',
              current_date - v, now()
       FROM generate_series(0, :specialists - 1) AS i, (VALUES (60, 400), (50, 30)) AS rate(m, v)""",
    """INSERT INTO specialist_availability_exceptions
           (id, specialist_id, exception_date, is_available, reason, all_day, start_time, end_time, created_at)
       SELECT gen_random_uuid(), md5('spec' || i)::uuid, current_date + 7 + (i % 20), false, 'personal',
              false, time '14:00', time '15:30', now()
       FROM generate_series(0, :specialists - 1) AS i""",
    # 100 bookings per specialist, one a day from 50 days ago, at an hour that
    # differs between the specialists sharing a patient; every tenth cancelled.
    """INSERT INTO bookings (id, patient_id, specialist_id, starts_at, ends_at, status, price, currency,
                             created_at, updated_at)
       SELECT gen_random_uuid(), md5('pat' || (i / :per_patient))::uuid, md5('spec' || i)::uuid,
              t, t + interval '50 minutes', CASE WHEN k % 10 = 0 THEN 'cancelled' ELSE 'confirmed' END,
              100, 'EUR', now(), now()
       FROM generate_series(0, :specialists - 1) AS i, generate_series(0, :per_specialist - 1) AS k,
            LATERAL (SELECT date_trunc('day', now()) - interval '50 days' + k * interval '1 day'
                            + (9 + i % :per_patient) * interval '1 hour' AS t) AS slot""",
]
# Loading 1M rows through two GiST exclusion constraints, three indexes and
# four foreign keys row by row takes ten minutes here; building them once
# afterwards takes well under one. The seed rows are valid by construction.
BOOKING_CONSTRAINTS = """SELECT 'ALTER TABLE bookings ADD CONSTRAINT ' || conname || ' ' || pg_get_constraintdef(oid)
                         FROM pg_constraint WHERE conrelid = 'bookings'::regclass AND contype = 'x'"""
BOOKING_INDEXES = """SELECT indexdef FROM pg_indexes WHERE tablename = 'bookings' AND indexname LIKE 'ix_%'"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def timed(func, count: int) -> list[float]:
    for _ in range(10):  # warm caches and the connection pool
        func()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def seed(app, specialists: int) -> None:
    from portal.extensions import db

    params = {"specialists": specialists, "per_patient": SPECIALISTS_PER_PATIENT,
              "per_specialist": BOOKINGS_PER_SPECIALIST}
    with app.app_context(), db.engine.begin() as conn:
        rebuild = [*conn.execute(sa.text(BOOKING_CONSTRAINTS)).scalars(),
                   *conn.execute(sa.text(BOOKING_INDEXES)).scalars()]
        for ddl in rebuild:
            name = ddl.split()[2 if ddl.startswith("CREATE INDEX") else 5]
            conn.execute(sa.text(f"DROP INDEX {name}" if ddl.startswith("CREATE INDEX")
                                 else f"ALTER TABLE bookings DROP CONSTRAINT {name}"))
        conn.execute(sa.text("SET session_replication_role = replica"))  # skip FK triggers while seeding
        for statement in SEED + rebuild + ["ANALYZE"]:
            started = time.perf_counter()
            conn.execute(sa.text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
            print(f"  {' '.join(statement.split()[:3])} {time.perf_counter() - started:.1f}s", file=sys.stderr)
        conn.execute(sa.text("SET session_replication_role = origin"))
        count = conn.execute(sa.text("SELECT count(*) FROM bookings")).scalar()
    print(f"seeded {specialists} specialists, {count} bookings", file=sys.stderr)


def timed_specialist(app, specialists: int) -> tuple[uuid.UUID, str]:
    """The specialist whose slots and calendar are timed, given a password to sign in with."""
    from werkzeug.security import generate_password_hash

    from portal.extensions import db

    index = 4242 % specialists
    specialist_id = uuid.UUID(hashlib.md5(f"spec{index}".encode()).hexdigest())
    with app.app_context():
        db.session.execute(sa.text("UPDATE users SET password_hash = :hash WHERE id = :id"),
                           {"hash": generate_password_hash(PASSWORD), "id": specialist_id})
        db.session.commit()
    return specialist_id, f"spec{index}@bench.test"


# The timed specialist's second service, and 200 of their bookings in the 30 days timed: they work
# 08:00-20:00 every day, seven 50-minute sessions a day 100 minutes apart, all with one patient
# of their own (their future bookings from the seed above make way).
SERVICE_SEED = [
    "DELETE FROM bookings WHERE specialist_id = :s AND starts_at > now()",
    "DELETE FROM specialist_working_hours WHERE specialist_id = :s",
    """INSERT INTO specialist_working_hours (id, specialist_id, weekday, start_time, end_time)
       SELECT gen_random_uuid(), :s, d, time '08:00', time '20:00' FROM generate_series(0, 6) AS d""",
    """INSERT INTO services (id, specialist_id, name, description, is_active, is_default, created_at, updated_at)
       VALUES (:service, :s, 'Follow-up', '', true, false, now(), now())""",
    """INSERT INTO specialist_rates (id, specialist_id, service_id, duration_minutes, price, currency, effective_from,
                                     created_at)
       VALUES (gen_random_uuid(), :s, :service, 50, 70, 'EUR', current_date - 10, now())""",
    """UPDATE specialist_profiles SET buffer_after_minutes = 10, slot_interval_minutes = 60 WHERE id = :s""",
    """INSERT INTO users (id, email, email_normalized, password_hash, role, display_name, timezone,
                          is_active, calendar_feed_version, created_at, updated_at)
       VALUES (md5('follow-up patient')::uuid, 'follow-up@bench.test', 'follow-up@bench.test', 'x', 'patient',
               'Follow-up patient', 'UTC', true, 1, now(), now())""",
    """INSERT INTO bookings (id, patient_id, specialist_id, service_id, starts_at, ends_at, status, price, currency,
                             created_at, updated_at)
       SELECT gen_random_uuid(), md5('follow-up patient')::uuid, :s, :service, t, t + interval '50 minutes',
              'confirmed', 70, 'EUR', now(), now()
       FROM generate_series(0, 199) AS k,
            LATERAL (SELECT date_trunc('day', now() AT TIME ZONE 'Europe/Berlin') AT TIME ZONE 'Europe/Berlin'
                            + (1 + k / 7) * interval '1 day' + interval '8 hours'
                            + (k % 7) * interval '100 minutes' AS t) AS slot""",
    "ANALYZE",
]


def second_service(app, specialist_id) -> uuid.UUID:
    """The timed specialist's second service and its 200 bookings in the 30 days timed."""
    from portal.extensions import db

    service_id = uuid.UUID(hashlib.md5(f"follow-up{specialist_id}".encode()).hexdigest())
    with app.app_context(), db.engine.begin() as conn:
        for statement in SERVICE_SEED:
            conn.execute(sa.text(statement), {"s": specialist_id, "service": service_id})
        count = conn.execute(sa.text("SELECT count(*) FROM bookings WHERE specialist_id = :s AND "
                                     "starts_at BETWEEN now() AND now() + interval '31 days'"),
                             {"s": specialist_id}).scalar()
    print(f"  the timed specialist holds {count} bookings in the next 31 days", file=sys.stderr)
    return service_id


def explain(app, specialist_id) -> None:
    from portal.extensions import db

    with app.app_context():
        plan = db.session.execute(sa.text(
            "EXPLAIN SELECT starts_at, ends_at FROM bookings WHERE (specialist_id = :s) "
            "AND status IN ('pending', 'confirmed') AND starts_at < now() + interval '31 days' "
            "AND ends_at > now()"), {"s": specialist_id}).scalars().all()
        print("\n".join(plan), file=sys.stderr)


def measure(app, specialist_id, email: str, requests: int, service_id: uuid.UUID) -> dict:
    from bench.signin import signed_in_client
    from portal import clock
    from portal.extensions import db
    from portal.models import User
    from portal.models.row_security import acting_as
    from portal.selectors.availability import free_slots, rate_on

    with app.app_context():
        def slots():
            # As the specialist's own request reads them: under row-level security when the app has it.
            specialist = db.session.get(User, specialist_id)
            with acting_as(specialist):
                today = clock.today(specialist.timezone)
                found = free_slots(specialist, today, today + timedelta(days=29), now=clock.now(),
                                   duration=timedelta(minutes=60))
            db.session.remove()
            return found

        def round_trip():
            db.session.execute(sa.text("SELECT 1"))
            db.session.remove()

        print(f"  context: one pooled query round trip p50 {percentile(timed(round_trip, requests), .5)} ms",
              file=sys.stderr)
        def service_slots():
            """What GET /slots?service_id= does: the service's length today, then its 30 days."""
            specialist = db.session.get(User, specialist_id)
            with acting_as(specialist):
                today = clock.today(specialist.timezone)
                rate = rate_on(specialist.id, today, service_id)
                found = free_slots(specialist, today, today + timedelta(days=29), now=clock.now(),
                                   duration=timedelta(minutes=rate.duration_minutes))
            db.session.remove()
            return found

        print(f"  {len(slots())} free slots in 30 days", file=sys.stderr)
        slot_times = timed(slots, requests)
        print(f"  {len(service_slots())} free slots of the second service in 30 days", file=sys.stderr)
        service_times = timed(service_slots, requests)

    client = signed_in_client(app, email, PASSWORD)

    def calendar():
        response = client.get("/specialist/calendar")
        assert response.status_code == 200, response.status_code

    calendar_times = timed(calendar, requests)
    return {"slots_p50_ms": percentile(slot_times, .5), "slots_p95_ms": percentile(slot_times, .95),
            "service_slots_p50_ms": percentile(service_times, .5),
            "service_slots_p95_ms": percentile(service_times, .95),
            "calendar_p50_ms": percentile(calendar_times, .5), "calendar_p95_ms": percentile(calendar_times, .95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--specialists", type=int, default=SPECIALISTS, help="fewer for a quick run")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        sys.exit("DATABASE_URL must name a PostgreSQL server")
    from tests.scratch_db import scratch_database

    with scratch_database(url, "portal_bench") as bench_url:
        from flask_migrate import upgrade

        from portal import create_app

        settings = {"TESTING": False, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": bench_url,
                    "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "REDIS_URL": None}
        app = create_app(settings | {"DATABASE_APP_ROLE": os.environ.get("DATABASE_APP_ROLE") or "portal_app"})
        with app.app_context():
            upgrade()
        seed(app, args.specialists)
        specialist_id, email = timed_specialist(app, args.specialists)
        service_id = second_service(app, specialist_id)
        explain(app, specialist_id)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx("measure(app, specialist_id, email, 50, service_id)", globals(), locals(),
                            sort="cumtime")
        result = measure(app, specialist_id, email, args.requests, service_id)
        # The same, side by side, with row-level security's role switch off: the Python policies alone.
        plain = create_app(settings | {"DATABASE_APP_ROLE": ""})
        result |= {f"{key}_rls_off": value
                   for key, value in measure(plain, specialist_id, email, args.requests, service_id).items()}
        from portal.extensions import db

        for each in (app, plain):
            with each.app_context():
                db.engine.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
