"""When a specialist works: weekly hours, rates, and the dates that differ."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, new_id, utcnow

EXCEPTION_REASONS = ("vacation", "sick_leave", "personal", "training", "conference", "other")


class AvailabilityException(db.Model):
    """A date on which the specialist's weekly hours do not apply as usual.

    is_available false blocks its interval (the whole day when all_day).
    is_available true is the spec's "partially available": on that date the
    specialist works only inside start_time-end_time.
    """

    __tablename__ = "specialist_availability_exceptions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    specialist_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True
    )
    exception_date: Mapped[date] = mapped_column(sa.Date, index=True)
    is_available: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false(), index=True)
    reason: Mapped[str] = mapped_column(sa.String(16))
    all_day: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    start_time: Mapped[time | None] = mapped_column(sa.Time, nullable=True)
    end_time: Mapped[time | None] = mapped_column(sa.Time, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(f"reason IN {EXCEPTION_REASONS!r}", name="reason"),
        sa.CheckConstraint(
            "(all_day AND start_time IS NULL AND end_time IS NULL) OR "
            "(NOT all_day AND start_time IS NOT NULL AND end_time IS NOT NULL AND start_time < end_time)",
            name="time_range",
        ),
        # "Available only" narrows a day to a range; all day it would open all 24 hours.
        sa.CheckConstraint("NOT (is_available AND all_day)", name="available_needs_range"),
        # PostgreSQL cannot index "future dates" with CURRENT_DATE (not immutable);
        # the availability checks read unavailable rows per specialist and date range.
        sa.Index(
            "ix_availability_exceptions_blocking",
            "specialist_id",
            "exception_date",
            postgresql_where=sa.text("NOT is_available"),
        ),
    )


class SpecialistRate(db.Model):
    """A service's length and price from effective_from; the latest such row wins, history is kept.

    A row written without a service is the specialist's default service's (created, as
    "Session", when the specialist has none): what the rates API and older callers write."""

    __tablename__ = "specialist_rates"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    specialist_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"))
    # Never None once written (see _rate_of_default_service); nullable so SQLite can add it in place.
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), nullable=True
    )
    duration_minutes: Mapped[int] = mapped_column(sa.Integer)
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    effective_from: Mapped[datetime] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="duration"),
        sa.CheckConstraint("price >= 0", name="price"),
        sa.Index("ix_specialist_rates_current", "specialist_id", "effective_from", "created_at"),
        sa.Index("ix_specialist_rates_service", "service_id", "effective_from", "created_at"),
    )


@sa.event.listens_for(SpecialistRate, "before_insert")
def _rate_of_default_service(mapper, connection, rate: SpecialistRate) -> None:
    if rate.service_id is None:
        rate.service_id = default_service_id(connection, rate.specialist_id)


def default_service_id(connection, specialist_id: uuid.UUID) -> uuid.UUID:
    """The specialist's default service, created ("Session") when they have none yet."""
    from portal.models.services import DEFAULT_SERVICE_NAME, Service

    table = Service.__table__
    found = connection.scalar(sa.select(table.c.id).where(table.c.specialist_id == specialist_id,
                                                          table.c.is_default))
    if found is None:
        found = new_id()
        now = utcnow()
        connection.execute(table.insert().values(
            id=found, specialist_id=specialist_id, name=DEFAULT_SERVICE_NAME, description="", is_active=True,
            is_default=True, created_at=now, updated_at=now))
    return found


class WorkingHours(db.Model):
    """One range of a weekday (Monday 0), in the specialist's own time zone."""

    __tablename__ = "specialist_working_hours"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    specialist_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    start_time: Mapped[datetime] = mapped_column(sa.Time)
    end_time: Mapped[datetime] = mapped_column(sa.Time)

    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint("start_time < end_time", name="range"),
    )
