"""What a booking and a cancellation cost in statements, counted as bench/writes.py counts them
(transaction control and per-transaction settings left out): each holds to its budget, so a change
that adds a round trip to the busiest writes shows here. bench/README.md gives the target beside
the budget."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bench.statements import counted
from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation, BookingStatusHistory, Outbox

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
# (booking, cancellation). PostgreSQL takes the pair lock, and writes the history, audit and mail
# rows in one statement; SQLite needs no lock and writes them one by one. The targets: 12 and 8.
BUDGETS = {"postgresql": (11, 6), "sqlite": (12, 8)}


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(MONDAY - timedelta(days=1)):
        yield


def test_a_booking_and_its_cancellation_stay_within_their_statement_budget(client, users, api_headers):
    headers = api_headers(users["patient"])
    client.get("/api/v1/me", headers=headers)  # the token's first use notes itself once: not a booking's cost
    body = {"specialist_id": str(users["specialist"].id), "starts_at": (MONDAY + timedelta(hours=10)).isoformat()}
    db.session.expunge_all()  # as a request begins: nothing in the session yet
    with counted(db.engine) as booking:
        made = client.post("/api/v1/bookings", headers=headers, json=body)
    assert made.status_code == 201, made.json
    db.session.expunge_all()
    with counted(db.engine) as cancel:
        cancelled = client.post("/functions/booking-cancel", headers=headers,
                                json={"booking_id": made.json["id"], "reason": "Cannot make it."})
    assert cancelled.status_code == 200 and cancelled.json["success"] is True

    booking_budget, cancel_budget = BUDGETS[db.engine.dialect.name]
    assert booking.count <= booking_budget, "\n".join(booking.sql)
    assert cancel.count <= cancel_budget, "\n".join(cancel.sql)
    # Every row the two writes owe is there: fewer statements, not fewer rows.
    booking_id = uuid.UUID(made.json["id"])
    patient, specialist = users["patient"].id, users["specialist"].id
    assert db.session.get(Booking, booking_id).status == "cancelled"
    reason = db.session.scalar(sa.select(BookingCancellation.reason).filter_by(booking_id=booking_id))
    assert reason == "Cannot make it."
    assert list(db.session.execute(sa.select(BookingStatusHistory.from_status, BookingStatusHistory.to_status)
                                   .filter_by(booking_id=booking_id).order_by(BookingStatusHistory.created_at))) == [
        (None, "confirmed"), ("confirmed", "cancelled")]
    assert sorted(db.session.scalars(sa.select(AuditLog.action).filter_by(entity_id=str(booking_id)))) == [
        "booking_cancelled", "booking_created"]
    assert sorted(db.session.execute(sa.select(Outbox.template, Outbox.recipient_id).where(
        Outbox.about["booking_id"].as_string() == str(booking_id)))) == sorted([
            ("booking_confirmed", patient), ("booking_confirmed", specialist), ("booking_cancelled", specialist)])
