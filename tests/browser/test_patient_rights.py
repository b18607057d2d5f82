"""A patient downloads their data, reads who has looked at their record and asks to be forgotten;
an admin carries the erasure out. At 1280 and 375 px wide, axe clean on every page of the way."""
from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Booking, ErasureRequest, User
from portal.services.access_log import record_access
from portal.services.notes import note_create
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import axe_violations, horizontal_overflow, unacceptable

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ".artifacts/screens"))
WIDTHS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 375, "height": 740}}


@pytest.fixture
def clinic(create_committed_user):
    patient = create_committed_user("patient", "pat@rights.test", display_name="Pat Rights")
    specialist = create_committed_user("specialist", "spec@rights.test", display_name="Dr. Sam Spec")
    create_committed_user("admin", "admin@rights.test", display_name="Ada Admin")
    starts = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts,
                      ends_at=starts + timedelta(hours=1), price=Decimal("90.00"), currency="EUR", status="completed")
    db.session.add(booking)
    db.session.flush()
    note = note_create(actor=specialist, booking_id=booking.id, data={"notes": "Sleep is better; keep walking."})
    record_access(specialist, note)
    db.session.commit()
    return patient


def check(page, problems: list, width: str, name: str) -> None:
    for violation in unacceptable(axe_violations(page)):
        problems.append(f"{width} {name}: {violation['impact']} {violation['id']} at {violation['nodes']}")
    if horizontal_overflow(page) > 1:
        problems.append(f"{width} {name}: horizontal scroll")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"rights-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_a_patient_downloads_reads_the_log_asks_and_an_admin_erases(browser, live_server, clinic, width):
    problems: list[str] = []
    context = browser.new_context(base_url=live_server, viewport=WIDTHS[width], bypass_csp=True,
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, "pat@rights.test")
    page.goto("/account")
    page.get_by_role("link", name="Your data and privacy").click()
    expect(page.locator("h1")).to_have_text("Your data and privacy")
    check(page, problems, width, "data")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    document = json.loads(Path(download.value.path()).read_text())
    assert document["profile"]["email"] == "pat@rights.test"
    assert document["session_notes"][0]["notes"] == "Sleep is better; keep walking."

    page.get_by_role("link", name="Who has looked at my record").click()
    expect(page.locator("h1")).to_have_text("Who has looked at my record")
    expect(page.locator("table.access-log")).to_contain_text("Dr. Sam Spec")
    expect(page.locator("table.access-log")).to_contain_text("Session note")
    check(page, problems, width, "access-log")

    page.get_by_role("link", name="Your data and privacy").click()
    page.get_by_role("button", name="Ask the clinic to erase my account").click()
    expect(page.locator("#confirm-error")).to_contain_text("Tick the box")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Ask the clinic to erase my account").click()
    expect(page.locator("#erasure")).to_contain_text("The clinic has not answered yet")
    check(page, problems, width, "asked")
    context.close()

    admin = browser.new_context(base_url=live_server, viewport=WIDTHS[width], bypass_csp=True).new_page()
    admin.set_default_timeout(15_000)
    sign_in(admin, "admin@rights.test")
    admin.goto("/admin/users")
    admin.get_by_role("link", name="Erasure requests").click()
    expect(admin.locator("#pending-erasures")).to_contain_text("Pat Rights")
    expect(admin.locator("main")).to_contain_text("never erased")
    check(admin, problems, width, "admin-requests")
    admin.get_by_role("button", name="Carry out the erasure of Pat Rights").click()
    expect(admin.locator(".flash-success")).to_contain_text("The account is erased")
    expect(admin.locator("#pending-erasures")).to_contain_text("No erasure request is waiting")
    check(admin, problems, width, "admin-erased")
    admin.context.close()

    db.session.expire_all()
    patient = db.session.get(User, clinic.id)
    assert patient.display_name.startswith("Former patient #") and not patient.is_active
    assert db.session.scalar(sa.select(ErasureRequest.status)) == "carried_out"
    assert problems == [], "\n".join(problems)
