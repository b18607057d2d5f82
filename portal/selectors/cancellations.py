"""Reading cancellations: the admin's filtered list, scoped through the policy module."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Booking, BookingCancellation, User
from portal.policies import visible
from portal.selectors.pagination import Pagination, paginate


@dataclass
class CancellationFilters:
    date_from: date | None = None  # cancelled on or after this day (in `zone`)
    date_to: date | None = None  # cancelled on or before this day (in `zone`)
    cancelled_by: str | None = None  # "patient" or "specialist"
    specialist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    zone: str = "UTC"
    timing: str | None = None  # "late" (inside the specialist's notice window) or "on_time"


def _day_start(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def _conditions(filters: CancellationFilters) -> list[sa.ColumnElement]:
    where = []
    if filters.date_from:
        where.append(BookingCancellation.created_at >= _day_start(filters.date_from, filters.zone))
    if filters.date_to:
        where.append(BookingCancellation.created_at
                     < _day_start(filters.date_to + timedelta(days=1), filters.zone))
    if filters.cancelled_by == "patient":
        where.append(BookingCancellation.cancelled_by == Booking.patient_id)
    elif filters.cancelled_by == "specialist":
        where.append(BookingCancellation.cancelled_by == Booking.specialist_id)
    if filters.timing in ("late", "on_time"):
        where.append(BookingCancellation.is_late.is_(filters.timing == "late"))
    if filters.specialist_id:
        where.append(Booking.specialist_id == filters.specialist_id)
    if filters.patient_id:
        where.append(Booking.patient_id == filters.patient_id)
    return where


def cancellations_list(*, user, filters: CancellationFilters, page=1, per_page: int = 50) -> Pagination:
    """Cancellations the user may see under `filters`, newest first, and how many in all."""
    base = (
        sa.select(BookingCancellation).join(Booking, Booking.id == BookingCancellation.booking_id)
        .where(visible(BookingCancellation, user), *_conditions(filters))
    )
    return paginate(
        base.options(
            joinedload(BookingCancellation.booking).joinedload(Booking.patient),
            joinedload(BookingCancellation.booking).joinedload(Booking.specialist_user),
            joinedload(BookingCancellation.canceller),
        )
        .order_by(BookingCancellation.created_at.desc(), BookingCancellation.id.desc()),
        page=page, per_page=per_page,
    )


def people_for_filters(*, user, role: str) -> list[User]:
    """Users of `role` the viewer may see, by name, for the filter menus."""
    return list(db.session.scalars(
        sa.select(User).where(visible(User, user), User.role == role).order_by(User.display_name)
    ))
