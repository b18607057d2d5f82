"""A patient sets up a weekly series, sees what the dispatcher booked and skipped,
then pauses and ends it in place; on a phone the list still reads."""
import os
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import AvailabilityException, SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in, sign_out

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


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
    """The standing-appointment form: specialist and frequency, then the first session from the
    specialist's free times (the week of `start`, 10:00), reviewed and confirmed."""
    page.goto("/recurring/")
    page.select_option("#specialist_id", label="Dr Weekly")
    page.select_option("#frequency", "weekly")
    page.click("button:has-text('Choose the first session')")
    page.fill("#week-from", start.isoformat())
    page.click("button:has-text('Show')")
    page.click(f"button.slot[value='{start.isoformat()}T10:00:00+00:00']")
    expect(page.locator("#repeat")).to_have_value("weekly")
    page.fill("#end_date", end.isoformat() if end else "")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".flash-success, .flash-error").first).to_be_visible()  # the series page, or why not


def _sessions(first: date) -> list[date]:
    return [first + timedelta(weeks=i) for i in range(4)]


def test_a_new_series_holds_its_next_four_sessions_for_patient_and_specialist(page, specialist,
                                                                             create_committed_user):
    create_committed_user("patient", "series@browser.test", display_name="Sam Series")
    first = _next_monday()  # 1-7 days ahead: with the 28-day horizon, four Mondays are held
    sign_in(page, "series@browser.test")

    _set_up_series(page, first, end=first - timedelta(days=1))
    expect(page.locator("#slot-list .flash-error")).to_contain_text("The end date is before the start date")
    page.goto("/recurring/")
    expect(page.locator("#series-list")).to_contain_text("no recurring sessions yet")

    _set_up_series(page, first)
    expect(page.locator(".flash-success")).to_contain_text("Your recurring session is set up. 4 sessions booked.")
    summary = page.locator("#series-summary")
    expect(summary).to_contain_text("Weekly with Dr Weekly")
    expect(summary).to_contain_text("4 booked sessions will be cancelled.")
    booked = page.locator("#series-bookings tbody tr")
    expect(booked).to_have_count(4)
    expect(booked.first).to_contain_text("90.00")
    shot(page, "series-created-desktop")

    page.goto("/patient/")
    upcoming = page.locator("main")  # the first in the Next session card, the rest listed after it
    for day in _sessions(first):
        expect(upcoming).to_contain_text(day.strftime("%d %b"))
    expect(upcoming).to_contain_text("Dr Weekly")

    sign_out(page)
    sign_in(page, "weekly@browser.test")
    for day in _sessions(first):
        page.goto(f"/specialist/calendar?month={day.strftime('%Y-%m')}")
        cell = page.locator(f'a.day[data-date="{day.isoformat()}"]')
        expect(cell).to_contain_text(re.compile(r", 1 session booked"))  # what the day says to a screen reader
        expect(cell.locator(".chip")).to_contain_text("10:00")
    shot(page, "series-calendar-desktop")


def test_a_skipped_session_says_why_and_pause_says_how_many_go(page, specialist, create_committed_user):
    create_committed_user("patient", "skip@browser.test", display_name="Sky Skip")
    first = _next_monday()
    # The second week the specialist is away: that session is skipped, with why.
    db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=first + timedelta(days=7),
                                         reason="conference"))
    db.session.commit()
    sign_in(page, "skip@browser.test")
    _set_up_series(page, first)
    expect(page.locator(".flash-success")).to_contain_text(
        "3 sessions booked. 1 session could not be booked (see Skipped sessions for why).")
    expect(page.locator("#series-bookings tbody tr")).to_have_count(3)
    expect(page.locator("#series-skips")).to_contain_text((first + timedelta(days=7)).strftime("%a %d %b %Y"))
    expect(page.locator("#series-skips")).to_contain_text("Specialist unavailable")

    summary = page.locator("#series-summary")
    page.evaluate("window.__stillSamePage = true")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    summary.get_by_role("button", name="Pause").click()
    expect(summary.locator(".badge")).to_have_text("Paused")
    assert dialogs == ["Pause this series? 3 booked sessions will be cancelled."]
    summary.get_by_role("button", name="Resume").click()
    expect(summary.locator(".badge")).to_have_text("Active")
    summary.get_by_role("button", name="End").click()
    expect(summary.locator(".badge")).to_have_text("Ended")
    assert dialogs[-1] == "End this series? 3 booked sessions will be cancelled."
    expect(summary.get_by_role("button", name="Pause")).to_have_count(0)
    assert page.evaluate("window.__stillSamePage") is True  # swapped in place, no reload
    page.reload()
    expect(page.locator("#series-bookings tbody tr.is-cancelled")).to_have_count(6)  # 3 by the pause, 3 by the end


def test_cancel_this_and_following_from_the_series_page(page, specialist, create_committed_user):
    create_committed_user("patient", "cut@browser.test", display_name="Cat Cut")
    first = _next_monday()
    sign_in(page, "cut@browser.test")
    _set_up_series(page, first)
    third = first + timedelta(weeks=2)
    row = page.locator("#series-bookings tbody tr", has_text=third.strftime("%d %b"))
    row.get_by_text("Cancel this and following").click()
    row.get_by_label("Reason").fill("Moving away")
    shot(page, "series-cancel-following-desktop")
    row.get_by_role("button", name="Cancel from this session on").click()
    expect(page.locator(".flash-success")).to_contain_text(
        f"The series now ends before {third.strftime('%a %d %b %Y')}. 2 sessions cancelled.")
    expect(page.locator("#series-bookings tbody tr.is-cancelled")).to_have_count(2)
    expect(page.locator("#series-summary .badge")).to_have_text("Ended")


def test_series_list_reads_on_a_phone(phone_page, specialist, create_committed_user):
    create_committed_user("patient", "phone-series@browser.test", display_name="Pia Phone")
    sign_in(phone_page, "phone-series@browser.test")
    _set_up_series(phone_page, _next_monday())
    shot(phone_page, "series-detail-phone")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the series page scrolls sideways on a phone ({width}px wide)"
    phone_page.goto("/recurring/")
    row = phone_page.locator("#series-list tbody tr")
    expect(row).to_contain_text("Weekly at 10:00")
    expect(row).to_contain_text("Active")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
    shot(phone_page, "series-list-phone")
    phone_page.evaluate("window.__stillSamePage = true")
    phone_page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Pause").click()
    expect(phone_page.locator("#series-list tbody tr .badge")).to_have_text("Paused")
    assert phone_page.evaluate("window.__stillSamePage") is True
