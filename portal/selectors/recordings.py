"""Reads of meeting recordings, scoped through policies.RecordingPolicy."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from portal.extensions import db
from portal.models import MeetingRecording
from portal.policies import visible
from portal.selectors.pagination import paginate


def recordings_page(*, viewer, page: int, per_page: int,
                    booking_id: uuid.UUID | None = None) -> Pagination:
    """One page of the recordings the viewer may see, newest first."""
    where = [visible(MeetingRecording, viewer)]
    if booking_id:
        where.append(MeetingRecording.booking_id == booking_id)
    query = (sa.select(MeetingRecording).where(*where)
             .order_by(MeetingRecording.created_at.desc(), MeetingRecording.id))
    return paginate(query, page=page, per_page=per_page)


def recordings_of_booking(*, viewer, booking_id: uuid.UUID) -> list[MeetingRecording]:
    """The booking's recordings the viewer may see, oldest first."""
    return list(db.session.scalars(
        sa.select(MeetingRecording)
        .where(visible(MeetingRecording, viewer), MeetingRecording.booking_id == booking_id)
        .order_by(MeetingRecording.created_at)
    ))
