"""Rooms for video sessions: a video service without a fixed room gives each booking its own,
made when the booking is made (one at a time, or a night's series occurrences at once)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from portal.domain.meetings import new_room_url
from portal.extensions import db
from portal.models import Booking, Service


def needs_own_room(service: Service | None) -> bool:
    return service is not None and service.location_kind == "video" and not service.location_room_url


def own_room_url() -> str:
    return new_room_url(current_app.config["VIDEO_ROOM_BASE_URL"])


def rooms_give(bookings: list[dict]) -> None:
    """Give the just-inserted `bookings` (dicts with id and service_id) of video services without
    a fixed room each a room: one read of their services, one update, and nothing when none is video."""
    service_ids = {b.get("service_id") for b in bookings} - {None}
    if not service_ids:
        return
    video = set(db.session.scalars(sa.select(Service.id).where(
        Service.id.in_(service_ids), Service.location_kind == "video", Service.location_room_url.is_(None))))
    rooms = [{"booking_id": b["id"], "room": own_room_url()} for b in bookings if b.get("service_id") in video]
    if rooms:
        table = Booking.__table__
        db.session.execute(table.update().where(table.c.id == sa.bindparam("booking_id"))
                           .values(room_url=sa.bindparam("room")), rooms)

