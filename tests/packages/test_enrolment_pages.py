"""Packages as people see them: taking a package, staff marking it paid, paying singly, the
notice window on "Hours and rates", the cancel dialog, and the admin's cancellation list and chart."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Booking, BookingPackage, PackageEnrolment, SpecialistProfile

MONDAY = datetime(2027, 3, 1, 8, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _monday():
    with clock.frozen(MONDAY):
        yield


@pytest.fixture
def package(users):
    package = BookingPackage(specialist_id=users["specialist"].id, name="Three-pack", session_count=3,
                             price=Decimal("250.00"), currency="USD", valid_for_days=10)
    db.session.add(package)
    db.session.flush()
    return package


def the_enrolment() -> PackageEnrolment:
    db.session.expire_all()
    return db.session.scalars(sa.select(PackageEnrolment)).one()


def test_patient_takes_a_package_and_staff_mark_it_paid(client, login_as, users, package):
    login_as(users["patient"])
    page = client.get(f"/specialists/{users['specialist'].id}").get_data(as_text=True)
    assert "Take this package" in page and "Valid for 10 days from the day it is paid." in page
    assert "Covers any of their services" in page
    review = client.get(f"/patient/packages/{package.id}/take").get_data(as_text=True)
    assert "Take “Three-pack”?" in review and "withdraw it" in review and 'method="post"' in review
    assert the_enrolment_count() == 0  # looking at the review takes nothing
    taken = client.post(f"/patient/packages/{package.id}/take", follow_redirects=True).get_data(as_text=True)
    assert "You have taken “Three-pack”" in taken and "3 of 3" in taken and "Awaiting payment" in taken
    again = client.get(f"/specialists/{users['specialist'].id}").get_data(as_text=True)
    assert "Taken</span>" in again and "3 of 3 sessions left" in again
    enrolment = the_enrolment()

    login_as(users["specialist"])
    listed = client.get("/specialist/packages").get_data(as_text=True)
    assert 'id="enrolment-' in listed and "Pat One" in listed and "Mark paid" in listed
    blank = client.post(f"/specialist/enrolments/{enrolment.id}/paid", data={"reference": " "})
    assert blank.status_code == 422 and "payment reference" in blank.get_data(as_text=True)
    assert the_enrolment().status == "pending_payment"
    login_as(users["other_specialist"])
    assert client.post(f"/specialist/enrolments/{enrolment.id}/paid", data={"reference": "x"}).status_code == 404
    login_as(users["admin"])
    done = client.post(f"/admin/enrolments/{enrolment.id}/paid", data={"reference": "CASH-1"}, follow_redirects=True)
    assert "Marked paid: “Three-pack” starts today." in done.get_data(as_text=True)
    assert (the_enrolment().status, the_enrolment().expires_on.isoformat()) == ("active", "2027-03-11")

    login_as(users["patient"])
    mine = client.get("/patient/packages").get_data(as_text=True)
    assert "Usable until Thu 11 Mar 2027; sessions not used by then are lost." in mine
    assert "Expires on" not in mine  # the warning comes 7 days ahead: see the next tests


def the_enrolment_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(PackageEnrolment))


def test_a_patient_withdraws_an_unpaid_enrolment_but_not_a_paid_one(client, login_as, users, package):
    login_as(users["patient"])
    client.post(f"/patient/packages/{package.id}/take")
    mine = client.get("/patient/packages").get_data(as_text=True)
    assert "Withdraw" in mine and users["specialist"].display_name in mine
    enrolment = the_enrolment()
    login_as(users["other_patient"])
    assert client.post(f"/patient/packages/enrolments/{enrolment.id}/withdraw").status_code == 404
    login_as(users["patient"])
    done = client.post(f"/patient/packages/enrolments/{enrolment.id}/withdraw", follow_redirects=True)
    assert "You have withdrawn “Three-pack”" in done.get_data(as_text=True)
    assert the_enrolment().status == "cancelled"
    again = client.post(f"/patient/packages/enrolments/{enrolment.id}/withdraw", follow_redirects=True)
    assert "never paid" in again.get_data(as_text=True) and the_enrolment().status == "cancelled"


def test_admin_cancels_an_unpaid_enrolment_from_the_page(client, login_as, users, package):
    login_as(users["patient"])
    client.post(f"/patient/packages/{package.id}/take")
    login_as(users["specialist"])
    assert client.post(f"/admin/enrolments/{the_enrolment().id}/cancel").status_code in (403, 404)
    login_as(users["admin"])
    client.post(f"/admin/enrolments/{the_enrolment().id}/cancel")
    assert the_enrolment().status == "cancelled"
    again = client.post(f"/admin/enrolments/{the_enrolment().id}/cancel")
    assert again.status_code == 422 and "never paid" in again.get_data(as_text=True)


def active_enrolment(users, package, credits_used=0) -> PackageEnrolment:
    enrolment = PackageEnrolment(package_id=package.id, patient_id=users["patient"].id,
                                 specialist_id=users["specialist"].id, package_name=package.name, status="active",
                                 credits_total=3, credits_used=credits_used, price=package.price, currency="USD",
                                 starts_on=MONDAY.date(), expires_on=datetime(2027, 3, 5).date())
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def test_booking_from_the_page_uses_a_credit_or_pays_singly(client, login_as, users, package):
    enrolment = active_enrolment(users, package)
    login_as(users["patient"])
    url = f"/specialists/{users['specialist'].id}"
    page = client.get(url).get_data(as_text=True)
    assert "Booking uses one session of “Three-pack” (3 left)" in page and "Pay singly instead" in page
    assert "Expires on 05 March: book your remaining 3 sessions" in page
    client.post(f"{url}/book", data={"starts_at": "2027-03-02T10:00:00+00:00"})
    client.post(f"{url}/book", data={"starts_at": "2027-03-02T11:00:00+00:00", "use_package": "0"})
    single = client.get(f"{url}?use_package=0").get_data(as_text=True)
    assert 'name="use_package" value="0"' in single and "You are paying singly" in single
    paid_by = dict(db.session.execute(sa.select(Booking.starts_at, Booking.package_enrolment_id)).all())
    assert sorted(paid_by.values(), key=str) == sorted([enrolment.id, None], key=str)
    dashboard = client.get("/patient/").get_data(as_text=True)
    assert dashboard.count("from package") == 1


def test_cancel_dialog_says_before_and_after_whether_it_is_late(client, login_as, users, package):
    enrolment = active_enrolment(users, package, credits_used=1)
    booking = Booking(patient_id=users["patient"].id, specialist_id=users["specialist"].id,
                      starts_at=datetime(2027, 3, 1, 20, tzinfo=UTC), ends_at=datetime(2027, 3, 1, 21, tzinfo=UTC),
                      price=Decimal("100.00"), currency="USD", package_enrolment_id=enrolment.id)
    db.session.add(booking)
    db.session.flush()
    login_as(users["patient"])
    dialog = client.get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "This is a late cancellation" in dialog and "the package credit this session used is forfeited" in dialog
    done = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "ill", "target": "page"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "This is a late cancellation (less than 24 hours&#39; notice): the package credit" in done
    db.session.expire_all()
    assert db.session.get(PackageEnrolment, enrolment.id).credits_used == 1


def test_the_notice_window_is_set_on_hours_and_rates_and_through_the_api(client, login_as, users, api_headers):
    specialist = users["specialist"]
    url = f"/api/v1/specialists/{specialist.id}/late-cancellation"
    assert client.get(url, headers=api_headers(users["patient"])).get_json()["late_cancel_notice_hours"] == 24
    assert client.put(url, json={"late_cancel_notice_hours": 6},
                      headers=api_headers(users["other_specialist"])).status_code == 403
    refused = client.put(url, json={"late_cancel_notice_hours": 1000}, headers=api_headers(specialist))
    assert (refused.status_code, refused.get_json()["error"]) == (400, "INVALID_REQUEST")
    ok = client.put(url, json={"late_cancel_notice_hours": 12}, headers=api_headers(users["admin"]))
    assert ok.get_json() == {"specialist_id": str(specialist.id), "late_cancel_notice_hours": 12}

    login_as(specialist)
    page = client.get("/specialist/availability").get_data(as_text=True)
    assert 'id="late-cancellation"' in page and 'value="12"' in page
    bad = client.post("/specialist/availability/late-cancellation", data={"late_cancel_notice_hours": "-3"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert db.session.get(SpecialistProfile, specialist.id).late_cancel_notice_hours == 12
    client.post("/specialist/availability/late-cancellation", data={"late_cancel_notice_hours": "48"})
    db.session.expire_all()
    assert db.session.get(SpecialistProfile, specialist.id).late_cancel_notice_hours == 48


def test_admins_filter_late_cancellations_and_see_them_in_the_chart(client, login_as, users, make_booking):
    from portal.selectors.overview import admin_trends
    from portal.services.cancellations import booking_cancel

    late = make_booking(users["patient"], users["specialist"], datetime(2027, 3, 1, 12, tzinfo=UTC))
    early = make_booking(users["patient"], users["specialist"], datetime(2027, 3, 4, 12, tzinfo=UTC))
    for booking in (late, early):
        booking_cancel(actor=users["patient"], booking_id=booking.id, reason="r")
    login_as(users["admin"])
    only_late = client.get("/admin/cancellations?timing=late").get_data(as_text=True)
    assert "1 cancellation." in only_late and str(late.id) in only_late and str(early.id) not in only_late
    in_time = client.get("/admin/cancellations?timing=on_time").get_data(as_text=True)
    assert str(early.id) in in_time and str(late.id) not in in_time
    series = dict(admin_trends(weeks=2)["cancellations"])
    assert (sum(series["Late (any party)"]), sum(series["By patient"])) == (1, 1)
