from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
