from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation, RecurringBooking, User

# The scheduled jobs whose every run leaves an audit row: that row is their history, and the
# operations page reads both the history table and the schedule's "last run" from it.
JOB_AUDIT_ACTIONS = {"recurring-dispatch": "recurring_bookings_dispatched",
                     "recordings-cleanup": "recordings_cleaned_up"}
JOB_ACTIONS = tuple(JOB_AUDIT_ACTIONS.values())


def run_summary(action: str, values: dict | None) -> str:
    """A job run's result in the same words wherever it is shown (the run's answer, the history,
    the schedule's last run)."""
    values = values or {}
    if action == "recurring_bookings_dispatched":
        created, skipped = int(values.get("dispatched") or 0), int(values.get("errors") or 0)
        text = f"{created} booking{'' if created == 1 else 's'} created"
        return text + (f", {skipped} skipped" if skipped else "")
    return ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in sorted(values.items())
                     if isinstance(value, (str, int, float)) and not isinstance(value, bool))


def last_audited_runs() -> dict[str, AuditLog]:
    """The newest audit row of each job in JOB_AUDIT_ACTIONS, by schedule id."""
    last = {}
    for job_id, action in JOB_AUDIT_ACTIONS.items():
        row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)
                                 .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(1)).first()
        if row is not None:
            last[job_id] = row
    return last


def admin_overview_counts() -> dict[str, int]:
    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0

    return {
        "users": count(User),
        "bookings": count(Booking),
        "cancellations": count(BookingCancellation),
        "active_series": count(RecurringBooking, RecurringBooking.is_active.is_(True)),
    }


def recent_job_runs(*, limit: int = 20) -> list[AuditLog]:
    """Dispatcher and clean-up runs, newest first: the part of the trail ops may read."""
    return list(db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action.in_(JOB_ACTIONS))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit)
    ))
