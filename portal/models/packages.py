from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, new_id, utcnow


class BookingPackage(db.Model):
    __tablename__ = "booking_packages"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    specialist_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    session_count: Mapped[int] = mapped_column(sa.Integer)
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD", server_default="USD")
    discount_percentage: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=0, server_default="0")
    valid_for_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("session_count >= 1", name="session_count"),
        sa.CheckConstraint("price >= 0", name="price"),
        sa.CheckConstraint("discount_percentage BETWEEN 0 AND 100", name="discount"),
        sa.CheckConstraint("valid_for_days IS NULL OR valid_for_days >= 1", name="validity"),
    )


ENROLMENT_STATUSES = ("pending_payment", "active", "expired", "cancelled")


class PackageEnrolment(db.Model):
    """A patient's take of a package: its terms copied when taken, its credits counted.

    credits_used only changes through conditional UPDATEs in services/enrolments.py,
    so two bookings at once cannot both spend the last credit."""

    __tablename__ = "package_enrolments"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    package_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("booking_packages.id", ondelete="SET NULL"), nullable=True, index=True
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    specialist_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True
    )
    package_name: Mapped[str] = mapped_column(sa.String(120))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending_payment")
    credits_total: Mapped[int] = mapped_column(sa.Integer)
    credits_used: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    discount_percentage: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=0, server_default="0")
    validity_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    payment_reference: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    starts_on: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    expiry_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    specialist_user = relationship(
        "User", primaryjoin="PackageEnrolment.specialist_id == User.id", foreign_keys=[specialist_id], viewonly=True
    )

    __table_args__ = (
        sa.CheckConstraint(f"status IN {ENROLMENT_STATUSES!r}", name="status"),
        sa.CheckConstraint("credits_total >= 1", name="credits_total"),
        sa.CheckConstraint("credits_used BETWEEN 0 AND credits_total", name="credits_used"),
        sa.Index("ix_package_enrolments_patient", "patient_id", "specialist_id", "status"),
        sa.Index("ix_package_enrolments_expiry", "status", "expires_on"),
    )

    @property
    def credits_remaining(self) -> int:
        return self.credits_total - self.credits_used
