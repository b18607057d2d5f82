"""What a booking and a cancellation cost in statements, counted as bench/writes.py counts them
(transaction control and per-transaction settings left out): each holds to its budget, so a change
that adds a round trip to the busiest writes shows here. bench/README.md gives the target beside
the budget."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.statements import counted
from portal import clock
from portal.extensions import db

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
BOOKING_BUDGET = 20  # on PostgreSQL, with the pair lock; one fewer on SQLite
CANCEL_BUDGET = 14


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(MONDAY - timedelta(days=1)):
        yield


def test_a_booking_and_its_cancellation_stay_within_their_statement_budget(client, users, api_headers):
    headers = api_headers(users["patient"])
    client.get("/api/v1/me", headers=headers)  # the token's first use notes itself once: not a booking's cost
    with counted(db.engine) as booking:
        made = client.post("/api/v1/bookings", headers=headers, json={
            "specialist_id": str(users["specialist"].id), "starts_at": (MONDAY + timedelta(hours=10)).isoformat()})
    assert made.status_code == 201, made.json
    with counted(db.engine) as cancel:
        cancelled = client.post("/functions/booking-cancel", headers=headers,
                                json={"booking_id": made.json["id"], "reason": "Cannot make it."})
    assert cancelled.status_code == 200 and cancelled.json["success"] is True

    assert booking.count <= BOOKING_BUDGET, "\n".join(booking.sql)
    assert cancel.count <= CANCEL_BUDGET, "\n".join(cancel.sql)
    # The rows written: booking, history, audit, outbox; cancellation's status, record, history, audit, outbox.
    assert booking.writes >= 4 and cancel.writes >= 4
