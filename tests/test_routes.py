"""Role-by-endpoint matrix built from app.url_map, so a new route cannot escape it.

Each route is classified by the `allowed_roles` its blueprint carries (set by
portal.web.blueprints.role_blueprint, or by hand for auth, bookings and the API)
and the one its view carries (portal.web.blueprints.roles_required). "anonymous" in
allowed_roles marks a public route; a view marked `public_read` (portal.web.blueprints) is public on a
blueprint that otherwise wants a user. A GET route without URL parameters that has neither fails
test_every_route_is_classified.
"""
from __future__ import annotations

import uuid

import pytest

from portal.models import ROLES

ANONYMOUS = "anonymous"
API_PREFIXES = ("/api/", "/functions/")
MATRIX_ROLES = (ANONYMOUS, "patient", "other_patient", "specialist", "other_specialist", "admin", "ops")


def _bp_name(endpoint: str) -> str | None:
    name, _, _ = endpoint.rpartition(".")
    return name or None


def route_access(app, endpoint: str) -> tuple[set[str] | None, int]:
    """(roles allowed in, status for the others), or (None, _) when unclassified."""
    view = app.view_functions[endpoint]
    blueprint = app.blueprints.get(_bp_name(endpoint)) if _bp_name(endpoint) else None
    bp_roles = getattr(blueprint, "allowed_roles", None)
    view_roles = getattr(view, "allowed_roles", None)
    if bp_roles is None and view_roles is None:
        return None, 0
    if getattr(view, "public_read", False):
        return set(view_roles), 403
    allowed = set(bp_roles if bp_roles is not None else (ANONYMOUS, *ROLES))
    if view_roles is not None:
        allowed &= set(view_roles)
    return allowed, getattr(view, "deny_status", 403)


def parameterless_get_routes(app) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules()
         if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"),
        key=lambda rule: rule.rule,
    )


def test_every_route_is_classified(app):
    unclassified = [f"{rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
                    if rule.endpoint != "static" and route_access(app, rule.endpoint)[0] is None]
    assert unclassified == [], (
        "give these routes' blueprint an `allowed_roles` attribute (portal.web.blueprints.role_blueprint "
        "does it) or decorate the view with portal.web.blueprints.roles_required"
    )


def test_matrix_covers_the_dashboards(app):
    paths = {rule.rule for rule in parameterless_get_routes(app)}
    assert {"/login", "/patient/", "/specialist/", "/admin/", "/admin/ops", "/api/v1/me"} <= paths


def expected_outcome(app, rule, role: str) -> str:
    allowed, deny_status = route_access(app, rule.endpoint)
    if ANONYMOUS in allowed:
        return "public"
    if role == ANONYMOUS:
        return "401" if rule.rule.startswith(API_PREFIXES) else "login"
    return "allowed" if role.replace("other_", "") in allowed else str(deny_status)


def check(response, outcome: str, is_api: bool) -> bool:
    status, location = response.status_code, response.headers.get("Location", "")
    if outcome == "public":
        return status < 400
    if outcome == "login":
        return status == 302 and location.startswith("/login?next=")
    if outcome == "401":
        return status == 401 and response.get_json()["error"] == "UNAUTHORIZED"
    if outcome == "allowed":
        if is_api:  # 400: the endpoint wants query arguments this matrix does not invent
            return status == 200 or (status == 400 and response.get_json()["error"] == "INVALID_REQUEST")
        return status == 200 or (300 <= status < 400 and not location.startswith("/login"))
    return status == int(outcome)


@pytest.mark.parametrize("role", MATRIX_ROLES)
def test_role_by_endpoint_matrix(app, client, users, login_as, role):
    if role != ANONYMOUS:
        login_as(users[role])
    wrong = []
    for rule in parameterless_get_routes(app):
        outcome = expected_outcome(app, rule, role)
        response = client.get(rule.rule)
        response.close()
        if not check(response, outcome, rule.rule.startswith(API_PREFIXES)):
            wrong.append(f"{rule.rule}: expected {outcome}, got {response.status_code} "
                         f"{response.headers.get('Location', '')}")
    assert wrong == []


def test_booking_page_is_seen_by_its_parties_and_admin_only(client, users, login_as, make_booking):
    booking = make_booking(users["patient"], users["specialist"])
    path = f"/bookings/{booking.id}"
    expected = {"patient": 200, "specialist": 200, "admin": 200,
                "other_patient": 404, "other_specialist": 404, "ops": 404}
    for role, status in expected.items():
        login_as(users[role])
        assert client.get(path).status_code == status, role
    login_as(users["patient"])
    for garbage in ("not-a-uuid", str(uuid.uuid4()), "1", "%00"):
        assert client.get(f"/bookings/{garbage}").status_code == 404, garbage
    client.post("/logout")
    assert client.get(path).headers["Location"] == f"/login?next={path}"
