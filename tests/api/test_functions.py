"""The spec's two functions are in the API document beside every other operation, with the
requests, answers and error codes the spec names, so a generated client and the fuzzer reach them."""
from __future__ import annotations

import re

import pytest

API_PREFIXES = ("/api/v1/", "/functions/")
SPEC_CODES = ("INVALID_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "FORBIDDEN", "ALREADY_CANCELLED", "BOOKING_IN_PAST")


def _document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _routed_operations(app) -> set[tuple[str, str]]:
    """(path in the document's form, method) for every route of the API and the functions."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIXES) or rule.endpoint.startswith("api-docs."):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        operations |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return operations


def _documented_operations(document: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item
            if method in ("get", "put", "post", "patch", "delete")}


def test_every_operation_the_api_routes_is_in_the_document_and_no_other(app, client):
    routed, documented = _routed_operations(app), _documented_operations(_document(client))
    assert ("/functions/booking-cancel", "post") in routed
    assert routed - documented == set(), "routed but not documented"
    assert documented - routed == set(), "documented but not routed"


def test_the_document_names_bearer_tokens_and_keeps_paths_whole(client):
    document = _document(client)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerAuth": []}]
    for server in document.get("servers", []):
        assert re.fullmatch(r"https?://[^/]+", server["url"]), "a server is an origin; paths carry /api/v1"
    assert all(path.startswith(("/api/v1/", "/functions/")) for path in document["paths"])


def test_booking_cancel_is_documented_as_the_spec_writes_it(client):
    document = _document(client)
    operation = document["paths"]["/functions/booking-cancel"]["post"]
    schemas = document["components"]["schemas"]
    request = schemas[operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(request["required"]) == {"booking_id", "reason"}
    assert request["properties"]["booking_id"]["format"] == "uuid"
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(schemas[answer]["properties"]) == {"success", "message"}
    assert {"400", "401", "403", "404", "409", "422"} <= set(operation["responses"])
    for code in SPEC_CODES:
        assert code in operation["description"], code
    assert "patient or its specialist" in operation["description"]


def test_the_dispatcher_is_documented_with_its_summary(client):
    document = _document(client)
    operation = document["paths"]["/functions/recurring-bookings-dispatcher"]["post"]
    schemas = document["components"]["schemas"]
    assert operation["requestBody"]["required"] is False
    result = schemas[operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(result["properties"]) == {"success", "message", "count", "bookings", "errors"}
    error = schemas[result["properties"]["errors"]["items"]["$ref"].split("/")[-1]]
    assert set(error["properties"]) == {"recurring_id", "error"}
    assert {"401", "403"} <= set(operation["responses"]) and "ops and admins" in operation["description"]


@pytest.mark.parametrize("role, status", [("patient", 403), ("specialist", 403), ("ops", 200), ("admin", 200)])
def test_the_dispatcher_answers_who_the_document_says(client, users, api_headers, role, status):
    response = client.post("/functions/recurring-bookings-dispatcher", json={}, headers=api_headers(users[role]))
    assert response.status_code == status
    if status == 200:
        assert set(response.get_json()) == {"success", "message", "count", "bookings", "errors"}
    else:
        assert response.get_json()["error"] == "FORBIDDEN"

