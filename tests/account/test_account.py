"""/account: one settings page (name, zone, reminders, password, calendar feed, API tokens for staff);
the admin's view of a user's tokens."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from portal.extensions import db
from portal.models import ApiToken, User, utcnow
from tests.conftest import DEFAULT_PASSWORD


def test_the_account_page_saves_name_and_time_zone(client, users, login_as):
    login_as(users["patient"])
    page = client.get("/account")
    assert page.status_code == 200 and users["patient"].email in page.text
    assert '<input checked id="reminders_enabled"' in page.text
    response = client.post("/account", data={"display_name": "Patricia One", "timezone": "Europe/Lisbon"})
    assert response.status_code == 302  # the reminder box left unticked: reminders off
    page = client.get("/account")
    assert "Saved." in page.text and 'value="Patricia One"' in page.text
    db.session.refresh(users["patient"])
    assert (users["patient"].timezone, users["patient"].reminders_enabled) == ("Europe/Lisbon", False)
    client.post("/account", data={"display_name": "Patricia One", "timezone": "Europe/Lisbon",
                                  "reminders_enabled": "y"})
    db.session.refresh(users["patient"])
    assert users["patient"].reminders_enabled is True


def test_an_unknown_time_zone_is_a_form_error(client, users, login_as):
    login_as(users["patient"])
    response = client.post("/account", data={"display_name": "X", "timezone": "Mars/Base"})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.text


@pytest.mark.parametrize("current, new, field, message", [
    ("wrong-current-password", "a-fine-new-password", "current_password", "The current password is not right."),
    (DEFAULT_PASSWORD, "short-one", "new_password", "Use at least 12 characters."),
    (DEFAULT_PASSWORD, "QWERTY123456", "new_password", "too common"),  # compared lower-cased
    (DEFAULT_PASSWORD, "1q2w3e4r5t6y", "new_password", "too common"),
    (DEFAULT_PASSWORD, "EMAIL", "new_password", "Do not use your e-mail address"),
])
def test_a_bad_password_change_is_a_form_error_that_changes_nothing(client, users, login_as,
                                                                     current, new, field, message):
    patient = users["patient"]
    login_as(patient)
    before = patient.password_hash
    response = client.post("/account/password", data={"current_password": current,
                                                       "new_password": patient.email if new == "EMAIL" else new})
    assert response.status_code == 422
    assert message in response.text
    assert f'id="{field}-error"' in response.text and 'aria-describedby="' in response.text
    db.session.refresh(patient)
    assert patient.password_hash == before and patient.session_version == 1


def test_a_password_change_takes_effect_at_sign_in(app, client, users, login_as):
    patient = users["patient"]
    login_as(patient)
    response = client.post("/account/password", data={"current_password": DEFAULT_PASSWORD,
                                                       "new_password": "a-fine-new-password"})
    assert response.status_code == 302
    other = app.test_client()
    assert other.post("/login", data={"email": patient.email, "password": DEFAULT_PASSWORD}).status_code == 400
    assert other.post("/login", data={"email": patient.email,
                                      "password": "a-fine-new-password"}).status_code == 302


def test_an_old_hash_scheme_is_upgraded_at_sign_in(app, users):
    patient = users["patient"]
    patient.password_hash = generate_password_hash(DEFAULT_PASSWORD, method="pbkdf2:sha256:2000")
    db.session.commit()
    response = app.test_client().post("/login", data={"email": patient.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    db.session.refresh(patient)
    current_scheme = generate_password_hash("x", method="pbkdf2:sha256:1000").split("$")[0]  # the suite's
    assert patient.password_hash.split("$")[0] == current_scheme


def _token_row(name: str) -> ApiToken:
    db.session.expire_all()
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.name == name))


def test_a_token_is_created_shown_once_listed_and_revoked(app, client, users, login_as):
    login_as(users["specialist"])
    response = client.post("/account/tokens", data={"name": "my script", "expires_days": "30"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = response.text.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("cp_")
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = client.get("/account").text
    assert "my script" in listing and token not in listing and "never" not in listing.split("my script")[1][:200]
    row = _token_row("my script")
    assert row.last_used_at is not None
    assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=5)
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_bad_expiry_is_a_form_error(client, users, login_as):
    login_as(users["specialist"])
    response = client.post("/account/tokens", data={"name": "x", "expires_days": "0"})
    assert response.status_code == 422 and "cp_" not in response.text


def test_an_expired_token_gets_401(app, users, api_headers):
    headers = api_headers(users["patient"])
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    row = _token_row("test")
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = app.test_client().get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"] == "UNAUTHORIZED"


def test_last_used_at_is_written_at_most_once_a_minute(app, users, api_headers):
    headers = api_headers(users["patient"])
    app.test_client().get("/api/v1/me", headers=headers)
    first = _token_row("test").last_used_at
    app.test_client().get("/api/v1/me", headers=headers)
    assert _token_row("test").last_used_at == first
    row = _token_row("test")
    row.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    app.test_client().get("/api/v1/me", headers=headers)
    assert _token_row("test").last_used_at > first - timedelta(seconds=1)


def test_nobody_revokes_another_users_token(client, users, login_as, api_headers):
    api_headers(users["other_patient"])
    row = _token_row("test")
    login_as(users["patient"])
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 404
    assert _token_row("test").revoked_at is None


def test_an_admin_sees_and_revokes_anyones_tokens(app, client, users, login_as, api_headers):
    headers = api_headers(users["specialist"])
    row = _token_row("test")
    login_as(users["admin"])
    page = client.get(f"/admin/users/{users['specialist'].id}")
    assert page.status_code == 200 and f"token-{row.id}" in page.text
    response = client.post(f"/admin/users/{users['specialist'].id}/tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    assert "revoked" in client.get(f"/admin/users/{users['specialist'].id}").text


def test_only_admins_open_a_users_page(client, users, login_as):
    login_as(users["ops"])
    assert client.get(f"/admin/users/{users['patient'].id}").status_code == 403
    assert db.session.get(User, users["patient"].id) is not None


def test_the_settings_page_holds_every_section_and_tokens_for_staff_only(client, users, login_as):
    login_as(users["specialist"])
    page = client.get("/account").text
    for section in ("account-details", "reminders", "password", "calendar-feed", "api-tokens", "sessions"):
        assert f'id="{section}"' in page
    login_as(users["patient"])
    page = client.get("/account").text
    assert 'id="calendar-feed"' in page and 'id="reminders"' in page
    assert 'id="api-tokens"' not in page and "Create token" not in page


def test_old_settings_addresses_redirect_to_their_sections(client, users, login_as):
    login_as(users["specialist"])
    for path, section in (("/account/tokens", "api-tokens"), ("/calendar-feed", "calendar-feed"),
                          ("/account/email", "reminders")):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/account#{section}")


def test_a_patient_sees_and_can_revoke_a_token_an_admin_issued(client, users, login_as):
    from portal.services.users import api_token_create

    api_token_create(user=users["patient"], name="clinic import", expires_days=None)
    db.session.flush()
    login_as(users["patient"])
    page = client.get("/account").text
    assert 'id="api-tokens"' in page and "clinic import" in page and "Create token" not in page
    row = _token_row("clinic import")
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302
