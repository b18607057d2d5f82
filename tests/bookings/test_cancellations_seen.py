"""Cancellations both parties can read (pages, lists, API), and staff cancelling for them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation
from portal.services.cancellations import booking_cancel

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture
def cancelled_by_patient(users, make_booking):
    booking = make_booking(users["patient"], users["specialist"],
                           clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2))
    booking_cancel(actor=users["patient"], booking_id=booking.id, reason="Flu, staying home")
    db.session.commit()
    return booking


def test_both_parties_lists_say_who_cancelled_and_when(login_as, users, cancelled_by_patient):
    booking = cancelled_by_patient
    own = login_as(users["patient"]).get("/patient/").get_data(as_text=True)
    row = own[own.index(f'id="booking-{booking.id}"'):]
    row = row[:row.index("</tr>")]
    assert "Cancelled by you" in row and "<time datetime=" in row
    theirs = login_as(users["specialist"]).get("/specialist/").get_data(as_text=True)
    row = theirs[theirs.index(f'id="booking-{booking.id}"'):]
    row = row[:row.index("</tr>")]
    assert "Cancelled by the patient" in row
    assert "Flu, staying home" not in row  # lists say who and when; the reason is on the booking page


def test_the_booking_page_shows_who_when_and_why_to_the_other_party(login_as, users, cancelled_by_patient):
    html = login_as(users["specialist"]).get(f"/bookings/{cancelled_by_patient.id}").get_data(as_text=True)
    assert "<dt>Cancelled by</dt>" in html and "The patient" in html
    assert "<dt>Reason</dt>" in html and "Flu, staying home" in html
    mine = login_as(users["patient"]).get(f"/bookings/{cancelled_by_patient.id}").get_data(as_text=True)
    assert "You" in mine and "Flu, staying home" in mine


def test_the_api_gives_its_parties_the_cancellation(client, users, api_headers, cancelled_by_patient):
    url = f"/api/v1/bookings/{cancelled_by_patient.id}"
    for who in ("patient", "specialist", "admin"):
        body = client.get(url, headers=api_headers(users[who])).json
        assert body["status"] == "cancelled"
        assert body["cancellation"]["cancelled_by"] == str(users["patient"].id)
        assert body["cancellation"]["cancelled_by_role"] == "patient"
        assert body["cancellation"]["reason"] == "Flu, staying home"
        assert body["cancellation"]["cancellation_policy_applied"] == "no_refund"
        assert body["cancellation"]["created_at"].endswith("+00:00")
    assert client.get(url, headers=api_headers(users["other_patient"])).status_code == 404


def test_an_active_booking_has_no_cancellation_in_the_api(client, users, api_headers, make_booking):
    booking = make_booking(users["patient"], users["specialist"])
    body = client.get(f"/api/v1/bookings/{booking.id}", headers=api_headers(users["patient"])).json
    assert body["cancellation"] is None


def test_admin_blocking_a_sick_specialists_day_cancels_the_affected_bookings(client, users, api_headers,
                                                                              make_booking):
    """An admin's exception over a sick specialist's day cancels their bookings as staff, in the admin's name."""
    with clock.frozen(MONDAY - timedelta(days=1)):
        booking = make_booking(users["patient"], users["specialist"], MONDAY.replace(hour=10))
        response = client.post("/api/v1/availability-exceptions", headers=api_headers(users["admin"]), json={
            "specialist_id": str(users["specialist"].id), "exception_date": "2030-01-07", "reason": "sick_leave",
            "affected": "cancel", "cancel_reason": "Your specialist is ill; we will call you to rebook."})
    assert response.status_code == 201, response.json
    assert response.json["affected_booking_ids"] == [str(booking.id)]
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    record = db.session.scalar(sa.select(BookingCancellation).where(BookingCancellation.booking_id == booking.id))
    assert record.cancelled_by == users["admin"].id and record.party == "staff"
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "booking_cancelled",
                                                        AuditLog.entity_id == str(booking.id)))
    assert audit.actor_id == users["admin"].id and audit.new_values["cancelled_as"] == "staff"


def test_the_spec_function_keeps_its_rule_for_admins(client, users, api_headers, make_booking):
    booking = make_booking(users["patient"], users["specialist"])
    response = client.post("/functions/booking-cancel", headers=api_headers(users["admin"]),
                           json={"booking_id": str(booking.id), "reason": "x"})
    assert response.status_code == 403 and response.json["error"] == "FORBIDDEN"
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "confirmed"
