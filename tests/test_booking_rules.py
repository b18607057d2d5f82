"""The availability rules every booking passes (spec section 6 and our booking flow)."""
from datetime import datetime, time, timedelta, timezone

import pytest

from portal import clock
from portal.extensions import db
from portal.models import AvailabilityException, Booking
from portal.services.bookings import SlotUnavailable, booking_create

MONDAY = datetime(2030, 1, 7, tzinfo=timezone.utc)  # a Monday, far in the future


def at(hour: int, minute: int = 0, day: datetime = MONDAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.fixture
def spec_and_patient(make_specialist, make_user):
    return make_specialist(minutes=60), make_user("patient")


def book(patient, specialist, starts_at):
    return booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=starts_at)


@pytest.mark.parametrize("start, allowed", [((13, 30), False), ((14, 0), False), ((15, 30), True)])
def test_part_day_exception_blocks_overlapping_sessions(spec_and_patient, start, allowed):
    specialist, patient = spec_and_patient
    db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=MONDAY.date(),
                                         is_available=False, reason="personal", all_day=False,
                                         start_time=time(14, 0), end_time=time(15, 30)))
    db.session.flush()
    with clock.frozen(MONDAY - timedelta(days=1)):
        if allowed:
            assert book(patient, specialist, at(*start)).ends_at == at(16, 30)
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
        assert book(other, specialist, at(10, 30)).status == "confirmed"


def test_database_refuses_an_overlap_that_skipped_the_check(spec_and_patient, make_booking, make_user):
    specialist, patient = spec_and_patient
    make_booking(patient, specialist, at(10))
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            make_booking(make_user("patient"), specialist, at(10, 15))
    assert db.session.query(Booking).count() == 1
