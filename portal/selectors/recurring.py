"""Reads of recurring series and their skipped occurrences, scoped through policies.RecurringPolicy."""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from portal import clock
from portal.extensions import db
from portal.models import ACTIVE_STATUSES, Booking, BookingCancellation, RecurringBooking, RecurringOccurrenceSkip
from portal.policies import visible
from portal.selectors.pagination import paginate


def recurring_page(*, viewer, page: int, per_page: int) -> Pagination:
    """One page of the series the viewer may see, newest first."""
    query = sa.select(RecurringBooking).where(visible(RecurringBooking, viewer))
    return paginate(query.order_by(RecurringBooking.created_at.desc(), RecurringBooking.id),
                    page=page, per_page=per_page)


def recurring_list(*, viewer, limit: int = 200) -> list[RecurringBooking]:
    """The series the viewer may see, running ones first, with both parties loaded for the table."""
    return list(db.session.scalars(
        sa.select(RecurringBooking).where(visible(RecurringBooking, viewer))
        .options(joinedload(RecurringBooking.patient), joinedload(RecurringBooking.specialist_user))
        .order_by(RecurringBooking.is_active.desc(), RecurringBooking.created_at.desc()).limit(limit)
    ))


def recurring_skips(*, series_id: uuid.UUID, limit: int = 100) -> list[RecurringOccurrenceSkip]:
    """Occurrences the dispatcher skipped, newest first.

    Not scoped here: the caller has already loaded the series through the policies."""
    return list(db.session.scalars(
        sa.select(RecurringOccurrenceSkip).where(RecurringOccurrenceSkip.recurring_booking_id == series_id)
        .order_by(RecurringOccurrenceSkip.occurrence_date.desc()).limit(limit)))


def upcoming_of_series(*, series_id: uuid.UUID, from_date: date | None = None) -> list[Booking]:
    """The series' active bookings that have not started (on or after `from_date`), soonest first:
    what pausing, ending or cancelling from a date would cancel.

    Not scoped here: the caller has already loaded the series through the policies."""
    query = sa.select(Booking).where(Booking.recurring_booking_id == series_id,
                                     Booking.status.in_(ACTIVE_STATUSES), Booking.starts_at > clock.now())
    if from_date is not None:
        query = query.where(Booking.occurrence_date >= from_date)
    return list(db.session.scalars(query.order_by(Booking.starts_at)))


def occurrences_cancelled_before(*, series_id: uuid.UUID, moment: datetime, from_date: date) -> list[date]:
    """Occurrence dates (on or after `from_date`) whose last booking was cancelled before `moment` and
    that hold no active booking or skip now: the sessions cancelled one by one before a pause."""
    in_series = (Booking.recurring_booking_id == series_id, Booking.occurrence_date.is_not(None))
    taken = sa.union(
        sa.select(Booking.occurrence_date).where(*in_series, Booking.status.in_(ACTIVE_STATUSES)),
        sa.select(RecurringOccurrenceSkip.occurrence_date).where(
            RecurringOccurrenceSkip.recurring_booking_id == series_id))
    query = (sa.select(Booking.occurrence_date)
             .join(BookingCancellation, BookingCancellation.booking_id == Booking.id)
             .where(*in_series, Booking.status == "cancelled", Booking.occurrence_date >= from_date,
                    Booking.occurrence_date.not_in(taken))
             .group_by(Booking.occurrence_date)
             .having(sa.func.max(BookingCancellation.created_at) < moment)
             .order_by(Booking.occurrence_date))
    return list(db.session.scalars(query))


def upcoming_counts(*, series_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many booked sessions that have not started each series holds (absent: none)."""
    if not series_ids:
        return {}
    rows = db.session.execute(
        sa.select(Booking.recurring_booking_id, sa.func.count()).where(
            Booking.recurring_booking_id.in_(series_ids), Booking.status.in_(ACTIVE_STATUSES),
            Booking.starts_at > clock.now()).group_by(Booking.recurring_booking_id))
    return dict(rows.all())
