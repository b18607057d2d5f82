"""A specialist's weekly hours, rates and date exceptions as rows, and the
bookings an exception touches (services.hours changes them)."""
from __future__ import annotations

import uuid
from datetime import date, time

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from portal import policies
from portal.domain.intervals import DateException, day_end, local_at
from portal.domain.zones import zone_of
from portal.extensions import db
from portal.models import (
    ACTIVE_STATUSES,
    AvailabilityException,
    Booking,
    Service,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.selectors.pagination import paginate


def working_hours_of(specialist_id: uuid.UUID) -> list[WorkingHours]:
    return list(db.session.scalars(
        sa.select(WorkingHours).where(WorkingHours.specialist_id == specialist_id)
        .order_by(WorkingHours.weekday, WorkingHours.start_time)
    ))


def rates_of(specialist_id: uuid.UUID) -> list[SpecialistRate]:
    """The default service's history, newest first: what the rates API has always listed."""
    return list(db.session.scalars(
        sa.select(SpecialistRate).join(Service, Service.id == SpecialistRate.service_id)
        .where(SpecialistRate.specialist_id == specialist_id, Service.is_default.is_(True))
        .order_by(SpecialistRate.effective_from.desc(), SpecialistRate.created_at.desc())
    ))


def exceptions_between(*, viewer, specialist_id: uuid.UUID | None = None, first: date | None = None,
                       last: date | None = None, is_available: bool | None = None):
    """A query of exceptions the viewer may see, filtered."""
    query = sa.select(AvailabilityException).where(policies.visible(AvailabilityException, viewer))
    if specialist_id is not None:
        query = query.where(AvailabilityException.specialist_id == specialist_id)
    if first is not None:
        query = query.where(AvailabilityException.exception_date >= first)
    if last is not None:
        query = query.where(AvailabilityException.exception_date <= last)
    if is_available is not None:
        query = query.where(AvailabilityException.is_available.is_(is_available))
    return query.order_by(AvailabilityException.exception_date, AvailabilityException.start_time)


def exceptions_page(*, viewer, page: int, per_page: int, **filters) -> Pagination:
    """One page of exceptions_between(viewer, **filters)."""
    return paginate(exceptions_between(viewer=viewer, **filters), page=page, per_page=per_page)


def exceptions_on_day(*, specialist_id: uuid.UUID, day: date) -> list[AvailabilityException]:
    """That day's exceptions, blocking ones first, oldest first."""
    return list(db.session.scalars(sa.select(AvailabilityException).where(
        AvailabilityException.specialist_id == specialist_id, AvailabilityException.exception_date == day)
        .order_by(AvailabilityException.is_available, AvailabilityException.created_at)))


def affected_bookings(*, specialist: User, data: DateException,
                      ignore_exception_id: uuid.UUID | None = None) -> list[Booking]:
    """Active bookings the exception would leave outside working time.

    A blocking exception affects bookings overlapping its interval; an
    "available only" exception affects that date's bookings outside its range."""
    zone = zone_of(specialist)
    day = data.exception_date
    day_from, day_to = local_at(day, time(0), zone), day_end(day, zone)
    if data.all_day:
        start, end = day_from, day_to
    else:
        start, end = local_at(day, data.start_time, zone), local_at(day, data.end_time, zone)
    query = sa.select(Booking).where(
        Booking.specialist_id == specialist.id, Booking.status.in_(ACTIVE_STATUSES),
    ).order_by(Booking.starts_at)
    if not data.is_available:
        return list(db.session.scalars(query.where(Booking.starts_at < end, Booking.ends_at > start)))
    if data.all_day:
        return []
    on_day = db.session.scalars(query.where(Booking.starts_at < day_to, Booking.ends_at > day_from))
    return [b for b in on_day if b.starts_at < start or b.ends_at > end]


def bookings_flagged_on(*, specialist: User, day: date) -> list[Booking]:
    """Active bookings on the specialist's local `day` that carry an attention flag."""
    zone = zone_of(specialist)
    return list(db.session.scalars(sa.select(Booking).where(
        Booking.specialist_id == specialist.id, Booking.status.in_(ACTIVE_STATUSES),
        Booking.attention_reason.is_not(None),
        Booking.starts_at < day_end(day, zone), Booking.ends_at > local_at(day, time(0), zone))))
