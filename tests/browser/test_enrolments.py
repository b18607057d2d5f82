"""Packages end to end: a patient takes a package, the admin marks it paid, the patient books
twice from it, cancels one late and one early, and sees the right number of sessions left."""
import os
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Booking, BookingPackage, SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/portal-screenshots"))  # looked at, not committed


@pytest.fixture
def people(create_committed_user):
    specialist = create_committed_user("specialist", "spec@enrol.test", display_name="Dr Credit")
    create_committed_user("patient", "pat@enrol.test", display_name="Pat Credit")
    create_committed_user("admin", "admin@enrol.test", display_name="Ada Admin")
    for weekday in range(5):
        db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday, start_time=time(9),
                                    end_time=time(17)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal("100.00"),
                                  currency="USD", effective_from=date(2000, 1, 1)))
    db.session.add(BookingPackage(specialist_id=specialist.id, name="Four-session block", session_count=4,
                                  price=Decimal("320.00"), currency="USD", valid_for_days=30))
    db.session.commit()
    return specialist


@pytest.fixture(autouse=True)
def frozen(live_portal):
    with live_portal.frozen(NOW):
        yield


def book(page, specialist, starts_at: str) -> None:
    page.goto(f"/specialists/{specialist.id}")
    page.click(f"button.slot[value='{starts_at}']")
    expect(page.locator("#booking-review")).to_contain_text("From your package")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#slot-list .flash-success")).to_contain_text("from your package")


def cancel(page, booking_id, *, late: bool) -> None:
    page.goto(f"/bookings/{booking_id}")
    page.click(".cancel-button")
    dialog = page.locator(f"#cancel-dialog-{booking_id}")
    if late:
        expect(dialog).to_contain_text("This is a late cancellation")
        expect(dialog).to_contain_text("the package credit this session used is forfeited")
    else:
        expect(dialog).to_contain_text("This is not a late cancellation (at least 24 hours' notice)")
    page.fill(f"#cancel-reason-{booking_id}", "Something came up")
    page.click(f"#cancel-submit-{booking_id}")
    notice = page.locator("#booking-summary .cancel-notice")
    expect(notice).to_contain_text("forfeited" if late else "the package credit is returned")


def test_take_pay_book_twice_cancel_late_and_early(browser, live_server, page, people):
    specialist = people
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, "pat@enrol.test")
    page.goto(f"/specialists/{specialist.id}")
    page.get_by_role("link", name="Take this package: Four-session block").click()
    review = page.locator("#package-review")
    expect(review).to_contain_text("withdraw it")
    page.screenshot(path=str(SHOTS / "package-review.png"), full_page=True)
    review.get_by_role("button", name="Take this package").click()
    expect(page.locator(".flash-success")).to_contain_text("You have taken “Four-session block”")
    expect(page.locator(".enrolment")).to_contain_text("4 of 4")
    expect(page.locator(".enrolment")).to_contain_text("Awaiting payment")

    admin_context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    admin = admin_context.new_page()
    try:
        sign_in(admin, "admin@enrol.test")
        admin.goto("/admin/packages")
        row = admin.locator("#enrolments tr", has_text="Pat Credit")
        row.get_by_label("Payment reference for Four-session block").fill("BANK-2030-001")
        row.get_by_role("button", name="Mark paid").click()
        expect(admin.locator(".flash-success")).to_contain_text("Marked paid")
        expect(admin.locator("#enrolments tr", has_text="Pat Credit")).to_contain_text("07 Jan – 06 Feb 2030")
        admin.screenshot(path=str(SHOTS / "enrolments-admin.png"), full_page=True)
    finally:
        admin_context.close()

    book(page, specialist, "2030-01-07T10:00:00+00:00")   # today: 2 hours' notice if cancelled now
    book(page, specialist, "2030-01-09T10:00:00+00:00")   # Wednesday: plenty of notice
    page.goto("/patient/packages")
    expect(page.locator(".enrolment")).to_contain_text("2 of 4")

    db.session.rollback()
    today, wednesday = db.session.scalars(sa.select(Booking.id).order_by(Booking.starts_at)).all()
    cancel(page, today, late=True)
    page.screenshot(path=str(SHOTS / "enrolments-cancelled-late.png"), full_page=True)
    cancel(page, wednesday, late=False)

    page.goto("/patient/packages")
    card = page.locator(".enrolment")
    expect(card).to_contain_text("3 of 4")   # the late one's session is gone, the early one's came back
    expect(card).to_contain_text("1 used")
    expect(card).to_contain_text("Usable until Wed 06 Feb 2030")
    page.screenshot(path=str(SHOTS / "enrolments-patient.png"), full_page=True)

    phone = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 812}, is_mobile=True)
    small = phone.new_page()
    try:
        sign_in(small, "pat@enrol.test")
        small.goto(f"/specialists/{specialist.id}")
        expect(small.locator("#my-enrolments")).to_contain_text("3 of 4")
        assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        small.screenshot(path=str(SHOTS / "enrolments-phone.png"), full_page=True)
    finally:
        phone.close()
