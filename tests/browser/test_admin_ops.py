import csv
import io
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import RecurringBooking, SpecialistRate, WorkingHours
from portal.services.audit import audit_record
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


MONDAY = date(2027, 1, 4)


@pytest.fixture
def due_series(create_committed_user):
    """Two weekly series due on a Monday (and ending then, so the horizon holds one session each),
    with a specialist who works that morning."""
    patient = create_committed_user("patient", "pat@browser.test")
    specialist = create_committed_user("specialist", "spec@browser.test")
    db.session.add(WorkingHours(specialist_id=specialist.id, weekday=0, start_time=time(9), end_time=time(17)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(80),
                                  currency="USD", effective_from=date(2000, 1, 1)))
    for at in (time(10), time(12)):
        db.session.add(RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency="weekly",
                                        start_date=MONDAY, end_date=MONDAY, time_of_day=at, is_active=True,
                                        next_booking_date=MONDAY, next_occurrence_index=0))
    db.session.commit()


def test_ops_user_runs_the_dispatcher_and_sees_the_count(page, live_portal, create_committed_user, due_series):
    create_committed_user("ops", "ops@browser.test", display_name="Otto Ops")
    with live_portal.frozen(datetime.combine(MONDAY, time(6), tzinfo=UTC)):
        sign_in(page, "ops@browser.test")
        expect(page.locator("h1")).to_have_text("Operations")
        page.click("#run-dispatcher")
        status = page.locator("#job-status")
        expect(status).to_contain_text("Dispatcher finished")
        expect(status.locator(".job-summary")).to_have_text("2 bookings created")
        assert page.url.endswith("/admin/ops")  # htmx swapped the block; no navigation
        page.reload()
        expect(page.locator("#job-runs tbody tr").first).to_contain_text("2 bookings created")
        last_run = page.locator("#schedule-recurring-dispatch .last-run")
        expect(last_run).to_contain_text("2 bookings created")  # the same run, in the same words
        expect(page.locator("#schedule-recurring-dispatch .when")).to_contain_text("daily at 02:00 UTC")
        # The test server runs no scheduler, and the page does not pretend one will run it.
        expect(page.locator("#schedule-recurring-dispatch .next-run")).to_have_text("not scheduled here")


def test_admin_filters_the_audit_log_to_a_cancellation(page, create_committed_user):
    admin = create_committed_user("admin", "admin@browser.test", display_name="Ada Admin")
    for i in range(5):
        audit_record(actor=admin, action="user_role_changed", entity_type="user", entity_id=f"u-{i}",
                     old_values={"role": "patient"}, new_values={"role": "ops"})
    audit_record(actor=admin, action="booking_cancelled", entity_type="booking", entity_id="b-42",
                 old_values={"status": "confirmed"}, new_values={"status": "cancelled"})
    db.session.commit()
    sign_in(page, "admin@browser.test")
    page.locator(".account-toggle").click()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Audit log").click()
    rows = page.locator("#audit-results tbody tr")
    expect(rows).to_have_count(8)  # 6 rows above, the admin's account and login
    page.select_option("#f-action", "booking_cancelled")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("booking_cancelled")
    expect(page).to_have_url(re.compile(r"action=booking_cancelled"))
    with page.expect_download() as download:
        page.locator("#audit-export").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["entity_id"] for row in exported] == ["b-42"]  # what the page shows, not the whole trail
    rows.first.locator("text=Details").click()
    expect(page.locator(".audit-diff tr.changed")).to_contain_text("status")
    expect(page.locator(".audit-diff .diff-old")).to_contain_text("confirmed")
    expect(page.locator(".audit-diff .diff-new")).to_contain_text("cancelled")
