"""Each user's private iCalendar feed (RFC 5545) of their bookings.

The URL carries a signed token of the user id and User.calendar_feed_version;
revoking bumps the version, so every link handed out before stops working."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from icalendar import Calendar, Event
from itsdangerous import BadSignature, URLSafeSerializer

from portal import clock
from portal.extensions import db
from portal.models import Booking, User
from portal.selectors.meetings import booking_location
from portal.services.audit import audit_record

log = logging.getLogger(__name__)

SALT = "calendar-feed"
HISTORY_DAYS = 90


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def feed_token(user: User) -> str:
    return _serializer().dumps([str(user.id), user.calendar_feed_version])


def feed_user(token: str) -> User | None:
    """The user a token belongs to, or None when it is forged, malformed or revoked."""
    try:
        user_id, version = _serializer().loads(token)
        user = db.session.get(User, uuid.UUID(user_id))
    except (BadSignature, ValueError, TypeError):
        return None
    if user is None or not user.is_active or user.calendar_feed_version != version:
        return None
    return user


def feed_revoke(*, actor: User) -> None:
    """Invalidate every feed link of `actor`; the next token uses the new version."""
    actor.calendar_feed_version = (actor.calendar_feed_version or 1) + 1
    db.session.flush()
    audit_record(actor=actor, action="calendar_feed_revoked", entity_type="user", entity_id=actor.id,
                 new_values={"calendar_feed_version": actor.calendar_feed_version})
    log.info("calendar feed of %s revoked", actor.id)


def feed_ics(user: User) -> bytes:
    """The user's bookings (as patient or specialist) from 90 days ago on."""
    since = clock.now() - timedelta(days=HISTORY_DAYS)
    bookings = db.session.scalars(
        sa.select(Booking).where(sa.or_(Booking.patient_id == user.id, Booking.specialist_id == user.id),
                                 Booking.starts_at >= since).order_by(Booking.starts_at)
    )
    calendar = _calendar()
    calendar.add("x-wr-calname", "Clinic sessions")
    for booking in bookings:
        calendar.add_component(_event(booking, user))
    return calendar.to_ical()


def booking_ics(booking: Booking, user: User) -> bytes:
    """One session as a calendar file ("Add to calendar"); its UID matches the feed's, so a calendar
    holding both keeps one event."""
    calendar = _calendar()
    calendar.add("method", "PUBLISH")
    calendar.add_component(_event(booking, user))
    return calendar.to_ical()


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic portal//Bookings//EN")
    calendar.add("version", "2.0")
    return calendar


def _event(booking: Booking, user: User) -> Event:
    other = booking.specialist_user if booking.patient_id == user.id else booking.patient
    event = Event()
    event.add("uid", f"{booking.id}@clinic-portal")
    event.add("dtstamp", booking.updated_at or clock.now())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", f"Session with {other.display_name}")
    event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
    location = booking_location(booking)  # the user is a party: the feed and file are theirs only
    if location is not None:
        event.add("location", location.text)
        if location.kind == "video" and location.url:
            event.add("url", location.url)
    return event
