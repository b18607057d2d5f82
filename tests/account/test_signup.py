"""Sign-up with a confirmed address, invitations and forgotten passwords; none of them tells a
visitor whether an address has an account."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import g

from portal import clock
from portal.extensions import db
from portal.models import SpecialistProfile, User
from portal.services import account_links
from tests.account.mail import link_path, outbox_rows, rendered_text
from tests.conftest import DEFAULT_PASSWORD

GOOD_PASSWORD = "sunlit-meadow-walk-42"
SLOT = "2030-01-07T10:00:00+00:00"  # a Monday, inside the specialists' 09:00-17:00 UTC hours


def signup(client, email="new@example.test", password=GOOD_PASSWORD, name="New Patient", timezone="Europe/Paris"):
    return client.post("/signup", data={"display_name": name, "email": email, "password": password,
                                        "timezone": timezone})


def without_csrf(page: str) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", page)


def user_named(email) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email_normalized == email.lower()))


def test_signup_makes_a_usable_unconfirmed_patient_and_sends_a_confirmation(app, client):
    response = signup(client)
    assert response.status_code == 200 and "Check your inbox" in response.text
    user = user_named("new@example.test")
    assert (user.role, user.timezone, user.display_name, user.email_confirmed_at) == (
        "patient", "Europe/Paris", "New Patient", None)
    [row] = outbox_rows("account_confirm", user.id)
    subject, text = rendered_text(app, row)
    assert subject == "Confirm your e-mail address" and "/confirm/" in text
    browser = app.test_client()  # usable at once
    assert browser.post("/login", data={"email": "new@example.test", "password": GOOD_PASSWORD}).status_code == 302
    assert "Please confirm your e-mail address" in browser.get("/patient/").text


def test_signup_with_a_taken_address_looks_the_same_and_writes_to_the_owner(app, client, users):
    owner = users["patient"]
    fresh = signup(client, email="fresh@example.test").text.replace("fresh@example.test", "ADDRESS")
    taken = signup(app.test_client(), email=owner.email, password="another-long-password").text
    assert without_csrf(taken.replace(owner.email, "ADDRESS")) == without_csrf(fresh)  # word for word
    db.session.refresh(owner)
    assert owner.display_name == "Pat One"
    assert app.test_client().post("/login", data={"email": owner.email,
                                                  "password": "another-long-password"}).status_code == 400
    [row] = outbox_rows("account_exists", owner.id)
    assert "/password/forgot" in rendered_text(app, row)[1]


@pytest.mark.parametrize("password, message", [
    ("short-pass", "Use at least 12 characters."),
    ("qwerty123456", "too common"),
    ("new@example.test", "Do not use your e-mail address"),
])
def test_signup_refuses_weak_passwords(client, password, message):
    response = signup(client, password=password)
    assert response.status_code == 422 and message in response.text
    assert user_named("new@example.test") is None and outbox_rows("account_confirm") == []


def test_signup_can_be_turned_off(app, client, monkeypatch):
    assert 'href="/signup"' in client.get("/login").text
    monkeypatch.setitem(app.config, "ALLOW_SIGNUP", False)
    assert client.get("/signup").status_code == 404
    assert signup(client).status_code == 404 and user_named("new@example.test") is None
    assert 'href="/signup"' not in client.get("/login").text


def test_an_unconfirmed_patient_browses_but_does_not_book_until_confirmed(app, client, users):
    specialist = users["specialist"]
    signup(client)
    client.post("/login", data={"email": "new@example.test", "password": GOOD_PASSWORD})
    assert client.get(f"/specialists/{specialist.id}").status_code == 200
    refused = client.post(f"/specialists/{specialist.id}/book", data={"starts_at": SLOT})
    assert refused.status_code == 422 and "Confirm your e-mail address before booking" in refused.text
    path = link_path(app, rendered_text(app, outbox_rows("account_confirm")[0])[1], "/confirm/")
    g.pop("_login_user", None)
    assert client.get(path).status_code == 302
    assert user_named("new@example.test").email_confirmed_at is not None
    g.pop("_login_user", None)
    assert "Please confirm" not in client.get("/patient/").text
    with clock.frozen(datetime(2030, 1, 1, tzinfo=UTC)):  # the slot inside the specialist's booking window
        booked = client.post(f"/specialists/{specialist.id}/book", data={"starts_at": SLOT})
    assert booked.status_code == 302


def test_the_api_refuses_an_unconfirmed_patients_booking(app, client, users, api_headers):
    signup(client)
    patient = user_named("new@example.test")
    response = client.post("/api/v1/bookings", headers=api_headers(patient),
                           json={"specialist_id": str(users["specialist"].id), "starts_at": SLOT})
    assert response.status_code == 403 and response.get_json()["error"] == "EMAIL_NOT_CONFIRMED"


def test_a_confirmation_can_be_sent_again(app, client, monkeypatch):
    signup(client)
    client.post("/login", data={"email": "new@example.test", "password": GOOD_PASSWORD})
    monkeypatch.setattr("portal.services.accounts._window", lambda: 10**9)  # a later five minutes
    response = client.post("/confirm/resend")
    assert response.status_code == 302
    assert len(outbox_rows("account_confirm")) == 2


def test_a_forged_confirmation_link_is_refused(client):
    signup(client)
    response = client.get("/confirm/not-a-real-token")
    assert response.status_code == 400 and "not valid" in response.text
    assert user_named("new@example.test").email_confirmed_at is None


def test_forgot_password_says_the_same_for_known_and_unknown_addresses(app, client, users):
    known = client.post("/password/forgot", data={"email": users["patient"].email}).text
    unknown = client.post("/password/forgot", data={"email": "nobody@example.test"}).text
    assert "If an account exists" in known
    # The CSRF token carries a timestamp, so two pages a second apart differ there and only there.
    assert (without_csrf(known).replace(users["patient"].email, "X")
            == without_csrf(unknown).replace("nobody@example.test", "X"))
    assert [row.recipient_id for row in outbox_rows("password_reset")] == [users["patient"].id]


def test_a_reset_link_sets_a_new_password_once_and_ends_old_sessions(app, client, users):
    patient = users["patient"]
    old_browser = app.test_client()
    old_browser.post("/login", data={"email": patient.email, "password": DEFAULT_PASSWORD})
    client.post("/password/forgot", data={"email": patient.email})
    path = link_path(app, rendered_text(app, outbox_rows("password_reset")[0])[1], "/password/reset/")
    assert client.get(path).status_code == 200
    weak = client.post(path, data={"password": "short"})
    assert weak.status_code == 422 and "at least 12" in weak.text
    response = client.post(path, data={"password": GOOD_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    g.pop("_login_user", None)
    assert old_browser.get("/patient/").status_code == 302  # signed out everywhere
    assert client.post("/login", data={"email": patient.email, "password": GOOD_PASSWORD}).status_code == 302
    g.pop("_login_user", None)
    used = app.test_client().get(path)
    assert used.status_code == 400 and "not valid any more" in used.text


def test_a_reset_link_expires_after_an_hour(app, client, users, monkeypatch):
    client.post("/password/forgot", data={"email": users["patient"].email})
    path = link_path(app, rendered_text(app, outbox_rows("password_reset")[0])[1], "/password/reset/")
    assert account_links.MAX_AGE[account_links.RESET] == 3600
    monkeypatch.setitem(account_links.MAX_AGE, account_links.RESET, -1)  # the hour is over
    assert client.get(path).status_code == 400


def test_an_admin_invites_a_specialist_who_sets_a_password_once(app, client, users, login_as):
    login_as(users["admin"])
    response = client.post("/admin/users/invite", data={
        "display_name": "Dr Ines Invited", "email": "ines@example.test", "role": "specialist",
        "timezone": "Europe/Lisbon", "title": "Physiotherapist"})
    assert response.status_code == 302
    assert "Invitation sent to ines@example.test" in client.get("/admin/users").text
    ines = user_named("ines@example.test")
    assert (ines.role, ines.timezone) == ("specialist", "Europe/Lisbon")
    assert db.session.get(SpecialistProfile, ines.id).title == "Physiotherapist"
    [row] = outbox_rows("account_invite", ines.id)
    subject, text = rendered_text(app, row)
    assert "Ada Admin has invited you" in text
    path = link_path(app, text, "/invite/")
    browser = app.test_client()
    g.pop("_login_user", None)
    assert "Welcome, Dr Ines Invited" in browser.get(path).text
    accepted = browser.post(path, data={"password": GOOD_PASSWORD})
    assert accepted.status_code == 302
    g.pop("_login_user", None)
    assert "Dr Ines Invited" in browser.get("/specialist/").text
    g.pop("_login_user", None)
    assert app.test_client().get(path).status_code == 400  # single use
    assert user_named("ines@example.test").email_confirmed_at is not None


def test_an_invited_account_cannot_sign_in_before_choosing_a_password(app, client, users, login_as):
    login_as(users["admin"])
    client.post("/admin/users/invite", data={"display_name": "Otto", "email": "otto@example.test",
                                             "role": "ops", "timezone": "UTC"})
    for guess in ("", "!invited-", GOOD_PASSWORD):
        assert app.test_client().post("/login", data={"email": "otto@example.test",
                                                      "password": guess}).status_code == 400


def test_inviting_an_existing_address_is_a_form_error(app, client, users, login_as):
    login_as(users["admin"])
    response = client.post("/admin/users/invite", data={
        "display_name": "Again", "email": users["patient"].email.upper(), "role": "patient", "timezone": "UTC"})
    assert response.status_code == 422 and "already exists" in response.text
    assert 'aria-invalid="true"' in response.text and outbox_rows("account_invite") == []


def test_only_admins_invite(client, users, login_as):
    login_as(users["ops"])
    response = client.post("/admin/users/invite", data={"display_name": "X", "email": "x@example.test",
                                                        "role": "admin", "timezone": "UTC"})
    assert response.status_code == 403 and user_named("x@example.test") is None




def test_an_unconfirmed_patient_cannot_start_a_recurring_series(app, client, users):
    from datetime import date

    from portal.errors import Forbidden
    from portal.services.recurring import recurring_create

    signup(client)
    patient = user_named("new@example.test")
    with pytest.raises(Forbidden) as refused:
        recurring_create(actor=patient, patient=patient, specialist_id=users["specialist"].id,
                         frequency="weekly", start_date=date(2030, 1, 7))
    assert refused.value.code == "EMAIL_NOT_CONFIRMED"
