"""In a real browser: choosing a time zone at sign-up. The browser's own zone is preselected
(an older name it reports mapped to ours), the list is grouped by region, typing a city finds
it, and the page fits a phone."""
import pytest
from playwright.sync_api import expect

from tests.browser.test_accounts import shoot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("browser_zone, preselected", [
    ("Asia/Kolkata", "Asia/Kolkata"), ("Europe/Stockholm", "Europe/Stockholm"), ("UTC", "UTC"),
])
def test_sign_up_preselects_the_browsers_zone(browser, live_server, browser_zone, preselected):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860},
                                  timezone_id=browser_zone)
    page = context.new_page()
    page.goto("/signup")
    expect(page.get_by_label("Time zone")).to_have_value(preselected)
    context.close()


def test_the_zone_list_is_grouped_and_found_by_typing_a_city(page):
    page.goto("/signup")
    select = page.get_by_label("Time zone")
    groups = select.locator("optgroup").evaluate_all("groups => groups.map(g => g.label)")
    assert groups[:3] == ["UTC", "Africa", "America"] and "Europe" in groups
    assert select.locator('option[value="Factory"], option[value="GB-Eire"]').count() == 0
    select.focus()
    page.keyboard.type("Stockholm")
    expect(select).to_have_value("Europe/Stockholm")
    shoot(page, "signup-zone-desktop")


def test_the_sign_up_page_with_its_zone_list_fits_a_phone(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 812},
                                  is_mobile=True, has_touch=True, timezone_id="America/Argentina/Buenos_Aires")
    page = context.new_page()
    page.goto("/signup")
    expect(page.get_by_label("Time zone")).to_have_value("America/Argentina/Buenos_Aires")
    shoot(page, "signup-zone-phone")
    context.close()
