"""Reads of bookings, scoped through policies.BookingPolicy."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import ACTIVE_STATUSES, LONGEST_SESSION, Booking, BookingStatusHistory, utcnow
from portal.models.row_security import row_security_active
from portal.policies import visible
from portal.selectors.pagination import paginate


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def bookings_for_dashboard(*, user, limit: int = 20) -> tuple[list[Booking], list[Booking]]:
    """The user's next and most recent bookings, each list at most `limit` long."""
    now = utcnow()
    base = (
        sa.select(Booking)
        .where(visible(Booking, user))
        .options(joinedload(Booking.patient), joinedload(Booking.specialist_user),
                 joinedload(Booking.cancellation))
    )
    upcoming = db.session.scalars(
        base.where(Booking.ends_at > now).order_by(Booking.starts_at).limit(limit)
    ).all()
    past = db.session.scalars(
        base.where(Booking.ends_at <= now).order_by(Booking.starts_at.desc()).limit(limit)
    ).all()
    return list(upcoming), list(past)


PAST_PER_PAGE = 20


def patient_dashboard(*, user, past_page=1, limit: int = 100) -> dict:
    """The patient's dashboard: `next_session` (the first session still to come, or None), the `upcoming`
    ones after it in time order, the `cancelled` ones that were to come, and a page of `past`."""
    now = utcnow()
    base = (sa.select(Booking).where(visible(Booking, user))
            .options(joinedload(Booking.specialist_user), joinedload(Booking.cancellation)))
    coming = db.session.scalars(base.where(Booking.ends_at > now).order_by(Booking.starts_at).limit(limit)).all()
    active = [b for b in coming if b.status in ACTIVE_STATUSES]
    past = paginate(base.where(Booking.ends_at <= now).order_by(Booking.starts_at.desc()),
                    page=past_page, per_page=PAST_PER_PAGE)
    return {"next_session": active[0] if active else None, "upcoming": active[1:],
            "cancelled": [b for b in coming if b.status not in ACTIVE_STATUSES], "past": past}


def booking_clash(*, specialist_id: uuid.UUID, patient_id: uuid.UUID, starts_at: datetime,
                  ends_at: datetime, moving_id: uuid.UUID | None = None):
    """One active booking of the specialist or of the patient overlapping the interval, or None
    (the booking being moved, `moving_id`, left out).

    Only (specialist_id, patient_id) are read: the caller needs to know whose time is taken.
    Under row-level security the database's reader answers (portal_booking_clash): it sees
    everyone's sessions and names only the two it was asked about."""
    if row_security_active():
        return db.session.execute(
            sa.select(sa.column("specialist_id", sa.Uuid), sa.column("patient_id", sa.Uuid)).select_from(
                sa.func.portal_booking_clash(specialist_id, patient_id, starts_at, ends_at, LONGEST_SESSION,
                                             moving_id))).first()
    return db.session.execute(
        sa.select(Booking.specialist_id, Booking.patient_id).where(
            Booking.status.in_(ACTIVE_STATUSES), *([Booking.id != moving_id] if moving_id else []),
            sa.or_(Booking.specialist_id == specialist_id, Booking.patient_id == patient_id),
            # The lower bound lets each party's (owner, starts_at) index read a day, not its history.
            Booking.starts_at < ends_at, Booking.starts_at > starts_at - LONGEST_SESSION, Booking.ends_at > starts_at,
        ).limit(1)
    ).first()


def bookings_page(*, viewer, page: int, per_page: int, status: str | None = None, first: date | None = None,
                  last: date | None = None, specialist_id: uuid.UUID | None = None,
                  recurring_booking_id: uuid.UUID | None = None) -> Pagination:
    """One page of the bookings the viewer may see, by start time.

    `first` and `last` are UTC dates, both inclusive."""
    query = sa.select(Booking).where(visible(Booking, viewer))
    if status:
        query = query.where(Booking.status == status)
    if first:
        query = query.where(Booking.starts_at >= _utc_midnight(first))
    if last:
        query = query.where(Booking.starts_at < _utc_midnight(last + timedelta(days=1)))
    if specialist_id:
        query = query.where(Booking.specialist_id == specialist_id)
    if recurring_booking_id:
        query = query.where(Booking.recurring_booking_id == recurring_booking_id)
    return paginate(query.order_by(Booking.starts_at, Booking.id), page=page, per_page=per_page)


def bookings_of_series(*, viewer, series_id: uuid.UUID, limit: int = 100) -> list[Booking]:
    """The series' bookings the viewer may see, newest first."""
    return list(db.session.scalars(
        sa.select(Booking).where(visible(Booking, viewer), Booking.recurring_booking_id == series_id)
        .order_by(Booking.starts_at.desc()).limit(limit)))


def moves_of(*, viewer, booking_id: uuid.UUID) -> list[BookingStatusHistory]:
    """The booking's moves (from and to times, who, why) the viewer may see, oldest first."""
    return list(db.session.scalars(
        sa.select(BookingStatusHistory).where(visible(BookingStatusHistory, viewer),
                                              BookingStatusHistory.booking_id == booking_id,
                                              BookingStatusHistory.to_starts_at.is_not(None))
        .options(joinedload(BookingStatusHistory.changer))
        .order_by(BookingStatusHistory.created_at, BookingStatusHistory.id)))
