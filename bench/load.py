"""A clinic's Monday morning: the portal served the production way, under a mixed population.

    DATABASE_URL=postgresql://postgres@127.0.0.1/postgres python bench/load.py [--users 16] [--seconds 60]
    python bench/load.py --sqlite [--users 16]        # the embedded default

Makes a scratch PostgreSQL database beside DATABASE_URL (with --sqlite: a scratch SQLite file in the
work folder), migrates it and seeds a clinic (the demo clinic, plus --specialists specialists with
weekday hours and two weeks of bookings, --patients patients and 20,000 audit rows), then starts
gunicorn (bench/load_app.py: the portal as wsgi.py builds it plus one bench-only bare fragment
route) and the jobs' runner, and runs locust headless (bench/locustfile.py) on 127.0.0.1:

- PostgreSQL: 2 sync gunicorn workers per core and an RQ worker on REDIS_URL (default
  redis://127.0.0.1:6379/14; a queue of its own);
- SQLite (--sqlite), as `make run` would serve it in production: no Redis, no RQ worker, gunicorn
  with 2 workers of 8 threads, the schedule run in-process (EMBEDDED_SCHEDULER), and the dispatcher
  the ops user starts run inside that request.

The phases:

1. --bare-seconds (15) of --users users requesting the bare fragment (a few rows, one query): the
   ceiling of this server, app and load generator on this machine now;
2. --floor-seconds (15) of --users users, each signed in as a patient, requesting their data and
   privacy page (/account/data): the session, the user, the layout, one small form and one other
   query (their erasure requests, none). The floor of any signed-in page: what the mix could reach
   if every page cost no more than being signed in;
3. --seconds (60) of --users users: patients searching specialists, opening slot lists, booking and
   cancelling; specialists opening the calendar and day panels and blocking time; admins paging the
   audit log; one ops user running the dispatcher once and following its job.

Then it stops the server and the worker and checks the database: no overlapping active bookings per
specialist or per patient, every booking a patient was told was made exists (and is cancelled when
the patient was told so), the dispatcher finished (in RQ, or recorded a success in job_runs). It
prints per page type the requests per second, p50/p95/p99 and errors, and drops the database (also
on Ctrl-C or a failure). The last line is JSON: {"rps", "p95_ms", "errors", "bare_rps", "ratio",
"floor_rps", "floor_ratio", "database"}; ratio = rps / bare_rps, floor_ratio = floor_rps / bare_rps,
database "postgresql" or "sqlite". It exits 1 on any error. With --compare-rls (PostgreSQL) the mixed
phase runs a second time with row-level security's role switch off (DATABASE_APP_ROLE empty) and the
line adds "rls_off_rps", "rls_off_p95_ms" and "errors_rls_off": the first phase is with it on.

The per-patient write and booking limits are raised for the run (a closed loop without think time
books far faster than a person); they are still counted on every write (in Redis; in each worker's
memory on SQLite).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "demo-password"  # the demo accounts' password; the seeded ones share its hash
POPULATION = ["Patient", "Specialist", "Admin", "Ops"]
AUDIT_ROWS = 20_000

OVERLAPS = """
SELECT count(*) FROM bookings a JOIN bookings b
  ON a.{party} = b.{party} AND a.id < b.id
 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
WHERE a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seeded_id(key: str) -> uuid.UUID:
    """The same id for the same seeded account on every run and database (an md5 of its key)."""
    return uuid.UUID(hashlib.md5(key.encode()).hexdigest())


def seed_rows(specialists: int, patients: int, password_hash: str) -> list[tuple[str, list[dict]]]:
    """The seeded crowd as (table, rows), in insertion order: plain values both databases take."""
    now = datetime.now(UTC)
    today = now.date()
    specialist_ids = [seeded_id(f"ls{i}") for i in range(specialists)]
    patient_ids = [seeded_id(f"lp{i}") for i in range(patients)]
    names = ["Dr. Load", "Load Physio", "Load Nutrition", "Load Sleep Coach"]
    titles = ["Clinical psychologist", "Physiotherapist", "Nutritionist", "Sleep coach"]

    def service_id(specialist_id: uuid.UUID) -> uuid.UUID:
        return seeded_id(f"service-{specialist_id}")

    def user(uid: uuid.UUID, email: str, role: str, name: str, zone: str) -> dict:
        return {"id": uid, "email": email, "email_normalized": email, "password_hash": password_hash, "role": role,
                "display_name": name, "timezone": zone, "is_active": True, "calendar_feed_version": 1,
                "email_confirmed_at": now, "created_at": now, "updated_at": now}

    def at(day: date, hour: int, minute: int) -> datetime:
        return datetime.combine(day, clock_time(hour, minute), tzinfo=UTC)

    zones = ["Europe/Berlin", "Europe/London", "America/New_York", "UTC"]
    patient_zones = ["Europe/London", "Europe/Berlin", "America/Sao_Paulo", "UTC"]
    return [
        ("users", [user(sid, f"ls{i}@load.test", "specialist", f"{names[i % 4]} {i}", zones[i % 4])
                   for i, sid in enumerate(specialist_ids)]),
        ("specialist_profiles", [{"id": sid, "title": titles[i % 4], "bio": "Seeded for the load test.",
                                  "created_at": now} for i, sid in enumerate(specialist_ids)]),
        ("services", [{"id": service_id(sid), "specialist_id": sid, "name": "Session", "description": "",
                       "is_active": True, "is_default": True, "created_at": now, "updated_at": now}
                      for sid in specialist_ids]),
        ("specialist_rates", [{"id": uuid.uuid4(), "specialist_id": sid, "service_id": service_id(sid),
                               "duration_minutes": [50, 45, 60, 30][i % 4],
                               "price": Decimal(60 + i % 40), "currency": "USD", "effective_from": date(2000, 1, 1),
                               "created_at": now} for i, sid in enumerate(specialist_ids)]),
        ("specialist_working_hours", [{"id": uuid.uuid4(), "specialist_id": sid, "weekday": d,
                                       "start_time": clock_time(8), "end_time": clock_time(17)}
                                      for sid in specialist_ids for d in range(5)]),
        ("users", [user(pid, f"lp{i}@load.test", "patient", f"Load Patient {i}", patient_zones[i % 4])
                   for i, pid in enumerate(patient_ids)]),
        # One booking a day for 14 days per seeded specialist, a different hour per specialist and a
        # different patient per (specialist, day), so nobody is double-booked.
        ("bookings", [{"id": uuid.uuid4(), "patient_id": patient_ids[(i + specialists * d) % patients],
                       "specialist_id": sid, "starts_at": at(today + timedelta(days=d), 9 + i % 6, 0),
                       "ends_at": at(today + timedelta(days=d), 9 + i % 6, 30), "status": "confirmed",
                       "price": Decimal(60), "currency": "USD", "created_at": now, "updated_at": now}
                      for i, sid in enumerate(specialist_ids) for d in range(1, 15)]),
        ("audit_logs", [{"id": uuid.uuid4(), "actor_id": patient_ids[n % patients],
                         "action": ["booking_created", "booking_cancelled", "login", "note_created"][n % 4],
                         "entity_type": ["booking", "booking", "user", "session_note"][n % 4], "entity_id": f"e-{n}",
                         "old_values": {"status": "confirmed"}, "new_values": {"status": "cancelled"},
                         "status": "success", "created_at": now - timedelta(seconds=30 * n)}
                        for n in range(1, AUDIT_ROWS + 1)]),
    ]


def migrate_and_seed(url: str, instance: str, specialists: int, patients: int) -> dict:
    """The schema, the demo clinic and the seeded crowd; return the cast for the locustfile."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.cli.demo import seed_demo_data
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": "bench-load",
                      "RATELIMIT_STORAGE_URI": "memory://"}, instance_path=instance)
    with app.app_context():
        upgrade()
        seed_demo_data(date.today())
        db.session.commit()
        password_hash = db.session.scalar(
            sa.text("SELECT password_hash FROM users WHERE email = 'patient@demo.clinic'"))
        # Core inserts through the models' tables (their types write uuids, times and JSON the way
        # each database keeps them), one executemany per table.
        for table, rows in seed_rows(specialists, patients, password_hash):
            db.session.execute(db.metadata.tables[table].insert(), rows)
        db.session.commit()
        specialist_ids = [str(i) for i in db.session.scalars(sa.text(
            "SELECT id FROM users WHERE role = 'specialist' AND is_active ORDER BY email").columns(
                sa.column("id", sa.Uuid)))]
        dialect = db.engine.dialect.name
        db.engine.dispose()
    if dialect == "postgresql":
        engine = sa.create_engine(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        engine.dispose()
    return {
        "password": PASSWORD,
        "patients": ["patient@demo.clinic"] + [f"lp{i}@load.test" for i in range(patients)],
        "specialists": ["specialist@demo.clinic"] + [f"ls{i}@load.test" for i in range(specialists)],
        "admins": ["admin@demo.clinic"], "ops": ["ops@demo.clinic"], "specialist_ids": specialist_ids,
    }


def served_env(url: str, work: Path, port: int, redis_url: str | None, *, queue: str) -> dict:
    """The environment gunicorn and the RQ worker run the portal with: production settings on a
    scratch database, fresh keys, the per-patient write and booking limits raised (still counted)."""
    env = {**os.environ, "DATABASE_URL": url, "TZ": "UTC",
           "PORTAL_ENV": "production", "BENCH_INSECURE_COOKIES": "1",
           "SECRET_KEY": secrets.token_hex(32),
           "RECORDINGS_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
           "PORTAL_INSTANCE_DIR": str(work / "instance"), "RQ_QUEUE": queue,
           "WRITE_RATE_LIMIT": "100000 per minute", "BOOKING_RATE_LIMIT": "100000 per minute",
           "PORTAL_BASE_URL": f"http://127.0.0.1:{port}"}
    for name in ("SENTRY_DSN", "REDIS_URL", "RATELIMIT_STORAGE_URI", "EMBEDDED_SCHEDULER"):
        env.pop(name, None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        # As `make run` serves it: with no Redis the web process runs the schedule (the
        # outbox every few seconds) in a thread of its own, beside the requests.
        env["EMBEDDED_SCHEDULER"] = "1"
    return env


class Services:
    """gunicorn and the RQ worker (none on SQLite: no Redis), each in a process group of its own,
    stopped whatever happens."""

    def __init__(self, env: dict, workers: int, threads: int, port: int, logs: Path, *, rq_worker: bool) -> None:
        self.env, self.workers, self.threads, self.port, self.logs = env, workers, threads, port, logs
        self.rq_worker = rq_worker
        self.processes: list[subprocess.Popen] = []

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "w") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append(process)
        return process

    def start(self) -> None:
        self._start("gunicorn", [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "--threads",
                                 str(self.threads), "-b", f"127.0.0.1:{self.port}", "bench.load_app:app"])
        if self.rq_worker:
            self._start("worker", [sys.executable, "-m", "flask", "--app", "wsgi", "rq", "worker"])
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"gunicorn did not come up; see {self.logs}/gunicorn.log")
            time.sleep(0.3)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


SIGN_IN_ALLOWANCE = 60  # seconds every user of a phase gets to sign in before it gives up waiting


def run_locust(env: dict, port: int, users: int, seconds: int, classes: list[str], csv_prefix: Path,
               logs: Path) -> list[dict]:
    signed_in = classes != ["Bare"]
    # Signed-in phases time themselves from the last sign-in (bench/locustfile.py); -t only bounds them.
    limit = seconds + SIGN_IN_ALLOWANCE if signed_in else seconds
    env = {**env, "BENCH_LOAD_PHASE_SECONDS": str(seconds) if signed_in else "", "BENCH_LOAD_USERS": str(users)}
    argv = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
            "-u", str(users), "-r", str(users), "-t", f"{limit}s", "--host", f"http://127.0.0.1:{port}",
            "--csv", str(csv_prefix), "--only-summary", "--stop-timeout", "10", "--exit-code-on-error", "0",
            *classes]
    with open(logs / f"{csv_prefix.name}.log", "w") as log:
        subprocess.run(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True,
                       timeout=limit + 120)
    with open(f"{csv_prefix}_stats.csv") as stats:
        rows = list(csv.DictReader(stats))
    # An exception inside a user (a page that did not hold what it should) is an error too.
    with open(f"{csv_prefix}_exceptions.csv") as exceptions:
        for row in csv.DictReader(exceptions):
            rows.append({"Name": "exception", "Request Count": "0", "Requests/s": "0", "50%": "", "95%": "",
                         "99%": "", "Failure Count": row["Count"]})
            print(f"exception in the load: {row['Message']} ({row['Count']}x)", file=sys.stderr)
    return rows


CPU_GROUPS = ("gunicorn", "rq worker", "postgres", "redis", "locust")


def _cpu_group(process) -> str | None:
    name = process.name()
    if name.startswith("postgres"):
        return "postgres"
    if name.startswith("redis"):
        return "redis"
    command = " ".join(process.cmdline())
    if "gunicorn" in command:
        return "gunicorn"
    if "rq worker" in command or command.startswith("rq:"):
        return "rq worker"
    return "locust" if "locust" in command else None


def cpu_by_group(groups: tuple[str, ...] = CPU_GROUPS) -> dict[str, float]:
    """CPU seconds used so far by each group of processes, with their reaped children's (RQ's
    forked work-horses, PostgreSQL's ended backends), and by the whole machine ("machine")."""
    import psutil

    used = dict.fromkeys(groups, 0.0)
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            group = _cpu_group(process)
            if group in used:
                times = process.cpu_times()
                used[group] += times.user + times.system + times.children_user + times.children_system
    # locust runs as this script's child and is reaped when its phase ends: its CPU is ours to count.
    if "locust" in used:
        own = psutil.Process().cpu_times()
        used["locust"] += own.children_user + own.children_system
    machine = psutil.cpu_times()
    used["machine"] = machine.user + machine.system + getattr(machine, "nice", 0.0)
    return used


def wait_for_dispatcher(redis_url: str, ledger: Path, timeout: float = 60) -> str:
    """The dispatcher job the ops user queued, once the worker is done with it (a short run may end
    before the ops user saw it finish): "finished", "failed", or why there is none."""
    from redis import Redis
    from rq.job import Job

    lines = [line.split() for line in ledger.read_text().splitlines()] if ledger.exists() else []
    job_id = next((fields[1] for fields in lines if fields[0] == "dispatch"), None)
    if job_id is None:
        return "never queued"
    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        status = str(Job.fetch(job_id, connection=connection).get_status(refresh=True))
        if status.rsplit(".", 1)[-1].lower() in ("finished", "failed", "stopped", "canceled"):
            break
        time.sleep(0.5)
    connection.close()
    return status.rsplit(".", 1)[-1].lower()


def dispatcher_ran_in_process(url: str, ledger: Path) -> str:
    """Without Redis the ops user's request ran the dispatcher itself and answered how it ended:
    "finished" when that answer said so and the run is recorded a success in the database,
    otherwise what went wrong."""
    lines = [line.split() for line in ledger.read_text().splitlines()] if ledger.exists() else []
    answered = next((fields[1] for fields in lines if fields[0] == "dispatch-ran"), None)
    if answered is None:
        return "never run"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        recorded = conn.scalar(sa.text("SELECT status FROM job_runs WHERE job_id = 'recurring-dispatch'"))
    engine.dispose()
    if answered != "finished":
        return answered
    return "finished" if recorded == "success" else f"answered finished, recorded {recorded}"


def check_database(url: str, ledger: Path) -> dict:
    """Double bookings and lost bookings, read from the database after the run."""
    lines = [line.split() for line in ledger.read_text().splitlines()] if ledger.exists() else []
    booked = {fields[1] for fields in lines if fields[0] == "booked"}
    cancelled = {fields[1] for fields in lines if fields[0] == "cancelled"}
    # Bound and read through sa.Uuid, which each database stores its own way (uuid, or 32 hex digits).
    bookings = sa.table("bookings", sa.column("id", sa.Uuid), sa.column("status", sa.String))
    ids = sorted(uuid.UUID(b) for b in booked)
    engine = sa.create_engine(url)
    status = {}
    with engine.connect() as conn:
        overlaps = {party: conn.scalar(sa.text(OVERLAPS.format(party=party)))
                    for party in ("specialist_id", "patient_id")}
        for start in range(0, len(ids), 500):  # well under any database's limit on bound parameters
            status.update((str(i), s) for i, s in conn.execute(
                sa.select(bookings.c.id, bookings.c.status).where(bookings.c.id.in_(ids[start:start + 500]))))
    engine.dispose()
    lost = sorted(booked - status.keys())
    not_cancelled = sorted(b for b in cancelled if status.get(b) != "cancelled")
    wrongly_cancelled = sorted(b for b in booked - cancelled if status.get(b) == "cancelled")
    return {"booked": len(booked), "cancelled": len(cancelled),
            "refused": sum(1 for fields in lines if fields[0] == "refused"),
            "unreadable": sum(1 for fields in lines if fields[0] == "unreadable"),
            "double_booked_specialist": overlaps["specialist_id"], "double_booked_patient": overlaps["patient_id"],
            "lost": len(lost), "cancel_lost": len(not_cancelled), "wrongly_cancelled": len(wrongly_cancelled)}


def _ms(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def _page_rps(rows: list[dict]) -> float:
    """Requests a second to the phase's pages, leaving out each user's sign-in at its start."""
    return sum(float(r["Requests/s"]) for r in rows if r["Name"] not in ("Aggregated", "login", "login page"))


def report(mixed: list[dict], bare: list[dict], floor: list[dict], checks: dict, seconds: int,
           database: str) -> dict:
    print(f"{'page':28} {'requests':>8} {'rps':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for row in mixed + floor + bare:
        if row["Name"] == "Aggregated":
            continue
        print(f"{row['Name'][:28]:28} {row['Request Count']:>8} {float(row['Requests/s']):8.1f} "
              f"{_ms(row['50%']):7.0f} {_ms(row['95%']):7.0f} {_ms(row['99%']):7.0f} {row['Failure Count']:>6}")
    total = next(r for r in mixed if r["Name"] == "Aggregated")
    bare_row = next(r for r in bare if r["Name"] == "Aggregated")
    rps, floor_rps = _page_rps(mixed), _page_rps(floor)
    bare_rps = float(bare_row["Requests/s"])
    errors = sum(int(r["Failure Count"]) for r in mixed + floor + bare if r["Name"] != "Aggregated")
    bad = ("double_booked_specialist", "double_booked_patient", "lost", "cancel_lost", "wrongly_cancelled",
           "unreadable")
    errors += sum(checks[k] for k in bad) + (checks["dispatcher"] != "finished")
    print(f"database after the run: {json.dumps(checks)}")
    print(f"mixed {rps:.1f} req/s over {seconds} s (p95 {_ms(total['95%']):.0f} ms), "
          f"signed-in floor {floor_rps:.1f} req/s, bare fragment {bare_rps:.1f} req/s; "
          f"load average now {os.getloadavg()[0]:.2f}")
    return {"rps": round(rps, 1), "p95_ms": _ms(total["95%"]), "errors": errors, "bare_rps": round(bare_rps, 1),
            "ratio": round(rps / bare_rps, 3) if bare_rps else 0.0,
            "floor_rps": round(floor_rps, 1), "floor_ratio": round(floor_rps / bare_rps, 3) if bare_rps else 0.0,
            "database": database}


def report_cpu(before: dict, after: dict, mixed: list[dict]) -> None:
    """Where the mixed phase's CPU went: seconds per group, and milliseconds per request."""
    requests = sum(int(r["Request Count"]) for r in mixed if r["Name"] == "Aggregated") or 1
    used = {group: after[group] - before[group] for group in after}
    print("CPU during the mixed phase: " + ", ".join(
        f"{group} {seconds:.1f} s ({1000 * seconds / requests:.1f} ms/request)" for group, seconds in used.items()))


def without_row_security(env: dict, workers: int, threads: int, port: int, work: Path, args,
                          redis_url: str | None) -> dict:
    """The mixed phase again, served with DATABASE_APP_ROLE empty (the Python policies alone), on
    the same database: the row-level security's cost, side by side in one run."""
    plain = {**env, "DATABASE_APP_ROLE": ""}
    services = Services(plain, workers, threads, port, work, rq_worker=bool(redis_url))
    try:
        services.start()
        mixed = run_locust(plain, port, args.users, args.seconds, POPULATION, work / "mixed_plain", work)
    finally:
        services.stop()
    total = next(r for r in mixed if r["Name"] == "Aggregated")
    rps = _page_rps(mixed)
    errors = sum(int(r["Failure Count"]) for r in mixed if r["Name"] != "Aggregated")
    print(f"without row-level security: mixed {rps:.1f} req/s (p95 {_ms(total['95%']):.0f} ms), {errors} errors")
    return {"rls_off_rps": round(rps, 1), "rls_off_p95_ms": _ms(total["95%"]), "errors_rls_off": errors}


def _interrupted(*_) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", action="store_true",
                        help="the embedded default: a scratch SQLite file, no Redis, no RQ worker")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=60, help="length of the mixed phase")
    parser.add_argument("--bare-seconds", type=int, default=15, help="length of the bare fragment phase")
    parser.add_argument("--floor-seconds", type=int, default=15, help="length of the signed-in floor phase")
    parser.add_argument("--workers", type=int, help="gunicorn workers (2 per core; 2 with --sqlite)")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (1; 8 with --sqlite)")
    parser.add_argument("--specialists", type=int, default=40, help="seeded beside the demo clinic's")
    parser.add_argument("--patients", type=int, default=200, help="seeded beside the demo clinic's")
    parser.add_argument("--compare-rls", action="store_true",
                        help="PostgreSQL: run the mixed phase again with row-level security's role switch off "
                             "(DATABASE_APP_ROLE empty) and report both")
    args = parser.parse_args()
    # SQLite: one writer at a time, so a few processes whose threads wait on the lock in turn (as a
    # small clinic would serve it); PostgreSQL: sync workers, as the Procfile runs them.
    workers = args.workers or (2 if args.sqlite else 2 * (os.cpu_count() or 1))
    threads = args.threads or (8 if args.sqlite else 1)
    raw = os.environ.get("DATABASE_URL", "")
    if not args.sqlite and not raw.startswith(("postgres://", "postgresql")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (a scratch database is made there), or pass --sqlite.")
    redis_url = None if args.sqlite else os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    # SIGTERM (and so `timeout`) tears down like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupted)
    from tests.scratch_db import scratch_database

    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    services = None
    database = "sqlite" if args.sqlite else "postgresql"
    try:
        with (contextlib.nullcontext(f"sqlite:///{work / 'portal.db'}") if args.sqlite
              else scratch_database(raw, "bench_load")) as url:
            started = time.perf_counter()
            cast = migrate_and_seed(url, str(work / "instance"), args.specialists, args.patients)
            (work / "cast.json").write_text(json.dumps(cast))
            print(f"seeded in {time.perf_counter() - started:.1f} s; work files in {work}", file=sys.stderr)
            port = free_port()
            env = served_env(url, work, port, redis_url, queue=f"bench_load_{os.getpid()}")
            env.update(BENCH_LOAD_CAST=str(work / "cast.json"), BENCH_LOAD_LEDGER=str(work / "ledger.txt"))
            if args.compare_rls:
                env["DATABASE_APP_ROLE"] = os.environ.get("DATABASE_APP_ROLE") or "portal_app"
            services = Services(env, workers, threads, port, work, rq_worker=not args.sqlite)
            services.start()
            print(f"gunicorn ({workers} workers, {threads} threads each) and "
                  f"{'an RQ worker' if redis_url else 'no Redis'} up on 127.0.0.1:{port}", file=sys.stderr)
            bare = run_locust(env, port, args.users, args.bare_seconds, ["Bare"], work / "bare", work)
            floor = run_locust(env, port, args.users, args.floor_seconds, ["Floor"], work / "floor", work)
            groups = CPU_GROUPS if redis_url else ("gunicorn", "locust")
            cpu_before = cpu_by_group(groups)
            mixed = run_locust(env, port, args.users, args.seconds, POPULATION, work / "mixed", work)
            cpu_after = cpu_by_group(groups)
            dispatcher = (wait_for_dispatcher(redis_url, work / "ledger.txt") if redis_url
                          else dispatcher_ran_in_process(url, work / "ledger.txt"))
            services.stop()
            checks = {**check_database(url, work / "ledger.txt"), "dispatcher": dispatcher}
            summary = report(mixed, bare, floor, checks, args.seconds, database)
            report_cpu(cpu_before, cpu_after, mixed)
            if args.compare_rls and not args.sqlite:
                summary |= without_row_security(env, workers, threads, port, work, args, redis_url)
    except KeyboardInterrupt:
        print("interrupted: stopping the server and the worker, dropping the database", file=sys.stderr)
        return 130
    finally:
        if services is not None:
            services.stop()
        if os.environ.get("BENCH_KEEP_FILES"):
            print(f"work files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(summary))
    return 1 if summary["errors"] or summary.get("errors_rls_off") else 0


if __name__ == "__main__":
    sys.exit(main())
