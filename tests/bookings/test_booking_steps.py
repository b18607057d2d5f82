"""Booking on a specialist's page as plain pages (no JavaScript): choose a service, a week of its
times (next week, a date picker across the window), the review, and only "Confirm" books."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Booking, BookingPackage, PackageEnrolment
from portal.services.offerings import service_create, service_update

SUNDAY = datetime(2030, 1, 6, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _sunday():
    with clock.frozen(SUNDAY):
        yield


@pytest.fixture
def check_in(users):
    specialist = users["specialist"]
    return service_create(actor=specialist, specialist_id=specialist.id, name="Check-in", duration_minutes=20,
                          price="30.00", currency="USD", description="A short follow-up")


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_choose_a_service_then_a_week_then_review_and_confirm(client, login_as, users, check_in):
    specialist, patient = users["specialist"], users["patient"]
    login_as(patient)
    base = f"/specialists/{specialist.id}"
    page = page_of(client, base)
    assert "Session" in page and "Check-in" in page and "A short follow-up" in page
    page = page_of(client, f"{base}?service={check_in.id}")
    assert 'aria-current="true"' in page and "20-minute sessions" in page
    assert "06 Jan – 12 Jan 2030" in page and "Next week" in page
    first = re.search(r'name="starts_at" value="([^"]+)"', page).group(1)
    review = page_of(client, f"{base}/review?service={check_in.id}&starts_at={first.replace('+', '%2B')}")
    assert "Check and confirm" in review and "Check-in" in review and "20 minutes" in review
    assert "30.00 USD" in review and "no refund" in review and ">Confirm<" in review
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0  # the review books nothing
    done = client.post(f"{base}/book", data={"starts_at": first, "service": str(check_in.id)})
    assert done.status_code == 302
    booking = db.session.scalars(sa.select(Booking)).one()
    assert (booking.service_id, booking.price, booking.ends_at - booking.starts_at) == (
        check_in.id, Decimal("30.00"), timedelta(minutes=20))


def test_weeks_reach_the_whole_booking_window_and_no_further(client, login_as, users):
    specialist = users["specialist"]
    login_as(users["patient"])
    base = f"/specialists/{specialist.id}"
    later = page_of(client, f"{base}?week=2030-09-02")  # eight months ahead
    assert "02 Sep – 08 Sep 2030" in later and "2030-09-02T09:00:00+00:00" in later and "Previous week" in later
    beyond = page_of(client, f"{base}?week=2032-01-01")  # past the 365-day window: its last week
    assert 'max="2031-01-06"' in beyond and "Next week" not in beyond
    assert "2031-01-07" not in beyond
    nonsense = page_of(client, f"{base}?week=not-a-date")
    assert "06 Jan – 12 Jan 2030" in nonsense


def test_the_review_shows_both_zones_and_the_package_that_pays(client, login_as, users, make_user):
    specialist = users["specialist"]
    patient = make_user("patient", timezone="America/New_York")
    package = BookingPackage(specialist_id=specialist.id, name="Four", session_count=4, price=Decimal(300))
    db.session.add(package)
    db.session.flush()
    db.session.add(PackageEnrolment(package_id=package.id, patient_id=patient.id, specialist_id=specialist.id,
                                    package_name="Four", status="active", credits_total=4, credits_used=1,
                                    price=Decimal(300), currency="USD", starts_on=SUNDAY.date()))
    db.session.flush()
    login_as(patient)
    start = "2030-01-07T14:00:00+00:00"
    review = page_of(client, f"/specialists/{specialist.id}/review?starts_at={start.replace('+', '%2B')}")
    assert "09:00–10:00 (America/New_York)" in review and "14:00–15:00 (UTC)" in review
    assert "From your package “Four” (3 left)" in review
    unpaid = page_of(client, f"/specialists/{specialist.id}/review?use_package=0&starts_at="
                             f"{start.replace('+', '%2B')}")
    assert "100.00 USD" in unpaid and "From your package" not in unpaid


def test_a_package_naming_another_service_does_not_pay_in_the_review(client, login_as, users, check_in):
    specialist, patient = users["specialist"], users["patient"]
    package = BookingPackage(specialist_id=specialist.id, name="Check-ins", session_count=4, price=Decimal(100))
    db.session.add(package)
    db.session.flush()
    service_update(actor=specialist, service_id=check_in.id, values={"package_ids": [package.id]})
    db.session.add(PackageEnrolment(package_id=package.id, patient_id=patient.id, specialist_id=specialist.id,
                                    package_name="Check-ins", status="active", credits_total=4,
                                    price=Decimal(100), currency="USD", starts_on=SUNDAY.date()))
    db.session.flush()
    login_as(patient)
    start = "2030-01-07T14:00:00%2B00:00"
    session = page_of(client, f"/specialists/{specialist.id}/review?starts_at={start}")
    assert "100.00 USD" in session and "From your package" not in session
    covered = page_of(client, f"/specialists/{specialist.id}/review?service={check_in.id}&starts_at={start}")
    assert "From your package “Check-ins” (4 left)" in covered


def test_an_unreadable_time_is_a_clear_422(client, login_as, users):
    login_as(users["patient"])
    response = client.get(f"/specialists/{users['specialist'].id}/review?starts_at=soon")
    assert response.status_code == 422 and "could not be read" in response.get_data(as_text=True)


def test_the_review_sets_up_a_standing_appointment_from_the_chosen_time(client, login_as, users, check_in):
    specialist = users["specialist"]
    login_as(users["patient"])
    start = "2030-01-07T14:00:00+00:00"
    bad = client.post(f"/specialists/{specialist.id}/book", data={
        "starts_at": start, "service": str(check_in.id), "repeat": "weekly", "end_date": "2030-01-01"})
    assert bad.status_code == 422 and "The end date is before the start date" in bad.get_data(as_text=True)
    done = client.post(f"/specialists/{specialist.id}/book", data={
        "starts_at": start, "service": str(check_in.id), "repeat": "weekly"})
    assert done.status_code == 302 and "/recurring/" in done.headers["Location"]
    sessions = db.session.scalars(sa.select(Booking).order_by(Booking.starts_at)).all()
    assert sessions and all(b.service_id == check_in.id and b.price == Decimal("30.00") for b in sessions)
    assert [b.starts_at for b in sessions[:2]] == [datetime(2030, 1, 7, 14, tzinfo=UTC),
                                                   datetime(2030, 1, 14, 14, tzinfo=UTC)]
