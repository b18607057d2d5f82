"""In a real browser, at desktop and phone width: a stranger finds a specialist in the public
directory, chooses a time, creates an account, confirms the address from the captured e-mail, signs
in, lands back on the review with the time still chosen, and confirms it; every step passes axe."""
from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import BookingPackage, SpecialistRate, WorkingHours
from portal.services.mail_delivery import outbox_deliver
from tests.account.mail import outbox_rows
from tests.browser.test_accounts import newest_mail
from tests.browser.test_booking_journey import VIEWPORTS, check

pytestmark = pytest.mark.browser

PASSWORD = "sunlit-meadow-walk-42"


@pytest.fixture
def clinic(create_committed_user):
    specialist = create_committed_user("specialist", "front@browser.test", display_name="Dr Iris Open",
                                       timezone="Europe/Stockholm")
    specialist.specialist_profile.title = "Physiotherapist"
    specialist.specialist_profile.bio = "Knees, backs and shoulders; sports injuries."
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=50, price=Decimal("90.00"),
                                  currency="EUR", effective_from=date(2000, 1, 1)))
    db.session.add_all(WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                    end_time=time(17)) for d in range(5))
    db.session.add(BookingPackage(specialist_id=specialist.id, name="Five sessions", description="", session_count=5,
                                  price=Decimal("405.00"), currency="EUR", discount_percentage=10, is_active=True))
    db.session.commit()
    return specialist


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_stranger_finds_a_specialist_signs_up_confirms_and_books_the_chosen_time(
        browser, live_server, committed_db, clinic, width):
    context = browser.new_context(base_url=live_server, viewport=VIEWPORTS[width], timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/specialists")
    page.get_by_label("Name, title or service").fill("physio")
    expect(page.locator("#results")).to_contain_text("Dr Iris Open")
    check(page, f"public-directory-{width}")
    page.get_by_role("link", name="Dr Iris Open").click()
    expect(page.locator("#active-packages")).to_contain_text("Five sessions")
    check(page, f"public-profile-{width}")
    page.get_by_role("link", name="Next week").click()
    expect(page.get_by_role("link", name="Previous week")).to_be_visible()
    first = page.locator("#slot-list button.slot").first
    chosen = first.get_attribute("value")
    first.click()
    expect(page.locator("#review-sign-in")).to_contain_text("sign in or create an account")
    expect(page.locator("#booking-review")).to_contain_text("90.00 EUR")
    check(page, f"public-review-{width}")

    page.locator("#review-sign-in").get_by_role("link", name="Create an account").click()
    email = f"nina-{width}@front.test"
    page.get_by_label("Your name").fill("Nina New")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    check(page, f"public-signup-{width}")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")

    assert outbox_deliver(ids=[row.id for row in outbox_rows("account_confirm")]) == {"kept": 1}
    text = newest_mail().get_body(("plain",)).get_content()
    link = re.search(r"https?://[^/\s]+(/confirm/\S+)", text).group(1)
    page.goto(link)
    expect(page.locator(".flash-success")).to_contain_text("Your e-mail address is confirmed")
    check(page, f"public-confirmed-sign-in-{width}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("button[type=submit]")
    review = page.locator("#booking-review")
    expect(review).to_be_visible()
    assert page.locator('#booking-review input[name="starts_at"]').get_attribute("value") == chosen
    check(page, f"public-back-to-review-{width}")
    review.get_by_role("button", name="Confirm").click()
    expect(page.locator("#slot-list .flash-success")).to_contain_text("Booked")
    check(page, f"public-booked-{width}")
    page.goto("/patient/")
    expect(page.locator("#next-session")).to_contain_text("Dr Iris Open")  # the only session: the next one
    context.close()
