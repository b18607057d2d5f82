"""Error pages in the portal's layout; API errors as JSON."""
from __future__ import annotations

import pytest
from werkzeug.exceptions import Conflict

from portal import create_app
from portal.errors import ServiceError
from tests.conftest import make_test_config


def assert_layout_page(response, status, heading):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert 'class="topbar"' in response.text and heading in response.text
    assert "Back to the portal" in response.text


def test_404_page_in_the_layout(client, users, login_as):
    assert_layout_page(client.get("/no-such-page"), 404, "Not found")
    login_as(users["patient"])
    page = client.get("/no-such-page")
    assert_layout_page(page, 404, "Not found")
    assert users["patient"].display_name in page.text  # the signed-in header still shows


def test_403_page_in_the_layout(client, users, login_as):
    login_as(users["patient"])
    assert_layout_page(client.get("/admin/"), 403, "Not allowed")


@pytest.fixture
def failing_app(database_url, instance_dir, app):
    config = make_test_config(database_url, instance_dir)
    config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    failing = create_app(config)

    def boom():
        raise RuntimeError("kaboom")

    def refused():
        raise ServiceError("That slot is taken.", code="SLOT_UNAVAILABLE", http_status=409,
                           fields={"starts_at": "Taken."})

    def conflict():
        raise Conflict()

    for path, view in (("/boom", boom), ("/api/v1/boom", boom), ("/api/v1/refused", refused),
                       ("/refused", refused), ("/api/v1/conflict", conflict)):
        failing.add_url_rule(path, path, view)
    return failing


def test_500_page_in_the_layout_and_json_for_the_api(failing_app):
    client = failing_app.test_client()
    assert_layout_page(client.get("/boom"), 500, "Something went wrong")
    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.get_json() == {"success": False, "error": "INTERNAL_ERROR",
                              "message": "Something went wrong on our side. The team has been told.",
                              "fields": {}}
    assert "kaboom" not in api.text


def test_service_errors_keep_their_code_status_and_fields(failing_app):
    client = failing_app.test_client()
    body = client.get("/api/v1/refused").get_json()
    assert body == {"success": False, "error": "SLOT_UNAVAILABLE", "message": "That slot is taken.",
                    "fields": {"starts_at": "Taken."}}
    page = client.get("/refused")
    assert page.status_code == 409 and "That slot is taken." in page.text
    assert client.get("/api/v1/conflict").get_json()["error"] == "CONFLICT"
