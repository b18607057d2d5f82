"""Every GET route, built from app.url_map, tried with edge values of its path and query
parameters (huge, negative, far dates, NUL, wrong types) as each role that may see it:
no answer is a 500. A new route is covered without new code."""
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
    "99999999999999999999", "1e20", "1e1000000", "-1", "0", "9999-12-31", "0001-01-01",
    "9999-12-31T23:00:00-14:00", "2026-02-30", "abc", "\x00", "a\x00b", "", "[]", "NaN", "x" * 3000,
    str(uuid.uuid4()), "../../etc/passwd",
)
# Names that a route may read as a number or a date, tried alone too.
NUMBER_OR_DATE_NAMES = ("page", "per_page", "month", "day", "week", "date", "from", "to", "from_", "since",
                        "until", "starts_after", "starts_before", "limit", "duration_minutes", "cursor")
PATH_VALUES = {
    "day": ("9999-12-31", "0001-01-01", "99999999999999999999", "abc", "2026-02-30", "-1", "1e20", "2026-W05"),
    "token": ("x", "0" * 500, "\x00", "a.b.c"),
    "code": ("x", "0" * 500, "\x00", "a.b.c"),
    "rest": ("x", "0" * 500, "a/b/../c", "%00"),
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


def paths_for(rule, known: dict | None = None) -> list[str]:
    """The rule's path with each edge value of its arguments; uuid arguments take a row the
    test made (`known`, by argument name) and a random id."""
    if not rule.arguments:
        return [rule.rule]
    known = known or {}
    is_uuid = {arg: type(rule._converters[arg]).__name__ == "UUIDConverter" for arg in rule.arguments}
    fillings = []
    for name in sorted(rule.arguments):
        base = {arg: str(known.get(arg) or uuid.uuid4()) if is_uuid[arg] else PATH_VALUES.get(arg, ("x",))[0]
                for arg in rule.arguments}
        values = (str(uuid.uuid4()),) if is_uuid[name] else PATH_VALUES.get(name, ("x",))
        fillings += [base] + [{**base, name: value} for value in values]
    paths = []
    for filled in fillings:
        path = rule.rule
        for arg, text in filled.items():
            for pattern in (f"<{arg}>", f"<uuid:{arg}>", f"<path:{arg}>", f"<string:{arg}>"):
                path = path.replace(pattern, _quote(text))
        paths.append(path)
    return sorted(set(paths), key=paths.index)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def queries() -> list[dict]:
    """All names at once with each value, then each name alone with a far date and a huge number
    (a route that refuses one bad name first would hide what another does)."""
    together = [{name: value for name in QUERY_NAMES} for value in EDGE_VALUES]
    alone = [{name: value} for name in NUMBER_OR_DATE_NAMES for value in ("9999-12-31", "99999999999999999999")]
    return together + alone


def _roles_for(app, rule) -> list[str]:
    allowed, _ = route_access(app, rule.endpoint)
    if allowed is None:
        return []
    if ANONYMOUS in allowed:
        return [ANONYMOUS, *[role for role in ROLES if role in allowed][:1]]
    return [role for role in ROLES if role in allowed]


@pytest.mark.parametrize("role", (ANONYMOUS, *ROLES))
def test_no_get_route_answers_500_to_edge_values(app, client, users, login_as, make_booking, role):
    booking = make_booking(users["patient"], users["specialist"])
    known = {"booking_id": booking.id, "specialist_id": users["specialist"].id, "user_id": users["patient"].id}
    if role != ANONYMOUS:
        login_as(users[role])
    failures = []
    for rule in edge_routes(app):
        if role not in _roles_for(app, rule):
            continue
        paths = paths_for(rule, known)
        for path in paths:
            for query in queries() if path == paths[0] else queries()[:len(EDGE_VALUES)]:
                response = client.get(path, query_string=query)
                response.close()
                if response.status_code >= 500:
                    shown = query if len(query) == 1 else next(iter(query.values()))
                    failures.append(f"{path} {shown!r}: {response.status_code}")
                    break
    assert not failures, "\n".join(failures)
