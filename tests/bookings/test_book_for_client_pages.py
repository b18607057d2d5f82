"""Staff book a client in from the pages: find the patient, (an admin) the specialist, a free time, confirm."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, SpecialistProfile

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)
SLOT = "2030-01-07T10:00:00+00:00"


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def test_a_specialist_finds_their_own_patients_and_others_only_by_exact_email(login_as, users, make_booking,
                                                                              make_user):
    make_booking(users["patient"], users["specialist"], NOW - timedelta(days=20))
    stranger = make_user("patient", name="Sam Stranger", email="sam@example.test")
    client = login_as(users["specialist"])
    assert "Pat One" in client.get("/bookings/new", query_string={"q": "pat"}).text
    listing = client.get("/bookings/new", query_string={"q": "sam"}).text
    assert "Sam Stranger" not in listing and "No patient matches" in listing
    exact = client.get("/bookings/new", query_string={"q": "SAM@example.test"}).text
    assert f"patient={stranger.id}" in exact


def test_a_specialist_books_a_client_past_their_own_notice_rule(login_as, users):
    db.session.get(SpecialistProfile, users["specialist"].id).min_notice_hours = 72
    db.session.commit()
    client = login_as(users["specialist"])
    patient = users["patient"]
    picker = client.get("/bookings/new", query_string={"patient": patient.id}).text
    assert f'value="{SLOT}"' in picker  # staff see times the notice rule would hide from the patient
    confirm = client.get("/bookings/new/confirm", query_string={"patient": patient.id, "starts_at": SLOT}).text
    assert "Book the session" in confirm and "Pat One" in confirm
    response = client.post("/bookings/new", data={"patient": str(patient.id), "starts_at": SLOT})
    assert response.status_code == 302
    booking = db.session.scalars(sa.select(Booking).where(Booking.patient_id == patient.id)).one()
    assert booking.specialist_id == users["specialist"].id and response.location.endswith(f"/bookings/{booking.id}")
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_created")).one()
    assert audit.actor_id == users["specialist"].id and audit.new_values["rules_overridden"] == ["TOO_SHORT_NOTICE"]


def test_an_admin_chooses_the_specialist_too(login_as, users):
    client = login_as(users["admin"])
    patient, specialist = users["other_patient"], users["other_specialist"]
    assert "Pat Two" in client.get("/bookings/new", query_string={"q": "two"}).text
    chooser = client.get("/bookings/new", query_string={"patient": patient.id}).text
    assert "Spec Two" in chooser and 'name="specialist"' in chooser
    response = client.post("/bookings/new", data={"patient": str(patient.id), "specialist": str(specialist.id),
                                                  "starts_at": SLOT})
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Booking.specialist_id).where(Booking.patient_id == patient.id)).one() == \
        specialist.id


def test_a_taken_time_is_refused_in_words(login_as, users, make_booking):
    make_booking(users["other_patient"], users["specialist"], MONDAY + timedelta(hours=10))
    response = login_as(users["specialist"]).post("/bookings/new", data={"patient": str(users["patient"].id),
                                                                         "starts_at": SLOT})
    assert response.status_code == 422 and "already has a booking at that time" in response.text


@pytest.mark.parametrize("who", ["patient", "ops"])
def test_patients_and_ops_cannot_book_clients(login_as, users, who):
    assert login_as(users[who]).get("/bookings/new").status_code == 403
