"""Pages whose forms answer bad text themselves: a NUL or an over-long value is an error shown in
the form (422), not a 400 page, and nothing is written."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.domain.inputs import MAX_NAME, MAX_REASON
from portal.extensions import db
from portal.models import (
    Booking,
    BookingPackage,
    MeetingRecording,
    PackageEnrolment,
    RecurringBooking,
    SessionNote,
    SessionNoteAmendment,
)
from portal.services.enrolments import REFERENCE_MAX
from tests.conftest import keep_fixture_rows

NUL = "\x00"
CONTROL = "Remove the control characters"
PACKAGE = {"name": "Four-pack", "description": "", "session_count": "4", "price": "300.00", "currency": "USD",
           "discount_percentage": "0", "valid_for_days": ""}


def bad_values(limit: int) -> list[tuple[str, str]]:
    """(value, what the form says about it): a NUL, and one character too many."""
    return [(f"bad{NUL}value", CONTROL), ("x" * (limit + 1), f"Use at most {limit:,} characters")]


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def package(users):
    package = BookingPackage(specialist_id=users["specialist"].id, name="Three-pack", session_count=3,
                             price=Decimal("250.00"), currency="USD", valid_for_days=10)
    db.session.add(package)
    keep_fixture_rows()
    return package


@pytest.fixture
def enrolment(users, package):
    enrolment = PackageEnrolment(patient_id=users["patient"].id, package_id=package.id,
                                 specialist_id=package.specialist_id, package_name=package.name, credits_total=3,
                                 price=package.price, currency="USD", validity_days=10, status="pending_payment")
    db.session.add(enrolment)
    keep_fixture_rows()
    return enrolment


@pytest.mark.parametrize("value, message", bad_values(MAX_NAME))
def test_a_specialist_creating_a_package_sees_bad_text_in_the_form(client, login_as, users, value, message):
    login_as(users["specialist"])
    response = client.post("/specialist/packages", data=PACKAGE | {"name": value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True) and 'id="new-name-error"' in response.get_data(as_text=True)
    assert count(BookingPackage) == 0


@pytest.mark.parametrize("value, message", bad_values(MAX_NAME))
def test_an_admin_creating_a_package_sees_bad_text_in_the_form(client, login_as, users, value, message):
    login_as(users["admin"])
    response = client.post("/admin/packages", data=PACKAGE | {"specialist_id": value})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(BookingPackage) == 0


@pytest.mark.parametrize("value, message", bad_values(5000))
def test_editing_a_package_with_bad_text_keeps_it_as_it_was(client, login_as, users, package, value, message):
    login_as(users["specialist"])
    response = client.post(f"/specialist/packages/{package.id}", data=PACKAGE | {"description": value})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (package.name, package.description, package.session_count) == ("Three-pack", "", 3)


@pytest.mark.parametrize("who", ["specialist", "admin"])
@pytest.mark.parametrize("value, message", bad_values(REFERENCE_MAX))
def test_a_payment_reference_with_bad_text_leaves_the_enrolment_pending(client, login_as, users, enrolment, who,
                                                                        value, message):
    login_as(users[who])
    response = client.post(f"/{who}/enrolments/{enrolment.id}/paid", data={"reference": value})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (enrolment.status, enrolment.payment_reference) == ("pending_payment", None)


@pytest.mark.parametrize("field, value, message", [
    ("reason", *bad_values(MAX_REASON)[0]), ("reason", *bad_values(MAX_REASON)[1]),
    ("from_date", f"2030-01-14{NUL}", CONTROL), ("from_date", "2030-01-14" + " " * 30, "Use at most 20 characters"),
])
def test_cancelling_following_sessions_with_bad_text_changes_nothing(client, login_as, users, make_booking, field,
                                                                     value, message):
    start = date.today() + timedelta(days=7)
    series = RecurringBooking(user_id=users["patient"].id, specialist_id=users["specialist"].id, frequency="weekly",
                              start_date=start, time_of_day=time(10), is_active=True, next_booking_date=start)
    db.session.add(series)
    db.session.flush()
    make_booking(users["patient"], users["specialist"], datetime.combine(start, time(10), tzinfo=UTC),
                 recurring_booking_id=series.id, occurrence_date=start)
    login_as(users["patient"])
    data = {"from_date": start.isoformat(), "reason": "Moving away"} | {field: value}
    response = client.post(f"/recurring/{series.id}/cancel-following", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert series.end_date is None and db.session.scalars(sa.select(Booking.status)).all() == ["confirmed"]


@pytest.fixture
def past_booking(users, make_booking):
    return make_booking(users["patient"], users["specialist"], datetime.now(UTC).replace(microsecond=0)
                        - timedelta(hours=2))


@pytest.mark.parametrize("field, value, message", [
    ("notes", f"Calmer{NUL}", CONTROL), ("follow_up_actions", "x" * 20_001, "Use at most 20,000 characters"),
    ("mood_level", f"7{NUL}", CONTROL), ("extra", f"sleep: 6{NUL}", CONTROL),
])
def test_a_note_with_bad_text_is_shown_again_with_the_error(client, login_as, users, past_booking, field, value,
                                                            message):
    login_as(users["specialist"])
    data = {"notes": "Calmer today"} | {field: value}
    response = client.post(f"/bookings/{past_booking.id}/notes", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'name="notes"' in page
    assert count(SessionNote) == 0


def test_editing_a_note_with_bad_text_keeps_it_as_it_was(client, login_as, users, past_booking):
    from portal.services.notes import note_create

    note = note_create(actor=users["specialist"], booking_id=past_booking.id, data={"notes": "Calmer today"})
    keep_fixture_rows()
    login_as(users["specialist"])
    response = client.post(f"/bookings/notes/{note.id}", data={"notes": f"Worse{NUL}"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and CONTROL in response.get_data(as_text=True)
    db.session.expire_all()
    assert note.notes == "Calmer today"


@pytest.mark.parametrize("value, message", [(f"Also{NUL}", CONTROL), ("x" * 20_001, "Use at most 20,000 characters")])
def test_an_amendment_with_bad_text_is_shown_under_the_note(client, login_as, users, past_booking, value, message):
    from portal.services.notes import note_create

    note = note_create(actor=users["specialist"], booking_id=past_booking.id, data={"notes": "Calmer today"})
    keep_fixture_rows()
    login_as(users["specialist"])
    response = client.post(f"/bookings/notes/{note.id}/amendments", data={"text": value},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(SessionNoteAmendment) == 0


@pytest.mark.parametrize("field", ["duration_seconds", "expires_at"])
def test_a_recording_upload_with_bad_text_stores_nothing(client, login_as, users, past_booking, field):
    import io

    login_as(users["admin"])
    response = client.post(f"/bookings/{past_booking.id}/recordings",
                           data={"file": (io.BytesIO(b"\x1aE\xdf\xa3" + b"\0" * 64), "session.webm"),
                                 field: f"60{NUL}"}, content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200 and CONTROL in response.get_data(as_text=True)
    assert count(MeetingRecording) == 0


@pytest.mark.parametrize("value, message", bad_values(MAX_REASON))
def test_a_cancel_reason_with_bad_text_is_shown_in_the_dialog(client, login_as, users, make_booking, value, message):
    booking = make_booking(users["patient"], users["specialist"])
    login_as(users["patient"])
    response = client.post(f"/bookings/{booking.id}/cancel", data={"reason": value}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    dialog = response.get_data(as_text=True)
    assert message in dialog and f"cancel-dialog-{booking.id}" in dialog
    db.session.expire_all()
    assert booking.status == "confirmed"


@pytest.mark.parametrize("path, data, field, value, message", [
    ("/specialist/availability/hours", {"start0": "09:00", "end0": "17:00"}, "end0", "12:00" + " " * 30,
     "Give times as HH:MM."),
    ("/specialist/availability/hours", {"start0": "09:00", "end0": "17:00"}, "end0", f"12:00{NUL}", CONTROL),
    ("/specialist/availability/rates", {"duration_minutes": "60", "price": "80", "currency": "USD",
                                        "effective_from": "2030-01-01"}, "price", f"80{NUL}", CONTROL),
    ("/specialist/availability/booking-rules", {"max_upcoming_per_patient": "3", "min_notice_hours": "2",
                                                "booking_window_days": "60"}, "min_notice_hours", "1" * 21,
     "Use at most 20 characters"),
    ("/specialist/availability/late-cancellation", {"late_cancel_notice_hours": "24"}, "late_cancel_notice_hours",
     f"24{NUL}", CONTROL),
])
def test_hours_and_rates_forms_show_bad_text_in_place(client, login_as, users, path, data, field, value, message):
    from portal.models import SpecialistProfile, SpecialistRate, WorkingHours

    before = (count(WorkingHours), count(SpecialistRate), count(SpecialistProfile))
    login_as(users["specialist"])
    response = client.post(path, data=data | {field: value})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert (count(WorkingHours), count(SpecialistRate), count(SpecialistProfile)) == before


@pytest.mark.parametrize("field, value, message", [
    ("cancel_reason", f"Ill{NUL}", CONTROL), ("cancel_reason", "x" * (MAX_REASON + 1), "Use at most 1,000 characters"),
    ("reason", f"training{NUL}", CONTROL),
])
def test_blocking_time_with_bad_text_blocks_nothing(client, login_as, users, field, value, message):
    from portal.models import AvailabilityException

    login_as(users["specialist"])
    data = {"span": "range", "start_time": "14:00", "end_time": "15:30", "reason": "training", "kind": "unavailable",
            "affected": "cancel", "cancel_reason": "Ill"} | {field: value}
    response = client.post("/specialist/calendar/day/2030-01-07/exceptions", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(AvailabilityException) == 0


@pytest.mark.parametrize("value, message", bad_values(MAX_NAME))
def test_a_role_with_bad_text_is_shown_on_the_users_row(client, login_as, users, value, message):
    login_as(users["admin"])
    patient = users["patient"]
    response = client.post(f"/admin/users/{patient.id}/role", data={"role": value}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert patient.role == "patient"


@pytest.mark.parametrize("value, message", bad_values(500))
def test_a_slot_with_bad_text_books_nothing(client, login_as, users, value, message):
    login_as(users["patient"])
    response = client.post(f"/specialists/{users['specialist'].id}/book", data={"starts_at": value},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(Booking) == 0
