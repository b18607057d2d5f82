from flask import Response
from flask_login import current_user

from portal import policies
from portal.bookings.blueprint import bp
from portal.models import Booking
from portal.selectors.bookings import moves_of
from portal.selectors.notes import notes_for_booking
from portal.selectors.recordings import recordings_of_booking
from portal.services.calendar_feed import booking_ics
from portal.web.access import log_reads
from portal.web.rendering import render_page


@bp.route("/<uuid:booking_id>")
def detail(booking_id):
    booking = policies.load(Booking, booking_id, current_user)
    log_reads([*notes_for_booking(user=current_user, booking_id=booking.id),
               *recordings_of_booking(viewer=current_user, booking_id=booking.id)])
    return render_page("bookings/detail.html", booking=booking,
                       moves=moves_of(viewer=current_user, booking_id=booking.id))


@bp.route("/<uuid:booking_id>/calendar.ics")
def calendar_file(booking_id):
    """"Add to calendar": the session as an .ics file to open in any calendar app."""
    booking = policies.load(Booking, booking_id, current_user)
    response = Response(booking_ics(booking, current_user), mimetype="text/calendar")
    filename = f"session-{booking.starts_at:%Y-%m-%d}.ics"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
