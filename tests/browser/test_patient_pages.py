"""A patient's dashboard and booking page in Chromium at 1280 and 375 px: the next-session card, the
past-sessions pager, Add to calendar, and a session the specialist cancelled; axe clean on each."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Booking
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import axe_violations, unacceptable

pytestmark = pytest.mark.browser
WIDTHS = [1280, 375]


@pytest.fixture
def patient_sessions(create_committed_user):
    patient = create_committed_user("patient", "pat@pages.test", display_name="Pat Pages")
    specialist = create_committed_user("specialist", "spec@pages.test", display_name="Dr. Rosa Lind")
    hour = clock.now().replace(minute=0, second=0, microsecond=0)

    def booking(days, **kwargs):
        return Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=hour + timedelta(days=days),
                       ends_at=hour + timedelta(days=days, hours=1), price=Decimal("80.00"), currency="EUR",
                       **kwargs)

    rows = [booking(2), booking(4), *(booking(-1 - day) for day in range(23))]
    db.session.add_all(rows)
    db.session.commit()
    return patient, specialist, rows


def _context(browser, live_server, width):
    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 800},
                                  bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


@pytest.mark.parametrize("width", WIDTHS)
def test_next_session_card_add_to_calendar_and_past_pager(browser, live_server, patient_sessions, width):
    _patient, _specialist, rows = patient_sessions
    context, page = _context(browser, live_server, width)
    sign_in(page, "pat@pages.test")
    card = page.locator("#next-session")
    expect(card.get_by_role("heading", name="Next session")).to_be_visible()
    expect(card).to_contain_text("with Dr. Rosa Lind")
    expect(card.get_by_role("link", name="Open")).to_have_attribute("href", f"/bookings/{rows[0].id}")
    expect(card.get_by_role("link", name="Move")).to_be_visible()
    expect(card.get_by_role("link", name="Cancel")).to_be_visible()
    with page.expect_download() as download:
        card.get_by_role("link", name="Add to calendar").click()
    ics = Path(download.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in ics and "Dr. Rosa Lind" in ics and str(rows[0].id) in ics
    expect(page.locator("#upcoming-bookings tbody tr")).to_have_count(1)
    past = page.locator("#past-sessions")
    expect(past.locator("tbody tr")).to_have_count(20)
    expect(past).to_contain_text("Page 1 of 2")
    assert unacceptable(axe_violations(page)) == []
    past.get_by_role("link", name="Older").click()
    expect(past.locator("tbody tr")).to_have_count(3)
    expect(page.locator("#past-sessions")).to_contain_text("Page 2 of 2")
    assert page.url.endswith("/patient/?page=2")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_session_the_specialist_cancelled_speaks_to_the_patient(browser, live_server, patient_sessions, width):
    from portal.services.cancellations import booking_cancel

    _patient, specialist, rows = patient_sessions
    booking_cancel(actor=specialist, booking_id=rows[1].id, reason="I am away at a conference")
    db.session.commit()
    context, page = _context(browser, live_server, width)
    sign_in(page, "pat@pages.test")
    cancelled = page.locator("#cancelled-bookings")
    expect(cancelled.get_by_text("Cancelled (1)")).to_be_visible()
    expect(cancelled.locator("tbody")).to_be_hidden()  # collapsed until opened
    cancelled.get_by_text("Cancelled (1)").click()
    cancelled.get_by_role("link", name="Open").click()
    notice = page.locator("#cancelled-for-you")
    expect(notice.get_by_role("heading")).to_have_text("Dr. Rosa Lind cancelled this session")
    expect(notice).to_contain_text("Their reason: I am away at a conference")
    expect(page.locator("main")).not_to_contain_text("Refund")
    expect(page.locator("main")).not_to_contain_text("Attention")
    assert unacceptable(axe_violations(page)) == []
    notice.get_by_role("link", name="Book another time with Dr. Rosa Lind").click()
    expect(page.locator("h1")).to_contain_text("Dr. Rosa Lind")
    page.go_back()
    page.get_by_role("link", name="My bookings").first.click()
    expect(page.locator("h1")).to_contain_text("Welcome")
    context.close()
