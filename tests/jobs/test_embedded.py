"""The in-process scheduler of the embedded default: it fires the declared schedule (cron times,
and the outbox every few seconds), and the operations page says what runs and when it last ran."""
from __future__ import annotations

from datetime import UTC, datetime

from portal.jobs.embedded import EmbeddedScheduler
from portal.jobs.schedule import SCHEDULE, ScheduledJob
from portal.services.mail_delivery import outbox_deliver  # noqa: F401 - the job's service exists


def at(hour: int, minute: int, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)  # 7 December 2026 is a Monday


def test_cron_times_fire_in_their_minute_only(app):
    crons = {"nightly": "0 2 * * *", "quarterly": "*/15 * * * *", "mondays": "0 3 * * 1", "office": "0 9-17/4 * * *"}
    schedule = tuple(ScheduledJob(name, cron, print, name) for name, cron in crons.items())
    fired = lambda moment: sorted(job.id for job in EmbeddedScheduler(app, schedule=schedule).due(moment, 0.0))  # noqa: E731
    assert fired(at(2, 0)) == ["nightly", "quarterly"] and fired(at(2, 1)) == []
    assert fired(at(9, 45)) == ["quarterly"] and fired(at(9, 50)) == []
    assert fired(at(3, 0)) == ["mondays", "quarterly"] and fired(at(3, 0, day=8)) == ["quarterly"]
    assert fired(at(13, 0)) == ["office", "quarterly"] and fired(at(12, 0)) == ["quarterly"]


def test_the_scheduler_fires_each_job_at_its_time_and_the_outbox_every_few_seconds(app):
    scheduler = EmbeddedScheduler(app)
    ids = lambda jobs: sorted(job.id for job in jobs)  # noqa: E731
    assert ids(scheduler.due(at(2, 0), 100.0)) == ["booking-reminders", "outbox-delivery", "recurring-dispatch"]
    assert ids(scheduler.due(at(2, 0), 101.0)) == []  # the same minute, too soon for the outbox
    assert ids(scheduler.due(at(2, 0), 105.0)) == ["outbox-delivery"]
    assert ids(scheduler.due(at(3, 0), 106.0)) == ["booking-reminders", "recordings-cleanup"]
    assert ids(scheduler.due(at(0, 10, day=8), 107.0)) == ["package-enrolments-expiry"]
    assert ids(scheduler.due(at(1, 30, day=8), 108.0)) == ["booking-reminders", "complete-past-sessions"]
    assert ids(scheduler.due(at(3, 30, day=8), 109.0)) == ["booking-reminders", "clinical-records-retention"]
    assert {entry.id for entry in SCHEDULE} == {"recurring-dispatch", "recordings-cleanup", "booking-reminders",
                                               "outbox-delivery", "package-enrolments-expiry",
                                               "complete-past-sessions", "clinical-records-retention"}


def test_the_ops_page_says_what_runs_and_when_it_last_ran(app, users, login_as):
    scheduler = EmbeddedScheduler(app)
    html = login_as(users["ops"]).get("/admin/ops").get_data(as_text=True)
    assert "Nothing runs it on its own here" in html
    assert "Nothing: no scheduler runs in this process" in html
    for entry in SCHEDULE:  # run every job as the scheduler thread does
        scheduler.run_job(entry)
    from portal.jobs import embedded

    class Alive:
        def is_alive(self):
            return True

    alive = Alive()
    alive.scheduler = scheduler
    embedded._started[app.name] = alive
    try:
        html = login_as(users["ops"]).get("/admin/ops").get_data(as_text=True)
    finally:
        embedded._started.pop(app.name)
    assert "this process runs the schedule itself" in html
    assert "It runs on its own daily at 02:00 UTC" in html
    assert "This process, every 5 s" in html
    for entry in SCHEDULE:
        row = html.split(f'id="schedule-{entry.id}"')[1].split("</tr>")[0]
        if entry.id == "outbox-delivery":  # nothing to deliver: an idle sweep writes nothing, but it was checked
            assert "Last checked" in row and "nothing to deliver yet" in row
        else:
            assert "success" in row and "in-process" in row and "Never" not in row
