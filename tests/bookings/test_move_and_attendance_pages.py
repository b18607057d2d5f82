"""Moving a session from the pages (pick a free time, confirm) and recording attendance."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Booking, SpecialistProfile

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def booked(users, make_booking):
    return make_booking(users["patient"], users["specialist"], MONDAY + timedelta(hours=10))


def test_the_patient_picks_a_free_time_confirms_and_sees_the_move(login_as, users, booked, make_booking):
    make_booking(users["other_patient"], users["specialist"], MONDAY + timedelta(hours=12))
    client = login_as(users["patient"])
    page = client.get(f"/bookings/{booked.id}").text
    assert f"/bookings/{booked.id}/move" in page
    picker = client.get(f"/bookings/{booked.id}/move").text
    assert 'value="2030-01-07T14:00:00+00:00"' in picker and 'value="2030-01-07T12:00:00+00:00"' not in picker
    confirm = client.get(f"/bookings/{booked.id}/move/confirm", query_string={"starts_at": "2030-01-07T14:00:00+00:00"})
    assert "Confirm the new time" in confirm.text and "Monday 07 January 2030, 14:00–15:00 (UTC)" in confirm.text
    assert "60 minutes" in confirm.text and "Unchanged" in confirm.text and "no refund is made" in confirm.text
    response = client.post(f"/bookings/{booked.id}/move", data={"starts_at": "2030-01-07T14:00:00+00:00",
                                                               "reason": "Work shift"})
    assert response.status_code == 302 and response.location.endswith(f"/bookings/{booked.id}")
    page = client.get(f"/bookings/{booked.id}").text
    assert "Session moved" in page and "from Mon 07 Jan 2030, 10:00 to Mon 07 Jan 2030, 14:00, by you" in page
    assert "Work shift" in page


def test_a_taken_time_is_refused_on_the_confirm_step(login_as, users, booked, make_booking):
    make_booking(users["other_patient"], users["specialist"], MONDAY + timedelta(hours=12))
    response = login_as(users["patient"]).post(f"/bookings/{booked.id}/move",
                                               data={"starts_at": "2030-01-07T12:00:00+00:00"})
    assert response.status_code == 422 and "already has a booking at that time" in response.text
    assert db.session.get(Booking, booked.id).starts_at == MONDAY + timedelta(hours=10)


def test_inside_the_late_window_the_patient_is_told_to_contact_the_clinic(login_as, users, booked):
    db.session.get(SpecialistProfile, users["specialist"].id).late_cancel_notice_hours = 48
    db.session.commit()
    page = login_as(users["patient"]).get(f"/bookings/{booked.id}/move").text
    assert "Please contact the clinic" in page and "btn slot" not in page
    staff = login_as(users["specialist"]).get(f"/bookings/{booked.id}/move").text
    assert "btn slot" in staff


def test_no_move_for_people_outside_the_booking_or_past_sessions(login_as, users, booked, make_booking):
    assert login_as(users["other_patient"]).get(f"/bookings/{booked.id}/move").status_code == 404
    past = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=3))
    client = login_as(users["patient"])
    assert f"/bookings/{past.id}/move" not in client.get(f"/bookings/{past.id}").text
    assert "has started or ended, so it cannot be moved" in client.get(f"/bookings/{past.id}/move").text


def test_the_specialist_marks_a_no_show_from_the_schedule_and_the_patient_reads_missed(login_as, users,
                                                                                     make_booking):
    past = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=3))
    client = login_as(users["specialist"])
    schedule = client.get("/specialist/").text
    assert f"/bookings/{past.id}/attendance" in schedule and "No-show<span" in schedule
    response = client.post(f"/bookings/{past.id}/attendance", data={"status": "no_show"},
                           headers={"Referer": "http://localhost/specialist/"})
    assert response.status_code == 302 and response.location.endswith("/specialist/")
    assert "Marked as a no-show" in client.get("/specialist/").text
    assert db.session.scalar(sa.select(Booking.status).where(Booking.id == past.id)) == "no_show"
    patient_view = login_as(users["patient"]).get("/patient/").text
    assert "Missed" in patient_view and f"/bookings/{past.id}/attendance" not in patient_view


def test_attendance_before_the_start_is_refused_with_words(login_as, users, booked):
    client = login_as(users["specialist"])
    assert f"/bookings/{booked.id}/attendance" not in client.get(f"/bookings/{booked.id}").text
    client.post(f"/bookings/{booked.id}/attendance", data={"status": "completed"})
    assert "Attendance can be recorded once the session has started." in client.get(f"/bookings/{booked.id}").text
    assert db.session.get(Booking, booked.id).status == "confirmed"


def test_the_move_review_shows_the_specialists_time_when_their_clock_differs(login_as, users, booked):
    users["specialist"].timezone = "America/New_York"
    confirm = login_as(users["patient"]).get(f"/bookings/{booked.id}/move/confirm",
                                             query_string={"starts_at": "2030-01-07T14:00:00+00:00"}).text
    assert "Monday 07 January 2030, 14:00–15:00 (UTC)" in confirm
    assert "Monday 07 January, 09:00–10:00 (America/New_York)" in confirm
