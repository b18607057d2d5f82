"""Headers on every response, and CSRF on every state-changing request."""
from __future__ import annotations

import re

import pytest

from portal import create_app
from tests.conftest import DEFAULT_PASSWORD, make_test_config


@pytest.mark.parametrize("path", ["/login", "/patient/", "/no-such-page", "/api/v1/me",
                                  "/api/v1/openapi.json", "/static/css/portal.css"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    response.close()
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "HX-Request" in response.headers["Vary"]


def test_pages_need_no_inline_script_or_handlers(client, users, login_as):
    """The CSP forbids inline script, so the markup must not rely on any."""
    for user, path in [(None, "/login"), (users["patient"], "/patient/"),
                       (users["specialist"], "/specialist/"), (users["admin"], "/admin/")]:
        if user:
            login_as(user)
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "hx-on" not in html and "javascript:" not in html, path


@pytest.fixture
def csrf_app(database_url, instance_dir, app):
    """A second app like production's: CSRF on. It shares the test's database."""
    config = make_test_config(database_url, instance_dir)
    config["WTF_CSRF_ENABLED"] = True
    csrf_app = create_app(config)
    return csrf_app


def test_login_without_csrf_token_is_refused_with_a_page(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": "x@example.test", "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert 'class="topbar"' in response.text


def test_login_form_carries_a_token_that_works(csrf_app):
    client = csrf_app.test_client()
    html = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"csrf_token": token, "email": "nobody@example.test",
                                           "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "E-mail or password is not right." in response.text  # got past CSRF to the form


def test_htmx_requests_send_the_token_from_the_body_header(csrf_app):
    client = csrf_app.test_client()
    html = client.get("/login").text
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", html).group(1)
    refused = client.post("/logout", headers={"HX-Request": "true"})
    assert refused.status_code == 400
    accepted = client.post("/logout", headers={
        "HX-Request": "true", "X-CSRFToken": token,
        "HX-Current-URL": "http://localhost/specialist/calendar?month=2027-01"})
    assert accepted.status_code == 401  # past CSRF; not signed in, so htmx is sent to login
    assert accepted.headers["HX-Redirect"] == "/login?next=/specialist/calendar?month%3D2027-01"


def test_every_state_changing_page_route_is_csrf_protected(csrf_app):
    """No page blueprint is exempt: only the token-authenticated API and functions are, and the
    reminder opt-out, which its signed token authorises (mail clients' one-click POST, RFC 8058)."""
    from portal.extensions import csrf

    exempt = {getattr(bp, "name", bp) for bp in csrf._exempt_blueprints}
    api_blueprints = {name for name, bp in csrf_app.blueprints.items()
                      if name.startswith("api") or name == "functions"}
    assert exempt <= api_blueprints, exempt - api_blueprints
    token_authorised = {"portal.mail.reminders_off_post"}
    assert not {v for v in csrf._exempt_views
                if not v.startswith(("portal.api", "rq_dashboard")) and v not in token_authorised}


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not (tmp_path / "secret_key").exists()


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "a-real-production-secret")
    monkeypatch.setenv("RECORDINGS_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    monkeypatch.setenv("PORTAL_ENV", "production")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_development_keeps_a_generated_secret_key_under_instance(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "development")
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
