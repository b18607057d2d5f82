"""In a real browser, in `make run`'s default configuration (SQLite, no Redis, no SMTP_URL, the
in-process scheduler): a patient books a session and an admin finds its confirmation in /admin/outbox."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.jobs.embedded import EmbeddedScheduler
from portal.models import SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in, sign_out

pytestmark = pytest.mark.browser

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
SHOTS = "/tmp/outbox-shots"


@pytest.fixture
def people(create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):  # the server's clock too
        specialist = create_committed_user("specialist", "spec@mail.test", display_name="Dr Sam Lee")
        patient = create_committed_user("patient", "pat@mail.test", display_name="Pat Doe",
                                        timezone="Europe/Berlin")
        create_committed_user("admin", "admin@mail.test", display_name="Ada Admin")
        db.session.add_all([WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                         end_time=time(17)) for d in range(5)])
        db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(80),
                                      currency="EUR", effective_from=date(2029, 1, 1)))
        db.session.commit()
        yield specialist, patient


@pytest.fixture
def embedded_scheduler(live_server, committed_db):
    """The in-process scheduler thread, as `make run` starts it beside the development server."""
    app = committed_db
    assert not app.config.get("REDIS_URL") and not app.config.get("SMTP_URL")
    scheduler = EmbeddedScheduler(app, tick=0.2)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    yield scheduler
    scheduler.stop.set()
    thread.join(timeout=30)


@pytest.mark.usefixtures("people", "embedded_scheduler")
def test_a_booking_confirmation_shows_up_in_the_outbox(page, browser, live_server):
    sign_in(page, "pat@mail.test")
    page.goto("/specialists")
    page.fill("#q", "sam")
    page.get_by_role("link", name="Dr Sam Lee").click()
    page.locator('button[value="2030-01-07T10:00:00+00:00"]').click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#slot-list .flash-success")).to_contain_text("Booked")
    sign_out(page)

    sign_in(page, "admin@mail.test")
    page.goto("/admin/outbox")
    for _ in range(40):  # the scheduler delivers every 5 seconds
        if page.inner_text("#outbox-results").count("kept") == 2:
            break
        page.wait_for_timeout(500)
        page.reload()
    results = page.locator("#outbox-results")
    expect(results).to_contain_text("Session booked: Monday 7 January 2030, 11:00 (Europe/Berlin)")
    expect(results).to_contain_text("Session booked: Monday 7 January 2030, 10:00 (UTC)")
    expect(results).to_contain_text("Pat Doe")
    page.screenshot(path=f"{SHOTS}/outbox-desktop.png", full_page=True)
    page.get_by_role("link", name="Session booked: Monday 7 January 2030, 11:00 (Europe/Berlin)").click()
    expect(page.locator("#message-status")).to_contain_text("kept")
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.locator("body")).to_contain_text("Your session with Dr Sam Lee is booked.")
    expect(page.locator("pre.mail-text")).to_contain_text("/bookings/")
    page.screenshot(path=f"{SHOTS}/outbox-message-desktop.png", full_page=True)

    phone = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 812}, is_mobile=True)
    small = phone.new_page()
    sign_in(small, "admin@mail.test")
    small.goto("/admin/outbox")
    expect(small.locator("#outbox-results")).to_contain_text("Session booked")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    small.screenshot(path=f"{SHOTS}/outbox-375.png", full_page=True)
    small.get_by_role("link", name="Session booked: Monday 7 January 2030, 10:00 (UTC)").click()
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    small.screenshot(path=f"{SHOTS}/outbox-message-375.png", full_page=True)
    phone.close()
