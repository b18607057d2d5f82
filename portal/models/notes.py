from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.bookings import Booking
from portal.models.types import JSONType, UTCDateTime, new_id, utcnow


class SessionNote(db.Model):
    __tablename__ = "session_notes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    booking_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    follow_up_actions: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    next_session_recommendation: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # For the author only: the booking's patient never reads it (policies.can_read_private_notes).
    private_notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    booking: Mapped[Booking] = relationship()
    amendments: Mapped[list[SessionNoteAmendment]] = relationship(
        back_populates="note", order_by="SessionNoteAmendment.created_at"
    )


class SessionNoteAmendment(db.Model):
    """Append-only addition to a note that has locked."""

    __tablename__ = "session_note_amendments"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    note_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("session_notes.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    note: Mapped[SessionNote] = relationship(back_populates="amendments")
