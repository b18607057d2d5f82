"""In a real browser, at desktop and phone width: a patient chooses a service, moves a week on,
opens the review of a time and confirms it; every step passes axe."""
from __future__ import annotations

import os
from datetime import date, time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from portal.services.offerings import service_create
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import axe_violations, horizontal_overflow, unacceptable

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SCREENSHOT_DIR")
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 375, "height": 812}}


def check(page, name: str) -> None:
    assert unacceptable(axe_violations(page)) == [], name
    assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways"
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def clinic(create_committed_user):
    specialist = create_committed_user("specialist", "svc@browser.test", display_name="Dr Ada Grid",
                                       timezone="Europe/Stockholm")
    create_committed_user("patient", "svc-pat@browser.test", display_name="Pat Svc", timezone="America/New_York")
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=50, price=Decimal("90.00"),
                                  currency="EUR", effective_from=date(2000, 1, 1)))
    db.session.add_all(WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                    end_time=time(17)) for d in range(5))
    db.session.flush()
    service_create(actor=specialist, specialist_id=specialist.id, name="Assessment", duration_minutes=90,
                   price="160.00", currency="EUR", description="A first, longer session")
    db.session.commit()
    return specialist


@pytest.mark.parametrize("width", VIEWPORTS)
def test_choose_a_service_a_week_a_time_then_confirm(browser, live_server, clinic, width):
    context = browser.new_context(base_url=live_server, viewport=VIEWPORTS[width])
    page = context.new_page()
    sign_in(page, "svc-pat@browser.test")
    page.goto(f"/specialists/{clinic.id}")
    check(page, f"journey-services-{width}")
    page.get_by_role("link", name="Assessment").click()
    expect(page.locator(".service-option.selected")).to_contain_text("Assessment")
    expect(page.locator("#slots")).to_contain_text("90-minute sessions")
    page.get_by_role("link", name="Next week").click()
    expect(page.get_by_role("link", name="Previous week")).to_be_visible()
    week = page.locator(".week-title").inner_text()
    first = page.locator("#slot-list button.slot").first
    first_label = first.get_attribute("aria-label")
    check(page, f"journey-week-{width}")
    first.click()
    review = page.locator("#booking-review")
    expect(review).to_contain_text("Assessment")
    expect(review).to_contain_text("90 minutes")
    expect(review).to_contain_text("160.00 EUR")
    expect(review).to_contain_text("(America/New_York)")
    expect(review).to_contain_text("(Europe/Stockholm)")
    assert first_label.removeprefix("Choose ")[:3] in review.inner_text() or week
    check(page, f"journey-review-{width}")
    review.get_by_role("button", name="Confirm").click()
    expect(page.locator("#slot-list .flash-success")).to_contain_text("Booked")
    check(page, f"journey-booked-{width}")
    page.goto("/patient/")
    expect(page.locator("#next-session")).to_contain_text("Dr Ada Grid")
    context.close()
