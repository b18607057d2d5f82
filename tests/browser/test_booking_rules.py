"""A specialist sets their booking rules on "Hours and rates", and the patient's slot list
changes: no slots inside the notice or beyond the window, none once the limit is reached."""
from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/i21shots"))


@pytest.fixture
def specialist(create_committed_user):
    specialist = create_committed_user("specialist", "rules@browser.test", display_name="Dr Rules", timezone="UTC")
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal("80.00"),
                                  currency="USD", effective_from=date(2000, 1, 1)))
    db.session.add_all(WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(0),
                                    end_time=time(23, 59)) for d in range(7))
    db.session.commit()
    return specialist


def slot_starts(page) -> list[datetime]:
    return [datetime.fromisoformat(value) for value in
            page.locator("#slot-list button.slot").evaluate_all("els => els.map(e => e.value)")]


def set_rules(page, **values) -> None:
    page.goto("/specialist/availability")
    for name, value in values.items():
        page.fill(f"#{name}", str(value))
    page.click("button:has-text('Save booking rules')")
    expect(page.locator(".flash-success")).to_contain_text("Booking rules saved.")


def test_specialist_sets_rules_and_the_patients_slot_list_changes(browser, live_server, page, specialist,
                                                                 create_committed_user):
    create_committed_user("patient", "fair@browser.test", display_name="Fay Fair", timezone="UTC")
    patient_context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 800})
    patient = patient_context.new_page()
    patient.set_default_timeout(30_000)  # the shared CI machine can be slow; the assertions stay exact
    page.set_default_timeout(30_000)
    sign_in(patient, "fair@browser.test")
    patient.goto(f"/specialists/{specialist.id}")
    before = slot_starts(patient)
    now = datetime.now(UTC)
    assert min(before) >= now + timedelta(hours=2)  # the default notice
    assert max(before) > now + timedelta(days=5)

    sign_in(page, "rules@browser.test")
    set_rules(page, min_notice_hours=24, booking_window_days=3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#booking-rules").screenshot(path=str(SHOTS / "rules-desktop.png"))

    patient.reload()
    after = slot_starts(patient)
    assert after and len(after) < len(before)
    assert min(after) >= now + timedelta(hours=24) and max(after) <= datetime.now(UTC) + timedelta(days=3)
    patient.screenshot(path=str(SHOTS / "patient-375.png"), full_page=False)
    assert patient.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    set_rules(page, max_upcoming_per_patient=1)
    patient.reload()
    patient.locator("#slot-list button.slot").first.click()
    patient.get_by_role("button", name="Confirm").click()
    expect(patient.locator("#slot-list .flash-success")).to_contain_text("Booked")
    patient.reload()
    expect(patient.locator("#booking-limit-note")).to_contain_text("at most 1 upcoming session per patient")
    assert slot_starts(patient) == []

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/specialist/availability")
    page.locator("#booking-rules").screenshot(path=str(SHOTS / "rules-375.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    patient_context.close()
