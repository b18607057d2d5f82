"""Reads of meeting recordings, scoped through policies.RecordingPolicy."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from portal.extensions import db
from portal.models import MeetingRecording
from portal.policies import visible


def recordings_page(*, viewer, page: int, per_page: int,
                    booking_id: uuid.UUID | None = None) -> tuple[list[MeetingRecording], int]:
    """One page of the recordings the viewer may see, newest first, and how many there are in all."""
    where = [visible(MeetingRecording, viewer)]
    if booking_id:
        where.append(MeetingRecording.booking_id == booking_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(MeetingRecording).where(*where))
    rows = db.session.scalars(
        sa.select(MeetingRecording).where(*where)
        .order_by(MeetingRecording.created_at.desc(), MeetingRecording.id)
        .offset((page - 1) * per_page).limit(per_page)
    )
    return list(rows), total or 0


def recordings_of_booking(*, viewer, booking_id: uuid.UUID) -> list[MeetingRecording]:
    """The booking's recordings the viewer may see, oldest first."""
    return list(db.session.scalars(
        sa.select(MeetingRecording)
        .where(visible(MeetingRecording, viewer), MeetingRecording.booking_id == booking_id)
        .order_by(MeetingRecording.created_at)
    ))
