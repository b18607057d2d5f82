"""Audit log browser at a million rows: p50/p95 of a filtered page and of its next page.

    DATABASE_URL=postgresql://postgres@127.0.0.1/postgres python bench/audit.py [rows]

Makes a scratch database next to the one DATABASE_URL names, builds the schema with
the migrations, seeds the rows with one set-based INSERT ... SELECT generate_series,
requests the pages through the Flask test client signed in as an admin, and drops
the database. The last line is JSON: {"audit_page_p50_ms": ..., "audit_page_p95_ms": ...}.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))
ACTIONS = ["booking_created", "booking_cancelled", "login", "user_role_changed", "note_created",
           "recording_viewed", "api_token_created", "recurring_bookings_dispatched"]

SEED_USERS = """
INSERT INTO users (id, email, email_normalized, password_hash, role, display_name, timezone,
                   is_active, calendar_feed_version, created_at, updated_at)
SELECT gen_random_uuid(), 'user' || n || '@bench.test', 'user' || n || '@bench.test', 'x',
       (ARRAY['patient','specialist','ops'])[1 + n % 3], 'User ' || n, 'UTC', true, 1, now(), now()
FROM generate_series(1, 500) AS n
"""

SEED_AUDIT = """
INSERT INTO audit_logs (id, actor_id, action, entity_type, entity_id, old_values, new_values, status, created_at)
SELECT gen_random_uuid(),
       CASE WHEN n % 50 = 0 THEN NULL ELSE actors.ids[1 + n % array_length(actors.ids, 1)] END,
       (:actions)[1 + n % 8],
       (ARRAY['booking','booking','user','user','user','session_note','meeting_recording','job'])[1 + n % 8],
       'e-' || (n % 200000),
       jsonb_build_object('status', 'confirmed'),
       jsonb_build_object('status', 'cancelled', 'n', n),
       CASE WHEN n % 97 = 0 THEN 'failure' ELSE 'success' END,
       now() - make_interval(secs => n * 3)
FROM generate_series(1, :rows) AS n,
     (SELECT array_agg(id) AS ids FROM users) AS actors
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


CPU_MS: list[float] = []


def timed(client, url: str, htmx: bool = False) -> tuple[float, str]:
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
    body = response.get_data(as_text=True)
    elapsed = (time.perf_counter() - start) * 1000
    CPU_MS.append((time.process_time() - cpu) * 1000)
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, body


def run(rows: int) -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        sys.exit("DATABASE_URL must name a PostgreSQL database")
    from tests.scratch_db import scratch_database

    with scratch_database(url, "portal_bench_audit") as bench_url:
        return measure(bench_url, rows)


def measure(database_url: str, rows: int) -> dict:
    import tempfile

    from flask_migrate import upgrade

    from bench.signin import signed_in_client
    from portal import create_app
    from portal.extensions import db
    from portal.services.users import user_create

    instance = tempfile.mkdtemp(prefix="bench-audit-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://"},
                     instance_path=instance)
    with app.app_context():
        upgrade()
        user_create(email="admin@bench.test", password="bench-password", role="admin")
        db.session.commit()
        started = time.perf_counter()
        db.session.execute(sa.text(SEED_USERS))
        db.session.execute(sa.text(SEED_AUDIT).bindparams(
            sa.bindparam("actions", ACTIONS, type_=sa.ARRAY(sa.String)), rows=rows))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE audit_logs"))
            conn.execute(sa.text("ANALYZE users"))
        print(f"seeded {rows:,} audit rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        explain(db, rows)
    client = signed_in_client(app, "admin@bench.test", "bench-password")

    first_url = "/admin/audit?action=booking_cancelled&status=success"
    _, body = timed(client, first_url)  # warm caches and the template
    cursor = re.search(r'cursor=([\w-]+)', body).group(1)
    next_url = f"{first_url}&cursor={cursor}"
    first, following = [], []
    for _ in range(ROUNDS):
        first.append(timed(client, first_url)[0])
        following.append(timed(client, next_url)[0])
    both = first + following
    partial = [timed(client, next_url, htmx=True)[0] for _ in range(ROUNDS // 4)]
    print(f"htmx results block (next page): p50 {statistics.median(partial):.1f} ms", file=sys.stderr)
    for label, values in (("first page", first), ("next page", following)):
        print(f"{label}: p50 {statistics.median(values):.1f} ms, p95 {percentile(values, .95):.1f} ms",
              file=sys.stderr)
    if os.environ.get("BENCH_CSV", "1") == "1":
        export_csv(client)
    print(f"portal process CPU per request: p50 {statistics.median(CPU_MS):.1f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    with app.app_context():
        db.engine.dispose()
    return {"audit_page_p50_ms": round(statistics.median(both), 2),
            "audit_page_p95_ms": round(percentile(both, .95), 2)}


def export_csv(client) -> None:
    """Stream the CSV of every successful row: time, size, and how much the process grew."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, size, lines = time.perf_counter(), 0, 0
    response = client.get("/admin/audit.csv?status=success", buffered=False)
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    response.close()
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"csv export: {lines - 1:,} rows, {size / 1e6:.0f} MB in {time.perf_counter() - start:.1f}s; "
          f"peak RSS grew {grew:.0f} MB", file=sys.stderr)


def explain(db, rows: int) -> None:
    from portal.models import AuditLog
    from portal.selectors.audit import AuditFilters, _newest_first

    last = db.session.execute(sa.select(AuditLog.created_at, AuditLog.id).where(
        AuditLog.action == "booking_cancelled").order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .offset(min(5000, rows // 16)).limit(1)).one()
    query = _newest_first(AuditFilters(action="booking_cancelled", status="success"), tuple(last), 51)
    compiled = query.compile(dialect=db.engine.dialect)
    plan = db.session.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled),
                                                   compiled.params).scalars()
    print("\n".join(plan), file=sys.stderr)
    from portal.selectors.audit import _DISTINCT_ACTIONS

    plan = db.session.connection().exec_driver_sql(
        "EXPLAIN (ANALYZE) " + str(_DISTINCT_ACTIONS.compile(dialect=db.engine.dialect))).scalars()
    print("actions list:", [line for line in plan if "Execution Time" in line], file=sys.stderr)


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    print(json.dumps(result))
