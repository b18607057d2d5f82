"""Weekly trends for the admin overview: a few grouped queries, never one per week."""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation

DISPATCH_ACTION = "recurring_bookings_dispatched"


def week_starts(weeks: int, today: date | None = None) -> list[date]:
    """Mondays (UTC) of the last `weeks` weeks, oldest first, this week last."""
    today = today or clock.now().astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _week_of(column) -> sa.ColumnElement:
    """The Monday of a timestamp's week, in SQL, per dialect."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc("week", sa.func.timezone("UTC", column)), sa.Date)
    return sa.func.date(column, "weekday 0", "-6 days")  # SQLite keeps UTC text


def _as_date(value) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _bounds(weeks: list[date]) -> tuple[datetime, datetime]:
    start = datetime.combine(weeks[0], time(0), tzinfo=UTC)
    return start, datetime.combine(weeks[-1] + timedelta(days=7), time(0), tzinfo=UTC)


def weekly_bookings(weeks: list[date]) -> dict[date, int]:
    start, end = _bounds(weeks)
    week = _week_of(Booking.starts_at).label("week")
    rows = db.session.execute(
        sa.select(week, sa.func.count()).where(Booking.starts_at >= start, Booking.starts_at < end).group_by(week)
    )
    return {_as_date(w): n for w, n in rows}


def weekly_cancellations(weeks: list[date]) -> dict[str, dict[date, int]]:
    """Cancellations per week: late ones (inside the specialist's notice window) as their own
    series, the others split by who cancelled: the patient, the specialist, or staff. Each
    cancellation is in exactly one series, so the stacked bars add up."""
    start, end = _bounds(weeks)
    week = _week_of(BookingCancellation.created_at).label("week")
    who = sa.case(
        (BookingCancellation.is_late.is_(True), "late"),
        (BookingCancellation.cancelled_by == Booking.patient_id, "patient"),
        (BookingCancellation.cancelled_by == Booking.specialist_id, "specialist"),
        else_="staff",
    ).label("who")
    rows = db.session.execute(
        sa.select(week, who, sa.func.count())
        .join(Booking, Booking.id == BookingCancellation.booking_id)
        .where(BookingCancellation.created_at >= start, BookingCancellation.created_at < end)
        .group_by(week, who)
    )
    split: dict[str, dict[date, int]] = {"patient": {}, "specialist": {}, "staff": {}, "late": {}}
    for w, by, n in rows:
        split[by][_as_date(w)] = n
    return split


def weekly_no_shows(weeks: list[date]) -> dict[date, int]:
    """Sessions the patient missed, per week of the session."""
    start, end = _bounds(weeks)
    week = _week_of(Booking.starts_at).label("week")
    rows = db.session.execute(
        sa.select(week, sa.func.count()).where(Booking.status == "no_show", Booking.starts_at >= start,
                                               Booking.starts_at < end).group_by(week))
    return {_as_date(w): n for w, n in rows}


def _number(value) -> int:
    if isinstance(value, list):
        return len(value)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def weekly_dispatches(weeks: list[date]) -> dict[str, dict[date, int]]:
    """Dispatched and skipped occurrences per week, from the dispatcher's audit rows
    (one row a day, so reading them is cheaper than JSON arithmetic in two SQL dialects)."""
    start, end = _bounds(weeks)
    rows = db.session.execute(
        sa.select(AuditLog.created_at, AuditLog.new_values)
        .where(AuditLog.action == DISPATCH_ACTION, AuditLog.created_at >= start, AuditLog.created_at < end)
    )
    totals: dict[str, dict[date, int]] = {"dispatched": defaultdict(int), "skipped": defaultdict(int)}
    for created_at, values in rows:
        values = values or {}
        monday = created_at.date() - timedelta(days=created_at.weekday())
        totals["dispatched"][monday] += _number(values.get("dispatched", values.get("count")))
        totals["skipped"][monday] += _number(values.get("skipped", values.get("errors")))
    return {k: dict(v) for k, v in totals.items()}


def admin_trends(weeks: int = 26) -> dict:
    starts = week_starts(weeks)
    cancellations = weekly_cancellations(starts)
    no_shows = weekly_no_shows(starts)
    dispatches = weekly_dispatches(starts)
    return {
        "weeks": starts,
        "bookings": [("Bookings", [weekly_bookings(starts).get(w, 0) for w in starts])],
        "cancellations": [(f"By {who}", [cancellations[who].get(w, 0) for w in starts])
                          for who in ("patient", "specialist", "staff")]
        + [("Late (any party)", [cancellations["late"].get(w, 0) for w in starts])]
        + [("No-shows", [no_shows.get(w, 0) for w in starts])],
        "dispatcher": [(label.capitalize(), [dispatches[label].get(w, 0) for w in starts])
                       for label in ("dispatched", "skipped")],
    }
