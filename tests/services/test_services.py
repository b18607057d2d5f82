"""Services, buffers and the start-time grid: what a booking of each service costs and when it may start."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, BookingPackage, PackageEnrolment, SpecialistProfile
from portal.selectors.availability import free_slots
from portal.services.bookings import SlotUnavailable, booking_create
from portal.services.offerings import service_create

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def specialist(make_specialist):
    return make_specialist(minutes=50)


def _profile(specialist, **values):
    profile = db.session.get(SpecialistProfile, specialist.id)
    for key, value in values.items():
        setattr(profile, key, value)
    db.session.flush()


def test_a_50_minute_service_on_a_60_minute_grid_starts_on_the_hour(specialist):
    _profile(specialist, slot_interval_minutes=60)
    with clock.frozen(MONDAY - timedelta(days=1)):
        slots = free_slots(specialist, MONDAY.date(), MONDAY.date(), now=clock.now(),
                           duration=timedelta(minutes=50))
    starts = [s.strftime("%H:%M") for s, _ in slots]
    assert starts[:3] == ["09:00", "10:00", "11:00"] and all(s.endswith(":00") for s in starts)


def test_a_patient_off_the_grid_is_refused_and_staff_may_book_there(specialist, make_user):
    patient, admin = make_user("patient"), make_user("admin")
    with clock.frozen(MONDAY - timedelta(days=1)):
        with pytest.raises(SlotUnavailable) as refused:
            booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=at(9, 50))
        assert refused.value.code == "OFF_GRID"
        booking = booking_create(actor=admin, patient=patient, specialist_id=specialist.id, starts_at=at(9, 50))
    assert booking.ends_at == at(10, 40)


def test_buffers_refuse_a_touching_booking_and_an_override_is_audited(specialist, make_user):
    _profile(specialist, buffer_after_minutes=10, slot_interval_minutes=30)
    patient, other, admin = make_user("patient"), make_user("patient"), make_user("admin")
    with clock.frozen(MONDAY - timedelta(days=1)):
        booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=at(10))
        slots = free_slots(specialist, MONDAY.date(), MONDAY.date(), now=clock.now(), duration=timedelta(minutes=50))
        assert (at(11), at(11, 50)) in slots and not any(s == at(10, 30) for s, _ in slots)
        with pytest.raises(SlotUnavailable) as refused:  # 10:50 ends the session, 11:00 the buffer
            booking_create(actor=admin, patient=other, specialist_id=specialist.id, starts_at=at(10, 50))
        assert refused.value.code == "BUFFER"
        booking_create(actor=admin, patient=other, specialist_id=specialist.id, starts_at=at(10, 50),
                       override_rules=True)
    audits = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_created")).all()
    assert [a.new_values.get("rules_overridden") for a in audits if a.new_values.get("rules_overridden")] == [
        ["OFF_GRID", "BUFFER"]]  # 10:50 lies off the 30-minute grid too


def test_two_services_book_side_by_side_with_their_own_ends_and_prices(specialist, make_user):
    _profile(specialist, slot_interval_minutes=30)
    patient = make_user("patient")
    check_in = service_create(actor=specialist, specialist_id=specialist.id, name="Check-in", duration_minutes=20,
                              price="30.00", currency="USD")
    with clock.frozen(MONDAY - timedelta(days=1)):
        long = booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=at(9))
        short = booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=at(10),
                               service_id=check_in.id)
    assert (long.ends_at, long.price, long.service_id != check_in.id) == (at(9, 50), Decimal("100.00"), True)
    assert (short.ends_at, short.price, short.service_id) == (at(10, 20), Decimal("30.00"), check_in.id)


def test_a_package_covering_one_service_draws_no_credit_for_another(specialist, make_user):
    _profile(specialist, slot_interval_minutes=60)
    patient = make_user("patient")
    check_in = service_create(actor=specialist, specialist_id=specialist.id, name="Check-in", duration_minutes=20,
                              price="30.00", currency="USD")
    package = BookingPackage(specialist_id=specialist.id, name="Check-ins", session_count=3, price=Decimal(80))
    db.session.add(package)
    db.session.flush()
    from portal.services.offerings import service_update

    service_update(actor=specialist, service_id=check_in.id, values={"package_ids": [package.id]})
    db.session.add(PackageEnrolment(package_id=package.id, patient_id=patient.id, specialist_id=specialist.id,
                                    package_name="Check-ins", status="active", credits_total=3, price=Decimal(80),
                                    currency="USD", starts_on=date(2029, 1, 1)))
    db.session.flush()
    with clock.frozen(MONDAY - timedelta(days=1)):
        session = booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=at(9))
        covered = booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=at(11),
                                 service_id=check_in.id)
    assert session.package_enrolment_id is None and session.price == Decimal("100.00")
    assert covered.package_enrolment_id is not None
