"""What the specialist's month calendar and day panel show."""
from __future__ import annotations

import calendar as pycalendar
import uuid
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.domain.intervals import day_end, local_at
from portal.extensions import db
from portal.models import ACTIVE_STATUSES, AvailabilityException, Booking, Service


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    bookings: list = field(default_factory=list)  # pending and confirmed
    history: list = field(default_factory=list)  # completed and cancelled, shown apart
    exceptions: list = field(default_factory=list)

    @property
    def completed(self) -> int:
        return sum(1 for b in self.history if b.status == "completed")

    @property
    def cancelled(self) -> int:
        return sum(1 for b in self.history if b.status == "cancelled")

    @property
    def state(self) -> str:
        if any(e.all_day and not e.is_available for e in self.exceptions):
            return "blocked"
        return "partial" if self.exceptions else ""


def month_grid(first_of_month: date) -> list[list[date]]:
    """Whole weeks (Monday first) covering the month."""
    return pycalendar.Calendar(firstweekday=0).monthdatescalendar(first_of_month.year, first_of_month.month)


def month_calendar(*, specialist_id: uuid.UUID, zone: ZoneInfo, first_of_month: date) -> list[list[CalendarDay]]:
    weeks = month_grid(first_of_month)
    first, last = weeks[0][0], weeks[-1][-1]
    days = {d: CalendarDay(d, d.month == first_of_month.month) for week in weeks for d in week}
    rows = db.session.execute(
        sa.select(Booking.starts_at, Booking.ends_at, Booking.attention_reason, Booking.status).where(
            Booking.specialist_id == specialist_id,
            Booking.starts_at >= local_at(first, time(0), zone), Booking.starts_at < day_end(last, zone),
        ).order_by(Booking.starts_at)
    )
    for row in rows:
        day = days[row.starts_at.astimezone(zone).date()]
        (day.bookings if row.status in ACTIVE_STATUSES else day.history).append(row)
    for exception in exceptions_on(specialist_id, first, last):
        days[exception.exception_date].exceptions.append(exception)
    return [[days[d] for d in week] for week in weeks]


def exceptions_on(specialist_id: uuid.UUID, first: date, last: date) -> list[AvailabilityException]:
    return list(db.session.scalars(
        sa.select(AvailabilityException).where(
            AvailabilityException.specialist_id == specialist_id,
            AvailabilityException.exception_date.between(first, last),
        ).order_by(AvailabilityException.exception_date, AvailabilityException.start_time)
    ))


def day_bookings(*, specialist_id: uuid.UUID, zone: ZoneInfo, day: date) -> list[Booking]:
    """Every session that day, whatever its status (the page styles history apart)."""
    return list(db.session.scalars(
        sa.select(Booking).options(joinedload(Booking.patient), joinedload(Booking.cancellation)).where(
            Booking.specialist_id == specialist_id,
            Booking.starts_at >= local_at(day, time(0), zone), Booking.starts_at < day_end(day, zone),
        ).order_by(Booking.starts_at)
    ))


@dataclass
class WeekDay:
    day: date
    sessions: list = field(default_factory=list)  # every status; the page fades cancelled ones
    exceptions: list = field(default_factory=list)


def week_calendar(*, specialist_id: uuid.UUID, zone: ZoneInfo, monday: date) -> tuple[list[WeekDay], dict]:
    """The seven days from `monday` with each session (patient loaded) and exception, and the
    name of each session's service by booking id (a booking naming none has the default's)."""
    days = [WeekDay(monday + timedelta(days=offset)) for offset in range(7)]
    by_date = {d.day: d for d in days}
    bookings = db.session.scalars(
        sa.select(Booking).options(joinedload(Booking.patient)).where(
            Booking.specialist_id == specialist_id,
            Booking.starts_at >= local_at(monday, time(0), zone), Booking.starts_at < day_end(days[-1].day, zone),
        ).order_by(Booking.starts_at)
    ).all()
    for booking in bookings:
        by_date[booking.starts_at.astimezone(zone).date()].sessions.append(booking)
    for exception in exceptions_on(specialist_id, monday, days[-1].day):
        by_date[exception.exception_date].exceptions.append(exception)
    return days, service_names(specialist_id=specialist_id, bookings=bookings)


def service_names(*, specialist_id: uuid.UUID, bookings: list[Booking]) -> dict:
    """Booking id -> the name of the service booked (the specialist's default when it names none)."""
    names = dict(db.session.execute(sa.select(Service.id, Service.name).where(
        Service.specialist_id == specialist_id)).all())
    default = db.session.scalar(sa.select(Service.name).where(
        Service.specialist_id == specialist_id, Service.is_default.is_(True)).limit(1))
    return {b.id: names.get(b.service_id, default) if b.service_id else default for b in bookings}


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def shift_month(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
