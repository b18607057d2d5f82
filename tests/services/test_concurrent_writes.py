"""A busy morning on the portal as production serves it (gunicorn, 2 workers with threads): 16
clients booking, cancelling, blocking time and writing notes at once for a bounded time. On the
embedded default (SQLite) as on PostgreSQL: no answer is a 5xx, every booking a client was told
about exists as it was told, and no two active bookings of one person overlap."""
from __future__ import annotations

import random
import threading
import time as timer
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import requests
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AvailabilityException, Booking, SessionNote, SpecialistRate, WorkingHours
from tests.conftest import DEFAULT_PASSWORD

SECONDS = 8
PATIENTS = 12
SPECIALISTS = 4
DAYS = 10


def _people() -> tuple[list[str], list[tuple[str, str]]]:
    """(patients' tokens, (specialist id, token) per specialist), committed. Specialists work every
    day from 09:00 to 17:00 in hour-long sessions."""
    from portal.services.users import api_token_create, user_create

    patients = [api_token_create(user=user_create(email=f"busy-patient-{n}@example.test", password=DEFAULT_PASSWORD,
                                                  role="patient"), name="busy") for n in range(PATIENTS)]
    specialists = []
    for n in range(SPECIALISTS):
        user = user_create(email=f"busy-specialist-{n}@example.test", password=DEFAULT_PASSWORD, role="specialist")
        for weekday in range(7):
            db.session.add(WorkingHours(specialist_id=user.id, weekday=weekday, start_time=time(9),
                                        end_time=time(17)))
        db.session.add(SpecialistRate(specialist_id=user.id, duration_minutes=60, price=80, currency="EUR",
                                      effective_from=date(2000, 1, 1)))
        specialists.append((str(user.id), api_token_create(user=user, name="busy")))
    db.session.commit()
    return patients, specialists


def _hour(rng: random.Random) -> str:
    day = date.today() + timedelta(days=2 + rng.randrange(DAYS))
    return datetime.combine(day, time(9 + rng.randrange(8)), tzinfo=UTC).isoformat()


class Ledger:
    """What the clients were told, and every status they got."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.told: dict[str, str] = {}  # booking id -> "confirmed" | "cancelled"
        self.server_errors: list[str] = []

    def answer(self, what: str, response: requests.Response) -> requests.Response:
        with self.lock:
            self.statuses[(what, response.status_code)] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{what} {response.status_code} {response.text[:200]}")
        return response


def _patient(base: str, token: str, specialists: list[tuple[str, str]], ledger: Ledger, seed: int, stop: float):
    rng, mine = random.Random(seed), []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        while timer.monotonic() < stop:
            if mine and rng.random() < 0.35:
                booking_id = mine.pop(rng.randrange(len(mine)))
                answer = ledger.answer("cancel", http.post(f"{base}/functions/booking-cancel", timeout=60,
                                                           json={"booking_id": booking_id, "reason": "busy"}))
                if answer.status_code == 200:
                    with ledger.lock:
                        ledger.told[booking_id] = "cancelled"
                continue
            specialist_id = rng.choice(specialists)[0]
            answer = ledger.answer("book", http.post(f"{base}/api/v1/bookings", timeout=60,
                                                     json={"specialist_id": specialist_id, "starts_at": _hour(rng)}))
            if answer.status_code == 201:
                booking_id = answer.json()["id"]
                mine.append(booking_id)
                with ledger.lock:
                    ledger.told[booking_id] = "confirmed"


def _specialist(base: str, token: str, ledger: Ledger, seed: int, stop: float):
    rng = random.Random(seed)
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        while timer.monotonic() < stop:
            if rng.random() < 0.5:
                day = date.today() + timedelta(days=2 + DAYS + rng.randrange(20))
                start = 9 + rng.randrange(7)
                ledger.answer("block", http.post(f"{base}/api/v1/availability-exceptions", timeout=60, json={
                    "exception_date": day.isoformat(), "reason": "personal", "all_day": False,
                    "start_time": f"{start:02d}:00", "end_time": f"{start + 1:02d}:00"}))
                continue
            bookings = ledger.answer("list", http.get(f"{base}/api/v1/bookings", timeout=60,
                                                      params={"status": "confirmed", "per_page": 20}))
            items = bookings.json()["items"] if bookings.status_code == 200 else []
            if items:
                ledger.answer("note", http.post(f"{base}/api/v1/session-notes", timeout=60, json={
                    "booking_id": rng.choice(items)["id"], "notes": "Seen in a busy morning."}))


def _overlaps(column) -> int:
    first, second = sa.orm.aliased(Booking), sa.orm.aliased(Booking)
    return db.session.scalar(sa.select(sa.func.count()).select_from(first).join(second, sa.and_(
        getattr(first, column) == getattr(second, column), first.id < second.id,
        first.starts_at < second.ends_at, second.starts_at < first.ends_at)).where(
        first.status != "cancelled", second.status != "cancelled"))


def test_sixteen_busy_clients_get_no_server_error_and_lose_nothing(live_server):
    patients, specialists = _people()
    ledger, stop = Ledger(), timer.monotonic() + SECONDS
    threads = [threading.Thread(target=_patient, args=(live_server, token, specialists, ledger, n, stop))
               for n, token in enumerate(patients)]
    threads += [threading.Thread(target=_specialist, args=(live_server, token, ledger, 100 + n, stop))
                for n, (_id, token) in enumerate(specialists)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    assert ledger.server_errors == []
    assert ledger.statuses[("book", 201)] >= 10, ledger.statuses
    assert ledger.statuses[("cancel", 200)] >= 1 and ledger.statuses[("block", 201)] >= 1, ledger.statuses
    assert ledger.statuses[("note", 201)] >= 1, ledger.statuses

    db.session.rollback()  # a fresh snapshot: what the server committed
    stored = dict(db.session.execute(sa.select(Booking.id, Booking.status)).all())
    for booking_id, status in ledger.told.items():
        assert stored.get(uuid.UUID(booking_id)) == status, booking_id
    assert _overlaps("specialist_id") == 0 and _overlaps("patient_id") == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SessionNote)) == ledger.statuses[("note", 201)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AvailabilityException)) == \
        ledger.statuses[("block", 201)]
