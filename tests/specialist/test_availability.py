"""The specialist's calendar, hours and rates pages, and the patient's search,
specialist page and booking, as a browser (with and without htmx) sees them."""
from datetime import UTC, datetime, timedelta

import pytest

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, AvailabilityException, Booking, SpecialistRate, WorkingHours
from portal.selectors.hours import working_hours_of

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(MONDAY - timedelta(days=1, hours=12)):
        yield


def test_calendar_shows_bookings_and_exceptions_and_moves_months_in_place(client, users, login_as, make_booking):
    specialist = users["specialist"]
    make_booking(users["patient"], specialist, MONDAY.replace(hour=10))
    db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=MONDAY.date() + timedelta(days=1),
                                         reason="vacation"))
    db.session.flush()
    login_as(specialist)
    page = client.get("/specialist/calendar").get_data(as_text=True)
    assert "January 2030" in page and "<html" in page and 'id="day-panel"' in page
    assert "10:00" in page and "Blocked" in page and 'class="day blocked' in page
    fragment = client.get("/specialist/calendar?month=2030-02", headers=HX).get_data(as_text=True)
    assert "February 2030" in fragment and "<html" not in fragment and 'id="calendar-body"' in fragment
    panel = client.get("/specialist/calendar/day/2030-01-07", headers=HX).get_data(as_text=True)
    assert panel.strip().startswith('<section class="card day-panel" id="day-panel"')
    assert "Pat One" in panel and "Block time" in panel
    assert client.get("/specialist/calendar/day/2030-99-01").status_code == 404
    assert client.get("/specialist/calendar?month=nope").status_code == 404


def test_blocking_part_of_a_day_removes_those_slots_for_patients(client, users, login_as):
    specialist, patient = users["specialist"], users["patient"]
    login_as(specialist)
    response = client.post("/specialist/calendar/day/2030-01-07/exceptions", headers=HX, data={
        "span": "range", "start_time": "14:00", "end_time": "15:30", "reason": "training", "kind": "unavailable"})
    assert response.status_code == 200 and "Saved" in response.get_data(as_text=True)
    row = db.session.query(AvailabilityException).one()
    assert (row.all_day, str(row.start_time), str(row.end_time)) == (False, "14:00:00", "15:30:00")
    login_as(patient)
    page = client.get(f"/specialists/{specialist.id}").get_data(as_text=True)
    # 15:30-16:30 is free, but sessions start on the hour grid: 16:00 is the first after the block.
    assert "2030-01-07T13:00:00+00:00" in page and "2030-01-07T16:00:00+00:00" in page
    assert "2030-01-07T14:00:00+00:00" not in page and "2030-01-07T13:30:00+00:00" not in page


def test_blocking_over_bookings_lists_them_then_keeps_and_flags(client, users, login_as, make_booking):
    specialist = users["specialist"]
    booking = make_booking(users["patient"], specialist, MONDAY.replace(hour=9))
    login_as(specialist)
    form = {"span": "all_day", "reason": "sick_leave", "kind": "unavailable"}
    listing = client.post("/specialist/calendar/day/2030-01-07/exceptions", headers=HX, data=form)
    text = listing.get_data(as_text=True)
    assert "1 booked session" in text and "Pat One" in text and "Block and cancel them" in text
    assert db.session.query(AvailabilityException).count() == 0
    kept = client.post("/specialist/calendar/day/2030-01-07/exceptions", headers=HX, data={**form, "affected": "keep"})
    assert "Saved" in kept.get_data(as_text=True)
    db.session.expire_all()
    flagged = db.session.get(Booking, booking.id)
    assert flagged.status == "confirmed" and "unavailable" in flagged.attention_reason
    assert "Needs attention" in client.get("/specialist/calendar/day/2030-01-07").get_data(as_text=True)


def test_removing_an_exception_clears_the_flags_it_no_longer_explains(client, users, login_as, make_booking):
    specialist = users["specialist"]
    early = make_booking(users["patient"], specialist, MONDAY.replace(hour=9))
    late = make_booking(users["other_patient"], specialist, MONDAY.replace(hour=10, minute=30))
    login_as(specialist)
    url = "/specialist/calendar/day/2030-01-07/exceptions"
    client.post(url, headers=HX, data={"span": "range", "start_time": "10:00", "end_time": "12:00",
                                       "reason": "training", "kind": "unavailable", "affected": "keep"})
    client.post(url, headers=HX, data={"span": "all_day", "reason": "sick_leave", "kind": "unavailable",
                                       "affected": "keep"})
    db.session.expire_all()
    assert db.session.get(Booking, early.id).attention_reason and db.session.get(Booking, late.id).attention_reason
    all_day = db.session.query(AvailabilityException).filter_by(all_day=True).one()
    response = client.post(f"/specialist/calendar/exceptions/{all_day.id}/delete", headers=HX,
                           data={"day": "2030-01-07"})
    assert "Exception removed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, early.id).attention_reason is None      # back inside working time
    # the part-day block still covers it (named by its hours: its reason is the specialist's own)
    assert "10:00–12:00" in db.session.get(Booking, late.id).attention_reason
    audit = db.session.query(AuditLog).filter_by(action="availability_exception_deleted").one()
    assert audit.new_values == {"cleared_bookings": [str(early.id)]}
    page = client.get("/specialist/calendar/day/2030-01-07").get_data(as_text=True)
    assert page.count("Needs attention") == 1


def test_cancelling_affected_bookings_needs_a_reason_and_uses_the_cancellation_flow(
        client, users, login_as, make_booking):
    specialist = users["specialist"]
    booking = make_booking(users["patient"], specialist, MONDAY.replace(hour=9))
    login_as(specialist)
    form = {"span": "all_day", "reason": "sick_leave", "kind": "unavailable", "affected": "cancel"}
    missing = client.post("/specialist/calendar/day/2030-01-07/exceptions", headers=HX, data=form)
    assert "Give a reason" in missing.get_data(as_text=True)
    done = client.post("/specialist/calendar/day/2030-01-07/exceptions", headers=HX,
                       data={**form, "cancel_reason": "I am ill, sorry."})
    assert "Saved" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    assert db.session.query(AvailabilityException).count() == 1


def test_exception_form_errors_and_removal(client, users, login_as):
    specialist = users["specialist"]
    login_as(specialist)
    bad = client.post("/specialist/calendar/day/2030-01-07/exceptions", data={
        "span": "range", "start_time": "15:00", "end_time": "14:00", "reason": "training"})
    assert bad.status_code == 422 and "The end must be after the start" in bad.get_data(as_text=True)
    client.post("/specialist/calendar/day/2030-01-07/exceptions", data={"span": "all_day", "reason": "personal"})
    row = db.session.query(AvailabilityException).one()
    login_as(users["other_specialist"])
    delete_url = f"/specialist/calendar/exceptions/{row.id}/delete"
    assert client.post(delete_url, data={"day": "2030-01-07"}).status_code == 403
    login_as(specialist)
    removed = client.post(f"/specialist/calendar/exceptions/{row.id}/delete", data={"day": "2030-01-07"})
    assert removed.status_code == 302
    assert db.session.query(AvailabilityException).count() == 0


def test_hours_editor_replaces_the_week(client, users, login_as):
    specialist = users["specialist"]
    login_as(specialist)
    page = client.get("/specialist/availability").get_data(as_text=True)
    assert 'type="time" id="start0-1" name="start0" value="09:00"' in page and "Current: <strong>60 min" in page
    bad = client.post("/specialist/availability/hours", data={"start0": "9", "end0": "12:00"})
    assert bad.status_code == 422 and "9 is not a time of day (use HH:MM)." in bad.get_data(as_text=True)
    half = client.post("/specialist/availability/hours", data={"start0": ["09:00", ""], "end0": ["12:00", "15:00"]})
    assert half.status_code == 422 and "Give both a start and an end time" in half.get_data(as_text=True)
    backwards = client.post("/specialist/availability/hours", data={"start0": "12:00", "end0": "09:00"})
    assert backwards.status_code == 422 and "Each range must end after it starts." in backwards.get_data(as_text=True)
    assert len(working_hours_of(specialist.id)) == 5  # nothing changed by the refusals
    assert client.post("/specialist/availability/hours", data={
        "start0": ["08:00", "13:00", ""], "end0": ["12:00", "16:00", ""], "start5": "10:00", "end5": "12:00"},
    ).status_code == 302
    rows = db.session.query(WorkingHours).filter_by(specialist_id=specialist.id).order_by(
        WorkingHours.weekday, WorkingHours.start_time).all()
    assert [(r.weekday, f"{r.start_time:%H:%M}") for r in rows] == [(0, "08:00"), (0, "13:00"), (5, "10:00")]


def test_rate_form_adds_a_rate_and_refuses_bad_ones(client, users, login_as):
    specialist = users["specialist"]
    login_as(specialist)
    bad = client.post("/specialist/availability/rates", data={
        "duration_minutes": "3", "price": "-1", "currency": "dollars", "effective_from": "2030-01-10"})
    assert bad.status_code == 422 and "Between 5 and 480" in bad.get_data(as_text=True)
    ok = client.post("/specialist/availability/rates", data={
        "duration_minutes": "50", "price": "90", "currency": "gbp", "effective_from": "2030-01-10"})
    assert ok.status_code == 302
    assert db.session.query(SpecialistRate).filter_by(specialist_id=specialist.id).count() == 2
    assert "Upcoming" in client.get("/specialist/availability").get_data(as_text=True)


def test_patients_search_specialists_with_pagination(client, users, login_as, make_specialist):
    for n in range(11):
        make_specialist(name=f"Doctor {n:02d}")
    login_as(users["patient"])
    first = client.get("/specialists?q=doctor").get_data(as_text=True)
    assert "Doctor 00" in first and "Doctor 10" not in first and "Page 1 of 2" in first
    second = client.get("/specialists?q=doctor&page=2", headers=HX).get_data(as_text=True)
    assert "Doctor 10" in second and "<html" not in second
    assert "No specialist matches" in client.get("/specialists?q=zzz").get_data(as_text=True)
    assert client.get("/specialists?page=-4").status_code == 200


def test_specialist_page_shows_slots_in_patient_zone_rates_and_packages(client, users, login_as, make_user):
    from decimal import Decimal

    from portal.models import BookingPackage

    specialist = users["specialist"]
    db.session.add_all([
        BookingPackage(specialist_id=specialist.id, name="Five pack", session_count=5, price=Decimal(450)),
        BookingPackage(specialist_id=specialist.id, name="Old pack", session_count=3, price=Decimal(1),
                       is_active=False)])
    patient = make_user("patient", timezone="America/New_York")
    login_as(patient)
    page = client.get(f"/specialists/{specialist.id}").get_data(as_text=True)
    assert "Five pack" in page and "Old pack" not in page and "100.00 USD" in page
    assert "America/New York" in page
    assert ">04:00</button>" in page  # 09:00 UTC is 04:00 in New York in January
    assert client.get("/specialists/not-an-id").status_code == 404
    assert client.get(f"/specialists/{patient.id}").status_code == 404


def test_an_unconfirmed_address_sees_the_times_and_how_to_book_not_buttons(client, users, login_as, make_user):
    patient = make_user("patient")
    patient.email_confirmed_at = None
    db.session.flush()
    login_as(patient)
    page = client.get(f"/specialists/{users['specialist'].id}").get_data(as_text=True)
    assert "Confirm your e-mail to book." in page and f"We sent a link to {patient.email}" in page
    assert '<span class="slot">09:00</span>' in page and 'class="btn slot"' not in page


def test_booking_a_slot_shows_the_booking_in_place_of_the_times(client, users, login_as):
    specialist, patient = users["specialist"], users["patient"]
    login_as(patient)
    response = client.post(f"/specialists/{specialist.id}/book", headers=HX,
                           data={"starts_at": "2030-01-07T10:00:00+00:00"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and text.strip().startswith('<div id="slot-list"') and "Booked" in text
    assert "2030-01-07T10:00:00+00:00" not in text and 'class="btn slot"' not in text
    booking = db.session.query(Booking).one()
    panel = text[text.index('id="booking-done"'):]
    assert "Monday 07 January 2030, 10:00–11:00 (UTC)" in panel and "In person" in panel and "Session" in panel
    assert f'href="/bookings/{booking.id}"' in panel and f'href="/bookings/{booking.id}/calendar.ics"' in panel
    assert f"/specialists/{specialist.id}?week=2030-01-07&amp;service={booking.service_id}" in panel
    assert (booking.patient_id, booking.price) == (patient.id, 100)
    again = client.post(f"/specialists/{specialist.id}/book", headers=HX,
                        data={"starts_at": "2030-01-07T10:00:00+00:00"})
    assert "already" in again.get_data(as_text=True)
    plain = client.post(f"/specialists/{specialist.id}/book", data={"starts_at": "garbage"})
    assert plain.status_code == 422
    past = client.post(f"/specialists/{specialist.id}/book", data={"starts_at": "2020-01-06T10:00:00+00:00"})
    assert past.status_code == 422  # a form error, whatever the refusal (was 409)
    book_url = f"/specialists/{specialist.id}/book"
    redirect = client.post(book_url, data={"starts_at": "2030-01-08T10:00:00+00:00"})
    assert redirect.status_code == 302 and "/bookings/" in redirect.location


def test_specialist_and_patient_pages_refuse_other_roles(client, users, login_as):
    login_as(users["patient"])
    assert client.get("/specialist/calendar").status_code == 403
    login_as(users["specialist"])
    assert client.get("/patient/").status_code == 403


def test_calendar_feed_lists_bookings_and_revoking_kills_the_old_link(client, users, login_as, make_booking):
    from icalendar import Calendar

    booking = make_booking(users["patient"], users["specialist"], MONDAY.replace(hour=10))
    login_as(users["patient"])
    page = client.get("/account").get_data(as_text=True)
    url = page.split('readonly value="')[1].split('"')[0]
    path = url.split("localhost", 1)[1]
    feed = client.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    event = Calendar.from_ical(feed.data).walk("VEVENT")[0]
    assert str(event["uid"]).startswith(str(booking.id)) and "Spec One" in str(event["summary"])
    assert event.decoded("dtstart") == booking.starts_at
    assert client.post("/calendar-feed/revoke").status_code == 302
    assert client.get(path).status_code == 404
    assert client.get("/calendar/forged.ics").status_code == 404
    new_page = client.get("/account").get_data(as_text=True)
    assert url not in new_page
