"""What people see, in a browser at desktop width and at 375 px: the back button after
htmx's history cache misses, cancellations both parties can read, an admin cancelling
for them, the calendar's history and the "available only" error, and the demo clinic."""
from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Booking, BookingCancellation
from portal.services.cancellations import booking_cancel
from tests.browser.conftest import sign_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SCREENSHOT_DIR")
DEVICES = ["desktop", "phone"]


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def device_page(browser, live_server, request):
    """Desktop (1280 px) or a 375 px phone, by the test's `device` parameter."""
    phone = request.node.callspec.params["device"] == "phone"
    options = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True} if phone \
        else {"viewport": {"width": 1280, "height": 860}}
    context = browser.new_context(base_url=live_server, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def clinic(create_committed_user):
    patient = create_committed_user("patient", "pat@browser.test", display_name="Pat Patient")
    specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr. Sam Spec")
    create_committed_user("specialist", "two@browser.test", display_name="Spec Two")
    admin = create_committed_user("admin", "admin@browser.test", display_name="Ada Admin")
    return patient, specialist, admin


def add_booking(patient, specialist, starts_at, status="confirmed") -> Booking:
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts_at,
                      ends_at=starts_at + timedelta(hours=1), price=Decimal("90.00"), currency="EUR", status=status)
    db.session.add(booking)
    db.session.commit()
    return booking


# ---------- the back button ----------

@pytest.mark.parametrize("device", DEVICES)
def test_back_after_a_history_cache_miss_shows_the_whole_page(device_page, clinic, device):
    page = device_page
    sign_in(page, "pat@browser.test")
    page.goto("/specialists")
    for query in ("Spec", "Two"):
        with page.expect_response(lambda r, query=query: r.url.endswith(f"q={query}")):
            page.fill("#q", query)  # the search runs as you type (one request, its URL pushed)
        expect(page).to_have_url(f"/specialists?q={query}")
    page.wait_for_timeout(400)  # htmx settles and saves the history entry
    page.evaluate("sessionStorage.removeItem('htmx-history-cache')")  # a cache miss, as when it is full
    with page.expect_request(lambda r: r.headers.get("hx-history-restore-request") == "true") as restore:
        page.go_back()
    assert restore.value.headers.get("hx-request") == "true"
    expect(page).to_have_url("/specialists?q=Spec")
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.locator("nav.mainnav")).to_have_count(1)
    expect(page.locator("h1")).to_have_text("Find a specialist")
    expect(page.locator("#results")).to_contain_text("Dr. Sam Spec")
    assert no_horizontal_scroll(page)
    shot(page, f"people-see-back-button-{device}")


# ---------- cancellations both parties can read; staff cancelling for them ----------

@pytest.mark.parametrize("device", DEVICES)
def test_admin_cancels_for_the_parties_and_both_read_who_when_why(device_page, clinic, device):
    page = device_page
    patient, specialist, _admin = clinic
    start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    by_staff = add_booking(patient, specialist, start)
    by_patient = add_booking(patient, specialist, start + timedelta(days=1))
    booking_cancel(actor=patient, booking_id=by_patient.id, reason="Exams that week")
    db.session.commit()

    sign_in(page, "admin@browser.test")
    page.goto(f"/bookings/{by_staff.id}")
    page.locator("#booking-summary").get_by_role("link", name="Cancel").click()
    dialog = page.locator(f"#cancel-dialog-{by_staff.id}")
    expect(dialog).to_contain_text("recorded as made by clinic staff")
    shot(page, f"people-see-admin-cancel-dialog-{device}")
    dialog.get_by_label("Why are you cancelling?").fill("Dr. Spec is ill; we will call you to rebook.")
    dialog.get_by_label("By the clinic").check()
    dialog.get_by_role("button", name="Cancel this session").click()
    summary = page.locator("#booking-summary")
    expect(summary.locator(".badge")).to_have_text("Cancelled")
    expect(summary).to_contain_text("Clinic staff (Ada Admin)")
    shot(page, f"people-see-admin-cancelled-{device}")
    db.session.rollback()
    record = db.session.scalar(sa.select(BookingCancellation).where(BookingCancellation.booking_id == by_staff.id))
    assert record.cancelled_by == clinic[2].id

    page.context.clear_cookies()
    sign_in(page, "spec@browser.test")
    page.goto("/specialist/")
    expect(page.locator(f"#booking-{by_staff.id} .cancelled-by")).to_contain_text("Cancelled by clinic staff")
    expect(page.locator(f"#booking-{by_patient.id} .cancelled-by")).to_contain_text("Cancelled by the patient")
    assert no_horizontal_scroll(page)
    shot(page, f"people-see-specialist-list-{device}")
    page.goto(f"/bookings/{by_patient.id}")
    expect(page.locator("#booking-summary")).to_contain_text("Exams that week")
    expect(page.locator("#booking-summary")).to_contain_text("The patient")
    shot(page, f"people-see-specialist-reads-reason-{device}")

    page.context.clear_cookies()
    sign_in(page, "pat@browser.test")
    expect(page.locator(f"#booking-{by_patient.id} .cancelled-by")).to_contain_text("Cancelled by you")
    expect(page.locator(f"#booking-{by_staff.id} .cancelled-by")).to_contain_text("Cancelled by clinic staff")
    shot(page, f"people-see-patient-list-{device}")
    page.goto(f"/bookings/{by_staff.id}")
    expect(page.locator("#booking-summary")).to_contain_text("Dr. Spec is ill; we will call you to rebook.")
    expect(page.locator("#booking-summary")).not_to_contain_text("Ada Admin")
    assert no_horizontal_scroll(page)
    shot(page, f"people-see-patient-reads-reason-{device}")


# ---------- the calendar's history and "available only" ----------

@pytest.mark.parametrize("device", DEVICES)
def test_calendar_shows_past_sessions_apart_and_refuses_all_day_available_only(device_page, clinic, device):
    page = device_page
    patient, specialist, _admin = clinic
    today = clock.today()
    past_day = today - timedelta(days=1)
    noon = clock.now().replace(year=past_day.year, month=past_day.month, day=past_day.day, hour=10, minute=0,
                               second=0, microsecond=0)
    add_booking(patient, specialist, noon, status="completed")
    gone = add_booking(patient, specialist, noon + timedelta(hours=3), status="confirmed")
    with clock.frozen(noon - timedelta(days=2)):
        booking_cancel(actor=specialist, booking_id=gone.id, reason="Training day")
    db.session.commit()

    sign_in(page, "spec@browser.test")
    page.goto(f"/specialist/calendar?month={past_day:%Y-%m}")
    cell = page.locator(f'a.day[data-date="{past_day.isoformat()}"]')
    expect(cell.locator(".chip-completed")).to_be_visible()
    expect(cell.locator(".chip-cancelled")).to_be_visible()
    cell.click()
    panel = page.locator("#day-panel")
    expect(panel.locator(".session-completed")).to_contain_text("Pat Patient")
    expect(panel.locator(".session-cancelled")).to_contain_text("Cancelled by you")
    expect(panel).to_contain_text("This day has passed")
    expect(panel.locator("form.block-form")).to_have_count(0)
    assert no_horizontal_scroll(page)
    shot(page, f"people-see-calendar-history-{device}")

    page.goto(f"/specialist/calendar?day={(today + timedelta(days=1)).isoformat()}")
    panel = page.locator("#day-panel")
    panel.get_by_label("Meaning").select_option("available_only")
    panel.get_by_role("button", name="Save").click()
    expect(panel.locator("#kind-error")).to_contain_text("needs a time range")
    expect(panel.get_by_label("Meaning")).to_have_attribute("aria-invalid", "true")
    assert no_horizontal_scroll(page)
    shot(page, f"people-see-available-only-error-{device}")


# ---------- the demo clinic ----------

@pytest.mark.parametrize("device", DEVICES)
def test_the_demo_clinic_has_charts_series_and_a_recording_that_plays(device_page, committed_db, device):
    from portal.cli.demo import DEMO_PASSWORD, seed_demo_data

    assert seed_demo_data()
    db.session.commit()
    page = device_page
    sign_in(page, "admin@demo.clinic", DEMO_PASSWORD)
    page.goto("/admin/")
    shot(page, f"people-see-demo-admin-overview-{device}")
    expect(page.locator("svg rect").first).to_be_visible()
    page.context.clear_cookies()
    sign_in(page, "patient@demo.clinic", DEMO_PASSWORD)
    page.goto("/recurring/")
    expect(page.locator("main")).to_contain_text("Dr. Amira Haddad")
    shot(page, f"people-see-demo-series-{device}")
    from portal.models import MeetingRecording

    db.session.rollback()
    recording = db.session.scalar(sa.select(MeetingRecording))
    page.goto(f"/bookings/{recording.booking_id}")
    video = page.locator("video.recording-player")
    video.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('video.recording-player').readyState >= 1")
    assert page.evaluate("document.querySelector('video.recording-player').videoWidth") == 160
    expect(page.locator("main")).to_contain_text("Correction: the diary covered 12 nights")
    assert no_horizontal_scroll(page)
    shot(page, f"people-see-demo-note-recording-{device}")


assert DEFAULT_PASSWORD  # the fixtures' users sign in with it
