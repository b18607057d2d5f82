"""The daily dispatcher: dates, catch-up, rules, idempotency, failures, concurrency."""
from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import (
    AuditLog,
    AvailabilityException,
    Booking,
    RecurringBooking,
    RecurringOccurrenceSkip,
    Service,
    SpecialistProfile,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.services import recurring_dispatch
from portal.services.recurring import recurring_dispatch as dispatch
from portal.services.recurring_dispatch import ahead as dispatch_ahead
from portal.services.recurring_dispatch import planning
from portal.services.recurring_dispatch import run as dispatch_run
from tests.conftest import require_or_skip

EVERY_DAY = {d: [("08:00", "18:00")] for d in range(7)}


@pytest.fixture(autouse=True)
def _emptied_afterwards(committed_db):
    """The dispatcher commits per batch; on SQLite a commit escapes the test's
    rolled-back transaction (pysqlite ends it at the outermost RELEASE), so
    these tests empty the tables afterwards as well."""
    yield


@pytest.fixture(autouse=True)
def _no_horizon(_app, monkeypatch):
    """These tests pin the booking horizon to 0 days (a run books its own date's occurrences),
    so the dates, catch-up and rules are seen one run at a time; test_recurring_standing
    covers the horizon itself."""
    monkeypatch.setitem(_app.config, "RECURRING_HORIZON_DAYS", 0)


@pytest.fixture
def make_series(app):
    def make(patient, specialist, frequency="weekly", start=date(2027, 1, 4), end=None, at=time(10)):
        series = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency=frequency,
                                  start_date=start, end_date=end, time_of_day=at, is_active=True,
                                  next_booking_date=start, next_occurrence_index=0)
        db.session.add(series)
        db.session.flush()
        return series

    return make


def run(on: date, now: datetime | None = None) -> dict:
    """Dispatch for `on` with the clock at 02:00 UTC that day (or `now`)."""
    db.session.commit()  # the dispatcher commits per batch: keep the fixtures out of its rollbacks
    with clock.frozen(now or datetime.combine(on, time(2), tzinfo=UTC)):
        return dispatch(run_date=on)


def bookings_of(series) -> list[Booking]:
    db.session.expire_all()
    return list(db.session.scalars(
        sa.select(Booking).where(Booking.recurring_booking_id == series.id).order_by(Booking.starts_at)))


def skips_of(series) -> list[RecurringOccurrenceSkip]:
    return list(db.session.scalars(sa.select(RecurringOccurrenceSkip).where(
        RecurringOccurrenceSkip.recurring_booking_id == series.id).order_by(
        RecurringOccurrenceSkip.occurrence_date)))


@pytest.mark.parametrize("start, expected", [
    (date(2027, 1, 31), [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30),
                         date(2027, 5, 31)]),
    (date(2028, 1, 31), [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)]),
])
def test_monthly_series_keeps_to_its_day_across_month_ends_and_leap_years(
        users, make_specialist, make_series, start, expected):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist, "monthly", start)
    for day in expected:
        assert run(day)["count"] == 1
    assert [b.occurrence_date for b in bookings_of(series)] == expected
    assert [b.starts_at for b in bookings_of(series)] == [datetime.combine(d, time(10), UTC) for d in expected]
    db.session.refresh(series)
    assert series.last_generated_date == expected[-1]
    assert series.next_occurrence_index == len(expected)


@pytest.mark.parametrize("frequency, start, expected", [
    ("weekly", date(2028, 2, 22), [date(2028, 2, 22), date(2028, 2, 29), date(2028, 3, 7)]),
    ("biweekly", date(2028, 2, 15), [date(2028, 2, 15), date(2028, 2, 29), date(2028, 3, 14)]),
    ("weekly", date(2027, 2, 22), [date(2027, 2, 22), date(2027, 3, 1), date(2027, 3, 8)]),
])
def test_weekly_series_step_through_leap_and_common_februaries(users, make_specialist, make_series,
                                                               frequency, start, expected):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist, frequency, start)
    for day in expected:
        assert run(day)["count"] == 1
    assert [b.occurrence_date for b in bookings_of(series)] == expected
    db.session.refresh(series)
    assert series.next_booking_date == expected[-1] + (expected[1] - expected[0])


@pytest.mark.parametrize("frequency, expected", [
    ("weekly", [date(2027, 3, 15), date(2027, 3, 22), date(2027, 3, 29), date(2027, 4, 5)]),
    ("biweekly", [date(2027, 3, 15), date(2027, 3, 29), date(2027, 4, 12)]),
    ("monthly", [date(2027, 3, 15), date(2027, 4, 15)]),
])
def test_weekly_series_keep_local_time_across_daylight_saving(users, make_specialist, make_series,
                                                             frequency, expected):
    specialist = make_specialist(timezone="Europe/Berlin", hours=EVERY_DAY)
    series = make_series(users["patient"], specialist, frequency, date(2027, 3, 15), at=time(10))
    result = run(expected[-1], now=datetime(2027, 3, 14, tzinfo=UTC))  # catch-up, all still ahead
    assert result["count"] == len(expected)
    booked = bookings_of(series)
    assert [b.occurrence_date for b in booked] == expected
    berlin = ZoneInfo("Europe/Berlin")
    assert {b.starts_at.astimezone(berlin).time() for b in booked} == {time(10)}
    assert booked[0].starts_at.hour == 9 and booked[-1].starts_at.hour == 8  # UTC+1, then UTC+2


def test_series_ends_after_its_end_date(users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist, "weekly", date(2027, 1, 4), end=date(2027, 1, 11))
    assert run(date(2027, 1, 4))["count"] == 1
    assert run(date(2027, 1, 11))["count"] == 1
    db.session.refresh(series)
    assert series.is_active is False
    assert run(date(2027, 1, 18))["count"] == 0
    assert len(bookings_of(series)) == 2


def test_catch_up_books_what_is_ahead_and_records_missed_occurrences(users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist, "weekly", date(2027, 1, 4), at=time(15))
    result = run(date(2027, 1, 25), now=datetime(2027, 1, 25, 12, tzinfo=UTC))
    assert result["count"] == 1
    assert [b.occurrence_date for b in bookings_of(series)] == [date(2027, 1, 25)]
    assert [(s.occurrence_date, s.reason) for s in skips_of(series)] == [
        (date(2027, 1, d), recurring_dispatch.MISSED) for d in (4, 11, 18)]
    assert result["errors"] == [{"recurring_id": str(series.id), "error": recurring_dispatch.MISSED}] * 3
    db.session.refresh(series)
    assert series.next_booking_date == date(2027, 2, 1)


def test_missing_rate_is_reported_and_the_series_moves_on(users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY, rate=False)
    series = make_series(users["patient"], specialist)
    result = run(date(2027, 1, 4))
    assert result["count"] == 0
    assert result["errors"] == [{"recurring_id": str(series.id), "error": "No rates found"}]
    db.session.refresh(series)
    assert series.next_booking_date == date(2027, 1, 11) and series.is_active


def test_vacation_and_taken_slot_skip_only_that_occurrence(users, make_specialist, make_series, make_booking):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist)
    db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=date(2027, 1, 4),
                                         reason="vacation"))
    make_booking(users["other_patient"], specialist, datetime(2027, 1, 11, 10, 30, tzinfo=UTC))
    make_booking(users["patient"], users["other_specialist"], datetime(2027, 1, 18, 9, 30, tzinfo=UTC))
    for day in (4, 11, 18, 25):
        run(date(2027, 1, day))
    assert [b.occurrence_date for b in bookings_of(series)] == [date(2027, 1, 25)]
    assert [(s.occurrence_date.day, s.reason) for s in skips_of(series)] == [
        (4, recurring_dispatch.UNAVAILABLE), (11, recurring_dispatch.SLOT_TAKEN),
        (18, recurring_dispatch.PATIENT_BUSY)]


def test_two_series_in_one_batch_never_overlap_each_other(users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY)
    first = make_series(users["patient"], specialist)
    second = make_series(users["other_patient"], specialist, at=time(10, 30))
    result = run(date(2027, 1, 4))
    assert result["count"] == 1
    assert len(bookings_of(first)) + len(bookings_of(second)) == 1
    assert result["errors"][0]["error"] == recurring_dispatch.SLOT_TAKEN
    # Only the series whose session went in counts it as generated.
    assert sorted([s.last_generated_date for s in (first, second)], key=str) == [date(2027, 1, 4), None]


def test_running_twice_books_each_occurrence_once_and_audits_each_run(users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist)
    first = run(date(2027, 1, 4))
    second = run(date(2027, 1, 4))
    assert (first["count"], second["count"]) == (1, 0)
    assert first["message"] == "Dispatched 1 recurring bookings"
    assert first["bookings"] == [str(bookings_of(series)[0].id)]
    audits = db.session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "recurring_bookings_dispatched")).all()
    assert sorted((a.new_values["dispatched"], a.new_values["errors"], a.status, a.actor_id) for a in audits) == [
        (0, 0, "success", None), (1, 0, "success", None)]


def test_an_occurrence_booked_already_is_not_booked_again_and_the_batch_goes_on(
        users, make_specialist, make_series, make_booking):
    """A series whose next occurrence already holds its active booking (a run that overlapped, a state
    restored from a backup): the database refuses the batch's first statement, and the careful path
    leaves that row out and books the rest."""
    specialist = make_specialist(hours=EVERY_DAY)
    behind = make_series(users["patient"], specialist)
    other = make_series(users["other_patient"], make_specialist(hours=EVERY_DAY))
    held = make_booking(users["patient"], specialist, datetime(2027, 1, 4, 10, tzinfo=UTC),
                        recurring_booking_id=behind.id, occurrence_date=date(2027, 1, 4))
    result = run(date(2027, 1, 4))
    assert (result["count"], result["errors"]) == (1, [])
    assert [b.id for b in bookings_of(behind)] == [held.id]
    assert [b.occurrence_date for b in bookings_of(other)] == [date(2027, 1, 4)]
    db.session.refresh(behind)
    assert behind.next_booking_date == date(2027, 1, 11)


def test_paused_series_are_left_alone(users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist)
    series.paused_at = datetime(2027, 1, 1, tzinfo=UTC)
    assert run(date(2027, 1, 4))["count"] == 0
    assert bookings_of(series) == []


def test_a_failing_series_does_not_stop_the_others(users, make_specialist, make_series, monkeypatch):
    good = [make_series(users["patient"], make_specialist(hours=EVERY_DAY), at=time(9 + i)) for i in range(3)]
    bad = make_series(users["other_patient"], make_specialist(hours=EVERY_DAY))
    real_book = planning._book

    def book_badly(plan, occ, rate, now, ends_at):  # a row the database refuses (negative price)
        real_book(plan, occ, rate, now, ends_at)
        if occ.series.id == bad.id:
            plan.bookings[-1]["price"] = -1

    monkeypatch.setattr(planning, "_book", book_badly)
    result = run(date(2027, 1, 4))
    assert result["count"] == 3
    assert result["errors"] == [{"recurring_id": str(bad.id), "error": recurring_dispatch.DATABASE_ERROR}]
    assert all(len(bookings_of(s)) == 1 for s in good) and bookings_of(bad) == []
    db.session.refresh(bad)
    assert bad.next_booking_date == date(2027, 1, 4)  # untouched: retried on the next run
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "recurring_bookings_dispatched")).one()
    assert (audit.status, audit.new_values) == ("success_with_errors", {"dispatched": 3, "errors": 1})


def test_small_batches_give_the_same_result(users, make_specialist, make_series, monkeypatch):
    monkeypatch.setattr(dispatch_run, "BATCH_SIZE", 2)
    series = [make_series(users["patient"], make_specialist(hours=EVERY_DAY), at=time(9 + i))
              for i in range(5)]
    assert run(date(2027, 1, 4))["count"] == 5
    assert all(len(bookings_of(s)) == 1 for s in series)


def test_two_dispatchers_at_once_book_each_occurrence_once(committed_db):
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    from portal.services.users import user_create

    def user(role):
        made = user_create(email=f"{role}-{uuid.uuid4().hex[:8]}@example.test", password="x" * 12,
                           role=role, display_name=None, timezone="UTC")
        db.session.flush()
        return made

    specialists = [user("specialist") for _ in range(10)]
    for specialist in specialists:
        db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=100,
                                      currency="USD", effective_from=date(2000, 1, 1)))
        db.session.add_all(WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(8),
                                        end_time=time(18)) for d in range(7))
    for i in range(20):
        db.session.add(RecurringBooking(
            user_id=user("patient").id, specialist_id=specialists[i % 10].id, frequency="weekly",
            start_date=date(2027, 1, 4), time_of_day=time(9 + i // 10), is_active=True,
            next_booking_date=date(2027, 1, 4), next_occurrence_index=0))
    db.session.commit()
    results, barrier = [], threading.Barrier(2)

    def worker():
        with committed_db.app_context():
            barrier.wait()
            with clock.frozen(datetime(2027, 1, 4, 2, tzinfo=UTC)):
                results.append(dispatch(run_date=date(2027, 1, 4)))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["count"] for r in results) == 20
    assert not any(r["errors"] for r in results)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 20


def _committed_user(role):
    from portal.services.users import user_create

    made = user_create(email=f"{role}-{uuid.uuid4().hex[:8]}@example.test", password="x" * 12,
                       role=role, display_name=None, timezone="UTC")
    db.session.flush()
    return made


def _bookable_specialist():
    specialist = _committed_user("specialist")
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=100,
                                  currency="USD", effective_from=date(2000, 1, 1)))
    db.session.add_all(WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(8),
                                    end_time=time(18)) for d in range(7))
    return specialist


def _series_with_id(series_id: uuid.UUID, specialist, at: time) -> RecurringBooking:
    series = RecurringBooking(
        id=series_id, user_id=_committed_user("patient").id, specialist_id=specialist.id,
        frequency="weekly", start_date=date(2027, 1, 4), time_of_day=at, is_active=True,
        next_booking_date=date(2027, 1, 4), next_occurrence_index=0)
    db.session.add(series)
    return series


def test_parallel_slices_share_the_rules_and_keep_failures_to_one_series(committed_db, monkeypatch):
    """On PostgreSQL the series are split by id into slices booked at once, on
    separate connections: a clash across slices is still refused by the
    database, and a bad series in one slice leaves both slices' other work."""
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    monkeypatch.setitem(committed_db.config, "DISPATCHER_WORKERS", 2)
    low, high = uuid.UUID(int=5), uuid.UUID(int=2**127 + 5)  # one in each half of the id space
    contested = _bookable_specialist()
    _series_with_id(low, contested, time(10))
    _series_with_id(high, contested, time(10, 30))
    quiet = _bookable_specialist()
    good = [uuid.UUID(int=base + n) for base in (100, 2**127 + 100) for n in range(2)]
    for n, series_id in enumerate(good):
        _series_with_id(series_id, quiet, time(12 + n))
    bad = uuid.UUID(int=2**127 + 200)
    _series_with_id(bad, _bookable_specialist(), time(10))
    db.session.commit()
    real_book = planning._book

    def book_badly(plan, occ, rate, now, ends_at):  # a row the database refuses (negative price)
        real_book(plan, occ, rate, now, ends_at)
        if occ.series.id == bad:
            plan.bookings[-1]["price"] = -1

    monkeypatch.setattr(planning, "_book", book_badly)
    used = []
    monkeypatch.setattr(dispatch_run, "_dispatch_range", _recording(dispatch_run._dispatch_range, used))
    with clock.frozen(datetime(2027, 1, 4, 2, tzinfo=UTC)):
        result = dispatch(run_date=date(2027, 1, 4))
    assert sorted(map(str, used)) == sorted(map(str, [(None, uuid.UUID(int=2**127)), (uuid.UUID(int=2**127), None)]))
    assert result["count"] == 1 + len(good)
    assert sorted((e["recurring_id"], e["error"]) for e in result["errors"]) == sorted([
        (str(bad), recurring_dispatch.DATABASE_ERROR),
        (str(low if str(high) in _booked_series(result) else high), recurring_dispatch.SLOT_TAKEN)])
    assert {str(s) for s in good} <= _booked_series(result)


def _recording(function, calls):
    def recorded(low, high, *args):
        calls.append((low, high))
        return function(low, high, *args)

    return recorded


def _booked_series(result) -> set[str]:
    ids = [uuid.UUID(b) for b in result["bookings"]]
    return {str(series_id) for series_id in db.session.scalars(
        sa.select(Booking.recurring_booking_id).where(Booking.id.in_(ids)))}


def test_a_series_paused_after_the_read_ahead_is_not_booked(committed_db, monkeypatch):
    """On PostgreSQL the next batch is read without locks while the one before it is written; a series
    paused in between is seen when the batch locks its series (its row changed), and left alone."""
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    specialist = _bookable_specialist()
    paused, kept = (_series_with_id(uuid.uuid4(), specialist, time(hour)) for hour in (9, 11))
    db.session.commit()
    real_draft = dispatch_ahead.draft

    def draft_then_pause(*args, **kwargs):
        drafted = real_draft(*args, **kwargs)
        with db.engine.begin() as other:  # another user, on another connection, after the read
            other.execute(sa.update(RecurringBooking).where(RecurringBooking.id == paused.id)
                          .values(paused_at=datetime(2027, 1, 3, tzinfo=UTC)))
        return drafted

    monkeypatch.setattr(dispatch_ahead, "draft", draft_then_pause)
    result = run(date(2027, 1, 4))
    assert (result["count"], result["errors"]) == (1, [])
    assert bookings_of(paused) == [] and [b.occurrence_date for b in bookings_of(kept)] == [date(2027, 1, 4)]


@pytest.mark.parametrize("rule", ["clash", "limit"])
def test_a_batch_read_ahead_keeps_the_clash_and_limit_rules(committed_db, rule):
    """The read-ahead plans a batch as if every row went in and every pair were within its limit; a
    clash refused by the database, or a pair over its limit, is still skipped with its reason, and
    only the series whose session went in counts it as generated."""
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    specialist = _bookable_specialist()
    db.session.flush()
    if rule == "clash":
        pair = [_series_with_id(uuid.uuid4(), specialist, at) for at in (time(10), time(10, 30))]
        reason = recurring_dispatch.SLOT_TAKEN
    else:
        db.session.get(SpecialistProfile, specialist.id).max_upcoming_per_patient = 1
        pair = [_series_with_id(uuid.uuid4(), specialist, at) for at in (time(9), time(12))]
        pair[1].user_id = pair[0].user_id
        reason = planning.LIMIT_REACHED
    others = [_series_with_id(uuid.uuid4(), _bookable_specialist(), time(15)) for _ in range(2)]
    db.session.commit()
    result = run(date(2027, 1, 4))
    assert (result["count"], [e["error"] for e in result["errors"]]) == (3, [reason])
    db.session.expire_all()
    assert sorted((s.last_generated_date for s in pair), key=str) == [date(2027, 1, 4), None]
    assert [s.last_generated_date for s in others] == [date(2027, 1, 4)] * 2
    assert all(s.next_occurrence_index == 1 for s in pair + others)
    assert sum(len(bookings_of(s)) for s in pair) == 1


def test_the_read_ahead_books_every_batch_once(committed_db, monkeypatch):
    """Batches read ahead one after the other (the first a quarter of the rest) book every series once."""
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    monkeypatch.setattr(dispatch_run, "BATCH_SIZE", 4)
    specialist = _bookable_specialist()
    series = [_series_with_id(uuid.uuid4(), specialist, time(8 + hour)) for hour in range(10)]
    db.session.commit()
    drafted = []
    real_draft = dispatch_ahead.draft
    monkeypatch.setattr(dispatch_ahead, "draft", lambda *args: drafted.append(args[-1]) or real_draft(*args))
    result = run(date(2027, 1, 4))
    assert drafted == [1, 4, 4, 4, 4]  # several batches were read ahead: 1 + 4 + 4 + 1, then none
    assert (result["count"], result["errors"]) == (10, [])
    assert all([b.occurrence_date for b in bookings_of(s)] == [date(2027, 1, 4)] for s in series)


def test_a_pause_waits_for_a_booking_run_that_holds_the_series_and_cancels_what_it_booked(committed_db):
    """A booking run holds its series' rows until its batch commits. A patient pausing one of them
    meanwhile waits for it, then cancels the session it booked: no paused series keeps a session."""
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    from portal.services.recurring import recurring_pause

    series = _series_with_id(uuid.uuid4(), _bookable_specialist(), time(10))
    db.session.commit()
    series_id, patient_id, specialist_id = series.id, series.user_id, series.specialist_id
    booking_id = uuid.uuid4()
    outcome = []

    def pause():
        with committed_db.app_context(), clock.frozen(datetime(2027, 1, 4, 2, tzinfo=UTC)):
            patient = db.session.get(User, patient_id)
            change = recurring_pause(actor=patient, series=db.session.get(RecurringBooking, series_id))
            outcome.append([b.id for b in change.cancelled])
            db.session.commit()
            db.session.remove()

    pausing = threading.Thread(target=pause)
    with db.engine.begin() as run_connection:  # as a booking run's batch: lock, book, not yet committed
        run_connection.execute(sa.select(RecurringBooking.id).where(RecurringBooking.id == series_id)
                               .with_for_update())
        run_connection.execute(sa.insert(Booking).values(
            id=booking_id, patient_id=patient_id, specialist_id=specialist_id, status="confirmed",
            starts_at=datetime(2027, 1, 11, 10, tzinfo=UTC), ends_at=datetime(2027, 1, 11, 11, tzinfo=UTC),
            price=100, currency="USD", recurring_booking_id=series_id, occurrence_date=date(2027, 1, 11)))
        pausing.start()
        pausing.join(timeout=1)
        waited = pausing.is_alive()
    # the batch committed (or, had the block failed, rolled back): the pause goes on
    pausing.join(timeout=10)
    assert waited  # the pause waited for the run's batch
    assert outcome == [[booking_id]]
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "cancelled"
    assert db.session.get(RecurringBooking, series_id).paused_at is not None


def test_a_video_series_gives_each_occurrence_its_own_room(_app, users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY)
    service = db.session.scalars(sa.select(Service).where(Service.specialist_id == specialist.id,
                                                          Service.is_default.is_(True))).one()
    service.location_kind = "video"
    series = make_series(users["patient"], specialist, "weekly", date(2027, 1, 4))
    assert run(date(2027, 1, 18), now=datetime(2027, 1, 3, tzinfo=UTC))["count"] == 3

    rooms = [b.room_url for b in bookings_of(series)]
    base = _app.config["VIDEO_ROOM_BASE_URL"].rstrip("/")
    assert all(room and room.startswith(f"{base}/clinic-") for room in rooms)
    assert len(set(rooms)) == 3  # never shared, never reused


def test_an_in_person_series_has_no_room(users, make_specialist, make_series):
    specialist = make_specialist(hours=EVERY_DAY)
    series = make_series(users["patient"], specialist, "weekly", date(2027, 1, 4))
    assert run(date(2027, 1, 11), now=datetime(2027, 1, 3, tzinfo=UTC))["count"] == 2
    assert [b.room_url for b in bookings_of(series)] == [None, None]
