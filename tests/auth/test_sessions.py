"""Sessions that end: sign-out, a new password, deactivation and "sign out everywhere" end every
older session and remember-me cookie; signing in starts a fresh session."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from flask import g

from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD

NEW_PASSWORD = "a-much-longer-new-secret"


def sign_in(app, user, password=DEFAULT_PASSWORD, remember=False):
    browser = app.test_client()
    data = {"email": user.email, "password": password}
    if remember:
        data["remember"] = "y"
    response = browser.post("/login", data=data)
    assert response.status_code == 302, response.text
    return browser


def browser_with(app, **cookies):
    g.pop("_login_user", None)
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    return browser


def assert_sent_to_login(response):
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_a_session_cookie_copied_before_sign_out_redirects_to_login(app, users):
    browser = sign_in(app, users["patient"])
    copied = browser.get_cookie("session").value
    assert browser_with(app, session=copied).get("/patient/").status_code == 200  # the copy works...
    g.pop("_login_user", None)
    assert browser.post("/logout").status_code == 302
    assert_sent_to_login(browser_with(app, session=copied).get("/patient/"))  # ...until sign-out


def test_the_remember_cookie_after_a_password_change_is_refused(app, users):
    browser = sign_in(app, users["patient"], remember=True)
    remembered = browser.get_cookie("remember_token").value
    assert browser_with(app, remember_token=remembered).get("/patient/").status_code == 200
    g.pop("_login_user", None)
    response = browser.post("/account/password", data={"current_password": DEFAULT_PASSWORD,
                                                          "new_password": NEW_PASSWORD})
    assert response.status_code == 302
    g.pop("_login_user", None)
    assert browser.get("/patient/").status_code == 200  # the browser that changed it stays in
    assert_sent_to_login(browser_with(app, remember_token=remembered).get("/patient/"))


def test_remember_me_lasts_thirty_days(app, users):
    browser = app.test_client()
    response = browser.post("/login", data={"email": users["patient"].email, "password": DEFAULT_PASSWORD,
                                            "remember": "y"})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_signing_in_starts_a_fresh_session(app, users):
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["csrf_token"] = "planted-by-someone-else"
        session["left_over"] = "from before"
    sign_in_response = browser.post("/login", data={"email": users["patient"].email,
                                                    "password": DEFAULT_PASSWORD})
    assert sign_in_response.status_code == 302
    with browser.session_transaction() as session:
        assert "left_over" not in session
        assert session.get("csrf_token") != "planted-by-someone-else"
        assert session["_user_id"] == users["patient"].get_id()


def test_deactivation_ends_sessions_and_remember_cookies(app, users, login_as, client):
    browser = sign_in(app, users["patient"], remember=True)
    copied, remembered = browser.get_cookie("session").value, browser.get_cookie("remember_token").value
    g.pop("_login_user", None)
    login_as(users["admin"])
    client.post(f"/admin/users/{users['patient'].id}/active", data={"active": "0"})
    client.post(f"/admin/users/{users['patient'].id}/active", data={"active": "1"})  # back, but...
    assert_sent_to_login(browser_with(app, session=copied).get("/patient/"))
    assert_sent_to_login(browser_with(app, remember_token=remembered).get("/patient/"))


def test_an_admins_sign_out_everywhere_ends_every_session(app, users, login_as, client):
    patient = users["patient"]
    phone, laptop = sign_in(app, patient), sign_in(app, patient, remember=True)
    remembered = laptop.get_cookie("remember_token").value
    g.pop("_login_user", None)
    login_as(users["admin"])
    response = client.post(f"/admin/users/{patient.id}/sign-out-everywhere")
    assert response.status_code == 302
    assert "Every session of this account has ended." in client.get(response.headers["Location"]).text
    for browser in (phone, laptop):
        g.pop("_login_user", None)
        assert_sent_to_login(browser.get("/patient/"))
    assert_sent_to_login(browser_with(app, remember_token=remembered).get("/patient/"))
    db.session.refresh(patient)
    assert patient.session_version == 2


def test_only_admins_may_sign_others_out(app, users, login_as, client):
    login_as(users["specialist"])
    assert client.post(f"/admin/users/{users['patient'].id}/sign-out-everywhere").status_code == 403


def test_sign_out_everywhere_else_keeps_this_browser(app, users):
    patient = users["patient"]
    here, elsewhere = sign_in(app, patient), sign_in(app, patient)
    g.pop("_login_user", None)
    assert here.post("/account/sign-out-everywhere").status_code == 302
    g.pop("_login_user", None)
    assert here.get("/patient/").status_code == 200
    g.pop("_login_user", None)
    assert_sent_to_login(elsewhere.get("/patient/"))
