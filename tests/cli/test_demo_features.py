"""The demo clinic shows every feature: series, cancellations by each party and staff,
a locked note with an amendment, a playable recording, and weeks of history for the charts."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import (
    Booking,
    BookingCancellation,
    MeetingRecording,
    RecurringBooking,
    RecurringOccurrenceSkip,
    SessionNote,
    SessionNoteAmendment,
)
from portal.selectors.overview import admin_trends
from portal.services.notes import note_is_locked
from portal.services.users import user_by_email


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()


def test_series_have_booked_and_skipped_occurrences(demo):
    series = db.session.scalars(sa.select(RecurringBooking)).all()
    assert len(series) >= 3 and all(s.is_active for s in series)
    for s in series:
        booked = db.session.scalars(sa.select(Booking).where(Booking.recurring_booking_id == s.id)).all()
        skips = db.session.scalars(sa.select(RecurringOccurrenceSkip)
                                   .where(RecurringOccurrenceSkip.recurring_booking_id == s.id)).all()
        assert len(booked) >= 2 and len(skips) == 1
        assert {b.status for b in booked} >= {"completed"}
        assert s.next_booking_date > max(b.occurrence_date for b in booked)
        assert skips[0].occurrence_date not in {b.occurrence_date for b in booked}
    assert {b.status for s in series for b in db.session.scalars(
        sa.select(Booking).where(Booking.recurring_booking_id == s.id))} >= {"completed", "confirmed"}


def test_cancellations_by_each_party_and_by_staff_upcoming_and_past(demo):
    rows = db.session.scalars(sa.select(BookingCancellation)).all()
    assert {c.party for c in rows} == {"patient", "specialist", "staff"}
    now = clock.now()
    upcoming = [c for c in rows if c.booking.starts_at > now]
    past = [c for c in rows if c.booking.starts_at < now]
    assert {c.party for c in upcoming} == {"patient", "specialist", "staff"}
    assert {c.party for c in past} == {"patient", "specialist", "staff"}
    staff = next(c for c in upcoming if c.party == "staff")
    assert staff.cancelled_by == user_by_email("admin@demo.clinic").id


def test_a_locked_note_with_an_amendment_and_a_recording_that_plays(demo, client, login_as, app):
    note = db.session.scalars(sa.select(SessionNote)).one()
    assert note_is_locked(note) and note.metadata_["homework_completion"] is True
    assert db.session.scalars(sa.select(SessionNoteAmendment).where(SessionNoteAmendment.note_id == note.id)).all()
    recording = db.session.scalars(sa.select(MeetingRecording)).one()
    assert recording.booking_id == note.booking_id and recording.file_format == "webm"
    stored = Path(app.config["RECORDINGS_DIR"]) / recording.storage_path
    assert stored.is_file() and 1000 < stored.stat().st_size < 20000  # a few KB
    # stored encrypted: not WebM on disk, WebM once the portal decrypts it
    assert recording.is_encrypted and stored.read_bytes()[:4] != b"\x1a\x45\xdf\xa3"
    from portal.services.recordings.crypto import ChunkReader
    from portal.services.recordings.keys import data_key_of
    from portal.services.recordings.storage import get_storage

    plain = ChunkReader(get_storage(), recording.storage_path, data_key_of(recording), recording.id,
                        recording.storage_size_bytes).read_range(0, 64)
    assert plain[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in plain
    login_as(user_by_email("patient@demo.clinic"))
    page = client.get(f"/bookings/{note.booking_id}").get_data(as_text=True)
    assert "Correction: the diary covered 12 nights" in page and "<video" in page


def test_the_admin_charts_show_weeks_of_activity(demo):
    trends = admin_trends(weeks=12)
    [(_, bookings)] = trends["bookings"]
    assert sum(1 for n in bookings[:-1] if n) >= 8  # most past weeks have sessions
    assert bookings[-3] > bookings[1]  # a growing clinic: a trend, not a flat line
    cancelled = {label: sum(values) for label, values in trends["cancellations"]}
    assert all(cancelled[label] for label in ("By patient", "By specialist", "By staff"))
    dispatched = {label: sum(values) for label, values in trends["dispatcher"]}
    assert dispatched["Dispatched"] > 0 and dispatched["Skipped"] > 0
