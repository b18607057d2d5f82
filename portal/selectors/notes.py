"""Reads of session notes, scoped through policies.SessionNotePolicy."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, selectinload

from portal.extensions import db
from portal.models import Booking, SessionNote, User
from portal.policies import visible
from portal.selectors.pagination import Pagination, paginate


def notes_for_booking(*, user, booking_id: uuid.UUID) -> list[SessionNote]:
    """The booking's notes the user may read, oldest first (the order they were written)."""
    return list(db.session.scalars(
        sa.select(SessionNote)
        .where(visible(SessionNote, user), SessionNote.booking_id == booking_id)
        .options(selectinload(SessionNote.amendments))
        .order_by(SessionNote.created_at, SessionNote.id)
    ))


def notes_visible(*, user, booking_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
                  query: str = "", page=1, per_page: int = 50) -> Pagination:
    """One page of the notes the user may read, newest first, with an optional text search
    over the note fields and the patient's name."""
    where = [visible(SessionNote, user)]
    if booking_id is not None:
        where.append(SessionNote.booking_id == booking_id)
    if provider_id is not None:
        where.append(SessionNote.provider_id == provider_id)
    base = sa.select(SessionNote).where(*where)
    if query.strip():
        pattern = "%" + query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        patient = aliased(User)
        base = base.join(Booking, Booking.id == SessionNote.booking_id).join(
            patient, patient.id == Booking.patient_id
        ).where(sa.or_(*(column.ilike(pattern, escape="\\") for column in (
            SessionNote.notes, SessionNote.follow_up_actions, SessionNote.next_session_recommendation,
            patient.display_name,
        ))))
    return paginate(base.options(joinedload(SessionNote.booking).joinedload(Booking.patient),
                                 selectinload(SessionNote.amendments))
                    .order_by(SessionNote.created_at.desc(), SessionNote.id.desc()),
                    page=page, per_page=per_page)
