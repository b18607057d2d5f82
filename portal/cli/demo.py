"""Demo data for `flask seed-demo`: a small clinic with a few weeks of history."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from portal.cli.demo_features import Cast, seed_features
from portal.domain.zones import zone_of
from portal.extensions import db
from portal.models import (
    AvailabilityException,
    Booking,
    BookingPackage,
    BookingStatusHistory,
    Role,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.services.users import user_by_email, user_create

DEMO_PASSWORD = "demo-password"
DEMO_ACCOUNTS = [
    (Role.PATIENT, "patient@demo.clinic", DEMO_PASSWORD),
    (Role.SPECIALIST, "specialist@demo.clinic", DEMO_PASSWORD),
    (Role.ADMIN, "admin@demo.clinic", DEMO_PASSWORD),
    (Role.OPS, "ops@demo.clinic", DEMO_PASSWORD),
]

SPECIALISTS = [
    # email, name, title, zone, rate (minutes, price), weekday hours
    ("specialist@demo.clinic", "Dr. Amira Haddad", "Clinical psychologist", "Europe/Berlin",
     (50, "90.00"), {0: [("09:00", "12:00"), ("13:00", "17:00")], 1: [("09:00", "17:00")],
                     2: [("09:00", "13:00")], 3: [("09:00", "17:00")], 4: [("09:00", "15:00")]}),
    ("jonas.berg@demo.clinic", "Jonas Berg", "Physiotherapist", "Europe/Stockholm",
     (45, "70.00"), {d: [("08:00", "16:00")] for d in range(5)}),
    ("maya.chen@demo.clinic", "Maya Chen", "Nutritionist", "America/New_York",
     (60, "80.00"), {0: [("10:00", "18:00")], 2: [("10:00", "18:00")], 4: [("10:00", "14:00")]}),
    ("li.wei@demo.clinic", "Dr. Li Wei", "Sleep coach", "Asia/Singapore",
     (30, "45.00"), {d: [("09:00", "12:00")] for d in range(6)}),
]

PATIENTS = [
    ("patient@demo.clinic", "Sam Taylor", "Europe/London"),
    ("noor.ali@demo.clinic", "Noor Ali", "Europe/Berlin"),
    ("lucas.silva@demo.clinic", "Lucas Silva", "America/Sao_Paulo"),
]


def _hm(value: str) -> time:
    return time.fromisoformat(value)


def seed_demo_data(today: date | None = None) -> bool:
    """Create the demo clinic; return False (and change nothing) if it exists."""
    if user_by_email("admin@demo.clinic") is not None:
        return False
    today = today or date.today()
    admin = user_create(email="admin@demo.clinic", password=DEMO_PASSWORD, role=Role.ADMIN,
                        display_name="Alex Admin")
    user_create(email="ops@demo.clinic", password=DEMO_PASSWORD, role=Role.OPS, display_name="Olu Ops")
    specialists = [_seed_specialist(today, *row) for row in SPECIALISTS]
    patients = [
        user_create(email=email, password=DEMO_PASSWORD, role=Role.PATIENT, display_name=name, timezone=zone)
        for email, name, zone in PATIENTS
    ]
    _seed_bookings(today, specialists, patients)
    db.session.flush()
    seed_features(today, Cast(admin=admin, specialists=specialists, patients=patients))
    return True


def _seed_specialist(today, email, name, title, zone, rate, hours) -> User:
    user = user_create(email=email, password=DEMO_PASSWORD, role=Role.SPECIALIST, display_name=name,
                       timezone=zone, title=title)
    minutes, price = rate
    db.session.add(SpecialistRate(specialist_id=user.id, duration_minutes=minutes, price=Decimal(price),
                                  currency="USD", effective_from=today - timedelta(days=90)))
    for weekday, ranges in hours.items():
        for start, end in ranges:
            db.session.add(WorkingHours(specialist_id=user.id, weekday=weekday,
                                        start_time=_hm(start), end_time=_hm(end)))
    db.session.add_all([
        BookingPackage(specialist_id=user.id, name="Four-session block",
                       description="Four sessions to use within a month, 10% off.", session_count=4,
                       price=Decimal(price) * 4 * Decimal("0.90"), discount_percentage=Decimal(10),
                       valid_for_days=30),
        BookingPackage(specialist_id=user.id, name="Ten-session programme",
                       description="A longer programme at 20% off.", session_count=10,
                       price=Decimal(price) * 10 * Decimal("0.80"), discount_percentage=Decimal(20),
                       valid_for_days=120),
    ])
    db.session.add_all([
        AvailabilityException(specialist_id=user.id, exception_date=today + timedelta(days=12),
                              is_available=False, reason="training", all_day=True),
        AvailabilityException(specialist_id=user.id, exception_date=today + timedelta(days=5),
                              is_available=False, reason="personal", all_day=False,
                              start_time=time(14, 0), end_time=time(15, 30)),
    ])
    db.session.flush()
    return user


def _working_start(today: date, offset_days: int, specialist: User) -> datetime | None:
    """A start time inside the specialist's first range on that weekday, in UTC."""
    day = today + timedelta(days=offset_days)
    first = db.session.scalar(
        sa.select(WorkingHours).where(WorkingHours.specialist_id == specialist.id,
                                      WorkingHours.weekday == day.weekday())
        .order_by(WorkingHours.start_time).limit(1)
    )
    if first is None:
        return None
    local = datetime.combine(day, first.start_time, tzinfo=zone_of(specialist))
    return local.astimezone(UTC)


def _seed_bookings(today, specialists, patients) -> None:
    offsets = [-21, -14, -9, -7, -3, 2, 3, 8, 9, 15, 16, 22]
    for index, offset in enumerate(offsets):
        specialist = specialists[index % len(specialists)]
        patient = patients[index % len(patients)]
        starts_at = _working_start(today, offset, specialist)
        if starts_at is None:
            continue
        rate = db.session.scalar(sa.select(SpecialistRate).where(SpecialistRate.specialist_id == specialist.id))
        status = "completed" if offset < 0 else "confirmed"
        booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts_at,
                          ends_at=starts_at + timedelta(minutes=rate.duration_minutes), status=status,
                          price=rate.price, currency=rate.currency)
        db.session.add(booking)
        db.session.flush()
        db.session.add(BookingStatusHistory(booking_id=booking.id, from_status=None, to_status="confirmed"))
        if status == "completed":
            db.session.add(BookingStatusHistory(booking_id=booking.id, from_status="confirmed",
                                                to_status="completed"))
