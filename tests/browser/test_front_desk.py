"""The front desk in a browser, at 1280 px and at 375 px, axe clean: a patient moves a session;
a specialist books a client and marks a no-show; an admin finds a patient's booking and
cancels it on their behalf."""
from __future__ import annotations

import os
from datetime import time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Booking, BookingCancellation, SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import axe_violations, horizontal_overflow, unacceptable

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SCREENSHOT_DIR")
DEVICES = ["desktop", "phone"]


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def clean(page, device: str) -> None:
    """axe finds nothing serious, and a phone never scrolls sideways."""
    assert unacceptable(axe_violations(page)) == [], page.url
    if device == "phone":
        assert horizontal_overflow(page) <= 1, page.url


@pytest.fixture
def device_page(browser, live_server, request):
    phone = request.node.callspec.params["device"] == "phone"
    options = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True} if phone \
        else {"viewport": {"width": 1280, "height": 860}}
    # axe is injected by the test, not served: bypass_csp lets it run beside the portal's CSP.
    context = browser.new_context(base_url=live_server, bypass_csp=True, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def clinic(create_committed_user):
    patient = create_committed_user("patient", "pat@browser.test", display_name="Pat Patient")
    specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr. Sam Spec")
    admin = create_committed_user("admin", "admin@browser.test", display_name="Ada Admin")
    for weekday in range(7):
        db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday, start_time=time(8),
                                    end_time=time(18)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal("90.00"),
                                  currency="EUR", effective_from=clock.today() - timedelta(days=30)))
    db.session.commit()
    return patient, specialist, admin


def add_booking(patient, specialist, starts_at, status="confirmed") -> Booking:
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts_at,
                      ends_at=starts_at + timedelta(hours=1), price=Decimal("90.00"), currency="EUR", status=status)
    db.session.add(booking)
    db.session.commit()
    return booking


def in_three_days():
    return (clock.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("device", DEVICES)
def test_a_patient_moves_a_session(device_page, clinic, device):
    page = device_page
    patient, specialist, _admin = clinic
    booking = add_booking(patient, specialist, in_three_days())
    original = booking.starts_at
    sign_in(page, "pat@browser.test")
    page.goto("/patient/")
    page.locator("#next-session").get_by_role("link", name="Move").click()
    expect(page.get_by_role("heading", name="Pick a new time")).to_be_visible()
    clean(page, device)
    shot(page, f"front-desk-move-pick-{device}")
    page.locator("button.slot").nth(3).click()
    expect(page.get_by_role("heading", name="Confirm the new time")).to_be_visible()
    page.get_by_label("Reason (optional)").fill("A work trip")
    clean(page, device)
    shot(page, f"front-desk-move-confirm-{device}")
    page.get_by_role("button", name="Move the session").click()
    expect(page.locator(".flash-success")).to_contain_text("Session moved")
    expect(page.locator(".move-history")).to_contain_text("by you: A work trip")
    clean(page, device)
    shot(page, f"front-desk-moved-{device}")
    db.session.rollback()  # a fresh snapshot: see what the live server committed
    moved = db.session.get(Booking, booking.id)
    assert moved.starts_at != original and moved.status == "confirmed" and moved.ics_sequence == 1


@pytest.mark.parametrize("device", DEVICES)
def test_a_specialist_books_a_client_and_marks_a_no_show(device_page, clinic, create_committed_user, device):
    page = device_page
    patient, specialist, _admin = clinic
    newcomer = create_committed_user("patient", "new.client@browser.test", display_name="Nia Newcomer")
    started = add_booking(patient, specialist, clock.now().replace(second=0, microsecond=0) - timedelta(hours=2))
    sign_in(page, "spec@browser.test")
    page.goto("/specialist/")
    page.get_by_role("link", name="Book a client").click()
    page.get_by_label("Name or e-mail").fill("new.client@browser.test")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Nia Newcomer").click()
    expect(page.get_by_role("heading", name="3. Time")).to_be_visible()
    clean(page, device)
    shot(page, f"front-desk-book-client-{device}")
    page.locator("button.slot").first.click()
    page.get_by_role("button", name="Book the session").click()
    expect(page.locator(".flash-success")).to_contain_text("Booked Nia Newcomer")
    db.session.rollback()  # a fresh snapshot: see what the live server committed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.patient_id == newcomer.id, Booking.specialist_id == specialist.id)) == 1

    page.goto("/specialist/")
    row = page.locator(f"#booking-{started.id}")
    row.get_by_role("button", name="No-show").click()
    expect(page.locator(".flash-success")).to_contain_text("Marked as a no-show")
    expect(page.locator(f"#booking-{started.id} .badge")).to_have_text("No-show")
    clean(page, device)
    shot(page, f"front-desk-no-show-{device}")
    db.session.rollback()  # a fresh snapshot: see what the live server committed
    assert db.session.get(Booking, started.id).status == "no_show"


@pytest.mark.parametrize("device", DEVICES)
def test_an_admin_finds_a_patients_booking_and_cancels_on_their_behalf(device_page, clinic, device):
    page = device_page
    patient, specialist, admin = clinic
    booking = add_booking(patient, specialist, in_three_days())
    sign_in(page, "admin@browser.test")
    page.goto("/admin/bookings")
    page.get_by_label("Patient").fill("pat patient")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#booking-results")).to_contain_text("1 booking")
    clean(page, device)
    shot(page, f"front-desk-admin-bookings-{device}")
    page.locator(f"#booking-{booking.id}").get_by_role("link", name="Open").click()
    page.locator("#booking-summary").get_by_role("link", name="Cancel").click()
    dialog = page.locator(f"#cancel-dialog-{booking.id}")
    expect(dialog).to_contain_text("Who is cancelling?")
    dialog.get_by_label("On the patient's behalf").check()
    dialog.get_by_label("Why are you cancelling?").fill("Phoned: a family matter")
    clean(page, device)
    shot(page, f"front-desk-admin-cancel-dialog-{device}")
    dialog.get_by_role("button", name="Cancel this session").click()
    expect(page.locator("#booking-summary .badge").first).to_have_text("Cancelled")
    db.session.rollback()  # a fresh snapshot: see what the live server committed
    record = db.session.scalar(sa.select(BookingCancellation).where(BookingCancellation.booking_id == booking.id))
    assert record.cancelled_by == admin.id and record.cancelled_for == "patient"
