"""A live portal on 127.0.0.1 (gunicorn, tests/conftest.py's `live_server`) and headless Debian
Chromium driven by Playwright.

Playwright cannot download its own browser here, so it drives /usr/bin/chromium.
The live server shares the test database; its data is committed and emptied
after each test (committed_db)."""
from __future__ import annotations

import os
import shutil

import pytest

from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, require_or_skip

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        require_or_skip("REQUIRE_BROWSER", f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def create_committed_user(committed_db):
    """Make and commit a user the live server can see."""
    from portal.services.users import user_create

    def create(role: str, email: str, **kwargs):
        user = user_create(email=email, password=DEFAULT_PASSWORD, role=role, **kwargs)
        db.session.commit()
        return user

    return create


def sign_in(page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    # Wait for the next page's load event: htmx wires its links then, and a click before that
    # (a slow, loaded machine) follows the plain link to the no-JavaScript page instead.
    with page.expect_navigation(wait_until="load"):
        page.click("button[type=submit]")


def sign_out(page) -> None:
    """Open the menu that holds Sign out (the account menu, or on a phone the whole navigation)."""
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()
    else:
        page.locator(".account-toggle").click()
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign out").click()


def open_menu_on_phone(page) -> None:
    """Below 1000 px the navigation sits behind the Menu button."""
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
