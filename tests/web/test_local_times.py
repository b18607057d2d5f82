"""Times are shown in the viewer's own zone, on pages and in the macros they import."""
from __future__ import annotations

from datetime import UTC, datetime


def test_times_are_shown_in_the_viewers_zone(app, make_user, make_specialist, make_booking, login_as):
    patient = make_user("patient", timezone="America/New_York")
    specialist = make_specialist(timezone="Europe/Berlin")
    booking = make_booking(patient, specialist, datetime(2030, 1, 15, 14, 0, tzinfo=UTC))
    client = login_as(patient)

    detail = client.get(f"/bookings/{booking.id}").text  # the page's own template
    assert "Tue 15 Jan 2030, 09:00 – 10:00" in detail and "America/New_York" in detail
    dashboard = client.get("/patient/").text  # a macro imported without the page's context
    assert "Tue 15 Jan 2030, 09:00" in dashboard and "15:00" not in dashboard

    login_as(specialist)
    assert "Tue 15 Jan 2030, 15:00 – 16:00" in client.get(f"/bookings/{booking.id}").text
