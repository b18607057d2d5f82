"""Where a booking's session happens, and whether its join link is open yet. Callers decide who
may read it (portal.policies.can_see_location): the parties and admins only."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from portal import clock
from portal.domain.meetings import JOIN_OPENS_MINUTES
from portal.extensions import db
from portal.models import Booking, Service


class Location(NamedTuple):
    kind: str  # in_person, video or phone
    url: str | None  # video: the join link
    address: str | None  # in_person: where

    def as_dict(self) -> dict:
        return {"kind": self.kind, **({"url": self.url} if self.kind == "video" else {}),
                **({"address": self.address} if self.kind == "in_person" else {})}

    @property
    def text(self) -> str:
        """For a calendar's LOCATION: the address or the join link."""
        if self.kind == "video":
            return self.url or "Video"
        if self.kind == "phone":
            return "By phone"
        return self.address or "In person"


def booking_location(booking: Booking) -> Location | None:
    """The session's place: its own room, else its service's fixed room or address (None: no service)."""
    service = db.session.get(Service, booking.service_id) if booking.service_id else None
    if booking.room_url:
        return Location("video", booking.room_url, None)
    if service is None:
        return None
    if service.location_kind == "video":
        return Location("video", service.location_room_url, None)
    return Location(service.location_kind, None, service.location_address)


def join_opens_at(booking: Booking) -> datetime:
    return booking.starts_at - timedelta(minutes=JOIN_OPENS_MINUTES)


def join_open(booking: Booking, now: datetime | None = None) -> bool:
    """"Join" is offered from 15 minutes before the start until the end, for an active booking."""
    now = now or clock.now()
    return booking.is_active and join_opens_at(booking) <= now < booking.ends_at
