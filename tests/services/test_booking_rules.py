"""Booking rules per specialist: upcoming limit, minimum notice, booking window (services,
slot lists, series creation, the dispatcher) and the race at the limit on PostgreSQL."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.errors import Forbidden
from portal.extensions import db
from portal.models import AuditLog, Booking, RecurringBooking, RecurringOccurrenceSkip, SpecialistProfile
from portal.selectors.availability import free_slots, next_free_slots
from portal.services.booking_rules import BookingRuleBroken
from portal.services.bookings import booking_create
from portal.services.recurring import recurring_create
from tests.conftest import require_or_skip

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)  # Sunday 00:00 UTC


def at(hour: int, days: int = 0) -> datetime:
    return (MONDAY + timedelta(days=days)).replace(hour=hour)


def set_rules(specialist, **values) -> None:
    profile = db.session.get(SpecialistProfile, specialist.id)
    for key, value in values.items():
        setattr(profile, key, value)
    db.session.flush()


def book(patient, specialist, starts_at, actor=None, **kwargs):
    return booking_create(actor=actor or patient, patient=patient, specialist_id=specialist.id,
                          starts_at=starts_at, **kwargs)


@pytest.fixture
def pair(make_specialist, make_user):
    return make_specialist(minutes=60), make_user("patient")


def test_defaults_are_8_upcoming_2_hours_notice_and_365_days(pair):
    profile = db.session.get(SpecialistProfile, pair[0].id)
    assert (profile.max_upcoming_per_patient, profile.min_notice_hours, profile.booking_window_days) == (8, 2, 365)


def test_upcoming_limit_counts_active_future_bookings_with_this_specialist_only(
        pair, make_specialist, make_booking):
    specialist, patient = pair
    set_rules(specialist, max_upcoming_per_patient=2)
    other = make_specialist()
    with clock.frozen(NOW):
        make_booking(patient, specialist, NOW - timedelta(days=3))  # past: not upcoming
        make_booking(patient, specialist, at(9, days=1), status="cancelled")  # not active
        make_booking(patient, other, at(9))  # another specialist
        book(patient, specialist, at(10))
        book(patient, specialist, at(11))
        with pytest.raises(BookingRuleBroken) as refused:
            book(patient, specialist, at(12))
    assert refused.value.code == "BOOKING_LIMIT_REACHED" and refused.value.http_status == 409
    assert "at most 2 upcoming sessions" in refused.value.message


def test_minimum_notice_refuses_a_start_too_soon(pair):
    specialist, patient = pair
    set_rules(specialist, min_notice_hours=3)
    with clock.frozen(at(9)):
        with pytest.raises(BookingRuleBroken) as refused:
            book(patient, specialist, at(11))
        assert book(patient, specialist, at(12)).starts_at == at(12)
    assert refused.value.code == "TOO_SHORT_NOTICE" and "3 hours' notice" in refused.value.message


def test_booking_window_refuses_a_start_too_far_ahead_and_is_capped_by_the_portal(app, pair, monkeypatch):
    specialist, patient = pair
    set_rules(specialist, booking_window_days=7)
    with clock.frozen(NOW):
        assert book(patient, specialist, at(10, days=4)).status == "confirmed"
        with pytest.raises(BookingRuleBroken) as refused:
            book(patient, specialist, at(10, days=8))
        assert refused.value.code == "OUTSIDE_BOOKING_WINDOW"
        monkeypatch.setitem(app.config, "MAX_BOOKING_AHEAD_DAYS", 2)  # the portal's cap wins
        with pytest.raises(BookingRuleBroken, match="up to 2 days ahead"):
            book(patient, specialist, at(10, days=3))


def test_admin_may_override_on_a_patients_behalf_and_the_audit_row_says_which_rules(pair, users):
    specialist, patient = pair
    set_rules(specialist, max_upcoming_per_patient=1, min_notice_hours=48)
    with clock.frozen(NOW):
        book(patient, specialist, at(10, days=3))
        with pytest.raises(Forbidden):
            book(patient, specialist, at(10), override_rules=True)  # patients may not override
        booking = book(patient, specialist, at(10), actor=users["admin"], override_rules=True)
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_created",
                                                       AuditLog.entity_id == str(booking.id))).one()
    assert row.actor_id == users["admin"].id
    assert row.new_values["rules_overridden"] == ["TOO_SHORT_NOTICE", "BOOKING_LIMIT_REACHED"]


def test_slot_lists_leave_out_what_the_rules_forbid(pair, make_booking):
    specialist, patient = pair
    hour = timedelta(minutes=60)
    with clock.frozen(at(9)):
        today = free_slots(specialist, MONDAY.date(), MONDAY.date(), now=at(9), duration=hour)
        assert today[0][0] == at(11)  # 2 hours' notice by default
        set_rules(specialist, min_notice_hours=0, booking_window_days=1)
        days = {s.date() for s, _ in next_free_slots(specialist, now=at(9), patient_id=patient.id)}
        assert days == {MONDAY.date(), MONDAY.date() + timedelta(days=1)}
        set_rules(specialist, max_upcoming_per_patient=1)
        make_booking(patient, specialist, at(16))
        assert next_free_slots(specialist, now=at(9), patient_id=patient.id) == []
        assert next_free_slots(specialist, now=at(9))  # others still see the slots


# ---------- series ----------

def test_series_start_date_must_lie_within_the_window(pair):
    specialist, patient = pair
    set_rules(specialist, booking_window_days=30)
    with clock.frozen(NOW):
        with pytest.raises(BookingRuleBroken) as refused:
            recurring_create(actor=patient, patient=patient, specialist_id=specialist.id, frequency="weekly",
                             start_date=MONDAY.date() + timedelta(days=35))
        change = recurring_create(actor=patient, patient=patient, specialist_id=specialist.id,
                                  frequency="weekly", start_date=MONDAY.date() + timedelta(days=28))
    assert refused.value.code == "OUTSIDE_BOOKING_WINDOW" and "start_date" in refused.value.fields
    assert change.series.start_date == MONDAY.date() + timedelta(days=28) and change.series.is_active


def test_series_occurrence_inside_the_notice_is_skipped_with_that_reason(pair):
    specialist, patient = pair
    with clock.frozen(at(9)):  # Monday 09:00; the first session would be today at 10:00
        change = recurring_create(actor=patient, patient=patient, specialist_id=specialist.id,
                                  frequency="weekly", start_date=MONDAY.date(), time_of_day=time(10))
    skips = db.session.scalars(sa.select(RecurringOccurrenceSkip).where(
        RecurringOccurrenceSkip.recurring_booking_id == change.series.id)).all()
    assert [(s.occurrence_date, s.reason.split(":")[0]) for s in skips] == [(MONDAY.date(), "Too short notice")]
    assert [(s.occurrence_date, s.reason) for s in change.skipped][:1] == [(MONDAY.date(), skips[0].reason)]
    # the series carries on after the skipped one: its first booked session is a week later
    assert change.booked and change.booked[0].starts_at.date() == MONDAY.date() + timedelta(days=7)


@pytest.fixture
def _committed(committed_db, monkeypatch):
    # the dispatcher commits per batch; a horizon of 0 books only the run date's sessions, so
    # each run here adds one occurrence per series, as the counts below expect
    monkeypatch.setitem(committed_db.config, "RECURRING_HORIZON_DAYS", 0)
    yield


def test_dispatcher_skips_occurrences_over_the_limit_and_the_series_carries_on(
        _committed, make_specialist, make_user, make_booking):
    from portal.services.recurring import recurring_dispatch

    specialist, patient = make_specialist(minutes=60), make_user("patient")
    set_rules(specialist, max_upcoming_per_patient=2)
    make_booking(patient, specialist, at(9, days=10))
    weekly = [RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency="weekly",
                               start_date=MONDAY.date(), time_of_day=time(hour), is_active=True,
                               next_booking_date=MONDAY.date(), next_occurrence_index=0) for hour in (10, 12)]
    db.session.add_all(weekly)
    db.session.commit()
    with clock.frozen(at(2)):
        result = recurring_dispatch(run_date=MONDAY.date())
    assert result["count"] == 1
    skipped = db.session.scalars(sa.select(RecurringOccurrenceSkip)).all()
    assert len(skipped) == 1 and skipped[0].reason.startswith("Booking limit reached")
    db.session.expire_all()
    assert all(s.is_active and s.next_occurrence_index == 1 for s in db.session.scalars(sa.select(RecurringBooking)))
    # A week later the first week's session is past: the count is below the limit again.
    db.session.execute(sa.update(Booking).where(Booking.recurring_booking_id.is_not(None)).values(status="completed"))
    db.session.commit()
    with clock.frozen(at(2, days=7)):
        assert recurring_dispatch(run_date=MONDAY.date() + timedelta(days=7))["count"] == 1


# ---------- the race ----------

def test_two_requests_at_once_at_the_limit_give_exactly_one_booking(committed_db, monkeypatch):
    """PostgreSQL: both pass the slot checks before either counts; the pair's lock makes
    the second count after the first commits."""
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    from decimal import Decimal

    import portal.services.bookings as bookings_module
    from portal.models import SpecialistRate, User, WorkingHours
    from portal.services.users import user_create
    from tests.conftest import WEEKDAY_HOURS

    app = committed_db
    specialist = user_create(email="limit-spec@example.test", password="x" * 12, role="specialist")
    patient = user_create(email="limit-pat@example.test", password="x" * 12, role="patient")
    for weekday, ranges in WEEKDAY_HOURS.items():
        for start, end in ranges:
            db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday,
                                        start_time=time.fromisoformat(start), end_time=time.fromisoformat(end)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(10),
                                  currency="USD", effective_from=date(2000, 1, 1)))
    set_rules(specialist, max_upcoming_per_patient=3)
    with clock.frozen(NOW):
        book(patient, specialist, at(9))
        book(patient, specialist, at(10))  # max - 1
    db.session.commit()
    ids = (specialist.id, patient.id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    real_check = bookings_module.booking_check

    def check_then_wait(**kwargs):
        result = real_check(**kwargs)
        barrier.wait(timeout=10)  # both have passed the slot checks before either counts
        return result

    def attempt(hour):
        with app.app_context():
            me = db.session.get(User, ids[1])
            try:
                booking_create(actor=me, patient=me, specialist_id=ids[0], starts_at=at(hour))
                db.session.commit()
                outcomes.append("booked")
            except BookingRuleBroken as error:
                db.session.rollback()
                outcomes.append(error.code)
            finally:
                db.session.remove()

    monkeypatch.setattr(bookings_module, "booking_check", check_then_wait)
    with clock.frozen(NOW):
        threads = [threading.Thread(target=attempt, args=(hour,)) for hour in (13, 14)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(outcomes) == ["BOOKING_LIMIT_REACHED", "booked"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.patient_id == ids[1], Booking.status == "confirmed")) == 3
