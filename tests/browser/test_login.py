import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in, sign_out

pytestmark = pytest.mark.browser

LANDINGS = {
    "patient": ("/patient/", "Welcome"),
    "specialist": ("/specialist/", "Your schedule"),
    "admin": ("/admin/", "Administration"),
    "ops": ("/admin/ops", "Operations"),
}


@pytest.mark.parametrize("role", sorted(LANDINGS))
def test_each_role_signs_in_and_lands_on_its_dashboard(page, live_server, create_committed_user, role):
    create_committed_user(role, f"{role}@browser.test", display_name=f"{role.title()} Person")
    sign_in(page, f"{role}@browser.test")
    path, heading = LANDINGS[role]
    expect(page).to_have_url(live_server + path)
    expect(page.locator("h1")).to_contain_text(heading)
    expect(page.locator(".usermenu")).to_contain_text(f"{role.title()} Person")


def test_wrong_password_shows_an_error_and_stays_signed_out(page, create_committed_user):
    create_committed_user("patient", "pat@browser.test")
    sign_in(page, "pat@browser.test", "not-the-password")
    expect(page.locator(".field.has-error .error")).to_contain_text("E-mail or password is not right")
    page.goto("/patient/")
    expect(page).to_have_url(re.compile(r"/login\?next=/patient/"))


def test_sign_out_returns_to_login(page, live_server, create_committed_user):
    create_committed_user("specialist", "spec@browser.test")
    sign_in(page, "spec@browser.test")
    sign_out(page)
    expect(page).to_have_url(live_server + "/login")
    expect(page.locator(".flash")).to_contain_text("signed out")
