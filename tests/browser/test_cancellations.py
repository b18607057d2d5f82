"""A patient cancels from their booking list: the dialog, the reason, the row in place."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Booking, BookingCancellation
from tests.browser.conftest import open_menu_on_phone, sign_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def patient_with_bookings(create_committed_user):
    patient = create_committed_user("patient", "pat@browser.test", display_name="Pat Patient")
    specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr. Sam Spec")
    starts = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    bookings = [Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts + timedelta(days=i),
                        ends_at=starts + timedelta(days=i, hours=1), price=Decimal("90.00"), currency="EUR")
                for i in range(3)]
    db.session.add_all(bookings)
    db.session.commit()
    # The first is the dashboard's "Next session" card; the two after it are rows of the list.
    return patient, specialist, [b.id for b in bookings[1:]]


@pytest.mark.parametrize("device", ["page", "phone_page"])
def test_patient_cancels_with_a_reason_and_the_row_turns_cancelled_in_place(request, patient_with_bookings, device):
    page = request.getfixturevalue(device)
    _patient, _specialist, (first, second) = patient_with_bookings
    sign_in(page, "pat@browser.test")
    expect(page.locator("h1")).to_contain_text("Welcome")
    page.evaluate("window.__stillSamePage = true")
    shot(page, f"list-{device}")
    row = page.locator(f"#booking-{first}")
    row.get_by_role("link", name="Cancel").click()
    dialog = page.locator(f"#cancel-dialog-{first}")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("not refunded")
    shot(page, f"dialog-{device}")
    dialog.get_by_label("Why are you cancelling?").fill("Travelling for work that week")
    dialog.get_by_role("button", name="Cancel this session").click()
    expect(row.locator(".badge")).to_have_text("Cancelled")
    expect(row).to_have_class("is-cancelled")
    expect(dialog).to_have_count(0)
    assert page.evaluate("window.__stillSamePage") is True  # swapped in place, no reload
    expect(page.locator(f"#booking-{second} .badge")).to_have_text("Confirmed")
    expect(page.locator(f"#booking-{second}").get_by_role("link", name="Cancel")).to_be_visible()
    expect(row.get_by_role("link", name="Cancel")).to_have_count(0)
    shot(page, f"cancelled-row-{device}")
    db.session.rollback()  # end the test's read transaction: see what the server committed
    record = db.session.scalar(sa.select(BookingCancellation).where(BookingCancellation.booking_id == first))
    assert record.reason == "Travelling for work that week"


def test_the_dialog_says_why_when_the_cancel_is_refused(page, patient_with_bookings):
    _patient, specialist, (first, _second) = patient_with_bookings
    sign_in(page, "pat@browser.test")
    page.locator(f"#booking-{first}").get_by_role("link", name="Cancel").click()
    dialog = page.locator(f"#cancel-dialog-{first}")
    dialog.get_by_label("Why are you cancelling?").fill("Feeling better")
    from portal.services.cancellations import booking_cancel

    db.session.rollback()  # a fresh transaction, after the server's writes
    booking_cancel(actor=specialist, booking_id=first, reason="Specialist is ill")  # meanwhile
    db.session.commit()
    dialog.get_by_role("button", name="Cancel this session").click()
    expect(dialog.locator(".form-errors")).to_have_text("This booking is already cancelled.")
    shot(page, "dialog-error-page")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(f"#booking-{first} .badge")).to_have_text("Cancelled")  # as it is now


def test_keep_booking_closes_the_dialog_and_changes_nothing(page, patient_with_bookings):
    _patient, _specialist, (first, _second) = patient_with_bookings
    sign_in(page, "pat@browser.test")
    page.locator(f"#booking-{first}").get_by_role("link", name="Cancel").click()
    dialog = page.locator(f"#cancel-dialog-{first}")
    dialog.get_by_role("button", name="Keep booking").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#booking-{first} .badge")).to_have_text("Confirmed")


def test_cancelling_from_the_booking_page(page, patient_with_bookings):
    _patient, _specialist, (first, _second) = patient_with_bookings
    sign_in(page, "pat@browser.test")
    page.goto(f"/bookings/{first}")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_label("Why are you cancelling?").fill("Moving house")
    shot(page, "detail-dialog-page")
    page.get_by_role("button", name="Cancel this session").click()
    expect(page.locator("#booking-summary .badge")).to_have_text("Cancelled")
    shot(page, "detail-cancelled-page")


@pytest.mark.parametrize("device", ["page", "phone_page"])
def test_admin_filters_cancellations_by_who_cancelled(request, patient_with_bookings, create_committed_user, device):
    page = request.getfixturevalue(device)
    patient, specialist, (first, second) = patient_with_bookings
    from portal.services.cancellations import booking_cancel

    db.session.rollback()
    booking_cancel(actor=patient, booking_id=first, reason="Patient has a cold")
    booking_cancel(actor=specialist, booking_id=second, reason="Clinic closed for training")
    db.session.commit()
    create_committed_user("admin", "admin@browser.test", display_name="Ada Admin")
    sign_in(page, "admin@browser.test")
    open_menu_on_phone(page)
    page.get_by_role("link", name="Cancellations").click()
    results = page.locator("#cancellation-results")
    expect(results).to_contain_text("Patient has a cold")
    expect(results).to_contain_text("Clinic closed for training")
    shot(page, f"admin-list-{device}")
    page.wait_for_load_state("load")  # htmx wires the filter then; a change before that goes unheard
    page.get_by_label("Cancelled by").select_option("specialist")
    expect(results).not_to_contain_text("Patient has a cold")
    expect(results).to_contain_text("Clinic closed for training")
    expect(page).to_have_url(re.compile(r"cancelled_by=specialist"))


def test_without_javascript_the_cancel_link_opens_a_page_that_works(browser, live_server, patient_with_bookings):
    context = browser.new_context(base_url=live_server, java_script_enabled=False,
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    _patient, _specialist, (first, _second) = patient_with_bookings
    sign_in(page, "pat@browser.test")
    page.locator(f"#booking-{first}").get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/bookings/{first}/cancel$"))
    expect(page.locator("main")).to_contain_text("not refunded")
    page.get_by_label("Why are you cancelling?").fill("No longer needed")
    shot(page, "nojs-cancel-page-phone")
    page.get_by_role("button", name="Cancel this session").click()
    expect(page).to_have_url(re.compile(rf"/bookings/{first}$"))
    expect(page.locator(".flash")).to_contain_text("No refund will be processed")
    expect(page.locator("#booking-summary .badge")).to_have_text("Cancelled")
    context.close()
