"""The last run of each scheduled job, for the operations page. Each call commits on its own
connection-level transaction, so a job that fails still leaves its record."""
from __future__ import annotations

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import JobRun


def job_run_started(*, job_id: str, runner: str) -> None:
    row = db.session.get(JobRun, job_id)
    if row is None:
        row = JobRun(job_id=job_id)
        db.session.add(row)
    row.runner, row.started_at, row.finished_at, row.status, row.summary = runner, clock.now(), None, "running", ""
    db.session.commit()


def job_run_finished(*, job_id: str, status: str, summary: str = "") -> None:
    if status == "failure":
        db.session.rollback()  # the failed job's half-done work is not ours to keep (jobs commit their own)
    db.session.execute(sa.update(JobRun).where(JobRun.job_id == job_id)
                       .values(finished_at=clock.now(), status=status, summary=summary[:300]))
    db.session.commit()


def job_run_record(*, job_id: str, runner: str, started_at, status: str, summary: str = "") -> None:
    """A finished run in one write (for the frequent jobs, which record only runs that did something)."""
    row = db.session.get(JobRun, job_id) or JobRun(job_id=job_id)
    db.session.add(row)
    row.runner, row.started_at, row.finished_at, row.status, row.summary = (
        runner, started_at, clock.now(), status, summary[:300])
    db.session.commit()
