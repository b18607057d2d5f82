"""Many people cancelling one booking at the same moment, on PostgreSQL with real commits."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation, BookingStatusHistory

CONCURRENT = 24


def _committed_booking():
    from decimal import Decimal

    from portal.services.users import api_token_create, user_create

    patient = user_create(email="race-patient@example.test", password="x" * 12, role="patient")
    specialist = user_create(email="race-spec@example.test", password="x" * 12, role="specialist")
    db.session.flush()
    starts = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts,
                      ends_at=starts + timedelta(hours=1), price=Decimal("80.00"), currency="USD")
    db.session.add(booking)
    db.session.flush()
    tokens = [api_token_create(user=patient if i % 2 else specialist, name=f"race-{i}") for i in range(CONCURRENT)]
    db.session.commit()
    return booking.id, tokens


def test_simultaneous_cancels_give_one_success_and_one_record(committed_db):
    """On PostgreSQL (the row lock) and on SQLite (one writer at a time). Not the
    postgres_only fixture: it opens the rolled-back `app` session, and the threads
    must each commit through their own connection."""
    app = committed_db
    booking_id, tokens = _committed_booking()
    start = threading.Barrier(CONCURRENT)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def cancel(token: str) -> None:
        client = app.test_client()
        start.wait()
        response = client.post("/functions/booking-cancel", json={"booking_id": str(booking_id), "reason": "race"},
                               headers={"Authorization": f"Bearer {token}"})
        with lock:
            results.append((response.status_code, response.get_json().get("error")))

    threads = [threading.Thread(target=cancel, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert Counter(results) == {(200, None): 1, (409, "ALREADY_CANCELLED"): CONCURRENT - 1}
    db.session.rollback()  # a fresh snapshot: see what the threads committed
    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    assert count(BookingCancellation, BookingCancellation.booking_id == booking_id) == 1
    assert count(BookingStatusHistory, BookingStatusHistory.to_status == "cancelled") == 1
    assert count(AuditLog, AuditLog.action == "booking_cancelled", AuditLog.status == "success") == 1
    assert count(AuditLog, AuditLog.action == "booking_cancelled", AuditLog.status == "failure") == CONCURRENT - 1
    assert db.session.get(Booking, booking_id).status == "cancelled"
