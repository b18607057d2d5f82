"""A patient sets up a weekly series, sees what the dispatcher booked and skipped,
then pauses and ends it in place; on a phone the list still reads."""
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import AvailabilityException, SpecialistRate, WorkingHours
from portal.services.recurring import recurring_dispatch
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _next_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=7 - today.weekday())


@pytest.fixture
def specialist(create_committed_user):
    specialist = create_committed_user("specialist", "weekly@browser.test", display_name="Dr Weekly",
                                       timezone="UTC")
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=50, price=Decimal("90.00"),
                                  currency="USD", effective_from=date(2000, 1, 1)))
    db.session.add_all(WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(8),
                                    end_time=time(18)) for d in range(7))
    db.session.commit()
    return specialist


def _set_up_series(page, start: date, end: date | None = None) -> None:
    page.goto("/recurring/")
    page.select_option("#specialist_id", label="Dr Weekly")
    page.select_option("#frequency", "weekly")
    page.fill("#start_date", start.isoformat())
    page.fill("#end_date", end.isoformat() if end else "")
    page.fill("#time_of_day", "10:00")
    page.click("button:has-text('Set up series')")


def test_patient_sets_up_a_series_and_sees_what_was_booked_and_skipped(page, specialist,
                                                                     create_committed_user):
    create_committed_user("patient", "series@browser.test", display_name="Sam Series")
    first = _next_monday()
    sign_in(page, "series@browser.test")

    _set_up_series(page, first, end=first - timedelta(days=1))
    expect(page.locator(".field.has-error")).to_contain_text("on or after the start date")
    expect(page.locator("#series-list")).to_contain_text("no recurring sessions yet")

    _set_up_series(page, first)
    expect(page.locator(".flash-success")).to_contain_text("Your recurring session is set up")
    summary = page.locator("#series-summary")
    expect(summary).to_contain_text("Weekly with Dr Weekly")
    expect(summary).to_contain_text(first.strftime("%a %d %b %Y"))  # next session
    expect(page.locator("#series-bookings")).to_contain_text("No sessions booked yet")

    # The second week the specialist is away: that session is skipped, with why.
    db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=first + timedelta(days=7),
                                         reason="conference"))
    db.session.commit()
    for day in (first, first + timedelta(days=7)):
        with clock.frozen(datetime.combine(day, time(2), tzinfo=UTC)):
            recurring_dispatch(run_date=day)
    page.reload()
    booked = page.locator("#series-bookings tbody tr")
    expect(booked).to_have_count(1)
    expect(booked).to_contain_text("90.00")
    expect(page.locator("#series-skips")).to_contain_text((first + timedelta(days=7)).strftime("%a %d %b %Y"))
    expect(page.locator("#series-skips")).to_contain_text("Specialist unavailable")
    expect(summary).to_contain_text((first + timedelta(days=14)).strftime("%a %d %b %Y"))

    page.evaluate("window.__stillSamePage = true")
    summary.get_by_role("button", name="Pause").click()
    expect(summary.locator(".badge")).to_have_text("Paused")
    expect(summary.get_by_role("button", name="Resume")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    summary.get_by_role("button", name="End").click()
    expect(summary.locator(".badge")).to_have_text("Ended")
    expect(summary.get_by_role("button", name="Pause")).to_have_count(0)
    assert page.evaluate("window.__stillSamePage") is True  # swapped in place, no reload


def test_series_list_reads_on_a_phone(phone_page, specialist, create_committed_user):
    create_committed_user("patient", "phone-series@browser.test", display_name="Pia Phone")
    sign_in(phone_page, "phone-series@browser.test")
    _set_up_series(phone_page, _next_monday())
    phone_page.goto("/recurring/")
    row = phone_page.locator("#series-list tbody tr")
    expect(row).to_contain_text("Weekly at 10:00")
    expect(row).to_contain_text("Active")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
    phone_page.evaluate("window.__stillSamePage = true")
    row.get_by_role("button", name="Pause").click()
    expect(phone_page.locator("#series-list tbody tr .badge")).to_have_text("Paused")
    assert phone_page.evaluate("window.__stillSamePage") is True
