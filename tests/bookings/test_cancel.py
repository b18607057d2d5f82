"""The cancel dialog and page (with and without htmx) and the admin's cancellations list."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation
from portal.services.cancellations import booking_cancel

HX = {"HX-Request": "true"}


@pytest.fixture
def booking(users, make_booking):
    return make_booking(users["patient"], users["specialist"],
                        clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2))


def status_of(booking_id):
    db.session.expire_all()
    return db.session.get(Booking, booking_id).status


def test_dashboard_rows_offer_cancel_only_for_upcoming_active_bookings(login_as, users, booking, make_booking):
    past = make_booking(users["patient"], users["specialist"], clock.now() - timedelta(days=2))
    gone = make_booking(users["patient"], users["specialist"], clock.now() + timedelta(days=5),
                        status="cancelled")
    html = login_as(users["patient"]).get("/patient/").get_data(as_text=True)
    assert f"/bookings/{booking.id}/cancel" in html
    assert f"/bookings/{past.id}/cancel" not in html and f"/bookings/{gone.id}/cancel" not in html


def test_admin_cancels_from_the_booking_page_as_staff(login_as, users, booking):
    client = login_as(users["admin"])
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f"/bookings/{booking.id}/cancel" in html
    dialog = client.get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "recorded as made by clinic staff, in your name" in dialog
    assert "On the patient's behalf" in dialog and "By the clinic" in dialog
    unsaid = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Specialist is ill"})
    assert unsaid.status_code == 422 and "on the patient&#39;s behalf or for the clinic" in unsaid.text
    assert status_of(booking.id) == "confirmed"
    response = client.post(f"/bookings/{booking.id}/cancel",
                           data={"reason": "Specialist is ill", "cancelled_for": "clinic"})
    assert response.status_code == 302 and status_of(booking.id) == "cancelled"
    record = db.session.scalar(sa.select(BookingCancellation).where(BookingCancellation.booking_id == booking.id))
    assert record.cancelled_by == users["admin"].id and record.party == "staff" and record.cancelled_for == "clinic"
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "booking_cancelled",
                                                        AuditLog.entity_id == str(booking.id)))
    assert audit.actor_id == users["admin"].id
    assert audit.new_values["cancelled_as"] == "staff" and audit.new_values["cancelled_by"] == str(users["admin"].id)
    assert audit.new_values["cancelled_for"] == "clinic"
    assert "Specialist is ill" not in str(audit.new_values)
    for party, who in (("patient", "The clinic cancelled this session"), ("specialist", "Clinic staff")):
        page = login_as(users[party]).get(f"/bookings/{booking.id}").get_data(as_text=True)
        assert who in page and "Specialist is ill" in page and "Ada Admin" not in page
    admin_page = login_as(users["admin"]).get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Clinic staff (Ada Admin)" in admin_page


def test_admin_cannot_cancel_a_past_booking_from_the_pages(login_as, users, make_booking):
    past = make_booking(users["patient"], users["specialist"], clock.now() - timedelta(days=1))
    client = login_as(users["admin"])
    assert f"/bookings/{past.id}/cancel" not in client.get(f"/bookings/{past.id}").get_data(as_text=True)
    response = client.post(f"/bookings/{past.id}/cancel", data={"reason": "x"})
    assert response.status_code == 422 and "so it cannot be cancelled" in response.get_data(as_text=True)
    assert status_of(past.id) == "confirmed"


def test_without_js_the_cancel_page_posts_and_redirects(login_as, users, booking):
    client = login_as(users["specialist"])
    page = client.get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "any payment for it is not refunded" in page and "No refund is made" not in page
    assert 'method="post"' in page and "<html" in page
    response = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Ill"})
    assert response.status_code == 302 and response.location.endswith(f"/bookings/{booking.id}")
    assert "No refund will be processed" in client.get(response.location).get_data(as_text=True)
    assert status_of(booking.id) == "cancelled"


def test_without_js_a_missing_reason_shows_the_form_again(login_as, users, booking):
    response = login_as(users["patient"]).post(f"/bookings/{booking.id}/cancel", data={"reason": "  "})
    assert response.status_code == 422
    assert "Please give a reason for cancelling." in response.get_data(as_text=True)
    assert status_of(booking.id) == "confirmed"


def test_htmx_dialog_is_a_fragment_with_the_no_refund_notice(login_as, users, booking):
    client = login_as(users["patient"])
    html = client.get(f"/bookings/{booking.id}/cancel?target=row", headers=HX).get_data(as_text=True)
    assert html.lstrip().startswith("<dialog") and " open" in html and "not refunded" in html
    assert f'hx-target="#booking-{booking.id}"' in html


def test_htmx_cancel_answers_the_updated_row(login_as, users, booking):
    response = login_as(users["patient"]).post(f"/bookings/{booking.id}/cancel",
                                               data={"reason": "Away", "target": "row"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="booking-{booking.id}"')
    assert 'class="is-cancelled"' in html and "Cancelled" in html and "/cancel" not in html


def test_htmx_cancel_from_the_booking_page_answers_the_summary(login_as, users, booking):
    response = login_as(users["patient"]).post(f"/bookings/{booking.id}/cancel",
                                               data={"reason": "Away", "target": "page"}, headers=HX)
    html = response.get_data(as_text=True)
    assert "<dl" in html and "Cancelled" in html and "<html" not in html


def test_htmx_refusal_shows_the_reason_in_the_dialog(login_as, users, booking):
    booking_cancel(actor=users["specialist"], booking_id=booking.id, reason="first")
    response = login_as(users["patient"]).post(f"/bookings/{booking.id}/cancel", data={"reason": "x"}, headers=HX)
    assert response.status_code == 422  # a form error: base.html tells htmx to swap 422
    assert response.headers["HX-Retarget"] == f"#cancel-dialog-{booking.id}"
    assert "This booking is already cancelled." in response.get_data(as_text=True)


@pytest.mark.parametrize("who, status", [("other_patient", 404), ("other_specialist", 404), ("ops", 404)])
def test_outsiders_cannot_cancel_from_the_pages(login_as, users, booking, who, status):
    client = login_as(users[who])
    assert client.get(f"/bookings/{booking.id}/cancel").status_code == status
    assert client.post(f"/bookings/{booking.id}/cancel", data={"reason": "x"}).status_code == status
    assert status_of(booking.id) == "confirmed"


@pytest.fixture
def three_cancellations(users, make_booking, make_user):
    other = make_user("patient", name="Zed Other")
    start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    made = []
    for i, (patient, specialist, actor, reason) in enumerate([
        (users["patient"], users["specialist"], users["patient"], "Patient reason"),
        (users["patient"], users["other_specialist"], users["other_specialist"], "Specialist reason"),
        (other, users["specialist"], other, "Other patient reason"),
    ]):
        b = make_booking(patient, specialist, start + timedelta(days=i))
        with clock.frozen(clock.now() - timedelta(days=10 * i)):
            booking_cancel(actor=actor, booking_id=b.id, reason=reason)
        made.append(b)
    return made, other


def reasons(html):
    return {r for r in ("Patient reason", "Specialist reason", "Other patient reason") if r in html}


def test_admin_lists_every_cancellation_with_who_when_why(login_as, users, three_cancellations):
    html = login_as(users["admin"]).get("/admin/cancellations").get_data(as_text=True)
    assert reasons(html) == {"Patient reason", "Specialist reason", "Other patient reason"}
    assert "3 cancellations" in html and "(specialist)" in html and "(patient)" in html
    assert "Not a valid choice" not in html


@pytest.mark.parametrize("query, expected", [
    ("cancelled_by=specialist", {"Specialist reason"}),
    ("cancelled_by=patient", {"Patient reason", "Other patient reason"}),
    ("specialist={specialist}", {"Patient reason", "Other patient reason"}),
    ("patient={other}", {"Other patient reason"}),
    ("date_from={d15}", {"Patient reason", "Specialist reason"}),
    ("date_to={d15}", {"Other patient reason"}),
    ("date_from=nonsense&cancelled_by=bogus", {"Patient reason", "Specialist reason", "Other patient reason"}),
])
def test_admin_filters_cancellations(login_as, users, three_cancellations, query, expected):
    _bookings, other = three_cancellations
    query = query.format(specialist=users["specialist"].id, other=other.id,
                         d15=(clock.now() - timedelta(days=15)).date().isoformat())
    response = login_as(users["admin"]).get(f"/admin/cancellations?{query}", headers=HX)
    assert response.status_code == 200
    assert reasons(response.get_data(as_text=True)) == expected


@pytest.mark.parametrize("who", ["ops", "patient", "specialist"])
def test_only_admins_open_the_cancellations_list(login_as, users, who):
    assert login_as(users[who]).get("/admin/cancellations").status_code == 403



def _late_booking_on_a_package(users, make_booking):
    from portal.models import PackageEnrolment

    enrolment = PackageEnrolment(patient_id=users["patient"].id, specialist_id=users["specialist"].id,
                                 package_name="Five", status="active", credits_total=5, credits_used=1,
                                 price=400, currency="USD")
    db.session.add(enrolment)
    db.session.flush()
    soon = clock.now().replace(second=0, microsecond=0) + timedelta(hours=3)  # inside the 24-hour window
    return enrolment, make_booking(users["patient"], users["specialist"], soon, package_enrolment_id=enrolment.id)


@pytest.mark.parametrize("cancelled_for, credits_used, credit",
                         [("patient", 1, "forfeited"), ("clinic", 0, "returned")])
def test_an_admin_cancelling_late_on_the_patients_behalf_forfeits_the_credit_the_clinic_returns_it(
        login_as, users, make_booking, cancelled_for, credits_used, credit):
    from portal.models import PackageEnrolment

    enrolment, late = _late_booking_on_a_package(users, make_booking)
    client = login_as(users["admin"])
    dialog = client.get(f"/bookings/{late.id}/cancel").text
    assert "package credit this session used is forfeited" in dialog and "credit is returned" in dialog
    response = client.post(f"/bookings/{late.id}/cancel", data={"reason": "Phoned in", "cancelled_for": cancelled_for})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(PackageEnrolment, enrolment.id).credits_used == credits_used
    record = db.session.scalar(sa.select(BookingCancellation).where(BookingCancellation.booking_id == late.id))
    assert record.cancelled_for == cancelled_for and record.is_late
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "booking_cancelled",
                                                        AuditLog.entity_id == str(late.id)))
    assert (audit.new_values["cancelled_for"], audit.new_values["credit"]) == (cancelled_for, credit)


def test_a_party_cancelling_is_never_recorded_as_for_anyone(login_as, users, booking):
    client = login_as(users["patient"])
    assert "Who is cancelling?" not in client.get(f"/bookings/{booking.id}/cancel").text
    client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Away", "cancelled_for": "clinic"})
    record = db.session.scalar(sa.select(BookingCancellation).where(BookingCancellation.booking_id == booking.id))
    assert record.cancelled_for is None
