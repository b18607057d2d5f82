from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation, RecurringBooking, User

JOB_ACTIONS = ("recurring_bookings_dispatched", "recordings_cleaned_up")


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
