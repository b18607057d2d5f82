"""The patient's pages: the dashboard (next session, later ones, cancelled collapsed, past paged), a
session as a calendar file, and a session the specialist or the clinic cancelled."""
from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar

from portal import clock
from portal.services.cancellations import booking_cancel


def _hour(days: float):
    return clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)


def test_the_dashboard_shows_the_next_session_then_later_ones_in_time_order(client, login_as, users, make_booking):
    patient, specialist = users["patient"], users["specialist"]
    later = make_booking(patient, specialist, _hour(5))
    soonest = make_booking(patient, specialist, _hour(2))
    middle = make_booking(patient, specialist, _hour(3))
    dropped = make_booking(patient, specialist, _hour(1), status="cancelled")
    login_as(patient)
    page = client.get("/patient/").text
    card = page.split('id="next-session"')[1].split("</section>")[0]
    assert "Next session" in page and f"/bookings/{soonest.id}" in card and "Add to calendar" in card
    assert f"/bookings/{soonest.id}/calendar.ics" in card and f"/bookings/{soonest.id}/cancel" in card
    assert specialist.display_name in card
    rows = page.split('id="upcoming-bookings"')[1].split("</section>")[0]
    assert rows.index(str(middle.id)) < rows.index(str(later.id)) and str(dropped.id) not in rows
    cancelled = page.split('id="cancelled-bookings"')[1].split("</section>")[0]
    assert "<details" in cancelled and "Cancelled (1)" in cancelled and str(dropped.id) in cancelled


def test_with_nothing_booked_the_dashboard_offers_to_find_a_specialist(client, login_as, users):
    login_as(users["patient"])
    page = client.get("/patient/").text
    assert "You have no upcoming sessions." in page and 'href="/specialists"' in page


def test_past_sessions_are_paged_twenty_at_a_time(client, login_as, users, make_booking):
    for day in range(25):
        make_booking(users["patient"], users["specialist"], _hour(-2 - day))
    login_as(users["patient"])
    first = client.get("/patient/").text
    past = first.split('id="past-sessions"')[1]
    assert past.count('class="btn btn-sm btn-ghost" href="/bookings/') == 20 and "Page 1 of 2" in past
    second = client.get("/patient/?page=2", headers={"HX-Request": "true"}).text
    assert "<html" not in second and "Page 2 of 2" in second
    assert second.count('class="btn btn-sm btn-ghost" href="/bookings/') == 5


def test_add_to_calendar_downloads_the_session_as_an_ics_file(client, login_as, users, make_booking):
    booking = make_booking(users["patient"], users["specialist"], _hour(2))
    login_as(users["patient"])
    response = client.get(f"/bookings/{booking.id}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="session-')
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert event.decoded("dtstart") == booking.starts_at and event.decoded("dtend") == booking.ends_at
    assert users["specialist"].display_name in str(event["summary"])
    assert "Add to calendar" in client.get(f"/bookings/{booking.id}").text
    login_as(users["other_patient"])
    assert client.get(f"/bookings/{booking.id}/calendar.ics").status_code == 404


def test_a_session_the_specialist_cancelled_speaks_to_the_patient(client, login_as, users, make_booking):
    booking = make_booking(users["patient"], users["specialist"], _hour(2),
                           attention_reason="Specialist marked a block unavailable")
    booking_cancel(actor=users["specialist"], booking_id=booking.id, reason="I am at a conference that week")
    login_as(users["patient"])
    page = client.get(f"/bookings/{booking.id}").text
    notice = page.split('id="cancelled-for-you"')[1].split("</div>")[0]
    assert f"{users['specialist'].display_name} cancelled this session" in notice
    assert "Their reason: I am at a conference that week" in notice
    assert f"Book another time with {users['specialist'].display_name}" in notice
    assert f'/specialists/{booking.specialist_id}"' in notice
    assert "Refund" not in page and "Attention" not in page and "marked a block unavailable" not in page
    assert 'class="back-link"' in page and "Add to calendar" not in page
    login_as(users["specialist"])
    assert "Attention" in client.get(f"/bookings/{booking.id}").text


def test_a_session_the_patient_cancelled_reads_as_their_own(client, login_as, users, make_booking):
    booking = make_booking(users["patient"], users["specialist"], _hour(2))
    booking_cancel(actor=users["patient"], booking_id=booking.id, reason="Feeling better")
    login_as(users["patient"])
    page = client.get(f"/bookings/{booking.id}").text
    assert 'id="cancelled-for-you"' not in page and "You" in page.split('class="cancelled-by"')[1][:20]
