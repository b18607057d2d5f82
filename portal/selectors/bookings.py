from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Booking, utcnow
from portal.policies import visible


def bookings_for_dashboard(*, user, limit: int = 20) -> tuple[list[Booking], list[Booking]]:
    """The user's next and most recent bookings, each list at most `limit` long."""
    now = utcnow()
    base = (
        sa.select(Booking)
        .where(visible(Booking, user))
        .options(joinedload(Booking.patient), joinedload(Booking.specialist_user))
    )
    upcoming = db.session.scalars(
        base.where(Booking.ends_at > now).order_by(Booking.starts_at).limit(limit)
    ).all()
    past = db.session.scalars(
        base.where(Booking.ends_at <= now).order_by(Booking.starts_at.desc()).limit(limit)
    ).all()
    return list(upcoming), list(past)
