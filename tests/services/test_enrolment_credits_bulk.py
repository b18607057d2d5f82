"""Package credits under load: recurring occurrences draw credits set-based, and two bookings at once
never spend the last credit twice (PostgreSQL, real commits, threads)."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Booking, PackageEnrolment, RecurringBooking, SpecialistProfile
from portal.services.recurring import recurring_dispatch as dispatch
from tests.conftest import require_or_skip

EVERY_DAY = {d: [("08:00", "18:00")] for d in range(7)}


@pytest.fixture(autouse=True)
def _emptied_afterwards(committed_db, monkeypatch):
    """The dispatcher and the racing requests commit: the tables are emptied afterwards.
    A horizon of 0 books only each run date's occurrences, which the counts below expect."""
    monkeypatch.setitem(committed_db.config, "RECURRING_HORIZON_DAYS", 0)
    yield


def enrolment(patient, specialist, *, credits: int, used: int = 0, expires_on: date | None = None,
              status: str = "active") -> PackageEnrolment:
    row = PackageEnrolment(patient_id=patient.id, specialist_id=specialist.id, package_name="Block",
                           status=status, credits_total=credits, credits_used=used, price=Decimal("100.00"),
                           currency="USD", starts_on=date(2027, 1, 1), expires_on=expires_on)
    db.session.add(row)
    db.session.flush()
    return row


def series(patient, specialist, start=date(2027, 1, 4)) -> RecurringBooking:
    row = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency="weekly", start_date=start,
                           time_of_day=time(10), is_active=True, next_booking_date=start, next_occurrence_index=0)
    db.session.add(row)
    db.session.flush()
    return row


def run(on: date, now: datetime) -> dict:
    db.session.commit()
    with clock.frozen(now):
        return dispatch(run_date=on)


def test_occurrences_draw_credits_until_they_run_out_or_expire(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    patient = users["patient"]
    soon = enrolment(patient, specialist, credits=2, expires_on=date(2027, 1, 12))
    later = enrolment(patient, specialist, credits=5, used=4)
    series(patient, specialist)
    other = series(users["other_patient"], specialist, start=date(2027, 1, 5))
    result = run(date(2027, 1, 25), now=datetime(2027, 1, 3, tzinfo=UTC))
    assert result["count"] == 4 + 3
    db.session.expire_all()
    paid = db.session.execute(sa.select(Booking.occurrence_date, Booking.package_enrolment_id)
                              .where(Booking.patient_id == patient.id).order_by(Booking.starts_at)).all()
    # Jan 4 and 11 from the block expiring on the 12th, Jan 18 from the other one's last credit.
    assert [enrolment_id for _, enrolment_id in paid] == [soon.id, soon.id, later.id, None]
    assert (db.session.get(PackageEnrolment, soon.id).credits_used,
            db.session.get(PackageEnrolment, later.id).credits_used) == (2, 5)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.recurring_booking_id == other.id, Booking.package_enrolment_id.is_not(None))) == 0


def test_the_credit_draw_takes_the_same_statements_for_few_or_many_occurrences(users, make_user, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)

    def statements_on_enrolments(patients: int) -> int:
        for _ in range(patients):
            patient = make_user("patient")
            enrolment(patient, specialist, credits=10)
            series(patient, specialist)
        seen: list[str] = []

        def note(conn, cursor, statement, *args):
            if "package_enrolment" in statement:
                seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            run(date(2027, 1, 4), now=datetime(2027, 1, 3, tzinfo=UTC))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        db.session.execute(sa.delete(Booking))
        db.session.execute(sa.delete(RecurringBooking))
        return len(seen)

    few, many = statements_on_enrolments(2), statements_on_enrolments(40)
    assert few == many <= 4  # read, bookings, enrolments (and nothing per occurrence)


def _committed_people():
    """Not the make_* fixtures: they open the rolled-back `app` session, pinned to one
    connection, and the racing threads must each commit through their own."""
    from portal.models import SpecialistRate, WorkingHours
    from portal.services.users import user_create

    patient = user_create(email="race-patient@example.test", password="x" * 12, role="patient")
    specialist = user_create(email="race-spec@example.test", password="x" * 12, role="specialist")
    db.session.flush()
    for weekday in range(7):
        db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday, start_time=time(8),
                                    end_time=time(18)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal("90.00"),
                                  currency="USD", effective_from=date(2000, 1, 1)))
    return patient, specialist


def test_two_bookings_at_once_never_spend_the_last_credit_twice(committed_db):
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "the last-credit race needs PostgreSQL (set DATABASE_URL)")
    from flask import current_app

    from portal.services.users import api_token_create

    patient, specialist = _committed_people()
    last = enrolment(patient, specialist, credits=3, used=2)
    racers = 12
    # room for every racer under the specialist's upcoming limit: only the credit is contested
    db.session.get(SpecialistProfile, specialist.id).max_upcoming_per_patient = racers + 1
    tokens = [api_token_create(user=patient, name=f"race-{i}") for i in range(racers)]
    specialist_id, last_id = str(specialist.id), last.id
    db.session.commit()
    app = current_app._get_current_object()
    start = threading.Barrier(racers)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    first = datetime.combine(clock.today() + timedelta(days=3), time(8), tzinfo=UTC)

    def book(i: int) -> None:
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/bookings", headers={"Authorization": f"Bearer {tokens[i]}"}, json={
            "specialist_id": specialist_id, "starts_at": (first + timedelta(hours=i % 10, days=i // 10))
            .isoformat()})
        with lock:
            results.append((response.status_code, (response.get_json() or {}).get("package_enrolment_id")))

    threads = [threading.Thread(target=book, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert Counter(status for status, _ in results) == {201: racers}
    assert Counter(enrolment_id for _, enrolment_id in results) == {str(last_id): 1, None: racers - 1}
    db.session.rollback()
    assert db.session.get(PackageEnrolment, last_id).credits_used == 3
