"""POST /api/v1/bookings/<id>/attendance, and the nightly completion of past sessions."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingStatusHistory, PackageEnrolment

NOW = datetime(2030, 1, 9, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def mark(client, headers, booking, status):
    return client.post(f"/api/v1/bookings/{booking.id}/attendance", json={"status": status}, headers=headers)


def test_the_specialist_marks_a_no_show_and_may_change_it_to_completed(client, users, api_headers, make_booking):
    booking = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=2))
    headers = api_headers(users["specialist"])
    response = mark(client, headers, booking, "no_show")
    assert response.status_code == 200 and response.json["status"] == "no_show"
    assert mark(client, headers, booking, "no_show").json["status"] == "no_show"  # again: nothing changes
    assert mark(client, api_headers(users["admin"]), booking, "completed").json["status"] == "completed"
    history = db.session.scalars(sa.select(BookingStatusHistory).where(BookingStatusHistory.booking_id == booking.id,
                                                                       BookingStatusHistory.from_status.is_not(None)))
    assert sorted((h.from_status, h.to_status) for h in history) == [("confirmed", "no_show"), ("no_show", "completed")]
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_attendance_set")).all()
    assert sorted((a.new_values["status"], a.actor_id) for a in audit) == [
        ("completed", users["admin"].id), ("no_show", users["specialist"].id)]


def test_before_the_session_starts_the_answer_is_not_started(client, users, api_headers, make_booking):
    booking = make_booking(users["patient"], users["specialist"], NOW + timedelta(minutes=5))
    response = mark(client, api_headers(users["specialist"]), booking, "completed")
    assert response.status_code == 409 and response.json["error"] == "NOT_STARTED"
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_attendance_is_changeable_for_seven_days(client, users, api_headers, make_booking):
    headers = api_headers(users["specialist"])
    recent = make_booking(users["patient"], users["specialist"], NOW - timedelta(days=7, hours=-2))
    old = make_booking(users["patient"], users["specialist"], NOW - timedelta(days=8))
    assert mark(client, headers, recent, "no_show").status_code == 200
    response = mark(client, headers, old, "no_show")
    assert response.status_code == 409 and response.json["error"] == "ATTENDANCE_CLOSED"


@pytest.mark.parametrize("who, status", [("patient", 403), ("other_specialist", 404), ("ops", 404)])
def test_only_the_specialist_or_an_admin_records_attendance(client, users, api_headers, make_booking, who, status):
    booking = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=2))
    assert mark(client, api_headers(users[who]), booking, "no_show").status_code == status
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_bad_values_and_cancelled_sessions_are_refused(client, users, api_headers, make_booking):
    headers = api_headers(users["specialist"])
    booking = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=2), status="cancelled")
    assert mark(client, headers, booking, "no_show").json["error"] == "ALREADY_CANCELLED"
    assert mark(client, headers, booking, "cancelled").status_code in (400, 422)


def test_a_no_show_keeps_its_package_credit_used(client, users, api_headers, make_booking):
    enrolment = PackageEnrolment(patient_id=users["patient"].id, specialist_id=users["specialist"].id,
                                 package_name="Five", status="active", credits_total=5, credits_used=1,
                                 price=400, currency="USD")
    db.session.add(enrolment)
    db.session.flush()
    booking = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=2),
                           package_enrolment_id=enrolment.id)
    assert mark(client, api_headers(users["specialist"]), booking, "no_show").status_code == 200
    assert db.session.get(PackageEnrolment, enrolment.id).credits_used == 1


def test_the_nightly_job_completes_sessions_ended_a_day_ago_once(app, runner, users, make_booking):
    from portal.jobs.tasks import complete_past_sessions_job

    ended_long_ago = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=30))
    ended_lately = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=20))
    missed = make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=50), status="no_show")
    cancelled = make_booking(users["other_patient"], users["specialist"], NOW - timedelta(hours=30),
                             status="cancelled")
    assert complete_past_sessions_job() == {"count": 1}
    assert complete_past_sessions_job() == {"count": 0}  # idempotent
    db.session.expire_all()
    statuses = {b: db.session.get(Booking, b.id).status for b in (ended_long_ago, ended_lately, missed, cancelled)}
    assert list(statuses.values()) == ["completed", "confirmed", "no_show", "cancelled"]
    history = db.session.scalars(sa.select(BookingStatusHistory).where(
        BookingStatusHistory.booking_id == ended_long_ago.id, BookingStatusHistory.to_status == "completed")).all()
    assert len(history) == 1 and history[0].changed_by is None
    with clock.frozen(NOW + timedelta(hours=6)):
        result = runner.invoke(args=["complete-past-sessions"])
    assert result.exit_code == 0 and "Sessions marked completed: 1" in result.output
    db.session.expire_all()
    assert db.session.get(Booking, ended_lately.id).status == "completed"


def test_auto_complete_hours_is_a_setting(app, users, make_booking, monkeypatch):
    from portal.services.attendance import bookings_complete_past

    monkeypatch.setitem(app.config, "AUTO_COMPLETE_HOURS", 72)
    make_booking(users["patient"], users["specialist"], NOW - timedelta(hours=30))
    assert bookings_complete_past() == 0
