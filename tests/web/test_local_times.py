"""Times are shown in the viewer's own zone, on pages and in the macros they import."""
from __future__ import annotations

from datetime import UTC, datetime

from portal.extensions import db


def test_times_are_shown_in_the_viewers_zone(app, make_user, make_specialist, make_booking, login_as):
    patient = make_user("patient", timezone="America/New_York")
    specialist = make_specialist(timezone="Europe/Berlin")
    booking = make_booking(patient, specialist, datetime(2030, 1, 15, 14, 0, tzinfo=UTC))
    client = login_as(patient)

    detail = client.get(f"/bookings/{booking.id}").text  # the page's own template
    assert "Tue 15 Jan 2030, 09:00 – 10:00" in detail and "America/New York" in detail
    dashboard = client.get("/patient/").text  # a macro imported without the page's context
    assert "Tue 15 Jan 2030, 09:00" in dashboard and "15:00" not in dashboard

    login_as(specialist)
    assert "Tue 15 Jan 2030, 15:00 – 16:00" in client.get(f"/bookings/{booking.id}").text


def test_a_zone_name_the_system_does_not_know_shows_times_in_utc(app, make_user, make_specialist, make_booking,
                                                                login_as):
    """A zone stored before zones were checked (or dropped from tzdata since) is no error page:
    the page context names the zone viewer_zone() fell back to, and every time follows it."""
    patient = make_user("patient")
    booking = make_booking(patient, make_specialist(), datetime(2030, 1, 15, 14, 0, tzinfo=UTC))
    patient.timezone = "Mars/Olympus_Mons"  # written past the service, which refuses it
    db.session.flush()
    client = login_as(patient)
    detail = client.get(f"/bookings/{booking.id}")
    assert detail.status_code == 200 and "Tue 15 Jan 2030, 14:00 – 15:00" in detail.text
