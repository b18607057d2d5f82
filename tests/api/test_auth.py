"""The JSON API authenticates by bearer token (or session) and answers 401 JSON otherwise."""
from __future__ import annotations

from portal.extensions import db
from portal.models import ApiToken
from portal.services.users import api_token_create, api_token_revoke

ERROR_KEYS = {"success", "error", "message", "fields"}


def test_anonymous_gets_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json() == {"success": False, "error": "UNAUTHORIZED",
                                   "message": "Authentication required.", "fields": {}}


def test_bearer_token_identifies_the_user(client, users, api_headers):
    response = client.get("/api/v1/me", headers=api_headers(users["specialist"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == str(users["specialist"].id) and body["role"] == "specialist"


def test_session_works_for_the_api_too(client, users, login_as):
    login_as(users["patient"])
    assert client.get("/api/v1/me").get_json()["id"] == str(users["patient"].id)


def test_unknown_or_malformed_tokens_are_refused(client, users):
    for header in ["Bearer cp_not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "cp_token-without-scheme"]:
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert set(response.get_json()) == ERROR_KEYS


def test_revoked_token_is_refused(client, users):
    token = api_token_create(user=users["patient"], name="phone")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    token_id = db.session.scalar(db.select(ApiToken.id).where(ApiToken.user_id == users["patient"].id))
    api_token_revoke(token_id=token_id, actor=users["patient"])
    db.session.flush()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_deactivated_users_token_is_refused(client, users, api_headers):
    headers = api_headers(users["patient"])
    users["patient"].is_active = False
    db.session.flush()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_tokens_are_stored_hashed(users):
    token = api_token_create(user=users["admin"])
    stored = db.session.scalars(db.select(ApiToken.token_hash)).all()
    assert token not in stored and all(len(value) == 64 for value in stored)


def test_api_errors_have_one_shape(client, users, api_headers):
    headers = api_headers(users["admin"])
    missing = client.get("/api/v1/no-such-thing", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"] == "NOT_FOUND"
    wrong_method = client.delete("/api/v1/me", headers=headers)
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"] == "METHOD_NOT_ALLOWED"
    for response in (missing, wrong_method):
        body = response.get_json()
        assert set(body) == ERROR_KEYS and body["success"] is False


def test_openapi_document_is_served_and_declares_bearer_auth(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/me" in document["paths"]
