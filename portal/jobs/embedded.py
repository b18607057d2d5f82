"""The in-process scheduler of the embedded default: without Redis, `make run` still runs the
schedule (portal.jobs.schedule): the nightly dispatcher, the recording clean-up, the reminders on
their cron times, and the outbox every few seconds, all outside any request.

One daemon thread per machine: a lock file in the instance folder keeps a second process (another
web worker) from running the schedule twice. Each job runs in its own app context, one at a time."""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from datetime import UTC, datetime

from croniter import croniter
from flask import Flask

from portal.jobs.schedule import SCHEDULE, ScheduledJob

log = logging.getLogger(__name__)

_started: dict[str, threading.Thread] = {}


class EmbeddedScheduler:
    def __init__(self, app: Flask, *, tick: float = 1.0, schedule: tuple[ScheduledJob, ...] = SCHEDULE):
        self.app, self.tick, self.schedule = app, tick, schedule
        self.stop = threading.Event()
        self._last_minute: datetime | None = None
        self._last_every: dict[str, float] = {}
        self.last_ran: dict[str, datetime] = {}  # in memory: the frequent jobs record in the database only real work

    def due(self, now: datetime, monotonic: float) -> list[ScheduledJob]:
        jobs = []
        minute = now.replace(second=0, microsecond=0)
        new_minute = self._last_minute is None or minute > self._last_minute
        for entry in self.schedule:
            if entry.embedded_every:
                last = self._last_every.get(entry.id)
                if last is None or monotonic - last >= entry.embedded_every:
                    self._last_every[entry.id] = monotonic
                    jobs.append(entry)
            elif new_minute and croniter.match(entry.cron, minute):
                jobs.append(entry)
        self._last_minute = minute
        return jobs

    def run_job(self, entry: ScheduledJob) -> None:
        self.last_ran[entry.id] = datetime.now(UTC)
        with self.app.app_context():
            from portal.extensions import db

            try:
                entry.func()
            except Exception:  # noqa: BLE001 - one failing job must not stop the schedule; the log reaches Sentry
                log.exception("scheduled job %s failed", entry.id)
            finally:
                db.session.remove()

    def run(self) -> None:
        log.info("in-process scheduler running %s", ", ".join(e.id for e in self.schedule))
        while not self.stop.is_set():
            for entry in self.due(datetime.now(UTC), time.monotonic()):
                if self.stop.is_set():
                    break
                self.run_job(entry)
            self.stop.wait(self.tick)


def _take_lock(app: Flask):
    os.makedirs(app.instance_path, exist_ok=True)
    handle = open(os.path.join(app.instance_path, "scheduler.lock"), "w")  # noqa: SIM115 - held for the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def start_embedded_scheduler(app: Flask) -> EmbeddedScheduler | None:
    """Start the scheduler thread unless Redis is configured, another process holds the lock, or
    it runs already in this process."""
    if app.config.get("REDIS_URL") or app.name in _started:
        return None
    lock = _take_lock(app)
    if lock is None:
        log.info("another process runs the in-process schedule")
        return None
    scheduler = EmbeddedScheduler(app)
    thread = threading.Thread(target=scheduler.run, name="portal-scheduler", daemon=True)
    thread._portal_lock = lock  # keep the lock file open as long as the thread lives
    thread.scheduler = scheduler
    _started[app.name] = thread
    thread.start()
    return scheduler


def embedded_scheduler(app: Flask) -> EmbeddedScheduler | None:
    """The scheduler this process runs (its thread alive), if any."""
    thread = _started.get(app.name)
    return thread.scheduler if thread is not None and thread.is_alive() else None
