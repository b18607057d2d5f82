"""Keyboard only: after opening the sign-in page, every step is a key press (Tab, arrows,
Enter, Escape, typing), as for someone who cannot use a mouse."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
MAX_TABS = 80


@pytest.fixture
def people(create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):  # the server's clock too
        specialist = create_committed_user("specialist", "spec@keys.test", display_name="Dr Kim Reyes")
        create_committed_user("patient", "pat@keys.test", display_name="Pat Key")
        db.session.add_all([WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                         end_time=time(17)) for d in range(5)])
        db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(80),
                                      currency="EUR", effective_from=date(2029, 1, 1)))
        db.session.commit()
        yield specialist


def focused(page, script: str):
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {script}; }})()")


def tab_to(page, test: str, *, backwards: bool = False) -> None:
    """Press Tab until the focused element passes `test` (JS, `el` is the element)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if focused(page, f"!!el && ({test})"):
            return
    raise AssertionError(f"Tab never reached an element where {test}")


def focus_is_visible(page) -> bool:
    """The focused element draws an outline or a box shadow: focus is never invisible."""
    return focused(page, "(() => { const s = getComputedStyle(el); return (s.outlineStyle !== 'none' "
                         "&& parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; })()")


def follow(page, key: str = "Enter") -> None:
    """Press a key that leaves the page (a link, a plain form) and wait for the next one."""
    with page.expect_navigation():
        page.keyboard.press(key)


def sign_in_by_keyboard(page, email: str) -> None:
    page.goto("/login")
    tab_to(page, "el.name === 'email'")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(DEFAULT_PASSWORD)
    follow(page)


def test_a_patient_books_and_cancels_with_the_keyboard_alone(page, people):
    sign_in_by_keyboard(page, "pat@keys.test")
    tab_to(page, "el.matches('nav.mainnav a') && /specialist/i.test(el.textContent)")
    assert focus_is_visible(page)
    follow(page)
    tab_to(page, "el.id === 'q'")
    page.keyboard.type("Kim")
    page.keyboard.press("Enter")  # htmx searches in place and pushes the URL
    expect(page.get_by_role("link", name="Dr Kim Reyes")).to_be_visible()
    tab_to(page, "el.tagName === 'A' && el.textContent.includes('Dr Kim Reyes')")
    follow(page)
    expect(page.locator("h1")).to_have_text("Dr Kim Reyes")

    tab_to(page, "el.matches('button.slot')")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("#booking-review")).to_be_visible()
    tab_to(page, "el.matches('#booking-review button[type=submit]')")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("#slot-list .flash-success")).to_contain_text("Booked")

    tab_to(page, "el.matches('nav.mainnav a') && /dashboard|home|bookings/i.test(el.textContent)", backwards=True)
    follow(page)
    tab_to(page, "el.matches('#next-session a') && el.textContent.trim() === 'Open'")  # the session's page
    follow(page)
    tab_to(page, "el.matches('[aria-haspopup=dialog]')")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.cancel-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("dialog.cancel-dialog textarea")).to_be_focused()
    assert page.evaluate("document.querySelector('dialog.cancel-dialog').matches(':modal')")

    page.keyboard.press("Escape")  # closes, and focus goes back to the button that opened it
    expect(dialog).to_be_hidden()
    assert focused(page, "el.matches('[aria-haspopup=dialog]')")

    page.keyboard.press("Enter")
    expect(page.locator("dialog.cancel-dialog textarea")).to_be_focused()
    for _ in range(12):  # focus stays inside the open dialog
        page.keyboard.press("Tab")
        assert focused(page, "!!el.closest('dialog')")
    page.locator("dialog.cancel-dialog textarea").focus()  # back to the start of the dialog
    page.keyboard.type("Unwell today")
    tab_to(page, "el.id && el.id.startsWith('cancel-submit')")
    page.keyboard.press("Enter")
    expect(page.locator("#booking-summary .badge").first).to_have_text("Cancelled")
    expect(page.locator("#announcer")).to_contain_text("cancelled")


def test_a_specialist_blocks_part_of_a_day_with_the_keyboard_alone(page, people):
    sign_in_by_keyboard(page, "spec@keys.test")
    tab_to(page, "el.matches('nav.mainnav a') && el.textContent.trim() === 'Calendar'")
    follow(page)
    # One day of the grid is in the tab order (today, a Sunday); the arrow keys move to the others.
    tab_to(page, "el.matches('[data-calendar-grid] a.day')")
    start = date.fromisoformat(focused(page, "el.dataset.date"))
    assert focus_is_visible(page)
    page.keyboard.press("ArrowDown")
    assert focused(page, "el.dataset.date") == (start + timedelta(days=7)).isoformat()
    page.keyboard.press("ArrowRight")
    target = start + timedelta(days=8)
    assert focused(page, "el.dataset.date") == target.isoformat()
    assert f"{target:%A} {target.day} {target:%B}" in focused(page, "el.textContent")  # names its date
    page.keyboard.press("Enter")
    panel = page.locator("#day-panel")
    expect(panel.locator("form.block-form")).to_be_visible()

    tab_to(page, "el.type === 'radio' && !!el.closest('#day-panel')")
    page.keyboard.press("ArrowDown")  # a radio group is one tab stop: arrows choose "From-to"
    assert focused(page, "el.value") == "range"
    tab_to(page, "el.id === 'start_time'")
    page.keyboard.type("1400")
    tab_to(page, "el.id === 'end_time'")
    page.keyboard.type("1530")
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Save'")
    page.keyboard.press("Enter")
    expect(page.locator("#day-panel .exception-row")).to_contain_text("14:00")
    expect(page.locator(f'a.day.partial[data-date="{target.isoformat()}"]')).to_have_count(1)
