"""In a real browser, the staff pages: working hours picked as times, the specialist's week,
packages whose price and discount agree, the audit export, the users table and the ops page."""
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture
def specialist(create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):
        specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr Sam Lee")
        db.session.add_all([WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                         end_time=time(17)) for d in range(5)])
        db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(80),
                                      currency="EUR", effective_from=date(2029, 1, 1)))
        db.session.commit()
        yield specialist


def test_working_hours_are_picked_as_times_and_bad_ranges_change_nothing(page, specialist):
    sign_in(page, "spec@browser.test")
    page.goto("/specialist/availability")
    monday = page.locator("#hours-day0")
    expect(monday.locator("input[name=start0]").first).to_have_attribute("type", "time")
    expect(monday.locator("input[name=start0]").first).to_have_value("09:00")
    saturday = page.locator("#hours-day5")
    saturday.get_by_label("From").fill("12:00")
    saturday.get_by_label("to").fill("10:00")
    page.get_by_role("button", name="Save hours").click()
    expect(page.locator("#working-hours .flash-error")).to_have_text("Each range must end after it starts.")
    expect(page.locator("#hours-day5 input[name=start5]").first).to_have_value("12:00")  # kept as typed

    page.goto("/specialist/availability")
    expect(page.locator("#hours-day5 legend")).to_contain_text("day off")
    page.locator("#hours-day5").get_by_label("From").fill("10:00")
    page.locator("#hours-day5").get_by_label("to").fill("12:30")
    page.get_by_role("button", name="Save hours").click()
    expect(page.locator(".flash-success")).to_contain_text("Weekly hours saved")
    page.reload()
    expect(page.locator("#hours-day5 input[name=start5]").first).to_have_value("10:00")
    expect(page.locator("#hours-day5 input[name=end5]").first).to_have_value("12:30")
