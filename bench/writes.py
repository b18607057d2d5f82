"""Writes at the cost of their rows: a booking and a cancellation through the portal, beside the
bare SQL transaction that writes the same rows, alternating in one run.

    DATABASE_URL=postgresql://postgres@127.0.0.1/postgres python bench/writes.py [--clients 8] [--seconds 10]

Makes a scratch PostgreSQL database beside DATABASE_URL, migrates and seeds it as bench/load.py
does (one seeded specialist and one patient per client), serves the portal with gunicorn and an
RQ worker as the load test does (REDIS_URL, default redis://127.0.0.1:6379/14), then runs
--rounds rounds of two phases of --seconds each, in turn:

- app: each of --clients clients, in a closed loop, books its next slot with its specialist
  through POST /api/v1/bookings (a bearer token of its patient) and cancels it through
  POST /functions/booking-cancel;
- bare: the same with a psycopg transaction per write holding only what the rules need: for a
  booking the pair's advisory lock (as the service takes it), one SELECT answering every check
  (specialist and service bookable, rate, working hours, exception, both parties' clashes with
  buffers, grid, notice, window, upcoming limit, a usable package credit), the INSERT of the
  booking, and one statement writing its status history, its audit row and its two outbox rows;
  for a cancellation the row locked with what the rules need, and one statement writing the
  status, the cancellation, the history, the audit row and the other party's outbox row. Same
  database, constraints and overlap trigger as the app, and the same guarantees: each transaction
  switches to the app's role (DATABASE_APP_ROLE) as the patient, as a request does, so the
  row-level security policies hold; where they hide rows the app's reads go through the database's
  own readers and writer (portal_booking_clash, portal_exceptions_of, portal_outbox_write), and
  so do the bare ones; and the booking is written before its history, as the policies need.

A write's throughput is clients ÷ its mean latency (each client alternates the two writes); ratio =
bare ÷ app. After each app phase the run waits until the worker has delivered the mail that phase
wrote, its CPU counted on the app's side, so the bare phase never runs beside the app's delivery.
Before serving, the same booking and cancellation run in-process (the Flask test client, the
same Redis) to count their statements and split their time (bench/spans.py): the
waits (reads, writes, commit, transaction control and role settings, the rate-limit counters,
waking delivery) and the Python (before the view, the view, the JSON answer, after it); after
each, the mail it owes is delivered in-process as the worker delivers it, its time split into the
database and the Python of the content, the templates, the MIME message, writing it out and the
ORM around the statements.

The last line is JSON: {"booking_rps", "booking_bare_rps", "booking_ratio", "cancel_rps",
"cancel_bare_rps", "cancel_ratio", "booking_statements", "cancel_statements", "errors"}.
It exits 1 on any error.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Json, Jsonb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Services, cpu_by_group, free_port, migrate_and_seed, seeded_id, served_env  # noqa: E402
from bench.spans import describe, describe_delivery  # noqa: E402

ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "UTC"]  # bench/load.py's, by index
LENGTHS = [50, 45, 60, 30]
FIRST_DAY = 20  # after the seeded fortnight of bookings
SEEDED_DAYS = 15  # bench/load.py books patient (specialist + count x day) % patients, days 1-14
REASON = "Bench: cannot make it."
LOCK_CLASS = 21  # services/booking_rules.LOCK_CLASS
BARE_MAIL_DUE_AFTER = timedelta(days=3650)  # see mail_rows
DRAIN_LIMIT = 300.0  # seconds the worker may take to catch up after an app phase; longer is an error
APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "portal_app").strip()  # the role the app's requests switch to
# As portal.models.row_security sets it for a signed-in patient's transaction.
AS_THE_APP = ("SELECT set_config('role', %(role)s, true), set_config('portal.user_id', %(user)s, true), "
              "set_config('portal.role', 'patient', true)")

CHECKS = """
SELECT u.role = 'specialist' AND u.is_active AS specialist_ok,
       (SELECT p.role = 'patient' AND p.is_active AND p.email_confirmed_at IS NOT NULL
          FROM users p WHERE p.id = %(patient)s) AS patient_ok,
       sp.max_upcoming_per_patient, sp.min_notice_hours, sp.booking_window_days,
       sp.slot_interval_minutes, svc.id AS service_id, r.price, r.currency, r.duration_minutes, t.ends_at,
       (SELECT h.start_time FROM specialist_working_hours h
         WHERE h.specialist_id = u.id AND h.weekday = t.weekday
           AND h.start_time <= t.local_start AND h.end_time >= t.local_end LIMIT 1) AS window_start,
       t.local_start,
       (SELECT least(60, ceil(min(cur.duration_minutes) / 15.0)::int * 15) FROM services s2
          CROSS JOIN LATERAL (SELECT duration_minutes FROM specialist_rates
                               WHERE service_id = s2.id AND effective_from <= t.local_day
                               ORDER BY effective_from DESC LIMIT 1) cur
         WHERE s2.specialist_id = u.id AND s2.is_active) AS default_grid,
       EXISTS (SELECT 1 FROM portal_exceptions_of(ARRAY[u.id], t.local_day, t.local_day) x
                WHERE NOT x.is_available
                  AND (x.all_day OR (x.start_time < t.local_end AND x.end_time > t.local_start))) AS blocked,
       EXISTS (SELECT 1 FROM portal_booking_clash(u.id, NULL::uuid, %(starts_at)s - t.gap, t.ends_at + t.gap,
                                                  interval '1 day', NULL::uuid)) AS specialist_busy,
       EXISTS (SELECT 1 FROM portal_booking_clash(NULL::uuid, %(patient)s, %(starts_at)s, t.ends_at,
                                                  interval '1 day', NULL::uuid)) AS patient_busy,
       (SELECT count(*) FROM bookings b
         WHERE b.patient_id = %(patient)s AND b.specialist_id = u.id
           AND b.status IN ('pending', 'confirmed') AND b.starts_at > now()) AS upcoming,
       (SELECT e.id FROM package_enrolments e
         WHERE e.patient_id = %(patient)s AND e.specialist_id = u.id AND e.status = 'active'
           AND e.credits_used < e.credits_total AND (e.starts_on IS NULL OR e.starts_on <= t.local_day)
           AND (e.expires_on IS NULL OR e.expires_on >= t.local_day)
         ORDER BY e.expires_on NULLS LAST, e.created_at LIMIT 1) AS enrolment_id
  FROM users u
  JOIN specialist_profiles sp ON sp.id = u.id
  JOIN services svc ON svc.specialist_id = u.id AND svc.is_default AND svc.is_active
  CROSS JOIN LATERAL (SELECT (%(starts_at)s AT TIME ZONE u.timezone)::date AS local_day) d
  JOIN LATERAL (SELECT price, currency, duration_minutes FROM specialist_rates
                 WHERE specialist_id = u.id AND service_id = svc.id AND effective_from <= d.local_day
                 ORDER BY effective_from DESC LIMIT 1) r ON true
  CROSS JOIN LATERAL (
    SELECT d.local_day, %(starts_at)s + make_interval(mins => r.duration_minutes) AS ends_at,
           extract(isodow FROM %(starts_at)s AT TIME ZONE u.timezone)::int - 1 AS weekday,
           (%(starts_at)s AT TIME ZONE u.timezone)::time AS local_start,
           ((%(starts_at)s + make_interval(mins => r.duration_minutes)) AT TIME ZONE u.timezone)::time
             AS local_end,
           make_interval(mins => sp.buffer_before_minutes + sp.buffer_after_minutes) AS gap) t
 WHERE u.id = %(specialist)s
"""

# Two statements, as the app's: the policies let a patient write a booking's history only once the
# booking is there, and a statement's subqueries do not see what its own CTEs insert.
BOOK = """
WITH booking AS (
  INSERT INTO bookings (id, patient_id, specialist_id, starts_at, ends_at, status, price, currency,
                        service_id, package_enrolment_id, ics_sequence, created_at, updated_at)
  VALUES (%(id)s, %(patient)s, %(specialist)s, %(starts_at)s, %(ends_at)s, 'confirmed', %(price)s,
          %(currency)s, %(service)s, %(enrolment)s, 0, now(), now())
  RETURNING id),
credit AS (
  UPDATE package_enrolments SET credits_used = credits_used + 1, updated_at = now()
   WHERE id = %(enrolment)s AND credits_used < credits_total)
SELECT id FROM booking
"""

BOOK_RECORDS = """
WITH history AS (
  INSERT INTO booking_status_history (id, booking_id, from_status, to_status, changed_by, created_at)
  VALUES (gen_random_uuid(), %(id)s, NULL, 'confirmed', %(patient)s, now())),
audit AS (
  INSERT INTO audit_logs (id, actor_id, action, entity_type, entity_id, new_values, status, created_at)
  VALUES (gen_random_uuid(), %(patient)s, 'booking_created', 'booking', %(id)s::text, %(audit)s, 'success', now()))
SELECT count(*) FROM portal_outbox_write(%(mail)s::json)
"""

LOCK_BOOKING = """
SELECT b.patient_id, b.specialist_id, b.status, b.starts_at, b.package_enrolment_id, sp.late_cancel_notice_hours
  FROM bookings b JOIN specialist_profiles sp ON sp.id = b.specialist_id
 WHERE b.id = %(id)s FOR UPDATE OF b
"""

CANCEL = """
WITH cancelled AS (
  UPDATE bookings SET status = 'cancelled', updated_at = now()
   WHERE id = %(id)s AND status IN ('pending', 'confirmed') RETURNING id, specialist_id),
record AS (
  INSERT INTO booking_cancellations (id, booking_id, cancelled_by, reason, cancellation_policy_applied,
                                     is_late, created_at)
  SELECT %(cancellation)s, id, %(actor)s, %(reason)s, 'no_refund', %(late)s, now() FROM cancelled),
credit AS (
  UPDATE package_enrolments SET credits_used = credits_used - 1, updated_at = now()
   WHERE id = %(enrolment)s AND NOT %(late)s AND credits_used > 0 AND status = 'active'),
history AS (
  INSERT INTO booking_status_history (id, booking_id, from_status, to_status, changed_by, created_at)
  SELECT gen_random_uuid(), id, %(previous)s, 'cancelled', %(actor)s, now() FROM cancelled),
audit AS (
  INSERT INTO audit_logs (id, actor_id, action, entity_type, entity_id, old_values, new_values, status,
                          created_at)
  SELECT gen_random_uuid(), %(actor)s, 'booking_cancelled', 'booking', id::text,
         jsonb_build_object('status', %(previous)s::text), %(audit)s, 'success', now() FROM cancelled),
mail AS (
  SELECT portal_outbox_write(%(mail)s::json) FROM cancelled)
SELECT (SELECT count(*) FROM cancelled), (SELECT count(*) FROM mail)
"""


class Refused(Exception):
    """A write the rules (or the database) refused: an error in this benchmark, whose writes are valid."""


@dataclass
class Client:
    """One patient booking and cancelling with one specialist, slot after slot."""

    patient: uuid.UUID
    specialist: uuid.UUID
    token: str
    slots: list[datetime]
    turn: int = 0

    def next_slot(self) -> datetime:
        self.turn += 1
        return self.slots[self.turn % len(self.slots)]


def slots_of(index: int, days: int) -> list[datetime]:
    """The seeded specialist `index`'s bookable starts (weekdays 08:00-17:00 in their zone, on
    the grid their one service gives: its length rounded up to 15 minutes, at most 60), from
    FIRST_DAY days on."""
    zone, length = ZoneInfo(ZONES[index % 4]), LENGTHS[index % 4]
    step = min(60, -(-length // 15) * 15)
    starts = []
    for offset in range(FIRST_DAY, FIRST_DAY + days):
        day = date.today() + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        local = datetime.combine(day, clock_time(8), tzinfo=zone)
        while local + timedelta(minutes=length) <= datetime.combine(day, clock_time(17), tzinfo=zone):
            starts.append(local.astimezone(UTC))
            local += timedelta(minutes=step)
    return starts


def lock_key(patient: uuid.UUID, specialist: uuid.UUID) -> int:
    from portal.services.booking_rules import lock_bucket

    return lock_bucket(patient, specialist)


def as_the_app(conn: psycopg.Connection, patient: uuid.UUID) -> None:
    """The transaction runs as the app's requests do: its role, under the policies, as the patient."""
    conn.execute(AS_THE_APP, {"role": APP_ROLE or "none", "user": str(patient)})


def mail_rows(template: str, booking_id: uuid.UUID, recipients: list[uuid.UUID]) -> Json:
    """The outbox rows, as the database's writer (portal_outbox_write) takes them. They fall due
    only after the run: the app's deliverer takes whatever is due, and the bare side's mail is
    not delivered (its cost is not the bare write's)."""
    now = datetime.now(UTC)
    return Json([{"id": str(uuid.uuid4()), "recipient_id": str(r), "template": template,
                  "about": {"booking_id": str(booking_id)}, "dedup_key": f"{template}:{booking_id}:{r}",
                  "status": "pending", "tries": 0, "next_attempt_at": (now + BARE_MAIL_DUE_AFTER).isoformat(),
                  "created_at": now.isoformat()} for r in recipients])


def bare_book(conn: psycopg.Connection, client: Client, starts_at: datetime) -> uuid.UUID:
    with conn.transaction():
        as_the_app(conn, client.patient)
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, lock_key(client.patient, client.specialist)))
        row = conn.execute(CHECKS, {"specialist": client.specialist, "patient": client.patient,
                                    "starts_at": starts_at}).fetchone()
        if row is None:
            raise Refused("no bookable service or rate")
        (specialist_ok, patient_ok, max_upcoming, notice_hours, window_days, interval, service, price, currency,
         length, ends_at, window_start, local_start, default_grid, blocked, specialist_busy, patient_busy, upcoming,
         enrolment) = row
        now = datetime.now(UTC)
        # Every `grid` minutes from the top of the hour the working window starts in.
        on_grid = window_start is not None and (
            (local_start.hour * 60 + local_start.minute) - window_start.hour * 60) % (interval or default_grid) == 0
        if not (specialist_ok and patient_ok and on_grid) or blocked or specialist_busy or patient_busy:
            raise Refused("slot unavailable")
        if starts_at < now + timedelta(hours=notice_hours) or starts_at > now + timedelta(days=min(window_days, 365)):
            raise Refused("outside the booking window")
        if upcoming >= max_upcoming:
            raise Refused("upcoming limit")
        booking_id = uuid.uuid4()
        audit = {"specialist_id": str(client.specialist), "patient_id": str(client.patient),
                 "starts_at": starts_at.isoformat(), "price": str(price), "currency": currency,
                 "service_id": str(service), "package_enrolment_id": str(enrolment) if enrolment else None}
        conn.execute(BOOK, {"id": booking_id, "patient": client.patient, "specialist": client.specialist,
                            "starts_at": starts_at, "ends_at": ends_at, "price": price, "currency": currency,
                            "service": service, "enrolment": enrolment})
        conn.execute(BOOK_RECORDS, {"id": booking_id, "patient": client.patient, "audit": Jsonb(audit),
                                    "mail": mail_rows("booking_confirmed", booking_id,
                                                      [client.patient, client.specialist])})
    return booking_id


def bare_cancel(conn: psycopg.Connection, client: Client, booking_id: uuid.UUID) -> None:
    with conn.transaction():
        as_the_app(conn, client.patient)
        row = conn.execute(LOCK_BOOKING, {"id": booking_id}).fetchone()
        if row is None:
            raise Refused("no such booking")
        patient, specialist, status, starts_at, enrolment, late_hours = row
        now = datetime.now(UTC)
        if patient != client.patient or status not in ("pending", "confirmed") or starts_at <= now:
            raise Refused("not cancellable")
        late = starts_at - now < timedelta(hours=late_hours)
        cancellation = uuid.uuid4()
        audit = {"status": "cancelled", "cancellation_id": str(cancellation), "cancelled_by": str(client.patient),
                 "cancelled_as": "patient", "cancelled_for": None, "policy": "no_refund", "is_late": late,
                 "credit": None}
        changed = conn.execute(CANCEL, {"id": booking_id, "cancellation": cancellation, "actor": client.patient,
                                        "reason": REASON, "late": late, "enrolment": enrolment,
                                        "previous": status, "audit": Jsonb(audit),
                                        "mail": mail_rows("booking_cancelled", booking_id, [specialist])}
                               ).fetchone()[0]
        if changed != 1:
            raise Refused("already cancelled")


class Api:
    """One client's keep-alive connection to the portal, signed in by its bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        self.connection.request("POST", path, json.dumps(body), self.headers)
        answer = self.connection.getresponse()
        text = answer.read().decode()
        try:
            return answer.status, json.loads(text)
        except ValueError:
            return answer.status, {"text": text[:200]}

    def close(self) -> None:
        self.connection.close()


def app_book(api: Api, client: Client, starts_at: datetime) -> str:
    status, body = api.post("/api/v1/bookings", {"specialist_id": str(client.specialist),
                                                 "starts_at": starts_at.isoformat()})
    if status != 201:
        raise Refused(f"booking answered {status}: {body}")
    return body["id"]


def app_cancel(api: Api, booking_id: str) -> None:
    status, body = api.post("/functions/booking-cancel", {"booking_id": booking_id, "reason": REASON})
    if status != 200 or not body.get("success"):
        raise Refused(f"cancel answered {status}: {body}")


CPU_GROUPS = ("gunicorn", "rq worker", "postgres", "redis")


@dataclass
class Timings:
    book: list[float] = field(default_factory=list)
    cancel: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    drains: list[float] = field(default_factory=list)  # app phases: the worker's catching up after each
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group in the phases

    def add_cpu(self, before: dict, after: dict) -> None:
        for group in after:
            self.cpu[group] = self.cpu.get(group, 0.0) + after[group] - before[group]


def cpu_now() -> dict[str, float]:
    """cpu_by_group's figures, and this process's own (the clients: HTTP here, psycopg for bare)."""
    import psutil

    used = cpu_by_group(CPU_GROUPS)
    own = psutil.Process().cpu_times()
    used["clients"] = own.user + own.system
    return used


def delivery_drained(url: str, since: datetime, limit: float = DRAIN_LIMIT) -> float:
    """Wait until none of the mail the app wrote since `since` waits or is being sent; the seconds it took."""
    started = time.monotonic()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        while time.monotonic() - started < limit:
            waiting = conn.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') "
                                   "AND created_at >= %s AND next_attempt_at < now() + %s",
                                   (since, BARE_MAIL_DUE_AFTER / 2)).fetchone()[0]
            if not waiting:
                break
            time.sleep(0.2)
    return time.monotonic() - started


def app_mail(url: str, since: datetime) -> str:
    """The app's outbox rows since `since` (not the bare side's, due only after the run) by status, as text."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        counts = conn.execute("SELECT status, count(*) FROM outbox WHERE created_at >= %s AND next_attempt_at < "
                              "now() + %s GROUP BY status ORDER BY status", (since, BARE_MAIL_DUE_AFTER / 2)).fetchall()
    return ", ".join(f"{count} {status}" for status, count in counts) or "none"


def run_phase(mode: str, clients: list[Client], seconds: float, url: str, port: int, timings: Timings) -> None:
    """Every client books and cancels in a closed loop for `seconds`, through the app or bare."""
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def work(client: Client) -> None:
        api = conn = None
        if mode == "app":
            api = Api(port, client.token)
        else:
            conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        try:
            while time.monotonic() < deadline:
                slot = client.next_slot()
                try:
                    started = time.perf_counter()
                    booking = app_book(api, client, slot) if api else bare_book(conn, client, slot)
                    booked = time.perf_counter()
                    app_cancel(api, booking) if api else bare_cancel(conn, client, booking)
                    done = time.perf_counter()
                except (Refused, psycopg.Error, OSError, http.client.HTTPException) as error:
                    with lock:
                        timings.errors.append(f"{mode}: {error}")
                    if api:  # a connection an error left half-read is not reused
                        api.close()
                        api = Api(port, client.token)
                    continue
                with lock:
                    timings.book.append(booked - started)
                    timings.cancel.append(done - booked)
        finally:
            if api:
                api.close()
            if conn:
                conn.close()

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def throughput(latencies: list[float], clients: int) -> float:
    return clients / statistics.fmean(latencies) if latencies else 0.0


def in_process(url: str, redis_url: str, queue: str, instance: str, client: Client, runs: int) -> dict:
    """The app's booking and cancellation in this process: statements and where the time goes;
    then, after each, the delivery of the mail it owes, as the worker makes it (production
    settings, no SMTP_URL): where a message's time goes."""
    from bench.spans import request_parts
    from bench.statements import counted
    from portal import create_app
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url,
                      "RQ_QUEUE": queue, "SECRET_KEY": "bench-writes", "WRITE_RATE_LIMIT": "100000 per minute",
                      "BOOKING_RATE_LIMIT": "100000 per minute"}, instance_path=instance)
    deliver = InProcessDelivery(url, instance)
    http = app.test_client()
    headers = {"Authorization": f"Bearer {client.token}"}
    paths = {"booking": "/api/v1/bookings", "cancel": "/functions/booking-cancel"}
    adapter = app.url_map.bind("localhost")
    endpoints = [adapter.match(path, method="POST")[0] for path in paths.values()]
    found = {"booking": [], "cancel": [], "delivery": []}

    def timed(kind: str, body: dict) -> dict:
        with app.app_context(), counted(db.engine) as statements, request_parts(app, endpoints, statements) as parts:
            answer = http.post(paths[kind], headers=headers, json=body)
        if answer.status_code not in (200, 201):
            raise Refused(f"in-process {kind} answered {answer.status_code}: {answer.get_data(as_text=True)[:200]}")
        found[kind].append((statements.count, parts))
        return answer.get_json()

    for run in range(runs + 1):  # the first pair warms the caches (SQL compiled, templates) and is not kept
        if run == 1:
            for rows in found.values():
                rows.clear()
        made = timed("booking", {"specialist_id": str(client.specialist), "starts_at": client.next_slot().isoformat()})
        found["delivery"].append(deliver())  # the confirmations, before the client cancels
        timed("cancel", {"booking_id": made["id"], "reason": REASON})
        found["delivery"].append(deliver())
    with app.app_context():
        db.engine.dispose()
    deliver.close()
    return {kind: {"statements": int(statistics.median(count for count, _ in rows)),
                   "parts": [parts for _, parts in rows]} for kind, rows in found.items()}


class InProcessDelivery:
    """Delivers, each call, the mail the in-process writes left pending, as the worker does
    (production settings, no SMTP_URL): (statements, DeliveryParts)."""

    def __init__(self, url: str, instance: str) -> None:
        from portal import create_app

        self.app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
                               "SECRET_KEY": "bench-writes", "ENV_NAME": "production", "SMTP_URL": None,
                               "RECORDINGS_KEY": base64.b64encode(secrets.token_bytes(32)).decode()},
                              instance_path=instance)
        self.since = datetime.now(UTC)  # the seed's mail is nobody's to deliver here

    def __call__(self) -> tuple:
        import sqlalchemy as sa

        from bench.spans import delivery_parts
        from bench.statements import counted
        from portal.extensions import db
        from portal.models import Outbox
        from portal.services.mail_delivery import outbox_deliver

        with self.app.app_context():
            ids = list(db.session.scalars(sa.select(Outbox.id).where(Outbox.status == "pending",
                                                                     Outbox.created_at >= self.since)))
            db.session.commit()
            with counted(db.engine) as statements, delivery_parts(statements) as parts:
                outcomes = outbox_deliver(ids=ids)
            parts.messages, parts.statements = sum(outcomes.values()), statements.count
        if set(outcomes) - {"kept", "dropped"}:
            raise Refused(f"in-process delivery: {outcomes}")
        return statements.count, parts

    def close(self) -> None:
        from portal.extensions import db

        with self.app.app_context():
            db.engine.dispose()


def _interrupted(*_) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, each its own patient")
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3, help="app and bare phases, alternating")
    parser.add_argument("--workers", type=int, help="gunicorn workers (2 per core)")
    parser.add_argument("--in-process", type=int, default=20, help="writes timed in-process for the breakdown")
    parser.add_argument("--no-worker", action="store_true",
                        help="start no RQ worker: the app's mail is written but not delivered during the run, "
                             "as the bare writes' is not (shows what delivery adds to the app's side)")
    args = parser.parse_args()
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.startswith(("postgres://", "postgresql")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (a scratch database is made there).")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    workers = args.workers or 2 * (os.cpu_count() or 1)
    signal.signal(signal.SIGTERM, _interrupted)
    from tests.scratch_db import scratch_database

    work = Path(tempfile.mkdtemp(prefix="bench_writes_"))
    queue = f"bench_writes_{os.getpid()}"
    services = None
    timings = {"app": Timings(), "bare": Timings()}
    try:
        with scratch_database(raw, "bench_writes") as url:
            migrate_and_seed(url, str(work / "instance"), args.clients, SEEDED_DAYS * args.clients + args.clients)
            clients = make_clients(url, str(work / "instance"), args.clients)
            breakdown = in_process(url, redis_url, queue, str(work / "instance"), clients[0], args.in_process)
            port = free_port()
            services = Services(served_env(url, work, port, redis_url, queue=queue), workers, 1, port, work,
                                rq_worker=not args.no_worker)
            services.start()
            worker = "" if args.no_worker else " and an RQ worker"
            print(f"gunicorn ({workers} workers){worker} up on 127.0.0.1:{port}; {args.clients} clients",
                  file=sys.stderr)
            since = datetime.now(UTC)  # the run's own mail, not the seed's (nothing delivers that)
            for _ in range(args.rounds):
                for mode in ("app", "bare"):
                    before = cpu_now()
                    run_phase(mode, clients, args.seconds, url, port, timings[mode])
                    if mode == "app" and not args.no_worker:
                        # What the worker has left is the app's work: done before the bare phase
                        # begins, not beside it, and its CPU counted on the app's side.
                        drained = delivery_drained(url, since)
                        timings[mode].drains.append(drained)
                        if drained >= DRAIN_LIMIT:
                            timings[mode].errors.append(f"the worker had not delivered the app's mail "
                                                        f"{DRAIN_LIMIT:.0f} s after an app phase")
                    timings[mode].add_cpu(before, cpu_now())
            services.stop()
            print(f"the app's mail by the end: {app_mail(url, since)}", file=sys.stderr)
            if timings["app"].drains:
                print("after each app phase the worker delivered what was left in "
                      + ", ".join(f"{seconds:.1f}" for seconds in timings["app"].drains) + " s", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: stopping the server and the worker, dropping the database", file=sys.stderr)
        return 130
    finally:
        if services is not None:
            services.stop()
        if args.no_worker:  # the deliveries no worker took
            from redis import Redis
            from rq import Queue

            Queue(queue, connection=Redis.from_url(redis_url)).empty()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    summary = report(timings, breakdown, args.clients)
    print(json.dumps(summary))
    return 1 if summary["errors"] else 0


def make_clients(url: str, instance: str, count: int) -> list[Client]:
    """The seeded pairs, each with a bearer token of its patient and a year's slots."""
    from portal import create_app
    from portal.extensions import db
    from portal.models import User
    from portal.services.users import api_token_create

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": "bench-writes",
                      "RATELIMIT_STORAGE_URI": "memory://"}, instance_path=instance)
    clients = []
    with app.app_context():
        for index in range(count):
            # bench/load.py's fortnight of bookings falls on the first SEEDED_DAYS x count patients.
            patient = db.session.get(User, seeded_id(f"lp{SEEDED_DAYS * count + index}"))
            token = api_token_create(user=patient, name="bench writes")
            clients.append(Client(patient.id, seeded_id(f"ls{index}"), token, slots_of(index, 300)))
        db.session.commit()
        db.engine.dispose()
    return clients


def report(timings: dict[str, Timings], breakdown: dict, clients: int) -> dict:
    app, bare = timings["app"], timings["bare"]
    for error in sorted(set(app.errors + bare.errors))[:10]:
        print(f"error: {error}", file=sys.stderr)
    figures = {"booking_rps": throughput(app.book, clients), "booking_bare_rps": throughput(bare.book, clients),
               "cancel_rps": throughput(app.cancel, clients), "cancel_bare_rps": throughput(bare.cancel, clients)}
    for kind in ("booking", "cancel"):
        ms = [f * 1000 for f in (app.book if kind == "booking" else app.cancel)]
        bare_ms = [f * 1000 for f in (bare.book if kind == "booking" else bare.cancel)]
        if ms and bare_ms:
            print(f"{kind}: app {figures[f'{kind}_rps']:.1f}/s (mean {statistics.fmean(ms):.1f} ms, "
                  f"{len(ms)} writes), bare {figures[f'{kind}_bare_rps']:.1f}/s "
                  f"(mean {statistics.fmean(bare_ms):.1f} ms, {len(bare_ms)} writes)", file=sys.stderr)
        part = breakdown[kind]
        print(f"{kind} in-process: {part['statements']} statements, {describe(part['parts'])}", file=sys.stderr)
    print(f"their mail delivered in-process: {describe_delivery(breakdown['delivery']['parts'])}", file=sys.stderr)

    for mode, timing in timings.items():
        writes = len(timing.book) + len(timing.cancel)
        if writes and timing.cpu:
            shares = ", ".join(f"{group} {1000 * seconds / writes:.1f}" for group, seconds in timing.cpu.items()
                               if group != "machine")
            print(f"CPU per {mode} write (ms): {shares}; the whole machine "
                  f"{1000 * timing.cpu.get('machine', 0.0) / writes:.1f}", file=sys.stderr)

    def ratio(bare_rps: float, app_rps: float) -> float | None:
        return round(bare_rps / app_rps, 2) if app_rps else None

    return {**{name: round(value, 1) for name, value in figures.items()},
            "booking_ratio": ratio(figures["booking_bare_rps"], figures["booking_rps"]),
            "cancel_ratio": ratio(figures["cancel_bare_rps"], figures["cancel_rps"]),
            "booking_statements": breakdown["booking"]["statements"],
            "cancel_statements": breakdown["cancel"]["statements"],
            "errors": len(app.errors) + len(bare.errors)}


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
