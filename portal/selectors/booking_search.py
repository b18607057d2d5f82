"""The admin's booking search: every booking the viewer may see, filtered by patient and specialist
(name or e-mail), status, start dates (in the viewer's zone) and series; for the page and its CSV."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager, joinedload

from portal.extensions import db
from portal.models import Booking, User
from portal.policies import visible
from portal.selectors.pagination import Pagination, paginate

SERIES_CHOICES = ("series", "single")


@dataclass(frozen=True)
class BookingFilters:
    patient: str = ""  # part of the patient's name or e-mail
    specialist: str = ""  # part of the specialist's name or e-mail
    status: str | None = None
    date_from: date | None = None  # starts on or after this day (in `zone`)
    date_to: date | None = None  # starts on or before this day (in `zone`)
    series: str | None = None  # "series" (part of a recurring series) or "single"
    zone: str = "UTC"


def _person(alias, text: str) -> sa.ColumnElement:
    pattern = "%" + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(alias.email_normalized.like(pattern, escape="\\"),
                  sa.func.lower(alias.display_name).like(pattern, escape="\\"))


def _day_start(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def _search(viewer, filters: BookingFilters):
    patient, specialist = aliased(User), aliased(User)
    query = (sa.select(Booking).join(patient, patient.id == Booking.patient_id)
             .join(specialist, specialist.id == Booking.specialist_id).where(visible(Booking, viewer))
             .options(contains_eager(Booking.patient.of_type(patient)),
                      contains_eager(Booking.specialist_user.of_type(specialist)),
                      joinedload(Booking.cancellation)))
    if filters.patient.strip():
        query = query.where(_person(patient, filters.patient))
    if filters.specialist.strip():
        query = query.where(_person(specialist, filters.specialist))
    if filters.status:
        query = query.where(Booking.status == filters.status)
    if filters.date_from:
        query = query.where(Booking.starts_at >= _day_start(filters.date_from, filters.zone))
    if filters.date_to:
        query = query.where(Booking.starts_at < _day_start(filters.date_to + timedelta(days=1), filters.zone))
    if filters.series == "series":
        query = query.where(Booking.recurring_booking_id.is_not(None))
    elif filters.series == "single":
        query = query.where(Booking.recurring_booking_id.is_(None))
    return query.order_by(Booking.starts_at.desc(), Booking.id)


def bookings_search_page(*, viewer, filters: BookingFilters, page=1, per_page: int = 50) -> Pagination:
    """One page of the matching bookings, latest start first."""
    return paginate(_search(viewer, filters), page=page, per_page=per_page)


def bookings_search_walk(*, viewer, filters: BookingFilters, batch: int = 500) -> Iterator[Booking]:
    """Every matching booking in the page's order, read in batches (the CSV export)."""
    yield from db.session.scalars(_search(viewer, filters).execution_options(yield_per=batch))


def bookings_of_person(*, viewer, user: User, limit: int = 20) -> list[Booking]:
    """The person's latest bookings, as patient or as specialist (an admin's user page)."""
    return list(db.session.scalars(
        sa.select(Booking).where(visible(Booking, viewer),
                                 sa.or_(Booking.patient_id == user.id, Booking.specialist_id == user.id))
        .options(joinedload(Booking.patient), joinedload(Booking.specialist_user), joinedload(Booking.cancellation))
        .order_by(Booking.starts_at.desc(), Booking.id).limit(limit)))
