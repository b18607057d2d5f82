"""Package enrolments: taking a package, paying for it, drawing and returning credits, late cancellations, expiry."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation, BookingPackage, PackageEnrolment, SpecialistProfile
from portal.services.enrolments import enrolments_expire

MONDAY = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # the frozen "now" of most tests


@pytest.fixture(autouse=True)
def _monday():
    with clock.frozen(MONDAY):
        yield


@pytest.fixture
def package(users):
    package = BookingPackage(specialist_id=users["specialist"].id, name="Four-session block", session_count=4,
                             price=Decimal("320.00"), currency="USD", discount_percentage=Decimal("20"),
                             valid_for_days=30)
    db.session.add(package)
    db.session.flush()
    return package


def take(client, headers, package_id):
    return client.post("/api/v1/package-enrolments", json={"package_id": str(package_id)}, headers=headers)


def paid(client, headers, enrolment_id, reference="BANK-42"):
    return client.post(f"/api/v1/package-enrolments/{enrolment_id}/paid", json={"reference": reference},
                       headers=headers)


@pytest.fixture
def active(client, api_headers, users, package):
    """The patient's enrolment in the four-session package, paid on Monday."""
    enrolment_id = take(client, api_headers(users["patient"]), package.id).get_json()["id"]
    assert paid(client, api_headers(users["specialist"]), enrolment_id).status_code == 200
    return enrolment_id


def book(client, headers, specialist, starts_at: datetime, **extra):
    return client.post("/api/v1/bookings", headers=headers,
                       json={"specialist_id": str(specialist.id), "starts_at": starts_at.isoformat(), **extra})


def enrolment_json(client, headers, enrolment_id):
    return client.get(f"/api/v1/package-enrolments/{enrolment_id}", headers=headers).get_json()


def at(day: int, hour: int = 10) -> datetime:
    """A session time in the week of MONDAY (day 0 = Monday)."""
    return datetime(2027, 3, 1 + day, hour, tzinfo=UTC)


def test_taking_a_package_copies_its_terms_and_awaits_payment(client, api_headers, users, package):
    response = take(client, api_headers(users["patient"]), package.id)
    assert response.status_code == 201
    body = response.get_json()
    assert {k: body[k] for k in ("status", "credits_total", "credits_used", "credits_remaining", "price",
                                 "discount_percentage", "validity_days", "starts_on", "expires_on")} == {
        "status": "pending_payment", "credits_total": 4, "credits_used": 0, "credits_remaining": 4,
        "price": "320.00", "discount_percentage": "20.00", "validity_days": 30, "starts_on": None,
        "expires_on": None}
    package.price, package.session_count = Decimal("999.00"), 9  # later changes leave the enrolment alone
    db.session.flush()
    again = enrolment_json(client, api_headers(users["patient"]), body["id"])
    assert (again["price"], again["credits_total"]) == ("320.00", 4)


def test_only_patients_take_only_active_packages(client, api_headers, users, package):
    assert take(client, api_headers(users["specialist"]), package.id).status_code == 403
    package.is_active = False
    db.session.flush()
    response = take(client, api_headers(users["patient"]), package.id)
    assert (response.status_code, response.get_json()["error"]) == (404, "NOT_FOUND")
    assert take(client, api_headers(users["patient"]), "not-a-uuid").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PackageEnrolment)) == 0


def test_marking_paid_starts_the_validity(client, api_headers, users, package):
    enrolment_id = take(client, api_headers(users["patient"]), package.id).get_json()["id"]
    assert paid(client, api_headers(users["patient"]), enrolment_id).status_code == 403
    assert paid(client, api_headers(users["other_specialist"]), enrolment_id).status_code == 404
    blank = paid(client, api_headers(users["admin"]), enrolment_id, reference="  ")
    assert (blank.status_code, blank.get_json()["error"], list(blank.get_json()["fields"])) == (
        400, "INVALID_REQUEST", ["reference"])
    response = paid(client, api_headers(users["admin"]), enrolment_id)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["starts_on"], body["expires_on"], body["payment_reference"]) == (
        "active", "2027-03-01", "2027-03-31", "BANK-42")
    twice = paid(client, api_headers(users["admin"]), enrolment_id)
    assert (twice.status_code, twice.get_json()["error"]) == (409, "INVALID_STATE")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "package_enrolment_paid")) == 1


def test_admins_cancel_only_unpaid_enrolments(client, api_headers, users, package, active):
    pending = take(client, api_headers(users["patient"]), package.id).get_json()["id"]
    assert client.post(f"/api/v1/package-enrolments/{pending}/cancel",
                       headers=api_headers(users["specialist"])).status_code == 403
    response = client.post(f"/api/v1/package-enrolments/{pending}/cancel", headers=api_headers(users["admin"]))
    assert (response.status_code, response.get_json()["status"]) == (200, "cancelled")
    refused = client.post(f"/api/v1/package-enrolments/{active}/cancel", headers=api_headers(users["admin"]))
    assert (refused.status_code, refused.get_json()["error"]) == (409, "INVALID_STATE")


def test_who_sees_which_enrolments(client, api_headers, users, package, active):
    def listed(role):
        body = client.get("/api/v1/package-enrolments", headers=api_headers(users[role])).get_json()
        return [item["id"] for item in body["items"]]

    assert listed("patient") == listed("specialist") == listed("admin") == [active]
    assert listed("other_patient") == listed("other_specialist") == []
    for role in ("other_patient", "other_specialist", "ops"):
        assert client.get(f"/api/v1/package-enrolments/{active}",
                          headers=api_headers(users[role])).status_code == 404


def test_a_booking_draws_a_credit_unless_the_patient_pays_singly(client, api_headers, users, active):
    headers = api_headers(users["patient"])
    first = book(client, headers, users["specialist"], at(2))
    assert first.status_code == 201 and first.get_json()["package_enrolment_id"] == active
    single = book(client, headers, users["specialist"], at(3), use_package=False)
    assert single.status_code == 201 and single.get_json()["package_enrolment_id"] is None
    other = book(client, headers, users["other_specialist"], at(4))  # another specialist: no credit
    assert other.get_json()["package_enrolment_id"] is None
    body = enrolment_json(client, headers, active)
    assert (body["credits_used"], body["credits_remaining"]) == (1, 3)


def test_credits_run_out_and_a_session_after_expiry_is_paid_singly(client, api_headers, users, active):
    headers = api_headers(users["patient"])
    ids = [book(client, headers, users["specialist"], at(day)).get_json()["package_enrolment_id"]
           for day in range(4)]
    assert ids == [active] * 4
    fifth = book(client, headers, users["specialist"], at(0, 14))
    assert fifth.status_code == 201 and fifth.get_json()["package_enrolment_id"] is None
    assert enrolment_json(client, headers, active)["credits_remaining"] == 0


def test_a_session_after_the_last_valid_day_draws_no_credit(client, api_headers, users, active):
    after = book(client, api_headers(users["patient"]), users["specialist"], datetime(2027, 4, 1, 10, tzinfo=UTC))
    assert after.status_code == 201 and after.get_json()["package_enrolment_id"] is None
    last_day = book(client, api_headers(users["patient"]), users["specialist"],
                    datetime(2027, 3, 31, 10, tzinfo=UTC))
    assert last_day.get_json()["package_enrolment_id"] == active


def cancel(client, headers, booking_id):
    return client.post("/functions/booking-cancel", json={"booking_id": booking_id, "reason": "cannot come"},
                       headers=headers)


def cancellation(booking_id) -> BookingCancellation:
    return db.session.scalars(sa.select(BookingCancellation).where(
        BookingCancellation.booking_id == uuid.UUID(booking_id))).one()


@pytest.mark.parametrize(("who", "now", "late", "credits_used", "words"), [
    ("patient", datetime(2027, 3, 3, 0, tzinfo=UTC), True, 1, "the package credit this session used is forfeited"),
    ("patient", MONDAY, False, 0,
     "not a late cancellation (at least 24 hours' notice): the package credit is returned"),
    ("specialist", datetime(2027, 3, 3, 0, tzinfo=UTC), True, 0, "the package credit is returned because"),
])
def test_late_cancellations_forfeit_only_the_patients_credit(client, api_headers, users, active, who, now, late,
                                                             credits_used, words):
    booking_id = book(client, api_headers(users["patient"]), users["specialist"], at(2)).get_json()["id"]
    with clock.frozen(now):
        response = cancel(client, api_headers(users[who]), booking_id)
    assert response.status_code == 200
    assert words in response.get_json()["message"]
    assert response.get_json()["message"].startswith("Booking cancelled successfully. No refund will be processed.")
    record = cancellation(booking_id)
    assert (record.is_late, record.cancellation_policy_applied) == (late, "no_refund")
    assert enrolment_json(client, api_headers(users["patient"]), active)["credits_used"] == credits_used


def test_a_window_of_zero_hours_means_never_late(client, api_headers, users):
    db.session.get(SpecialistProfile, users["specialist"].id).late_cancel_notice_hours = 0
    db.session.flush()
    # 11:00 clears the specialist's default two hours' minimum notice (it is 08:00)
    booking_id = book(client, api_headers(users["patient"]), users["specialist"], at(0, 11)).get_json()["id"]
    response = cancel(client, api_headers(users["patient"]), booking_id)
    assert "not a late cancellation (no notice window)." in response.get_json()["message"]
    assert cancellation(booking_id).is_late is False


def test_the_nightly_job_expires_enrolments_after_their_last_day(client, api_headers, users, package, active):
    pending = take(client, api_headers(users["patient"]), package.id).get_json()["id"]
    assert enrolments_expire(today=date(2027, 3, 31)) == 0  # the last valid day
    with clock.frozen(datetime(2027, 4, 1, 2, tzinfo=UTC)):
        assert enrolments_expire() == 1
        body = enrolment_json(client, api_headers(users["patient"]), active)
        assert body["status"] == "expired"
        assert enrolment_json(client, api_headers(users["patient"]), pending)["status"] == "pending_payment"
        late = book(client, api_headers(users["patient"]), users["specialist"], datetime(2027, 4, 2, 10, tzinfo=UTC))
        assert late.get_json()["package_enrolment_id"] is None
    assert db.session.scalars(sa.select(AuditLog.new_values).where(
        AuditLog.action == "package_enrolments_expired")).one()["count"] == 1


def test_a_booking_refused_for_its_slot_spends_no_credit(client, api_headers, users, active, make_booking):
    make_booking(users["other_patient"], users["specialist"], at(2))
    response = book(client, api_headers(users["patient"]), users["specialist"], at(2))
    assert response.status_code == 409
    assert enrolment_json(client, api_headers(users["patient"]), active)["credits_used"] == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.package_enrolment_id.is_not(None))) == 0


def test_the_scheduled_job_runs_the_expiry(client, api_headers, users, active):
    from portal.jobs.queue import enqueue
    from portal.jobs.schedule import SCHEDULE

    expiry = {entry.id: entry.func for entry in SCHEDULE}["package-enrolments-expiry"]
    job = enqueue(expiry, "2027-04-01")
    assert job.status == "finished" and job.result == {"expired": 1, "expiry_notices": 0}
    assert enrolment_json(client, api_headers(users["patient"]), active)["status"] == "expired"


def test_the_openapi_document_covers_the_new_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/package-enrolments"])
    assert "get" in paths["/api/v1/package-enrolments/{enrolment_id}"]
    assert "post" in paths["/api/v1/package-enrolments/{enrolment_id}/paid"]
    assert "post" in paths["/api/v1/package-enrolments/{enrolment_id}/cancel"]
    assert {"get", "put"} <= set(paths["/api/v1/specialists/{specialist_id}/late-cancellation"])
    booking_schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["BookingCreate"]
    assert "use_package" in booking_schema["properties"]
