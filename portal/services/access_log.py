"""The access log: who read which of a patient's records (a session note, a recording, an intake
response), when, and in which role.

`record_access(reader, record)` is the one helper every read calls (pages, the API, a stream
start; a list calls it for each record it shows), in the same transaction as the read's audit.
A reading by the patient themselves writes nothing; a reader's second reading of the same
record in the same clock hour writes nothing either (the unique key, with ON CONFLICT DO
NOTHING, holds that under concurrent reads too). Rows are never edited."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.extensions import db
from portal.models import Booking, MeetingRecording, RecordAccess, SessionNote
from portal.models.row_security import row_security_active


@dataclass(frozen=True)
class Readable:
    """How a model's rows appear in the access log: their record type, and their booking's id."""

    record_type: str
    booking_id: Callable[[object], uuid.UUID]


# One entry per kind of record; intake responses join here with their model.
READABLE: dict[type, Readable] = {
    SessionNote: Readable("session_note", lambda note: note.booking_id),
    MeetingRecording: Readable("meeting_recording", lambda recording: recording.booking_id),
}


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _patients_of(booking_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    if not booking_ids:
        return {}
    return dict(db.session.execute(sa.select(Booking.id, Booking.patient_id).where(Booking.id.in_(booking_ids))).all())


def access_rows(reader, records: Iterable) -> list[dict]:
    """The access rows `reader` reading `records` owes, before the hour's rows already written."""
    reader_id = getattr(reader, "id", None)
    if reader_id is None:
        return []
    items = [(READABLE[type(record)], record) for record in records]
    patients = _patients_of({kind.booking_id(record) for kind, record in items})
    now = clock.now()
    rows, seen = [], set()
    for kind, record in items:
        booking_id = kind.booking_id(record)
        patient_id = patients.get(booking_id)
        key = (kind.record_type, record.id)
        if patient_id is None or patient_id == reader_id or key in seen:
            continue
        seen.add(key)
        rows.append({"id": uuid.uuid4(), "patient_id": patient_id, "reader_id": reader_id,
                     "reader_role": str(reader.role), "record_type": kind.record_type, "record_id": record.id,
                     "booking_id": booking_id, "accessed_at": now, "accessed_hour": _hour(now)})
    # Under row-level security the reader may not read the log back; the database's writer
    # leaves out what the hour holds already.
    return rows if row_security_active() else _not_yet_logged(rows)


def _not_yet_logged(rows: list[dict]) -> list[dict]:
    """Leave out the rows this hour already holds (a read-only look: a page seen again this hour
    needs no write at all)."""
    if not rows:
        return []
    logged = set(db.session.execute(sa.select(RecordAccess.record_type, RecordAccess.record_id).where(
        RecordAccess.reader_id == rows[0]["reader_id"], RecordAccess.accessed_hour == rows[0]["accessed_hour"],
        RecordAccess.record_id.in_([row["record_id"] for row in rows]))).all())
    return [row for row in rows if (row["record_type"], row["record_id"]) not in logged]


def record_access_many(reader, records: Iterable) -> int:
    """Log `reader` reading each of `records` (see the module). Flushes; the caller commits.
    Returns how many rows were written."""
    return write_access_rows(access_rows(reader, records))


def record_access(reader, record) -> int:
    """Log `reader` reading `record`: the helper every read of a patient's record calls."""
    return record_access_many(reader, [record])


def write_access_rows(rows: list[dict]) -> int:
    if not rows:
        return 0
    db.session.flush()
    if row_security_active():
        plain = sa.bindparam("rows", json.loads(json.dumps(rows, default=str)), type_=sa.JSON)
        return db.session.scalar(sa.select(sa.func.portal_record_access_write(plain))) or 0
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(RecordAccess.__table__).values(rows).on_conflict_do_nothing(
        index_elements=["reader_id", "record_type", "record_id", "accessed_hour"])
    return db.session.execute(statement).rowcount or 0
