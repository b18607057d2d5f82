"""What a specialist offers: services, each with its own length and price.

A service's price and length have a history: the rows of specialist_rates that
name it (a change applies from its effective_from; bookings keep the price they
were made at). Each specialist has exactly one default service, used wherever no
service is named; the rates API reads and writes the default service's history."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, new_id, utcnow

DEFAULT_SERVICE_NAME = "Session"


class Service(db.Model):
    __tablename__ = "services"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    specialist_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    is_default: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Where its sessions happen: in_person (at location_address), video (at location_room_url,
    # the specialist's fixed room; without one each booking gets its own room) or phone.
    location_kind: Mapped[str] = mapped_column(sa.String(16), default="in_person", server_default="in_person")
    location_address: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    location_room_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("location_kind IN ('in_person', 'video', 'phone')", name="location_kind"),
        # Exactly one default per specialist: at most one here, at least one by the services.
        sa.Index("uq_services_default", "specialist_id", unique=True,
                 sqlite_where=sa.text("is_default"), postgresql_where=sa.text("is_default")),
        sa.CheckConstraint("NOT (is_default AND NOT is_active)", name="default_active"),
    )


class PackageService(db.Model):
    """A service a package may pay for; a package naming none pays for all its specialist's services."""

    __tablename__ = "booking_package_services"

    package_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("booking_packages.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True, index=True
    )
