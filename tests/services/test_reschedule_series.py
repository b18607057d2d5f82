"""A moved series occurrence keeps its series link and occurrence date, so the dispatcher
never books that occurrence again, however far back its pointer is."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Booking, RecurringBooking
from portal.services import recurring as service
from portal.services.reschedule import booking_reschedule

EVERY_DAY = {d: [("06:00", "22:00")] for d in range(7)}
NOW = datetime(2027, 1, 1, 12, tzinfo=UTC)  # a Friday
MONDAY = date(2027, 1, 4)


@pytest.fixture(autouse=True)
def _emptied_afterwards(committed_db):
    """The dispatcher commits per batch; these tests empty the tables afterwards."""
    yield


def active_of(series_id) -> list[Booking]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Booking).where(
        Booking.recurring_booking_id == series_id, Booking.status == "confirmed").order_by(Booking.occurrence_date)))


def test_a_moved_occurrence_is_not_booked_again_by_the_next_dispatcher_run(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    patient = users["patient"]
    with clock.frozen(NOW):
        change = service.recurring_create(actor=patient, patient=patient, specialist_id=specialist.id,
                                          frequency="weekly", start_date=MONDAY, time_of_day=time(10))
        db.session.commit()
        second = sorted(change.booked, key=lambda b: b.starts_at)[1]
        moved = booking_reschedule(actor=patient, booking_id=second.id,
                                   starts_at=datetime(2027, 1, 12, 15, tzinfo=UTC))
        db.session.commit()
    assert (moved.id, moved.occurrence_date, moved.recurring_booking_id) == (second.id, date(2027, 1, 11),
                                                                              change.series.id)
    before = [(b.id, b.starts_at) for b in active_of(change.series.id)]
    # the pointer back at the first Monday: every date up to the horizon is planned again
    series = db.session.get(RecurringBooking, change.series.id)
    series.next_booking_date, series.next_occurrence_index = MONDAY, 0
    db.session.commit()
    with clock.frozen(datetime(2027, 1, 4, 2, tzinfo=UTC)):
        service.recurring_dispatch(run_date=date(2027, 1, 4))
    after = active_of(change.series.id)
    assert [b for b in after if b.occurrence_date == date(2027, 1, 11)] == [moved]
    assert [(b.id, b.starts_at) for b in after if b.occurrence_date <= date(2027, 1, 25)] == before
    assert moved.starts_at == datetime(2027, 1, 12, 15, tzinfo=UTC) and len(after) >= len(before)
    assert all(b.starts_at != datetime(2027, 1, 11, 10, tzinfo=UTC) for b in after)
