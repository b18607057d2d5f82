"""In a real browser: a visitor signs up, confirms the address with the link from the captured
e-mail (the outbox row, rendered) and books; a patient who forgot her password resets it and signs in."""
import email
import email.policy
import os
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from portal.services.mail_delivery import outbox_deliver
from portal.services.mail_files import mail_folder
from tests.account.mail import link_path, outbox_rows
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
PASSWORD = "sunlit-meadow-walk-42"
SHOTS = os.environ.get("SCREENSHOT_DIR")  # set it to keep the screenshots


@pytest.fixture
def specialist(create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):  # the server's clock too
        user = create_committed_user("specialist", "spec@signup.test", display_name="Dr Sam Lee")
        db.session.add_all([WorkingHours(specialist_id=user.id, weekday=d, start_time=time(9), end_time=time(17))
                            for d in range(5)])
        db.session.add(SpecialistRate(specialist_id=user.id, duration_minutes=60, price=Decimal(80),
                                      currency="EUR", effective_from=date(2029, 1, 1)))
        db.session.commit()
        yield user


def slot(page, hour: int):
    return page.locator(f'button[value="2030-01-07T{hour:02d}:00:00+00:00"]')


def newest_mail() -> email.message.EmailMessage:
    path = max(mail_folder().glob("*.eml"), key=lambda found: found.stat().st_mtime)
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def shoot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "horizontal scroll"


def test_sign_up_confirm_and_book(browser, live_server, committed_db, specialist):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860},
                                  timezone_id="America/Chicago")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_label("Time zone")).to_have_value("America/Chicago")  # from the browser
    page.get_by_label("Your name").fill("Nina New")
    page.get_by_label("E-mail").fill("nina@signup.test")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error")).to_contain_text("at least 12 characters")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    shoot(page, "signup-error-desktop")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")

    sign_in(page, "nina@signup.test", PASSWORD)
    expect(page.locator("#confirm-email")).to_contain_text("confirm your e-mail address")
    page.goto(f"/specialists/{specialist.id}")
    shoot(page, "unconfirmed-specialist-desktop")
    expect(page.locator("#confirm-to-book")).to_contain_text("Confirm your e-mail to book.")
    expect(page.locator("#slot-list button.slot")).to_have_count(0)  # times shown, not offered

    assert outbox_deliver(ids=[row.id for row in outbox_rows("account_confirm")]) == {"kept": 1}
    message = newest_mail()  # no SMTP_URL: where `make run` puts it
    assert message["Subject"] == "Confirm your e-mail address"
    page.goto(link_path(committed_db, message.get_body(("plain",)).get_content(), "/confirm/"))
    expect(page.locator(".flash-success")).to_contain_text("Your e-mail address is confirmed")
    expect(page.locator("#confirm-email")).to_have_count(0)
    page.goto(f"/specialists/{specialist.id}")
    slot(page, 10).click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#slot-list .flash-success")).to_contain_text("Booked")
    page.goto("/patient/")
    expect(page.locator("#next-session")).to_contain_text("Dr Sam Lee")
    context.close()


def test_forgot_reset_and_sign_in(page, phone_page, committed_db, create_committed_user):
    create_committed_user("patient", "pat@reset.test", display_name="Pat Reset")
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail").fill("pat@reset.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")
    expect(page.locator("main")).to_contain_text("If an account exists for pat@reset.test")
    shoot(page, "forgot-sent-desktop")

    assert outbox_deliver(ids=[row.id for row in outbox_rows("password_reset")]) == {"kept": 1}
    path = link_path(committed_db, newest_mail().get_body(("plain",)).get_content(), "/password/reset/")
    phone_page.set_viewport_size({"width": 375, "height": 740})
    phone_page.goto(path)
    phone_page.get_by_label("New password").fill("password1234")
    phone_page.get_by_role("button", name="Change password").click()
    expect(phone_page.locator("#password-error")).to_contain_text("too common")
    shoot(phone_page, "reset-error-375")
    phone_page.get_by_label("New password").fill(PASSWORD)
    phone_page.get_by_role("button", name="Change password").click()
    expect(phone_page.locator(".flash-success")).to_contain_text("Your password is changed")
    sign_in(phone_page, "pat@reset.test", PASSWORD)
    expect(phone_page.locator(".usermenu")).to_contain_text("Pat Reset")
    shoot(phone_page, "after-reset-375")
    phone_page.goto(path)  # used once: no second time
    expect(phone_page.locator("h1")).to_have_text("Link not valid")


def test_account_and_tokens_pages_at_375(phone_page, committed_db, create_committed_user):
    create_committed_user("specialist", "spec@tokens.test", display_name="Spec Tokens")
    phone_page.set_viewport_size({"width": 375, "height": 740})
    sign_in(phone_page, "spec@tokens.test")
    phone_page.goto("/account")
    shoot(phone_page, "account-375")
    phone_page.goto("/account/tokens")
    phone_page.get_by_label("Token name").fill("backup script")
    phone_page.get_by_label("Expires after (days)").fill("30")
    phone_page.get_by_role("button", name="Create token").click()
    expect(phone_page.locator("#new-token")).to_contain_text("cp_")
    shoot(phone_page, "tokens-375")
    phone_page.get_by_role("button", name="Revoke token backup script").click()
    expect(phone_page.locator(".flash-success")).to_contain_text("revoked")
