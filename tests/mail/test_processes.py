"""Delivery across real processes: a real RQ worker on Redis sends what committed bookings owe,
and a deliverer killed while the SMTP server holds its message never causes a second mail."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal import clock
from portal.extensions import db
from portal.models import Outbox, SpecialistRate, WorkingHours
from portal.services.bookings import booking_create
from portal.services.mail_delivery import outbox_deliver, outbox_deliver_due
from tests.conftest import require_or_skip
from tests.mail.conftest import Inbox, free_port
from tests.mail.test_delivery import next_weekday_at

ROOT = Path(__file__).resolve().parents[2]


def child_env(app, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "test-secret",
           "PORTAL_INSTANCE_DIR": app.instance_path, "TZ": "UTC", "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


@pytest.fixture
def people(committed_db):
    """A patient and a specialist (weekday hours, a rate), committed: the child processes read them."""
    from portal.services.users import user_create

    patient = user_create(email="pat@procs.test", password="correct-horse-battery", role="patient",
                          display_name="Pat Procs")
    specialist = user_create(email="spec@procs.test", password="correct-horse-battery", role="specialist",
                             display_name="Spec Procs")
    db.session.add_all([WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                     end_time=time(17)) for d in range(5)])
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(50),
                                  currency="EUR", effective_from=date(2000, 1, 1)))
    db.session.commit()
    return {"patient": patient, "specialist": specialist}


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


def statuses() -> list[str]:
    db.session.rollback()  # a fresh snapshot: the other process has committed since
    return sorted(db.session.scalars(sa.select(Outbox.status)))


def test_a_real_rq_worker_delivers_what_commits_wake_it_for(committed_db, people, redis_url, smtp):
    app, users, smtp_server = committed_db, people, smtp
    import redis
    from rq import Queue

    queue_name = f"test-mail-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=redis_url, RQ_QUEUE=queue_name)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)

    def book(hour: int) -> None:
        booking_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                       starts_at=next_weekday_at(hour))
        db.session.commit()  # the commit wakes delivery: the request never talks to SMTP

    def work() -> None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "rq", "worker", "--burst"], cwd=ROOT,
                       env=child_env(app, REDIS_URL=redis_url, RQ_QUEUE=queue_name, SMTP_URL=smtp_server.url),
                       check=True, timeout=300, capture_output=True)

    try:
        for hour in (9, 11, 13):
            book(hour)
        # One job for three commits: the later two found it waiting, and it claims their rows too.
        assert [job.func_name for job in queue.jobs] == ["portal.jobs.delivery.deliver_committed_outbox_job"]
        assert smtp_server.messages() == [] and statuses() == ["pending"] * 6
        work()
        assert sorted(rcpt for rcpt, _ in smtp_server.received) == sorted(
            [[users["patient"].email]] * 3 + [[users["specialist"].email]] * 3)
        assert statuses() == ["sent"] * 6
        book(15)  # the job cleared the flag when it began: the next commit wakes another
        assert [job.func_name for job in queue.jobs] == ["portal.jobs.delivery.deliver_committed_outbox_job"]
        work()
        assert statuses() == ["sent"] * 8 and len(smtp_server.received) == 8
    finally:
        app.config.update(REDIS_URL=None, RQ_QUEUE="portal")
        queue.delete(delete_jobs=True)
        connection.delete(f"portal:outbox-wake:{queue_name}", f"portal:outbox-committed:{queue_name}")
        for key in connection.scan_iter(f"rq:*{queue_name}*"):
            connection.delete(key)


def test_a_deliverer_passes_over_rows_another_is_claiming(committed_db, people):
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    users = people
    for hour in (9, 11):
        booking_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                       starts_at=next_weekday_at(hour))
    db.session.commit()
    first = db.session.scalars(sa.select(Outbox.id).order_by(Outbox.next_attempt_at, Outbox.id)).first()
    db.session.commit()
    with db.engine.connect() as other:  # another deliverer, in the middle of claiming that row
        other.execute(sa.select(Outbox.id).where(Outbox.id == first).with_for_update())
        assert outbox_deliver_due() == {"kept": 3}  # the others, without waiting for its lock
        assert statuses() == ["kept", "kept", "kept", "pending"]
    assert outbox_deliver_due() == {"kept": 1}  # its lock gone, the row is due like any other
    assert statuses() == ["kept"] * 4


def test_a_woken_job_that_leaves_noted_mail_wakes_the_next(committed_db, people, redis_url, monkeypatch):
    import redis
    from rq import Queue

    from portal.jobs.delivery import deliver_committed_outbox_job
    from portal.services import mail_delivery

    app, users = committed_db, people
    queue_name = f"test-mail-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=redis_url, RQ_QUEUE=queue_name)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    monkeypatch.setattr(mail_delivery, "PER_JOB", 3)
    try:
        for hour in (9, 11):
            booking_create(actor=users["patient"], patient=users["patient"],
                           specialist_id=users["specialist"].id, starts_at=next_weekday_at(hour))
        db.session.commit()
        assert len(queue.jobs) == 1  # woken by the commit
        assert deliver_committed_outbox_job() == {"kept": 3}  # as many as one job takes: one is left
        assert len(queue.jobs) == 2  # so it woke the next before it ended
        assert deliver_committed_outbox_job() == {"kept": 1}
        assert len(queue.jobs) == 2  # nothing left: nothing woken
        assert statuses() == ["kept"] * 4
        assert connection.llen(f"portal:outbox-committed:{queue_name}") == 0
    finally:
        app.config.update(REDIS_URL=None, RQ_QUEUE="portal")
        queue.delete(delete_jobs=True)
        connection.delete(f"portal:outbox-wake:{queue_name}", f"portal:outbox-committed:{queue_name}")


class HoldingInbox(Inbox):
    """Takes the message, then keeps the client waiting for its answer until released."""

    def __init__(self):
        super().__init__()
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        self.holding.set()
        for _ in range(300):
            if self.release.is_set():
                break
            await asyncio.sleep(0.05)
        return answer


def test_a_deliverer_killed_mid_send_never_sends_twice(committed_db, people):
    app, users = committed_db, people
    booking_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                   starts_at=next_weekday_at(10))
    db.session.execute(sa.delete(Outbox).where(Outbox.recipient_id == users["specialist"].id))
    db.session.commit()
    inbox = HoldingInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    url = f"smtp://127.0.0.1:{port}"
    deliverer = None
    try:
        deliverer = subprocess.Popen(
            [sys.executable, "-c", "from portal import create_app\nfrom portal.services.mail_delivery import "
             "outbox_deliver\nwith create_app().app_context():\n    print(outbox_deliver())"],
            cwd=ROOT, env=child_env(app, SMTP_URL=url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert inbox.holding.wait(180), "the deliverer never reached the SMTP server"  # slow under load
        deliverer.kill()  # the worker dies after the server took the message, before it heard "250"
        deliverer.communicate(timeout=10)  # reaps it and closes its pipes
        inbox.release.set()
        assert len(inbox.messages()) == 1
        assert statuses() == ["sending"]
        app.config["SMTP_URL"] = url
        assert outbox_deliver() == {}  # its lease still runs: nobody touches it
        with clock.frozen(datetime.now(UTC) + timedelta(minutes=6)):
            assert outbox_deliver() == {}
        assert statuses() == ["failed"]  # may have arrived: for ops to decide, never resent on its own
        assert len(inbox.messages()) == 1
    finally:
        app.config["SMTP_URL"] = None
        if deliverer is not None and deliverer.poll() is None:  # a failed test must not leave it holding rows
            deliverer.kill()
            deliverer.communicate(timeout=30)
        inbox.release.set()
        controller.stop()
