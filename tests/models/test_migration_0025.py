"""Migration 0025 on a copy of the demo clinic: rate histories become default services and no
booking's price or times change."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.cli.demo import seed_demo_data
from portal.extensions import db
from portal.models import (
    Booking,
    BookingCancellation,
    BookingStatusHistory,
    RecurringBooking,
    RecurringOccurrenceSkip,
    Service,
    SessionNote,
    SpecialistRate,
)
from tests.models.test_migrations import scratch_app, scratch_session  # noqa: F401 (the fixtures)

BOOKING_FACTS = (Booking.id, Booking.specialist_id, Booking.starts_at, Booking.ends_at, Booking.price,
                 Booking.currency, Booking.status)


def _bookings() -> set[tuple]:
    return set(db.session.execute(sa.select(*BOOKING_FACTS)).all())


def _children() -> tuple[int, ...]:
    """Rows that point at bookings and series: the downgrade's table copies must keep them all."""
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (BookingStatusHistory, BookingCancellation, SessionNote, RecurringOccurrenceSkip))


def _rates() -> set[tuple]:
    return set(db.session.execute(sa.select(SpecialistRate.id, SpecialistRate.specialist_id,
                                            SpecialistRate.duration_minutes, SpecialistRate.price,
                                            SpecialistRate.effective_from)).all())


def test_0025_turns_rate_histories_into_default_services_and_changes_no_booking(scratch_session):  # noqa: F811 (the imported fixture)
    upgrade()
    assert seed_demo_data(date(2026, 12, 1))
    db.session.commit()
    bookings, rates, children = _bookings(), _rates(), _children()
    assert len(bookings) > 10 and rates and all(children[:3])
    db.session.remove()
    downgrade(revision="0024_front_desk")  # the demo data as the revision before held it
    upgrade()
    assert _bookings() == bookings and _rates() == rates and _children() == children
    services = db.session.scalars(sa.select(Service)).all()
    specialists = {specialist_id for _, specialist_id, *_ in rates}
    assert {s.specialist_id for s in services} == specialists
    assert all(s.is_default and s.is_active and s.name == "Session" for s in services)
    default = {s.specialist_id: s.id for s in services}
    assert all(service_id == default[specialist_id] for specialist_id, service_id in db.session.execute(
        sa.select(SpecialistRate.specialist_id, SpecialistRate.service_id)))
    assert all(service_id == default.get(specialist_id) for specialist_id, service_id in db.session.execute(
        sa.select(Booking.specialist_id, Booking.service_id)))
    assert all(service_id == default.get(specialist_id) for specialist_id, service_id in db.session.execute(
        sa.select(RecurringBooking.specialist_id, RecurringBooking.service_id)))
    db.session.remove()
