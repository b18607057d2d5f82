"""Every GET route, built from app.url_map, tried with edge values of its path and query
parameters (huge, negative, far dates, NUL, wrong types) as each role that may see it:
no answer is a 500 (issue 15). A new route is covered without new code."""
from __future__ import annotations

import uuid

import pytest

from tests.test_routes import ANONYMOUS, route_access

# The query parameters the portal's pages and API read (grep request.args / webargs schemas);
# a route that ignores one is not hurt by it.
QUERY_NAMES = (
    "page", "per_page", "q", "edit", "new", "add", "status", "specialist", "specialist_id", "role", "next",
    "month", "day", "week", "date", "cursor", "from", "to", "from_", "since", "until", "starts_after",
    "starts_before", "booking_id", "recurring_booking_id", "provider_id", "limit", "is_available", "is_active",
    "action", "entity_type", "entity_id", "actor", "reason", "patient", "duration", "duration_minutes",
)
EDGE_VALUES = (
    "99999999999999999999", "1e20", "1e1000000", "-1", "0", "-99999999999999999999", "9999-12-31",
    "0001-01-01", "9999-12-31T23:00:00-14:00", "0001-01-01T00:00:00+14:00", "2026-02-30", "abc",
    "\x00", "a\x00b", "", " ", "[]", "{}", "true", "NaN", "Infinity", "x" * 3000, str(uuid.uuid4()),
    "ünïcödé", "%", "../../etc/passwd",
)
PATH_VALUES = {
    "day": ("9999-12-31", "0001-01-01", "99999999999999999999", "abc", "2026-02-30", "-1", "1e20", "2026-W05"),
    "token": ("x", "0" * 500, "\x00", "a.b.c"),
    "code": ("x", "0" * 500, "\x00", "a.b.c"),
}
SKIPPED_BLUEPRINTS = {"rq_dashboard"}  # a third-party dashboard that needs Redis; its own tests cover it
ROLES = ("patient", "specialist", "admin")


def edge_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.endpoint.rpartition(".")[0] in SKIPPED_BLUEPRINTS:
            continue
        yield rule


def paths_for(rule) -> list[str]:
    """The rule's path with each edge value of its arguments (uuids: a random one)."""
    if not rule.arguments:
        return [rule.rule]
    paths = []
    is_uuid = {arg: type(rule._converters[arg]).__name__ == "UUIDConverter" for arg in rule.arguments}
    for name in sorted(rule.arguments):
        for value in PATH_VALUES.get(name, ("x",)):
            filled = {arg: str(uuid.uuid4()) if is_uuid[arg] else PATH_VALUES.get(arg, ("x",))[0]
                      for arg in rule.arguments}
            if not is_uuid[name]:
                filled[name] = value
            path = rule.rule
            for arg, text in filled.items():
                for pattern in (f"<{arg}>", f"<uuid:{arg}>", f"<path:{arg}>", f"<string:{arg}>"):
                    path = path.replace(pattern, _quote(text))
            paths.append(path)
    return sorted(set(paths))


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def queries() -> list[dict]:
    """All names at once with each value, then each name alone with a far date and a huge number
    (a route that refuses one bad name first would hide what another does)."""
    together = [{name: value for name in QUERY_NAMES} for value in EDGE_VALUES]
    alone = [{name: value} for name in QUERY_NAMES for value in ("9999-12-31", "99999999999999999999")]
    return together + alone


def _roles_for(app, rule) -> list[str]:
    allowed, _ = route_access(app, rule.endpoint)
    if allowed is None:
        return []
    if ANONYMOUS in allowed:
        return [ANONYMOUS, *[role for role in ROLES if role in allowed][:1]]
    return [role for role in ROLES if role in allowed]


@pytest.mark.parametrize("role", (ANONYMOUS, *ROLES))
def test_no_get_route_answers_500_to_edge_values(app, client, users, login_as, role):
    if role != ANONYMOUS:
        login_as(users[role])
    failures = []
    for rule in edge_routes(app):
        if role not in _roles_for(app, rule):
            continue
        for path in paths_for(rule):
            for query in queries() if path == paths_for(rule)[0] else queries()[:len(EDGE_VALUES)]:
                response = client.get(path, query_string=query)
                response.close()
                if response.status_code >= 500:
                    failures.append(f"{path} {query if len(query) == 1 else next(iter(query.values()))!r}: {response.status_code}")
                    break
    assert not failures, "\n".join(failures)
