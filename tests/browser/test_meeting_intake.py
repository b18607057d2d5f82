"""In a real browser, at desktop and phone width: a patient books a video session with a specialist
they have never seen, agrees to the clinic's terms and to recording, fills in the questionnaire,
and sees "Join" appear 15 minutes before the start; the specialist reads the answers beside the
booking, and finds "Join" on their dashboard too. Every step passes axe."""
from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from portal.services.intake import intake_form_set, terms_set
from portal.services.offerings import service_create
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import axe_violations, horizontal_overflow, unacceptable

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ".artifacts/screens"))
WIDTHS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 375, "height": 812}}
MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
START = MONDAY + timedelta(hours=9)
QUESTIONS = [{"id": "reason", "kind": "long_text", "label": "What brings you here?", "required": True},
             {"id": "contact", "kind": "short_text", "label": "Emergency contact", "required": True},
             {"id": "before", "kind": "yes_no", "label": "Have you had therapy before?"}]


def check(page, name: str, width: str) -> None:
    assert unacceptable(axe_violations(page)) == [], name
    assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"meeting-{name}-{width}.png"), full_page=True)


@pytest.fixture
def clinic(create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):  # the server's clock too
        specialist = create_committed_user("specialist", "video@browser.test", display_name="Dr Vic Video")
        create_committed_user("patient", "vid-pat@browser.test", display_name="Pat Newcomer")
        admin = create_committed_user("admin", "vid-admin@browser.test", display_name="Ada Admin")
        db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=50, price=Decimal("90.00"),
                                      currency="EUR", effective_from=date(2000, 1, 1)))
        db.session.add_all(WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                        end_time=time(17)) for d in range(5))
        db.session.flush()
        service_create(actor=specialist, specialist_id=specialist.id, name="Video session", duration_minutes=60,
                       price="90.00", currency="EUR", location={"kind": "video"})
        intake_form_set(actor=specialist, specialist_id=specialist.id, questions=QUESTIONS)
        terms_set(actor=admin, body="Cancel at least 24 hours ahead. Sessions are confidential.")
        db.session.commit()
        yield specialist


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_a_new_patient_books_video_fills_the_intake_and_joins(browser, live_server, live_portal, clinic, width):
    context = browser.new_context(base_url=live_server, viewport=WIDTHS[width])
    page = context.new_page()
    page.set_default_timeout(10_000)
    with live_portal.frozen(MONDAY - timedelta(days=1)):
        sign_in(page, "vid-pat@browser.test")
        page.goto(f"/specialists/{clinic.id}")
        page.get_by_role("link", name="Video session").click()
        expect(page.locator(".service-option.selected")).to_contain_text("Video session")
        page.locator(f'#slot-list button.slot[value="{START.isoformat()}"]').click()
        review = page.locator("#booking-review")
        expect(review).to_contain_text("Video session")
        with page.expect_navigation(wait_until="load"):
            review.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Before your first session with Dr Vic Video")
        expect(page.locator("#terms")).to_contain_text("Cancel at least 24 hours ahead.")
        check(page, "intake", width)
        page.get_by_role("button", name="Send").click()  # nothing filled in: the required answers are named
        expect(page.locator("#questionnaire .error").first).to_have_text("Required.")
        page.get_by_label("I agree to the clinic's terms").check()
        page.get_by_label("I agree that Dr Vic Video may record our sessions").check()
        page.get_by_label("What brings you here?").fill("Trouble sleeping since spring")
        page.get_by_label("Emergency contact").fill("Kim Newcomer, 555-0101")
        page.get_by_label("No").check()
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Send").click()
        expect(page.locator("#booking-summary")).to_contain_text("By video")
        expect(page.locator("#booking-summary")).to_contain_text("appears here 15 minutes before the start")
        expect(page.get_by_role("link", name="Join")).to_have_count(0)
        expect(page.locator("#booking-intake")).to_have_count(0)  # nothing left to fill in
        check(page, "booked", width)
    with live_portal.frozen(START - timedelta(minutes=15)):
        page.goto("/patient/")
        join = page.locator("#next-session").get_by_role("link", name="Join")
        expect(join).to_be_visible()
        room = join.get_attribute("href")
        assert room.startswith("https://meet.jit.si/clinic-")
        check(page, "join-card", width)
        page.locator("#next-session").get_by_role("link", name="Open", exact=True).click()
        expect(page.locator("#booking-summary").get_by_role("link", name="Join")).to_have_attribute(
            "href", room)
        check(page, "join-booking", width)
        booking_url = page.url
        specialist_page = browser.new_context(base_url=live_server, viewport=WIDTHS[width]).new_page()
        sign_in(specialist_page, "video@browser.test")
        specialist_page.goto("/specialist/")
        expect(specialist_page.locator("#next-session").get_by_role("link", name="Join")).to_have_attribute(
            "href", room)
        check(specialist_page, "specialist-dashboard", width)
        specialist_page.goto(booking_url)
        answers = specialist_page.locator("#booking-intake")
        expect(answers).to_contain_text("Trouble sleeping since spring")
        expect(answers).to_contain_text("Kim Newcomer, 555-0101")
        expect(specialist_page.locator("#booking-summary").get_by_role("link", name="Join")).to_be_visible()
        check(specialist_page, "specialist-answers", width)
        specialist_page.context.close()
    context.close()
