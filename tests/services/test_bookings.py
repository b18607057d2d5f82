"""The availability rules every booking passes (spec section 6 and our booking flow)."""
from datetime import UTC, datetime, time, timedelta

import pytest

from portal import clock
from portal.extensions import db
from portal.models import AvailabilityException, Booking
from portal.services.bookings import SlotUnavailable, booking_create

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday, far in the future


def at(hour: int, minute: int = 0, day: datetime = MONDAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.fixture
def spec_and_patient(make_specialist, make_user):
    return make_specialist(minutes=60), make_user("patient")


def book(patient, specialist, starts_at):
    return booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=starts_at)


@pytest.mark.parametrize("start, allowed", [((13, 30), False), ((14, 0), False), ((16, 0), True)])
def test_part_day_exception_blocks_overlapping_sessions(spec_and_patient, start, allowed):
    specialist, patient = spec_and_patient
    db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=MONDAY.date(),
                                         is_available=False, reason="personal", all_day=False,
                                         start_time=time(14, 0), end_time=time(15, 30)))
    db.session.flush()
    with clock.frozen(MONDAY - timedelta(days=1)):
        if allowed:
            assert book(patient, specialist, at(*start)).ends_at == at(17, 0)  # 16:00: the hour grid
        else:
            with pytest.raises(SlotUnavailable):
                book(patient, specialist, at(*start))


def test_whole_interval_must_lie_inside_working_hours(spec_and_patient):
    specialist, patient = spec_and_patient
    with clock.frozen(MONDAY - timedelta(days=1)):
        with pytest.raises(SlotUnavailable):
            book(patient, specialist, at(16, 30))  # would end 17:30, after hours
        booking = book(patient, specialist, at(16, 0))
    assert (booking.price, booking.currency) == (100, "USD")


def test_overlapping_active_booking_is_refused_but_cancelled_one_frees_the_slot(spec_and_patient, make_user):
    specialist, patient = spec_and_patient
    other = make_user("patient")
    with clock.frozen(MONDAY - timedelta(days=1)):
        first = book(patient, specialist, at(10))
        with pytest.raises(SlotUnavailable, match="specialist already has"):
            book(other, specialist, at(10, 30))
        first.status = "cancelled"
        db.session.flush()
        assert book(other, specialist, at(10)).status == "confirmed"


def test_database_refuses_an_overlap_that_skipped_the_check(spec_and_patient, make_booking, make_user):
    specialist, patient = spec_and_patient
    make_booking(patient, specialist, at(10))
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        make_booking(make_user("patient"), specialist, at(10, 15))
    assert db.session.query(Booking).count() == 1


def test_patient_cannot_be_double_booked_with_another_specialist(spec_and_patient, make_specialist):
    specialist, patient = spec_and_patient
    other = make_specialist()
    with clock.frozen(MONDAY - timedelta(days=1)):
        book(patient, specialist, at(10))
        with pytest.raises(SlotUnavailable, match="You already have"):
            book(patient, other, at(10, 30))


def test_booking_must_start_in_the_future(spec_and_patient):
    specialist, patient = spec_and_patient
    with clock.frozen(at(10, 1)):
        with pytest.raises(SlotUnavailable, match="future"):
            book(patient, specialist, at(10))
        assert book(patient, specialist, at(13)).status == "confirmed"  # past the default 2 hours' notice


def test_available_exception_is_that_dates_only_working_range(spec_and_patient):
    specialist, patient = spec_and_patient
    saturday = MONDAY + timedelta(days=5)  # no weekly hours on Saturdays
    for day in (MONDAY, saturday):
        db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=day.date(),
                                             is_available=True, reason="other", all_day=False,
                                             start_time=time(12, 0), end_time=time(14, 0)))
    db.session.flush()
    with clock.frozen(MONDAY - timedelta(days=1)):
        with pytest.raises(SlotUnavailable):
            book(patient, specialist, at(9))  # weekly hours do not apply that day
        assert book(patient, specialist, at(12)).ends_at == at(13)
        assert book(patient, specialist, at(13, 0, saturday)).starts_at == at(13, 0, saturday)


def test_length_and_price_come_from_the_rate_current_that_day(spec_and_patient):
    from decimal import Decimal

    from portal.models import SpecialistRate

    specialist, patient = spec_and_patient
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=30, price=Decimal("55.50"),
                                  currency="GBP", effective_from=(MONDAY + timedelta(days=1)).date()))
    db.session.flush()
    with clock.frozen(MONDAY - timedelta(days=1)):
        monday = book(patient, specialist, at(9))
        tuesday = book(patient, specialist, at(9, 0, MONDAY + timedelta(days=1)))
    assert (monday.ends_at - monday.starts_at, monday.currency) == (timedelta(minutes=60), "USD")
    assert (tuesday.ends_at - tuesday.starts_at, tuesday.price, tuesday.currency) == (
        timedelta(minutes=30), Decimal("55.50"), "GBP")


@pytest.mark.parametrize("day, first_utc, count", [
    # Europe/Berlin 09:00-17:00 local: 08:00 UTC in winter, 07:00 UTC in summer.
    (datetime(2030, 3, 29).date(), datetime(2030, 3, 29, 8, tzinfo=UTC), 8),  # Friday before the change
    (datetime(2030, 4, 1).date(), datetime(2030, 4, 1, 7, tzinfo=UTC), 8),    # Monday after it
])
def test_slots_follow_the_specialists_zone_across_dst(make_specialist, day, first_utc, count):
    from portal.selectors.availability import free_slots

    specialist = make_specialist(timezone="Europe/Berlin")
    slots = free_slots(specialist, day, day, now=datetime(2030, 1, 1, tzinfo=UTC),
                       duration=timedelta(minutes=60))
    assert slots[0][0] == first_utc and len(slots) == count


def test_hours_spanning_the_dst_change_itself_give_the_real_length(make_specialist):
    from zoneinfo import ZoneInfo

    from portal.selectors.availability import free_slots

    # Sunday 31 March 2030: Berlin clocks jump 02:00 -> 03:00; 00:00-06:00 local is five real hours.
    specialist = make_specialist(timezone="Europe/Berlin", hours={6: [("00:00", "06:00")]})
    day = datetime(2030, 3, 31).date()
    slots = free_slots(specialist, day, day, now=datetime(2030, 1, 1, tzinfo=UTC),
                       duration=timedelta(minutes=60))
    local = [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s, _ in slots]
    assert local == ["00:00", "01:00", "03:00", "04:00", "05:00"]


def test_two_patients_racing_for_one_slot_exactly_one_wins(committed_db, monkeypatch):
    """Both pass the availability check before either inserts: the database decides."""
    # Not the postgres_only fixture: it needs `app`, whose one shared connection threads cannot use.
    from tests.conftest import require_or_skip

    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    import threading
    from decimal import Decimal

    from portal.models import SpecialistRate, WorkingHours
    from portal.services.users import user_create
    from tests.conftest import WEEKDAY_HOURS

    app = committed_db
    specialist = user_create(email="race-spec@example.test", password="x" * 12, role="specialist")
    patients = [user_create(email=f"race-{n}@example.test", password="x" * 12, role="patient") for n in range(2)]
    for weekday, ranges in WEEKDAY_HOURS.items():
        for start, end in ranges:
            db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday,
                                        start_time=time.fromisoformat(start), end_time=time.fromisoformat(end)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(10),
                                  currency="USD", effective_from=datetime(2000, 1, 1).date()))
    db.session.commit()
    ids = [p.id for p in patients]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    import portal.services.bookings as bookings_module

    real_check = bookings_module.booking_check

    def check_then_wait(**kwargs):
        result = real_check(**kwargs)
        barrier.wait(timeout=10)  # both have passed the check before either inserts
        return result

    def attempt(patient_id):
        with app.app_context():
            from portal.models import User

            patient = db.session.get(User, patient_id)
            try:
                booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=at(10))
                db.session.commit()
                outcomes.append("booked")
            except SlotUnavailable:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    monkeypatch.setattr(bookings_module, "booking_check", check_then_wait)
    with clock.frozen(MONDAY - timedelta(days=1)):
        threads = [threading.Thread(target=attempt, args=(pid,)) for pid in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(outcomes) == ["booked", "refused"]
    assert db.session.query(Booking).filter_by(specialist_id=specialist.id, status="confirmed").count() == 1
