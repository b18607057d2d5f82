"""A specialist creates a package in place and writes a note; the patient then reads it."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Booking, SpecialistRate
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def people(create_committed_user):
    specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr Browser")
    patient = create_committed_user("patient", "pat@browser.test", display_name="Pat Browser")
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal("100.00"),
                                  currency="USD", effective_from=datetime(2000, 1, 1).date()))
    starts = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts,
                      ends_at=starts + timedelta(hours=1), status="completed", price=Decimal("100.00"),
                      currency="USD")
    db.session.add(booking)
    db.session.commit()
    return specialist, patient, booking


def test_specialist_creates_a_package_in_place(page, people):
    _specialist, _patient, _booking = people
    sign_in(page, "spec@browser.test")
    page.goto("/specialist/packages")
    page.click("summary:has-text('New package')")
    page.fill("#new-name", "Four weeks")
    page.fill("#new-session_count", "0")
    page.fill("#new-price", "320")
    page.click("button:has-text('Create package')")
    expect(page.locator("#new-session_count-error")).to_have_text("A package has at least 1 session.")
    expect(page.locator("#new-name")).to_have_value("Four weeks")
    page.fill("#new-session_count", "4")
    page.click("button:has-text('Create package')")
    package = page.locator(".package", has_text="Four weeks")
    expect(package).to_contain_text("80.00 USD")            # per session
    discount = package.locator("dt:has-text('Discount') + dd")
    expect(discount).to_contain_text("20.0% (saves 80.00 USD)")  # vs 4 x 100.00, worked out from the price
    expect(package.locator("dt")).to_have_text(["Sessions", "Package price", "Per session", "Discount", "Valid for"])
    expect(page.locator(".flash-success")).to_contain_text("created")
    package.locator("button:has-text('Hide from patients')").click()
    expect(page.locator(".package", has_text="Four weeks")).to_contain_text("Hidden")


def test_specialist_writes_a_note_and_the_patient_reads_it(browser, live_server, page, people):
    _specialist, _patient, booking = people
    sign_in(page, "spec@browser.test")
    page.goto(f"/bookings/{booking.id}")
    page.click("text=Write a note")
    expect(page.locator(".note-form .note-audience")).to_contain_text("The patient can read this note")
    page.fill("#new-note-notes", "Calmer this week; practised breathing.")
    page.get_by_label("Private notes (only you and administrators)").fill("Check the medication dose next time")
    page.fill("#new-note-follow_up_actions", "Breathing twice a day")
    page.select_option("#new-note-mood_level", "7")
    page.select_option("#new-note-engagement", "high")
    page.click("button:has-text('Save note')")
    note = page.locator("article.note")
    expect(note).to_contain_text("Calmer this week")
    expect(note).to_contain_text("7/10")
    expect(note).to_contain_text("Check the medication dose next time")
    expect(note).to_contain_text("Editable until")
    expect(note.get_by_role("link", name="Edit", exact=True)).to_be_visible()

    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, is_mobile=True)
    patient_page = context.new_page()
    try:
        sign_in(patient_page, "pat@browser.test")
        patient_page.goto(f"/bookings/{booking.id}")
        patient_note = patient_page.locator("article.note")
        expect(patient_note).to_contain_text("Calmer this week; practised breathing.")
        expect(patient_note).to_contain_text("Breathing twice a day")
        expect(patient_page.locator("text=Write a note")).to_have_count(0)
        expect(patient_note.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
        expect(patient_note.get_by_role("button", name="Delete note")).to_have_count(0)
        expect(patient_page.locator("body")).not_to_contain_text("medication")
        expect(patient_page.locator("body")).not_to_contain_text("Private notes")
        answer = patient_page.request.get("/api/v1/session-notes").json()  # the patient's own session
        assert answer["items"][0]["notes"] == "Calmer this week; practised breathing."
        assert "private_notes" not in answer["items"][0] and "medication" not in str(answer)
    finally:
        context.close()
