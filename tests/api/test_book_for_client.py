"""POST /api/v1/bookings with patient_id: a specialist books a client on their own calendar,
an admin any patient with any specialist; rules may be stepped past (recorded), overlaps never."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingStatusHistory, Outbox, SpecialistProfile

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def book(client, headers, specialist, patient, starts_at, **extra):
    return client.post("/api/v1/bookings", headers=headers, json={
        "specialist_id": str(specialist.id), "patient_id": str(patient.id), "starts_at": starts_at.isoformat(),
        **extra})


def test_a_specialist_books_any_active_patient_on_their_own_calendar(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]  # they have never met
    response = book(client, api_headers(specialist), specialist, patient, MONDAY + timedelta(hours=10))
    assert response.status_code == 201
    booking = db.session.get(Booking, uuid.UUID(response.json["id"]))
    assert (booking.patient_id, booking.specialist_id, booking.status) == (patient.id, specialist.id, "confirmed")
    history = db.session.scalars(sa.select(BookingStatusHistory).where(
        BookingStatusHistory.booking_id == booking.id)).one()
    assert history.changed_by == specialist.id
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_created")).one()
    assert audit.actor_id == specialist.id and audit.new_values["patient_id"] == str(patient.id)
    mails = db.session.scalars(sa.select(Outbox).where(Outbox.template == "booking_confirmed")).all()
    assert {m.recipient_id for m in mails} == {patient.id, specialist.id}


def test_an_admin_books_any_patient_with_any_specialist(client, users, api_headers):
    response = book(client, api_headers(users["admin"]), users["other_specialist"], users["other_patient"],
                    MONDAY + timedelta(hours=11))
    assert response.status_code == 201 and response.json["patient_id"] == str(users["other_patient"].id)


@pytest.mark.parametrize("who", ["specialist", "patient"])
def test_nobody_else_books_on_another_calendar_or_for_another_patient(client, users, api_headers, who):
    response = book(client, api_headers(users[who]), users["other_specialist"], users["other_patient"],
                    MONDAY + timedelta(hours=10))
    assert response.status_code == 403 and response.json["error"] == "FORBIDDEN"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


@pytest.mark.parametrize("patient_key", ["admin", "other_specialist", "missing"])
def test_only_patients_can_be_booked(client, users, api_headers, patient_key):
    target = users.get(patient_key) or type("Nobody", (), {"id": uuid.uuid4()})()
    response = book(client, api_headers(users["specialist"]), users["specialist"], target, MONDAY + timedelta(hours=10))
    assert response.status_code == 404 and response.json["error"] == "NOT_FOUND"


def test_a_deactivated_patient_cannot_be_booked(client, users, api_headers):
    users["patient"].is_active = False
    db.session.commit()
    response = book(client, api_headers(users["specialist"]), users["specialist"], users["patient"],
                    MONDAY + timedelta(hours=10))
    assert response.status_code == 404


def test_staff_may_step_past_the_rules_with_a_record_but_never_an_overlap(client, users, api_headers, make_booking):
    specialist = users["specialist"]
    db.session.get(SpecialistProfile, specialist.id).min_notice_hours = 72
    db.session.commit()
    headers = api_headers(specialist)
    refused = book(client, headers, specialist, users["patient"], MONDAY + timedelta(hours=10))
    assert refused.status_code == 409 and refused.json["error"] == "TOO_SHORT_NOTICE"
    booked = book(client, headers, specialist, users["patient"], MONDAY + timedelta(hours=10), override_rules=True)
    assert booked.status_code == 201
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_created")).one()
    assert audit.new_values["rules_overridden"] == ["TOO_SHORT_NOTICE"]
    clash = book(client, headers, specialist, users["other_patient"], MONDAY + timedelta(hours=10, minutes=30),
                 override_rules=True)
    assert clash.status_code == 409 and clash.json["error"] == "SLOT_UNAVAILABLE"


def test_a_specialist_cannot_override_another_calendars_rules(client, users, api_headers):
    response = book(client, api_headers(users["specialist"]), users["other_specialist"], users["patient"],
                    MONDAY + timedelta(hours=10), override_rules=True)
    assert response.status_code == 403
