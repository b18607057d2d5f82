"""Calendar invitations (.ics) for booking e-mails: METHOD:REQUEST when booked or moved, METHOD:CANCEL
when cancelled, one stable UID per booking and a SEQUENCE raised by every move, so that calendars
move or drop the same event instead of adding one. Times are UTC."""
from __future__ import annotations

from email.utils import parseaddr

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from portal import clock
from portal.extensions import db
from portal.models import Booking, User
from portal.selectors.meetings import booking_location


def booking_uid(booking: Booking) -> str:
    return f"booking-{booking.id}@clinic-portal"


def _organizer(mail_from: str) -> vCalAddress:
    """The sender as a calendar address: only the address after "mailto:" (strict clients drop an
    invitation whose organizer reads "mailto:Clinic <clinic@...>"), its display name as CN."""
    name, address = parseaddr(mail_from)
    organizer = vCalAddress(f"mailto:{address or 'clinic@localhost'}")
    organizer.params["cn"] = vText(name or "Clinic portal")
    return organizer


def booking_invitation(booking: Booking, *, method: str) -> tuple[str, str, bytes]:
    """(file name, MIME type, bytes) of the booking's invitation (REQUEST) or its withdrawal (CANCEL)."""
    patient = db.session.get(User, booking.patient_id)
    specialist = db.session.get(User, booking.specialist_id)
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic portal//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", clock.now())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", f"Session: {patient.display_name} with {specialist.display_name}")
    base = current_app.config.get("PORTAL_BASE_URL", "").rstrip("/")
    location = booking_location(booking)
    if location is not None:
        event.add("location", location.text)
    # The join link of a video session, else the booking page (not its contents: the person signs
    # in to read anything more). The file goes to the parties only and is never kept.
    join_url = location.url if location is not None and location.kind == "video" else None
    event.add("url", join_url or f"{base}/bookings/{booking.id}")
    # Each move raises the booking's sequence; a withdrawal must outrank every invitation sent.
    event.add("sequence", booking.ics_sequence + (1 if method == "CANCEL" else 0))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event["organizer"] = _organizer(current_app.config.get("MAIL_FROM", "clinic@localhost"))
    for person in (patient, specialist):
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.display_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    name = "cancel.ics" if method == "CANCEL" else "invite.ics"
    return name, f"text/calendar; method={method}", calendar.to_ical()
