"""Bearer tokens open the JSON API and the functions only: on a page a token counts as signed out."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import g

from portal.extensions import db
from portal.models import ApiToken

PAGES = ["/admin/users", "/admin/outbox", "/account/tokens", "/account", "/patient/"]


@pytest.mark.parametrize("path", PAGES)
def test_a_token_on_a_page_is_treated_as_signed_out(client, users, api_headers, path):
    owner = users["patient"] if path == "/patient/" else users["admin"]
    response = client.get(path, headers=api_headers(owner))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_token_on_an_htmx_request_gets_the_sign_in_redirect(client, users, api_headers):
    response = client.get("/admin/users", headers={**api_headers(users["admin"]), "HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_a_token_cannot_mint_another_token(client, users, api_headers):
    admin = users["admin"]
    headers = api_headers(admin)
    response = client.post("/account/tokens", data={"name": "minted"}, headers=headers)
    assert response.status_code in (302, 400, 401, 403)
    assert "cp_" not in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                             .where(ApiToken.user_id == admin.id, ApiToken.name == "minted")) == 0


def test_the_same_token_still_opens_the_api_and_the_functions(client, users, api_headers):
    headers = api_headers(users["patient"])
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    g.pop("_login_user", None)
    functions = client.post("/functions/booking-cancel", json={}, headers=headers)
    assert functions.status_code == 400  # past authentication, refused for its missing fields


def test_a_signed_in_session_still_manages_tokens(client, users, login_as):
    login_as(users["specialist"])
    assert client.get("/account/tokens").status_code == 302
    assert 'id="api-tokens"' in client.get("/account").text
