"""In a real browser: a specialist blocks part of a day on the calendar and the
patient's slot list stops offering it; a patient chooses a slot, reviews and confirms it in place."""
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in, sign_out

pytestmark = pytest.mark.browser

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture
def people(create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):  # the server's clock too
        specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr Sam Lee")
        patient = create_committed_user("patient", "pat@browser.test", display_name="Pat Doe")
        db.session.add_all([WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                         end_time=time(17)) for d in range(5)])
        db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(80),
                                      currency="EUR", effective_from=date(2029, 1, 1)))
        db.session.commit()
        yield specialist, patient


def slot(page, hour: int):
    return page.locator(f'button[value="2030-01-07T{hour:02d}:00:00+00:00"]')


def test_blocking_part_of_a_day_removes_it_from_the_patient_slot_list(page, people):
    specialist, _ = people
    sign_in(page, "spec@browser.test")
    page.goto("/specialist/calendar?month=2029-12")
    page.click("a[rel=next]")  # htmx swaps the month in place
    expect(page.locator(".calendar-nav .month")).to_have_text("January 2030")
    page.click('a.day[data-date="2030-01-07"]')
    panel = page.locator("#day-panel")
    expect(panel.locator("h2")).to_have_text("Monday 07 January 2030")
    panel.get_by_label("From–to").check()
    panel.locator("#start_time").fill("14:00")
    panel.locator("#end_time").fill("15:30")
    panel.locator("#reason").select_option("training")
    panel.get_by_role("button", name="Save").click()
    expect(page.locator("#day-panel .flash-success")).to_contain_text("Saved")
    expect(page.locator("#day-panel .exception-row")).to_contain_text("14:00–15:30")
    expect(page.locator('a.day.partial[data-date="2030-01-07"]')).to_have_count(1)

    sign_out(page)
    sign_in(page, "pat@browser.test")
    page.goto(f"/specialists/{specialist.id}")
    expect(slot(page, 13)).to_be_visible()
    expect(slot(page, 14)).to_have_count(0)
    expect(slot(page, 15)).to_have_count(0)
    expect(slot(page, 16)).to_be_visible()  # starts lie on the hour grid: 16:00 is the first after the block


@pytest.mark.usefixtures("people")
def test_patient_books_a_slot_and_the_list_updates_in_place(page):
    sign_in(page, "pat@browser.test")
    page.goto("/specialists")
    page.fill("#q", "sam")
    # The load event first: a slot clicked before htmx wires the page opens the no-JavaScript review.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Dr Sam Lee").click()
    expect(page.locator("h1")).to_have_text("Dr Sam Lee")
    url = page.url
    slot(page, 10).click()
    expect(page.locator("#booking-review")).to_contain_text("80.00 EUR")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#slot-list .flash-success")).to_contain_text("Booked")
    assert page.url == url  # no full navigation
    page.reload()
    expect(slot(page, 10)).to_have_count(0)
    page.goto("/patient/")
    expect(page.locator("#next-session")).to_contain_text("Dr Sam Lee")
