"""The header at 1024 and 1280 px for every role (every link and the role badge whole, on one line)
and the phone's Menu button, which opens the whole navigation by mouse, keyboard and screen reader."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.models import Role
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

ROLES = [Role.PATIENT, Role.SPECIALIST, Role.ADMIN, Role.OPS]

# Each header item: its box, whether its text overflows it, and whether it leaves the viewport.
CLIPPED = """() => Array.from(document.querySelectorAll(
    "nav.mainnav a, .account-toggle .role-tag, .account-toggle, .brand")).map(el => {
  const box = el.getBoundingClientRect();
  return {text: el.textContent.trim(), top: Math.round(box.top), right: box.right,
          overflowing: el.scrollWidth > el.clientWidth + 1 || box.right > window.innerWidth,
          visible: box.width > 0 && box.height > 0};
})"""


def _sign_in_at(browser, live_server, email, width):
    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, email)
    return context, page


@pytest.mark.parametrize("width", [1024, 1280])
@pytest.mark.parametrize("role", ROLES)
def test_every_header_item_fits_on_one_line(browser, live_server, create_committed_user, role, width):
    create_committed_user(role, f"{role}@header.test", display_name="Alexandra Whitfield-Fernandes")
    context, page = _sign_in_at(browser, live_server, f"{role}@header.test", width)
    expect(page.locator(".menu-toggle")).to_be_hidden()
    items = page.evaluate(CLIPPED)
    assert len(items) >= 4
    assert [item["text"] for item in items if item["overflowing"] or not item["visible"]] == []
    link_tops = page.evaluate("() => Array.from(document.querySelectorAll('nav.mainnav a'))"
                              ".map(a => Math.round(a.getBoundingClientRect().top))")
    assert len(set(link_tops)) == 1, "the main navigation wraps"
    header_height = page.locator("header.topbar").bounding_box()["height"]
    assert header_height < 70, f"the header wraps to {header_height}px"
    page.get_by_role("button", name="Alexandra Whitfield-Fernandes").click()
    menu = page.get_by_role("navigation", name="Account")
    expect(menu.get_by_role("link", name="Settings")).to_be_visible()
    expect(menu.get_by_role("link", name="Calendar feed")).to_be_visible()
    expect(menu.get_by_role("link", name="API tokens")).to_have_count(0 if role == Role.PATIENT else 1)
    page.keyboard.press("Escape")
    expect(menu.get_by_role("link", name="Settings")).to_be_hidden()
    context.close()


@pytest.mark.parametrize("role", ROLES)
def test_the_phone_menu_reaches_every_item(browser, live_server, create_committed_user, role):
    from tests.browser.test_accessibility import axe_violations, unacceptable

    create_committed_user(role, f"{role}@phone.test", display_name="Sam Phone")
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 740}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, f"{role}@phone.test")
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav).to_be_hidden()
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    links = page.locator("#site-nav a")
    expected = page.evaluate("() => Array.from(document.querySelectorAll('#site-nav a')).length")
    assert expected >= 5
    for index in range(expected):
        expect(links.nth(index)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#site-nav') !== null")
    assert unacceptable(axe_violations(page)) == []
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(main_nav).to_be_hidden()
    assert page.evaluate("document.activeElement.classList.contains('menu-toggle')")
    toggle.click()
    page.locator("#site-nav").get_by_role("link", name="Settings").click()
    expect(page.locator("h1")).to_have_text("Settings")
    context.close()
