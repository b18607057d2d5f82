"""Migration 0016's data steps: all-day "available only" rows and the homework key."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import AuditLog, AvailabilityException, Booking, SessionNote, SpecialistProfile
from portal.services.users import user_create
from tests.models.test_migrations import scratch_app, scratch_session  # noqa: F401 (the fixtures)

DAY = date(2030, 1, 7)


def _rows_before_0016():
    # The specialist's profile and the booking go in through Core with the columns of their
    # time: the models carry the head's columns, which this revision's tables lack.
    specialist = user_create(email="s@mig.test", password="correct-horse-battery", role="patient")
    specialist.role = "specialist"
    patient = user_create(email="p@mig.test", password="correct-horse-battery", role="patient")
    db.session.flush()
    db.session.execute(sa.insert(SpecialistProfile.__table__).values(id=specialist.id, title="", bio=""))
    start = datetime(2030, 1, 7, 10, tzinfo=UTC)
    # The columns bookings had at 0014 only: the model holds later ones.
    old_bookings = sa.table("bookings", *(sa.column(name, Booking.__table__.c[name].type) for name in (
        "id", "patient_id", "specialist_id", "starts_at", "ends_at", "status", "price", "currency",
        "created_at", "updated_at")))
    booking_id = uuid.uuid4()
    db.session.execute(sa.insert(old_bookings).values(
        id=booking_id, patient_id=patient.id, specialist_id=specialist.id, starts_at=start,
        ends_at=start + timedelta(hours=1), status="completed", price=Decimal("10"), currency="USD",
        created_at=start, updated_at=start))
    open_all_day = AvailabilityException(specialist_id=specialist.id, exception_date=DAY, reason="other",
                                         is_available=True, all_day=True)
    ranged = AvailabilityException(specialist_id=specialist.id, exception_date=DAY + timedelta(days=1),
                                   reason="other", is_available=True, all_day=False,
                                   start_time=time(10), end_time=time(12))
    db.session.add_all([open_all_day, ranged])
    db.session.flush()
    # The notes too, with the columns of their time.
    old_notes = sa.table("session_notes", *(sa.column(name, NOTES.c[name].type) for name in (
        "id", "booking_id", "provider_id", "notes", "follow_up_actions", "next_session_recommendation",
        "metadata", "created_at", "updated_at")))
    note_ids = []
    for text, metadata in [("a", {"homework_completed": True, "sleep": "ok"}), ("b", {"mood_level": 4}),
                           ("c", {"homework_completed": False, "homework_completion": True})]:
        note_ids.append(uuid.uuid4())
        db.session.execute(sa.insert(old_notes).values(
            id=note_ids[-1], booking_id=booking_id, provider_id=specialist.id, notes=text, follow_up_actions="",
            next_session_recommendation="", metadata=metadata, created_at=start, updated_at=start))
    db.session.commit()
    return open_all_day.id, ranged.id, note_ids


NOTES = SessionNote.__table__


def _metadata(note_ids) -> list[dict]:
    db.session.expire_all()
    return [db.session.scalar(sa.select(NOTES.c.metadata).where(NOTES.c.id == i)) for i in note_ids]


def test_0016_removes_all_day_available_only_rows_and_renames_the_homework_key(scratch_session):  # noqa: F811 (the imported fixture)
    upgrade(revision="0014_accounts")  # the revision 0016 follows
    open_id, ranged_id, note_ids = _rows_before_0016()
    db.session.remove()
    upgrade(revision="0016_people_see")
    assert db.session.get(AvailabilityException, open_id) is None
    assert db.session.get(AvailabilityException, ranged_id) is not None
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "availability_exception_removed"))
    assert audit.entity_id == str(open_id) and audit.actor_id is None
    assert audit.old_values["exception_date"] == "2030-01-07" and audit.old_values["all_day"] is True
    renamed = _metadata(note_ids)
    assert renamed == [{"homework_completion": True, "sleep": "ok"}, {"mood_level": 4}, {"homework_completion": True}]
    assert renamed[0]["homework_completion"] is True  # still a JSON boolean, not 1
    specialist_id = db.session.get(AvailabilityException, ranged_id).specialist_id
    db.session.add(AvailabilityException(specialist_id=specialist_id, exception_date=DAY, reason="other",
                                         is_available=True, all_day=True))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.remove()

    downgrade(revision="0014_accounts")  # back to what 0016 follows
    assert _metadata(note_ids) == [{"homework_completed": True, "sleep": "ok"}, {"mood_level": 4},
                                   {"homework_completed": True}]
    db.session.add(AvailabilityException(specialist_id=specialist_id, exception_date=DAY, reason="other",
                                         is_available=True, all_day=True))
    db.session.commit()  # the constraint is gone again
    db.session.remove()
    upgrade()
