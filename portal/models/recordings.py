from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.bookings import Booking
from portal.models.types import UTCDateTime, new_id, utcnow

RECORDING_FORMATS = ("mp4", "webm", "mov", "mkv")


class MeetingRecording(db.Model):
    __tablename__ = "meeting_recordings"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    booking_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    # Kept for the spec's shape; links are signed on demand, never stored.
    recording_url: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    storage_path: Mapped[str] = mapped_column(sa.String(500), unique=True)
    duration_seconds: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    storage_size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    file_format: Mapped[str] = mapped_column(sa.String(8))
    is_encrypted: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    # The recording's own AES-256 data key, wrapped by the master key named by encryption_key_id
    # (see portal/services/recordings/keys.py). Both are null for a file not yet encrypted.
    encryption_key_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True, index=True)
    wrapped_data_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)

    booking: Mapped[Booking] = relationship()

    __table_args__ = (
        sa.CheckConstraint(f"file_format IN {RECORDING_FORMATS!r}", name="file_format"),
        sa.CheckConstraint("storage_size_bytes >= 0", name="size"),
        sa.CheckConstraint("duration_seconds IS NULL OR duration_seconds >= 0", name="duration"),
    )


class RecordingAccessCode(db.Model):
    """A signed link's one-time code (only its SHA-256 is kept): opened once, within
    RECORDING_LINK_TTL, by the user it was issued to, it becomes a stream cookie."""

    __tablename__ = "recording_access_codes"

    code_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    recording_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("meeting_recordings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
