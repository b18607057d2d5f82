"""API tokens end with the password: a change, a reset and a deactivation revoke them all."""
from __future__ import annotations

from flask import g

from tests.account.mail import link_path, outbox_rows, rendered_text
from tests.conftest import DEFAULT_PASSWORD

NEW_PASSWORD = "a-fine-new-password"


def me(app, headers) -> int:
    g.pop("_login_user", None)
    return app.test_client().get("/api/v1/me", headers=headers).status_code


def test_a_password_change_revokes_every_api_token_and_says_so(app, client, users, login_as, api_headers):
    patient = users["patient"]
    first, second = api_headers(patient), api_headers(patient)
    others = api_headers(users["other_patient"])
    login_as(patient)
    page = client.get("/account")
    assert "revokes your API tokens" in page.text
    response = client.post("/account/password", data={"current_password": DEFAULT_PASSWORD,
                                                       "new_password": NEW_PASSWORD}, follow_redirects=True)
    assert "your API tokens are revoked" in response.text
    assert me(app, first) == 401 and me(app, second) == 401
    assert me(app, others) == 200


def test_a_refused_password_change_keeps_the_tokens(app, client, users, login_as, api_headers):
    headers = api_headers(users["patient"])
    login_as(users["patient"])
    response = client.post("/account/password", data={"current_password": "not-the-password",
                                                       "new_password": NEW_PASSWORD})
    assert response.status_code == 422
    assert me(app, headers) == 200


def test_a_password_reset_revokes_every_api_token_and_says_so(app, client, users, api_headers):
    patient = users["patient"]
    headers = api_headers(patient)
    client.post("/password/forgot", data={"email": patient.email})
    path = link_path(app, rendered_text(app, outbox_rows("password_reset")[0])[1], "/password/reset/")
    assert "your API tokens are revoked" in client.get(path).text
    done = client.post(path, data={"password": NEW_PASSWORD}, follow_redirects=True)
    assert "your API tokens are revoked" in done.text
    assert me(app, headers) == 401


def test_a_token_made_after_the_new_password_works(app, client, users, login_as, api_headers):
    patient = users["patient"]
    login_as(patient)
    client.post("/account/password", data={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert me(app, api_headers(patient)) == 200
