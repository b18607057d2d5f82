"""POST /api/v1/bookings/<id>/reschedule: the same booking at a new time, under every rule a new
booking meets, with one mail per party whose invitation moves the calendar event."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingStatusHistory, Outbox, SpecialistProfile
from portal.services.ics import booking_invitation, booking_uid
from portal.services.mail_context import build

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)  # the fixtures' specialists work 09:00-17:00 UTC on weekdays
NOW = MONDAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def at(hour: int, minute: int = 0, day: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def move(client, headers, booking, starts_at, **extra):
    body = {"starts_at": starts_at.isoformat() if isinstance(starts_at, datetime) else starts_at, **extra}
    return client.post(f"/api/v1/bookings/{booking.id}/reschedule", json=body, headers=headers)


@pytest.fixture
def booked(users, make_booking):
    return make_booking(users["patient"], users["specialist"], at(10))


def test_the_patient_moves_a_session_and_it_stays_the_same_booking(client, users, api_headers, booked):
    response = move(client, api_headers(users["patient"]), booked, at(14), reason="A school run")
    assert response.status_code == 200
    body = response.json
    assert body["id"] == str(booked.id) and body["status"] == "confirmed"
    assert body["starts_at"] == "2030-01-07T14:00:00+00:00" and body["ends_at"] == "2030-01-07T15:00:00+00:00"
    [history] = db.session.scalars(sa.select(BookingStatusHistory).where(
        BookingStatusHistory.booking_id == booked.id, BookingStatusHistory.to_starts_at.is_not(None))).all()
    assert (history.from_starts_at, history.to_starts_at, history.changed_by) == (at(10), at(14), users["patient"].id)
    assert history.reason == "A school run"
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_rescheduled")).one()
    assert audit.actor_id == users["patient"].id and audit.new_values["moved_as"] == "patient"
    assert audit.old_values["starts_at"].startswith("2030-01-07T10:00") and "school" not in str(audit.new_values)


def test_the_old_time_is_free_at_once(client, users, api_headers, booked):
    assert move(client, api_headers(users["patient"]), booked, at(14)).status_code == 200
    taken = client.post("/api/v1/bookings", headers=api_headers(users["other_patient"]),
                        json={"specialist_id": str(users["specialist"].id), "starts_at": at(10).isoformat()})
    assert taken.status_code == 201


def test_both_parties_get_one_mail_whose_invitation_moves_the_event(client, users, api_headers, booked):
    first = Calendar.from_ical(booking_invitation(booked, method="REQUEST")[2])
    assert move(client, api_headers(users["specialist"]), booked, at(11)).status_code == 200
    assert move(client, api_headers(users["specialist"]), booked, at(15)).status_code == 200
    mails = db.session.scalars(sa.select(Outbox).where(Outbox.template == "booking_moved")).all()
    assert sorted((m.recipient_id, m.about["sequence"]) for m in mails) == sorted(
        (party, n) for party in (users["patient"].id, users["specialist"].id) for n in (1, 2))
    latest = [m for m in mails if m.about["sequence"] == 2 and m.recipient_id == users["patient"].id][0]
    content = build("booking_moved", recipient=users["patient"], about=latest.about)
    assert "moved" in content.subject.lower() and "15:00" in content.subject
    calendar = Calendar.from_ical(content.attachments[0].data)
    [event], [original] = calendar.walk("VEVENT"), first.walk("VEVENT")
    assert calendar["method"] == "REQUEST" and str(event["uid"]) == str(original["uid"]) == booking_uid(booked)
    assert (original["sequence"], event["sequence"]) == (0, 2)
    assert event.decoded("dtstart") == at(15)
    cancel = Calendar.from_ical(booking_invitation(db.session.get(Booking, booked.id), method="CANCEL")[2])
    assert cancel.walk("VEVENT")[0]["sequence"] == 3  # a withdrawal outranks every invitation sent


def test_a_mail_overtaken_by_a_second_move_is_not_sent(client, users, api_headers, booked):
    from portal.services.mail_context import MailObsolete

    move(client, api_headers(users["patient"]), booked, at(11))
    move(client, api_headers(users["patient"]), booked, at(15))
    with pytest.raises(MailObsolete):
        build("booking_moved", recipient=users["patient"], about={"booking_id": str(booked.id), "sequence": 1})


def test_a_patient_inside_the_late_window_is_told_to_contact_the_clinic(client, users, api_headers, booked):
    db.session.get(SpecialistProfile, users["specialist"].id).late_cancel_notice_hours = 48
    db.session.commit()
    response = move(client, api_headers(users["patient"]), booked, at(14))
    assert response.status_code == 409 and response.json["error"] == "LATE_RESCHEDULE"
    assert "contact the clinic" in response.json["message"]
    assert db.session.get(Booking, booked.id).starts_at == at(10)
    assert move(client, api_headers(users["specialist"]), booked, at(14)).status_code == 200


def test_a_patient_moves_within_the_booking_rules_and_staff_may_step_past_them(client, users, api_headers,
                                                                                make_booking):
    booking = make_booking(users["patient"], users["specialist"], at(10, day=2))
    profile = db.session.get(SpecialistProfile, users["specialist"].id)
    profile.min_notice_hours, profile.late_cancel_notice_hours = 48, 0
    db.session.commit()
    refused = move(client, api_headers(users["patient"]), booking, at(9))  # 33 hours' notice
    assert refused.status_code == 409 and refused.json["error"] == "TOO_SHORT_NOTICE"
    assert move(client, api_headers(users["admin"]), booking, at(9)).status_code == 200
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_rescheduled")).one()
    assert audit.new_values["rules_overridden"] == ["TOO_SHORT_NOTICE"] and audit.new_values["moved_as"] == "staff"


def test_the_upcoming_limit_does_not_count_the_session_being_moved(client, users, api_headers, booked):
    db.session.get(SpecialistProfile, users["specialist"].id).max_upcoming_per_patient = 1
    db.session.commit()
    assert move(client, api_headers(users["patient"]), booked, at(13)).status_code == 200


@pytest.mark.parametrize("starts_at, code", [
    (at(18), "SLOT_UNAVAILABLE"),  # after hours
    (at(10, day=5), "SLOT_UNAVAILABLE"),  # a Saturday
    (at(12), "SLOT_UNAVAILABLE"),  # the specialist's other session
    (at(15), "SLOT_UNAVAILABLE"),  # the patient's session with someone else
])
def test_a_time_a_new_booking_could_not_take_is_refused(client, users, api_headers, make_booking, booked,
                                                         starts_at, code):
    make_booking(users["other_patient"], users["specialist"], at(12))
    make_booking(users["patient"], users["other_specialist"], at(15))
    response = move(client, api_headers(users["patient"]), booked, starts_at)
    assert response.status_code == 409 and response.json["error"] == code
    assert db.session.get(Booking, booked.id).starts_at == at(10)


def test_a_session_may_move_into_part_of_its_own_time(client, users, api_headers, booked):
    db.session.get(SpecialistProfile, users["specialist"].id).slot_interval_minutes = 30  # 10:30 on the grid
    response = move(client, api_headers(users["patient"]), booked, at(10, 30))
    assert response.status_code == 200 and response.json["ends_at"] == "2030-01-07T11:30:00+00:00"


@pytest.mark.parametrize("who, status", [("other_patient", 404), ("other_specialist", 404), ("ops", 404)])
def test_people_outside_the_booking_cannot_move_it(client, users, api_headers, booked, who, status):
    assert move(client, api_headers(users[who]), booked, at(14)).status_code == status


def test_cancelled_started_and_unchanged_sessions_answer_with_codes(client, users, api_headers, make_booking):
    headers = api_headers(users["patient"])
    cancelled = make_booking(users["patient"], users["specialist"], at(10), status="cancelled")
    assert move(client, headers, cancelled, at(14)).json["error"] == "ALREADY_CANCELLED"
    started = make_booking(users["patient"], users["specialist"], NOW - timedelta(minutes=30))
    response = move(client, headers, started, at(14))
    assert response.status_code == 422 and response.json["error"] == "BOOKING_IN_PAST"
    upcoming = make_booking(users["patient"], users["specialist"], at(11))
    assert move(client, headers, upcoming, at(11)).json["error"] == "SAME_TIME"
    naive = move(client, headers, upcoming, "2030-01-07T14:00:00")
    assert naive.status_code in (400, 422) and db.session.get(Booking, upcoming.id).starts_at == at(11)


def test_moving_keeps_the_package_credit(client, users, api_headers, make_booking):
    from portal.models import PackageEnrolment

    enrolment = PackageEnrolment(patient_id=users["patient"].id, specialist_id=users["specialist"].id,
                                 package_name="Five", status="active", credits_total=5, credits_used=1,
                                 price=400, currency="USD")
    db.session.add(enrolment)
    db.session.flush()
    booking = make_booking(users["patient"], users["specialist"], at(10), package_enrolment_id=enrolment.id)
    moved = move(client, api_headers(users["patient"]), booking, at(16))
    assert moved.json["package_enrolment_id"] == str(enrolment.id)
    assert db.session.get(PackageEnrolment, enrolment.id).credits_used == 1


def test_a_moved_session_is_reminded_of_again_at_its_new_time(client, users, api_headers, make_booking):
    from portal.services.reminders import reminders_queue

    soon = make_booking(users["patient"], users["specialist"], at(10))
    db.session.get(SpecialistProfile, users["specialist"].id).late_cancel_notice_hours = 0
    with clock.frozen(at(9)):
        assert reminders_queue() == 2
        assert move(client, api_headers(users["patient"]), soon, at(15)).status_code == 200
        assert reminders_queue() == 2  # each party again, for the new time
        assert reminders_queue() == 0
