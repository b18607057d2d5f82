"""Reads of recurring series and their skipped occurrences, scoped through policies.RecurringPolicy."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import RecurringBooking, RecurringOccurrenceSkip
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
