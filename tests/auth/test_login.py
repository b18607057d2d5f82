"""Signing in and out: what a visitor sees, and the guards around it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog
from tests.conftest import DEFAULT_PASSWORD

DASHBOARDS = {"patient": "/patient/", "specialist": "/specialist/", "admin": "/admin/", "ops": "/admin/ops"}


def post_login(client, email, password=DEFAULT_PASSWORD, query="", **kwargs):
    return client.post(f"/login{query}", data={"email": email, "password": password}, **kwargs)


@pytest.mark.parametrize("role", sorted(DASHBOARDS))
def test_each_role_lands_on_its_own_dashboard(client, users, role):
    user = users[role]
    response = post_login(client, user.email.upper())  # e-mails match case-insensitively
    assert response.status_code == 302
    assert response.headers["Location"] == DASHBOARDS[role]
    page = client.get(DASHBOARDS[role])
    assert page.status_code == 200
    assert user.display_name in page.text


def test_session_cookie_is_http_only_and_same_site(client, users):
    response = post_login(client, users["patient"].email)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_sign_in_is_audited(client, users):
    post_login(client, users["patient"].email)
    db.session.expire_all()
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "login"))
    assert row is not None and row.actor_id == users["patient"].id and row.status == "success"


@pytest.mark.parametrize("email, password", [
    ("known", "wrong-password"),
    ("nobody@example.test", DEFAULT_PASSWORD),
    ("", ""),
])
def test_wrong_credentials_show_one_error_and_do_not_sign_in(client, users, email, password):
    email = users["patient"].email if email == "known" else email
    response = post_login(client, email, password)
    assert response.status_code == 400
    assert "Sign in" in response.text
    if email:
        assert "E-mail or password is not right." in response.text
    assert client.get("/patient/").status_code == 302


def test_deactivated_user_cannot_sign_in_and_loses_their_session(client, users, login_as):
    patient = users["patient"]
    login_as(patient)
    assert client.get("/patient/").status_code == 200
    patient.is_active = False
    db.session.flush()
    response = client.get("/patient/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert post_login(client, patient.email).status_code == 400


def test_sign_out_needs_post_and_ends_the_session(client, users, login_as):
    login_as(users["specialist"])
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", follow_redirects=True)
    assert "You are signed out." in response.text
    assert client.get("/specialist/").headers["Location"] == "/login?next=/specialist/"


def test_signed_in_visitor_of_login_page_goes_to_dashboard(client, users, login_as):
    login_as(users["admin"])
    assert client.get("/login").headers["Location"] == "/admin/"
    assert client.get("/").headers["Location"] == "/admin/"


def test_anonymous_root_goes_to_login(client):
    assert client.get("/").headers["Location"] == "/login"


def test_next_returns_to_the_page_asked_for(client, users):
    response = post_login(client, users["patient"].email, query="?next=/patient/%3Fpage%3D2")
    assert response.headers["Location"] == "/patient/?page=2"


@pytest.mark.parametrize("target", [
    "//evil.example/", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
    "http:evil.example", "javascript:alert(1)", "/\t/evil.example", "/\n/evil.example",
    "evil.example", "///evil.example", " //evil.example",
])
def test_next_never_leaves_the_portal(client, users, target):
    from urllib.parse import quote

    response = client.post("/login?next=" + quote(target, safe=""),
                           data={"email": users["patient"].email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/patient/"


def test_failures_are_limited_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_RATE_LIMIT", "3 per minute")
    for n in range(3):
        assert post_login(client, f"someone{n}@example.test", "wrong-password").status_code == 400
    response = post_login(client, "fourth@example.test", "wrong-password")
    assert_rate_limited_page(response)
    other_address = post_login(client, "fifth@example.test", "wrong-password",
                               environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 400


def test_eleven_successful_sign_ins_from_one_address_all_succeed(app, make_user, monkeypatch):
    """A clinic's colleagues share one address: successes never count."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_RATE_LIMIT", "3 per minute")
    colleagues = [make_user("specialist") for _ in range(11)]
    for colleague in colleagues:
        browser = app.test_client()
        response = post_login(browser, colleague.email, environ_base={"REMOTE_ADDR": "10.0.2.1"})
        assert response.status_code == 302 and response.headers["Location"] == "/specialist/"


def test_a_locked_pair_does_not_lock_the_account_from_another_address(app, client, users, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    email = users["patient"].email
    attacker = {"REMOTE_ADDR": "10.0.1.1"}
    for _ in range(3):
        assert post_login(client, email, "wrong-password", environ_base=attacker).status_code == 400
    # The pair is locked, even for the right password...
    assert_rate_limited_page(post_login(client, email.upper(), environ_base=attacker))
    assert client.get("/patient/").status_code == 302
    # ...but the patient, from her own address, signs in at once.
    response = post_login(app.test_client(), email, environ_base={"REMOTE_ADDR": "10.0.1.2"})
    assert response.status_code == 302 and response.headers["Location"] == "/patient/"
    # And the attacker's address may still sign in to another account it has not failed with.
    response = post_login(app.test_client(), users["specialist"].email, environ_base=attacker)
    assert response.status_code == 302


def test_showing_the_login_page_is_not_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    assert all(client.get("/login").status_code == 200 for _ in range(3))


def assert_rate_limited_page(response):
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert 'class="topbar"' in response.text  # in the portal's layout
    assert response.headers["Content-Security-Policy"]
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert "Please wait 1 minute before signing in." in response.text
