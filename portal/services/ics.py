"""Calendar invitations (.ics) for booking e-mails: METHOD:REQUEST when booked, METHOD:CANCEL when
cancelled, one stable UID per booking so that calendars update or drop the same event. Times are UTC."""
from __future__ import annotations

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from portal import clock
from portal.extensions import db
from portal.models import Booking, User


def booking_uid(booking: Booking) -> str:
    return f"booking-{booking.id}@clinic-portal"


def booking_invitation(booking: Booking, recipient: User, *, method: str):
    from portal.services.mail_context import Attachment

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
    # The booking page, not its contents: the person signs in to read anything more.
    event.add("url", f"{base}/bookings/{booking.id}")
    event.add("sequence", 1 if method == "CANCEL" else 0)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{current_app.config.get('MAIL_FROM', 'clinic@localhost')}")
    organizer.params["cn"] = vText("Clinic portal")
    event["organizer"] = organizer
    for person in (patient, specialist):
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.display_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    name = "cancel.ics" if method == "CANCEL" else "invite.ics"
    return Attachment(filename=name, content_type=f"text/calendar; method={method}", data=calendar.to_ical())
