"""The calendar with history, "available only" needing a range, and private exception reasons."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AvailabilityException, Booking
from portal.services.cancellations import booking_cancel

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(MONDAY + timedelta(days=2, hours=12)):  # Wednesday noon
        yield


def exceptions_of(specialist) -> list:
    return list(db.session.scalars(sa.select(AvailabilityException)
                                   .where(AvailabilityException.specialist_id == specialist.id)))


# ---------- the calendar with history ----------

def test_a_day_with_a_completed_and_a_cancelled_session_shows_both_apart(client, users, login_as, make_booking):
    specialist, patient = users["specialist"], users["patient"]
    make_booking(patient, specialist, MONDAY.replace(hour=10), status="completed")
    with clock.frozen(MONDAY - timedelta(days=3)):
        gone = make_booking(users["other_patient"], specialist, MONDAY.replace(hour=14))
        booking_cancel(actor=users["other_patient"], booking_id=gone.id, reason="Away")
    login_as(specialist)
    panel = client.get("/specialist/calendar/day/2030-01-07", headers=HX).get_data(as_text=True)
    assert "No sessions booked" not in panel
    assert 'class="session session-completed"' in panel and "Pat One" in panel
    assert 'class="session session-cancelled"' in panel and "Pat Two" in panel
    assert "Cancelled by the patient" in panel and "Away" not in panel  # who and when; the reason is on its page
    month = client.get("/specialist/calendar?month=2030-01").get_data(as_text=True)
    day = month[month.index('data-date="2030-01-07"'):]
    day = day[:day.index("</a>")]
    assert "1 completed, 1 cancelled" in day and "chip-completed" in day and "chip-cancelled" in day


def test_past_days_offer_no_block_form_and_refuse_a_post(client, users, login_as):
    login_as(users["specialist"])
    past = client.get("/specialist/calendar/day/2030-01-08").get_data(as_text=True)
    assert "This day has passed" in past and "block-form" not in past
    today = client.get("/specialist/calendar/day/2030-01-09").get_data(as_text=True)
    assert "block-form" in today and "This day has passed" not in today
    response = client.post("/specialist/calendar/day/2030-01-08/exceptions", headers=HX,
                           data={"span": "all_day", "reason": "personal", "kind": "unavailable"})
    assert response.status_code == 422 and "This day has passed" in response.get_data(as_text=True)
    assert exceptions_of(users["specialist"]) == []


# ---------- "available only" needs a range ----------

def test_the_page_refuses_an_all_day_available_only(client, users, login_as):
    login_as(users["specialist"])
    response = client.post("/specialist/calendar/day/2030-01-10/exceptions", headers=HX,
                           data={"span": "all_day", "kind": "available_only", "reason": "other"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "“Available only” needs a time range" in html
    assert 'aria-invalid="true"' in html and 'id="kind-error"' in html
    assert exceptions_of(users["specialist"]) == []
    ok = client.post("/specialist/calendar/day/2030-01-10/exceptions", headers=HX, data={
        "span": "range", "start_time": "10:00", "end_time": "12:00", "kind": "available_only", "reason": "other"})
    assert ok.status_code == 200 and len(exceptions_of(users["specialist"])) == 1


def test_the_api_refuses_an_all_day_available_only_and_a_night_slot_stays_closed(client, users, api_headers):
    specialist = users["specialist"]
    headers = api_headers(specialist)
    response = client.post("/api/v1/availability-exceptions", headers=headers, json={
        "exception_date": "2030-01-12", "reason": "other", "is_available": True, "all_day": True})
    assert response.status_code == 400 and response.json["error"] == "INVALID_REQUEST"
    assert "all_day" in response.json["fields"] and "time range" in response.json["message"]
    assert exceptions_of(specialist) == []
    night = client.post("/api/v1/bookings", headers=api_headers(users["patient"]), json={
        "specialist_id": str(specialist.id), "starts_at": "2030-01-12T03:20:00+00:00"})
    assert night.status_code == 409
    created = client.post("/api/v1/availability-exceptions", headers=headers, json={
        "exception_date": "2030-01-12", "reason": "other", "is_available": True, "all_day": False,
        "start_time": "10:00", "end_time": "12:00"})
    assert created.status_code == 201
    patched = client.patch(f"/api/v1/availability-exceptions/{created.json['id']}", headers=headers,
                           json={"all_day": True})
    assert patched.status_code == 400 and patched.json["error"] == "INVALID_REQUEST"


def test_the_database_refuses_the_shape_too(app, users):
    db.session.add(AvailabilityException(specialist_id=users["specialist"].id, exception_date=MONDAY.date(),
                                         reason="other", is_available=True, all_day=True))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


# ---------- why a specialist is away is theirs ----------

@pytest.fixture
def sick_day(users):
    row = AvailabilityException(specialist_id=users["specialist"].id, exception_date=MONDAY.date() + timedelta(days=3),
                                reason="sick_leave", is_available=False, all_day=False,
                                start_time=time(9), end_time=time(12))
    db.session.add(row)
    db.session.commit()
    return row


@pytest.mark.parametrize("who, sees_reason", [("patient", False), ("other_specialist", False),
                                              ("specialist", True), ("admin", True)])
def test_exception_reasons_reach_only_the_specialist_and_admins(client, users, api_headers, sick_day, who,
                                                                  sees_reason):
    body = client.get(f"/api/v1/availability-exceptions?specialist_id={users['specialist'].id}",
                      headers=api_headers(users[who])).json
    [item] = body["items"]
    assert item["exception_date"] == "2030-01-10" and item["start_time"] == "09:00"
    assert item["reason"] == ("sick_leave" if sees_reason else None)


def test_slots_and_kept_bookings_do_not_tell_patients_why(client, users, api_headers, make_booking, login_as):
    specialist, patient = users["specialist"], users["patient"]
    booking = make_booking(patient, specialist, MONDAY.replace(day=10, hour=10))
    response = client.post("/api/v1/availability-exceptions", headers=api_headers(specialist), json={
        "exception_date": "2030-01-10", "reason": "sick_leave", "affected": "keep"})
    assert response.status_code == 201
    slots = client.get(f"/api/v1/specialists/{specialist.id}/slots?from=2030-01-10&to=2030-01-11",
                       headers=api_headers(patient))
    assert "sick" not in slots.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).attention_reason == "Specialist marked 2030-01-10 unavailable"
    api = client.get(f"/api/v1/bookings/{booking.id}", headers=api_headers(patient)).get_data(as_text=True)
    page = login_as(patient).get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "sick" not in api and "sick" not in page.lower()
