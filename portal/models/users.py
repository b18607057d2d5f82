from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, new_id, utcnow


class Role(StrEnum):
    """A user's role. Members equal their stored text, so templates may compare strings."""

    PATIENT = "patient"
    SPECIALIST = "specialist"
    ADMIN = "admin"
    OPS = "ops"


ROLES = tuple(role.value for role in Role)  # plain text: the check constraint is written from it


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(sa.String(320))
    # Lower-cased copy: uniqueness and login are case-insensitive on every database.
    email_normalized: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), index=True)  # a Role's value
    display_name: Mapped[str] = mapped_column(sa.String(120))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    # Bumped to revoke every calendar feed link handed out so far.
    calendar_feed_version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    # Part of the id in every session and remember-me cookie: bumping it ends them all.
    session_version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    # None until the owner follows the confirmation link (self-service sign-up only).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Reminder e-mails before sessions; the account page and a signed link in each reminder turn them off.
    reminders_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    specialist_profile: Mapped[SpecialistProfile | None] = relationship(
        back_populates="user", uselist=False
    )

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Flask-Login's alternative id: a cookie names the session version it was issued under."""
        return f"{self.id}:{self.session_version}"

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class SpecialistProfile(db.Model):
    """Shares its user's id, so a specialist_id always names a user."""

    __tablename__ = "specialist_profiles"

    id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Hours before a session inside which a cancellation counts as late (0: never late).
    late_cancel_notice_hours: Mapped[int] = mapped_column(sa.Integer, default=24, server_default="24")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Fair use (portal/domain/booking_rules.py): how many upcoming sessions one patient may hold,
    # how soon a booking may start after it is made, and how far ahead it may lie.
    max_upcoming_per_patient: Mapped[int] = mapped_column(sa.Integer, default=8, server_default="8")
    min_notice_hours: Mapped[int] = mapped_column(sa.Integer, default=2, server_default="2")
    booking_window_days: Mapped[int] = mapped_column(sa.Integer, default=365, server_default="365")
    # Time kept free before and after each session, and the grid start times lie on
    # (None: the shortest active service's length rounded up to 15 minutes, at most 60).
    buffer_before_minutes: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    buffer_after_minutes: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    slot_interval_minutes: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    user: Mapped[User] = relationship(back_populates="specialist_profile")

    __table_args__ = (
        sa.CheckConstraint("max_upcoming_per_patient BETWEEN 1 AND 1000", name="max_upcoming"),
        sa.CheckConstraint("min_notice_hours BETWEEN 0 AND 8760", name="min_notice"),
        sa.CheckConstraint("booking_window_days BETWEEN 1 AND 3650", name="booking_window"),
        sa.CheckConstraint("late_cancel_notice_hours BETWEEN 0 AND 720", name="late_cancel_notice"),
        sa.CheckConstraint("buffer_before_minutes BETWEEN 0 AND 120", name="buffer_before"),
        sa.CheckConstraint("buffer_after_minutes BETWEEN 0 AND 120", name="buffer_after"),
        sa.CheckConstraint("slot_interval_minutes BETWEEN 5 AND 240", name="slot_interval"),
    )


class ApiToken(db.Model):
    """Only a SHA-256 of the token is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()
