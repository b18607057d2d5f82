"""The demo clinic's features beyond plain bookings, relative to `today`: recurring
series with booked and skipped occurrences, cancellations by each party and by
staff, a locked note with an amendment, a short recording, and ten weeks of past
activity so that the admin overview's charts show trends.

History is written as rows dated in the past (the services stamp "now"); what
happens today or later goes through the services, so it is checked and audited
like any other change (cancellations, the recording, which the recordings
service stores wherever storage is configured)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from portal.domain.recurrence import occurrence_date
from portal.domain.zones import zone_of
from portal.extensions import db
from portal.models import (
    AuditLog,
    Booking,
    BookingCancellation,
    BookingStatusHistory,
    Consent,
    RecurringBooking,
    RecurringOccurrenceSkip,
    SessionNote,
    SessionNoteAmendment,
    SpecialistRate,
    User,
)
from portal.selectors.bookings import booking_clash

RECORDING_FILE = Path(__file__).with_name("data") / "demo-session.webm"
HISTORY_WEEKS = 10
PAST_REASONS = {
    "patient": "Could not get time off work that day.",
    "specialist": "Called away to a training course; please book another time.",
    "staff": "The clinic closed early that day (heating failure).",
}


@dataclass
class Cast:
    admin: User
    specialists: list[User]
    patients: list[User]


def _rate(specialist: User) -> SpecialistRate:
    return db.session.scalar(sa.select(SpecialistRate).where(SpecialistRate.specialist_id == specialist.id))


def _at(day: date, local: time, specialist: User) -> datetime:
    return datetime.combine(day, local, tzinfo=zone_of(specialist)).astimezone(UTC)


def _booking(patient: User, specialist: User, starts_at: datetime, status: str, **extra) -> Booking | None:
    """A booking row with its history; None when an active one would overlap another."""
    rate = _rate(specialist)
    ends_at = starts_at + timedelta(minutes=rate.duration_minutes)
    if status in ("pending", "confirmed") and booking_clash(
            specialist_id=specialist.id, patient_id=patient.id, starts_at=starts_at, ends_at=ends_at):
        return None
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts_at, ends_at=ends_at,
                      status=status, price=rate.price, currency=rate.currency,
                      created_at=starts_at - timedelta(days=6), updated_at=starts_at, **extra)
    db.session.add(booking)
    db.session.flush()
    db.session.add(BookingStatusHistory(booking_id=booking.id, from_status=None, to_status="confirmed",
                                        created_at=booking.created_at))
    if status != "confirmed":
        db.session.add(BookingStatusHistory(booking_id=booking.id, from_status="confirmed", to_status=status,
                                            created_at=min(starts_at, booking.updated_at)))
    return booking


def _past_cancellation(booking: Booking, by: User, party: str) -> None:
    when = booking.starts_at - timedelta(days=2, hours=3)
    db.session.add(BookingCancellation(booking_id=booking.id, cancelled_by=by.id, reason=PAST_REASONS[party],
                                       cancellation_policy_applied="no_refund", created_at=when))


# ---------- ten weeks of past activity ----------

def seed_history(today: date, cast: Cast) -> list[Booking]:
    """Past sessions, more each week (a growing clinic), about one in six cancelled,
    by the patient, the specialist or staff in turn. Returns the completed ones."""
    completed, turn = [], 0
    for weeks_ago in range(HISTORY_WEEKS, 0, -1):
        per_specialist = 1 + (HISTORY_WEEKS - weeks_ago) // 3
        for s_index, specialist in enumerate(cast.specialists):
            for n in range(per_specialist):
                day = today - timedelta(weeks=weeks_ago) + timedelta(days=(s_index + n) % 5 - today.weekday())
                starts_at = _at(day, time(11 + n % 4, 0), specialist)
                patient = cast.patients[(weeks_ago + s_index + n) % len(cast.patients)]
                turn += 1
                status = "cancelled" if turn % 6 == 0 else "completed"
                booking = _booking(patient, specialist, starts_at, status)
                if status == "cancelled":
                    party = ("patient", "specialist", "staff")[(turn // 6) % 3]
                    by = {"patient": patient, "specialist": specialist, "staff": cast.admin}[party]
                    _past_cancellation(booking, by, party)
                else:
                    completed.append(booking)
    return completed


def seed_dispatcher_runs(today: date, weeks: int = 6) -> None:
    """The nightly dispatcher's audit rows (what the overview's dispatcher chart reads)."""
    for days_ago in range(weeks * 7, 0, -1):
        when = datetime.combine(today - timedelta(days=days_ago), time(2, 0), tzinfo=UTC)
        dispatched = 2 + (weeks * 7 - days_ago) // 10 if when.weekday() < 5 else 0
        skipped = 1 if days_ago % 11 == 0 else 0
        db.session.add(AuditLog(actor_id=None, action="recurring_bookings_dispatched",
                                entity_type="recurring_booking",
                                new_values={"dispatched": dispatched, "skipped": skipped, "errors": 0},
                                status="success", created_at=when))


# ---------- recurring series ----------

SERIES = [
    # patient index, specialist index, frequency, weekday, local time, weeks back, skipped occurrence index
    (0, 0, "weekly", 1, time(15, 0), 6, 2),
    (1, 1, "biweekly", 3, time(13, 0), 8, 1),
    (2, 2, "weekly", 2, time(15, 0), 5, 3),
]


def seed_series(today: date, cast: Cast) -> list[RecurringBooking]:
    """Active series started weeks ago: past occurrences booked (completed), one skipped
    (the specialist was away), the next one booked; the dispatcher books the rest."""
    made = []
    for p_index, s_index, frequency, weekday, local, weeks_back, skipped_index in SERIES:
        patient, specialist = cast.patients[p_index], cast.specialists[s_index]
        start = today - timedelta(weeks=weeks_back)
        start += timedelta(days=(weekday - start.weekday()) % 7)
        series = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency=frequency,
                                  start_date=start, time_of_day=local, is_active=True,
                                  created_at=_at(start, local, specialist) - timedelta(days=3))
        db.session.add(series)
        db.session.flush()
        index = 0
        while (day := occurrence_date(start, frequency, index)) <= today + timedelta(days=7):
            _series_occurrence(series, index, day, skipped_index, patient, specialist, today)
            index += 1
        series.next_occurrence_index, series.next_booking_date = index, occurrence_date(start, frequency, index)
        series.last_generated_date = occurrence_date(start, frequency, index - 1)
        made.append(series)
    return made


def _series_occurrence(series, index, day, skipped_index, patient, specialist, today) -> None:
    if index == skipped_index:
        db.session.add(RecurringOccurrenceSkip(
            recurring_booking_id=series.id, occurrence_date=day,
            reason="The specialist was unavailable that day (exception)",
            created_at=datetime.combine(day, time(2, 0), tzinfo=UTC)))
        return
    status = "completed" if day < today else "confirmed"
    _booking(patient, specialist, _at(day, series.time_of_day, specialist), status,
             recurring_booking_id=series.id, occurrence_date=day)


# ---------- today and later: through the services ----------

def seed_cancellations(today: date, cast: Cast) -> list[Booking]:
    """Three upcoming sessions cancelled: by the patient, by the specialist, and by staff
    on their behalf (the specialist fell ill)."""
    from portal.services.cancellations import booking_cancel

    cancelled = []
    plans = [  # patient, specialist, days ahead, who cancels, reason
        (0, 0, 4, "patient", "I have a job interview that morning, sorry."),
        (1, 0, 6, "specialist", "I am at a conference that day; please book the week after."),
        (2, 1, 5, "staff", "Jonas is ill this week; the clinic will call you to rebook."),
    ]
    for p_index, s_index, ahead, party, reason in plans:
        patient, specialist = cast.patients[p_index], cast.specialists[s_index]
        day = today + timedelta(days=ahead)
        while day.weekday() >= 5:  # a working day
            day += timedelta(days=1)
        booking = _booking(patient, specialist, _at(day, time(11, 0), specialist), "confirmed")
        if booking is None:
            continue
        actor = {"patient": patient, "specialist": specialist, "staff": cast.admin}[party]
        booking_cancel(actor=actor, booking_id=booking.id, reason=reason, as_staff=party == "staff")
        cancelled.append(booking)
    return cancelled


def seed_note_and_recording(cast: Cast, booking: Booking) -> None:
    """A note written after the session (locked 24 hours later), an amendment added
    since, the patient's consent to recording, and the session's recording attached through the
    recordings service."""
    from portal.services.recordings.upload import recording_attach

    specialist = db.session.get(User, booking.specialist_id)
    written = booking.ends_at + timedelta(hours=2)
    note = SessionNote(
        booking_id=booking.id, provider_id=specialist.id, created_at=written, updated_at=written,
        notes="Worked on the sleep diary; fewer night wakings this week. Practised the breathing exercise.",
        follow_up_actions="Keep the diary; try the exercise before bed.",
        next_session_recommendation="Review the diary in two weeks.",
        metadata_={"mood_level": 6, "engagement": "high", "homework_completion": True})
    db.session.add(note)
    db.session.flush()
    db.session.add(SessionNoteAmendment(note_id=note.id, author_id=specialist.id,
                                        created_at=written + timedelta(days=2),
                                        text="Correction: the diary covered 12 nights, not 10."))
    # The patient agreed to being recorded before the session (RECORDING_CONSENT_REQUIRED).
    db.session.add(Consent(patient_id=booking.patient_id, kind="recording", specialist_id=specialist.id,
                           given_at=booking.starts_at - timedelta(days=1)))
    db.session.flush()
    with RECORDING_FILE.open("rb") as stream:
        recording_attach(actor=cast.admin, booking_id=booking.id, filename=RECORDING_FILE.name, stream=stream,
                         duration_seconds=3)


def seed_features(today: date, cast: Cast) -> None:
    completed = seed_history(today, cast)
    seed_dispatcher_runs(today)
    seed_series(today, cast)
    seed_cancellations(today, cast)
    first_pair = [b for b in completed
                  if b.patient_id == cast.patients[0].id and b.specialist_id == cast.specialists[0].id]
    seed_note_and_recording(cast, (first_pair or completed)[-1])
    db.session.flush()
