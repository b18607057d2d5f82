"""Two moves of two bookings into one free slot at the same moment: exactly one wins
(on PostgreSQL the overlap trigger, on SQLite one writer at a time), with real commits."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, SpecialistRate, WorkingHours

ROUNDS = 4


def _committed_world():
    from portal.services.users import api_token_create, user_create

    specialist = user_create(email="move-spec@example.test", password="x" * 12, role="specialist")
    patients = [user_create(email=f"move-{n}@example.test", password="x" * 12, role="patient") for n in range(2)]
    db.session.flush()
    for weekday in range(7):
        db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday, start_time=time(0),
                                    end_time=time(23, 59, 59)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal("80.00"),
                                  currency="USD", effective_from=datetime(2000, 1, 1).date()))
    # 02:00 three days ahead: every round's target (06:00 to 12:00) lies inside that day's hours
    start = (clock.now().astimezone(UTC) + timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
    bookings = []
    for n, patient in enumerate(patients):
        booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=start + timedelta(hours=n),
                          ends_at=start + timedelta(hours=n + 1), price=Decimal("80.00"), currency="USD")
        db.session.add(booking)
        bookings.append(booking)
    db.session.flush()
    tokens = [api_token_create(user=patient, name="race") for patient in patients]
    db.session.commit()
    return [b.id for b in bookings], tokens, start


def test_two_moves_into_one_free_slot_one_wins(committed_db):
    app = committed_db
    booking_ids, tokens, start = _committed_world()
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    for round_ in range(ROUNDS):
        target = start + timedelta(hours=4 + 2 * round_)
        barrier = threading.Barrier(2)

        def move(booking_id, token, target=target, barrier=barrier):
            client = app.test_client()
            barrier.wait()
            response = client.post(f"/api/v1/bookings/{booking_id}/reschedule", json={"starts_at": target.isoformat()},
                                   headers={"Authorization": f"Bearer {token}"})
            with lock:
                results.append((response.status_code, (response.get_json() or {}).get("error")))

        threads = [threading.Thread(target=move, args=pair) for pair in zip(booking_ids, tokens, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        db.session.rollback()
        starts = [db.session.get(Booking, key, populate_existing=True).starts_at for key in booking_ids]
        assert starts.count(target) == 1, "exactly one booking holds the slot"
        # put the winner back where it was, so the next round races both again
        for n, key in enumerate(booking_ids):
            db.session.execute(sa.update(Booking).where(Booking.id == key).values(
                starts_at=start + timedelta(hours=n), ends_at=start + timedelta(hours=n + 1)))
        db.session.commit()
    assert Counter(results) == {(200, None): ROUNDS, (409, "SLOT_UNAVAILABLE"): ROUNDS}
    moved = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "booking_rescheduled"))
    assert moved == ROUNDS
