"""Series as standing appointments: booked ahead within the horizon, in every time zone,
paused / ended / cut short through the cancellation service."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal import clock
from portal.errors import Conflict, Forbidden, ServiceError
from portal.extensions import db
from portal.models import (
    AuditLog,
    Booking,
    BookingCancellation,
    BookingStatusHistory,
    RecurringBooking,
    RecurringOccurrenceSkip,
    SpecialistProfile,
    SpecialistRate,
)
from portal.services import recurring as service
from portal.services import recurring_dispatch
from portal.services.cancellations import booking_cancel
from portal.services.hours import ExceptionInput, exception_create

EVERY_DAY = {d: [("06:00", "22:00")] for d in range(7)}
NOW = datetime(2027, 1, 1, 12, tzinfo=UTC)  # a Friday
MONDAY = date(2027, 1, 4)


@pytest.fixture(autouse=True)
def _emptied_afterwards(committed_db):
    """The dispatcher commits per batch; these tests empty the tables afterwards."""
    yield


def create(patient, specialist, *, start=MONDAY, frequency="weekly", at=time(10), end=None, now=NOW):
    with clock.frozen(now):
        change = service.recurring_create(actor=patient, patient=patient, specialist_id=specialist.id,
                                          frequency=frequency, start_date=start, end_date=end, time_of_day=at)
        db.session.commit()
    return change


def bookings_of(series_id, *, status=None) -> list[Booking]:
    db.session.expire_all()
    query = sa.select(Booking).where(Booking.recurring_booking_id == series_id)
    if status:
        query = query.where(Booking.status == status)
    return list(db.session.scalars(query.order_by(Booking.starts_at)))


def days(bookings) -> list[date]:
    return [b.occurrence_date for b in bookings]


def weekly(first: date, count: int) -> list[date]:
    return [first + timedelta(weeks=i) for i in range(count)]


def run(on: date, now: datetime) -> dict:
    db.session.commit()
    with clock.frozen(now):
        return service.recurring_dispatch(run_date=on)


# ---------- booked ahead ----------

def test_creating_a_series_books_every_occurrence_inside_the_horizon_at_once(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    # today 1 Jan + 28 days = 29 Jan: the Mondays 4, 11, 18 and 25 January
    assert days(change.booked) == weekly(MONDAY, 4)
    assert [b.starts_at for b in change.booked] == [datetime.combine(d, time(10), UTC) for d in weekly(MONDAY, 4)]
    assert change.skipped == []
    assert days(bookings_of(change.series.id, status="confirmed")) == weekly(MONDAY, 4)
    series = db.session.get(RecurringBooking, change.series.id)
    assert series.next_booking_date == date(2027, 2, 1)
    assert series.last_generated_date == date(2027, 1, 25)
    history = db.session.scalars(sa.select(BookingStatusHistory).where(
        BookingStatusHistory.booking_id.in_([b.id for b in change.booked]))).all()
    assert len(history) == 4 and {h.to_status for h in history} == {"confirmed"}


def test_the_horizon_is_configurable(app, users, make_specialist, monkeypatch):
    monkeypatch.setitem(app.config, "RECURRING_HORIZON_DAYS", 7)
    change = create(users["patient"], make_specialist(hours=EVERY_DAY))
    assert days(change.booked) == [MONDAY]


def test_creation_says_which_occurrences_could_not_be_booked_and_why(users, make_specialist, make_booking):
    specialist = make_specialist(hours=EVERY_DAY)
    with clock.frozen(NOW):
        exception_create(actor=specialist, specialist_id=specialist.id,
                         data=ExceptionInput(date(2027, 1, 11), "vacation"))
    make_booking(users["other_patient"], specialist, datetime(2027, 1, 18, 10, 30, tzinfo=UTC))
    make_booking(users["patient"], users["other_specialist"], datetime(2027, 1, 25, 9, 30, tzinfo=UTC))
    change = create(users["patient"], specialist)
    assert days(change.booked) == [MONDAY]
    assert [(s.occurrence_date, s.reason) for s in change.skipped] == [
        (date(2027, 1, 11), recurring_dispatch.UNAVAILABLE), (date(2027, 1, 18), recurring_dispatch.SLOT_TAKEN),
        (date(2027, 1, 25), recurring_dispatch.PATIENT_BUSY)]
    recorded = db.session.scalars(sa.select(RecurringOccurrenceSkip.occurrence_date).where(
        RecurringOccurrenceSkip.recurring_booking_id == change.series.id)).all()
    assert sorted(recorded) == [date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 25)]


def test_a_first_session_that_cannot_be_booked_refuses_the_series(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    with pytest.raises(ServiceError) as refused:
        create(users["patient"], specialist, at=time(23))
    assert "start_date" in refused.value.fields
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecurringBooking)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_a_first_session_without_a_rate_refuses_the_series_with_the_no_rate_code(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY, rate=False)
    with pytest.raises(ServiceError) as refused:
        create(users["patient"], specialist)
    assert refused.value.code == "NO_RATE" and "no rate" in refused.value.fields["start_date"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecurringBooking)) == 0


def test_a_series_starting_beyond_the_horizon_is_checked_on_its_first_day_and_holds_nothing_yet(
        users, make_specialist):
    """The first session is checked with the rules of its own day, even 60 days ahead, past the
    28-day horizon: here the only rate takes effect that very day."""
    specialist = make_specialist(hours=EVERY_DAY, rate=False)
    start = MONDAY + timedelta(weeks=9)
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=45, price=80, currency="EUR",
                                  effective_from=start))
    db.session.get(SpecialistProfile, specialist.id).slot_interval_minutes = 15  # 10:00 on the grid
    change = create(users["patient"], specialist, start=start)
    assert change.booked == [] and change.skipped == []
    assert change.series.next_booking_date == start and change.series.next_occurrence_index == 0
    assert run(start - timedelta(days=28), NOW + timedelta(weeks=5))["count"] == 1
    assert [(b.occurrence_date, b.ends_at - b.starts_at) for b in bookings_of(change.series.id)] == [
        (start, timedelta(minutes=45))]


def test_the_dispatcher_keeps_the_horizon_full_and_books_each_occurrence_once(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    result = run(date(2027, 1, 4), datetime(2027, 1, 4, 2, tzinfo=UTC))
    # 4 Jan + 28 = 1 Feb: only the Monday that entered the horizon is new
    assert result["count"] == 1 and result["errors"] == []
    assert set(result) == {"success", "message", "count", "bookings", "errors"}
    assert result["message"] == "Dispatched 1 recurring bookings"
    assert days(bookings_of(change.series.id)) == weekly(MONDAY, 5)
    assert run(date(2027, 1, 4), datetime(2027, 1, 4, 3, tzinfo=UTC))["count"] == 0
    series = db.session.get(RecurringBooking, change.series.id)
    assert series.next_booking_date == date(2027, 2, 8)
    audits = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "recurring_bookings_dispatched")
                                .order_by(AuditLog.created_at)).all()
    assert [(a.new_values["dispatched"], a.status) for a in audits] == [(1, "success"), (0, "success")]


def test_monthly_series_stay_anchored_to_their_start_date_inside_the_horizon(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist, start=date(2027, 1, 31), frequency="monthly",
                    now=datetime(2027, 1, 20, tzinfo=UTC))
    assert days(change.booked) == [date(2027, 1, 31)]
    run(date(2027, 2, 1), datetime(2027, 2, 1, 2, tzinfo=UTC))
    run(date(2027, 3, 5), datetime(2027, 3, 5, 2, tzinfo=UTC))
    assert days(bookings_of(change.series.id)) == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]


def test_catch_up_after_missed_runs_books_what_is_ahead_and_records_what_passed(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    series = RecurringBooking(user_id=users["patient"].id, specialist_id=specialist.id, frequency="weekly",
                              start_date=MONDAY, time_of_day=time(15), is_active=True,
                              next_booking_date=MONDAY, next_occurrence_index=0)
    db.session.add(series)
    result = run(date(2027, 1, 18), datetime(2027, 1, 18, 12, tzinfo=UTC))
    assert days(bookings_of(series.id)) == weekly(date(2027, 1, 18), 5)  # 18 Jan .. 15 Feb
    assert result["errors"] == [{"recurring_id": str(series.id), "error": recurring_dispatch.MISSED}] * 2


# ---------- time zones ----------

ZONES = ["Pacific/Kiritimati", "Pacific/Auckland", "Asia/Singapore", "Europe/Berlin", "America/Los_Angeles",
         "Pacific/Honolulu"]


@pytest.mark.parametrize("zone", ZONES)
def test_the_nightly_run_books_ahead_in_every_time_zone(users, make_specialist, zone):
    """A 10:00 series east of UTC (Singapore and beyond): the horizon books it weeks before it comes."""
    specialist = make_specialist(timezone=zone, hours=EVERY_DAY)
    start = date(2027, 3, 23)  # Auckland leaves daylight saving on 4 April (southern autumn)
    series = RecurringBooking(user_id=users["patient"].id, specialist_id=specialist.id, frequency="weekly",
                              start_date=start, time_of_day=time(10), is_active=True,
                              next_booking_date=start, next_occurrence_index=0)
    db.session.add(series)
    result = run(date(2027, 3, 22), datetime(2027, 3, 22, 2, tzinfo=UTC))  # 02:00 UTC, the scheduled time
    assert result["errors"] == []
    booked = bookings_of(series.id)
    assert days(booked) == weekly(start, 4)  # 23 Mar .. 13 Apr; 20 Apr is past 19 Apr
    local = ZoneInfo(zone)
    assert {b.starts_at.astimezone(local).time() for b in booked} == {time(10)}
    assert [b.starts_at.astimezone(local).date() for b in booked] == weekly(start, 4)
    if zone == "Pacific/Auckland":
        assert [b.starts_at.hour for b in booked] == [21, 21, 22, 22]  # NZDT UTC+13, then NZST UTC+12


@pytest.mark.parametrize("zone, missed", [
    ("Pacific/Kiritimati", True),  # 10:00 local = 20:00 UTC the day before
    ("Pacific/Auckland", True),  # 10:00 NZDT = 21:00 UTC the day before
    ("Asia/Singapore", False),  # 10:00 local = 02:00 UTC: still a minute ahead
    ("Europe/Berlin", False),
    ("America/Los_Angeles", False),
    ("Pacific/Honolulu", False),  # 10:00 local = 20:00 UTC that day
])
def test_an_occurrence_is_missed_only_when_its_start_has_truly_passed(users, make_specialist, zone, missed):
    specialist = make_specialist(timezone=zone, hours=EVERY_DAY)
    day = date(2027, 3, 22)
    series = RecurringBooking(user_id=users["patient"].id, specialist_id=specialist.id, frequency="weekly",
                              start_date=day, time_of_day=time(10), is_active=True,
                              next_booking_date=day, next_occurrence_index=0)
    db.session.add(series)
    now = datetime(2027, 3, 22, 1, 59, tzinfo=UTC)
    result = run(day, now)
    first = [b for b in bookings_of(series.id) if b.occurrence_date == day]
    skips = db.session.scalars(sa.select(RecurringOccurrenceSkip).where(
        RecurringOccurrenceSkip.recurring_booking_id == series.id)).all()
    if missed:
        assert first == [] and [(s.occurrence_date, s.reason) for s in skips] == [(day, recurring_dispatch.MISSED)]
        assert result["errors"] == [{"recurring_id": str(series.id), "error": recurring_dispatch.MISSED}]
    else:
        assert len(first) == 1 and first[0].starts_at > now and skips == []
    assert len(bookings_of(series.id)) == 4 - missed + 1  # the rest of the horizon either way


@pytest.mark.parametrize("zone", ZONES)
def test_a_series_created_today_books_its_session_later_today(users, make_specialist, zone):
    specialist = make_specialist(timezone=zone, hours=EVERY_DAY)
    local = ZoneInfo(zone)
    now = datetime(2027, 6, 9, 8, tzinfo=local)  # 08:00 local
    change = create(users["patient"], specialist, start=now.date(), at=time(10), now=now)
    assert change.booked[0].occurrence_date == now.date()
    assert change.booked[0].starts_at == datetime(2027, 6, 9, 10, tzinfo=local)
    assert change.skipped == []
    assert len(change.booked) >= 4


# ---------- changing a series ----------

def cancellations_of(bookings) -> list[BookingCancellation]:
    return list(db.session.scalars(sa.select(BookingCancellation).where(
        BookingCancellation.booking_id.in_([b.id for b in bookings]))))


def test_pause_cancels_the_booked_future_sessions_through_the_cancellation_service(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    with clock.frozen(datetime(2027, 1, 5, tzinfo=UTC)):  # the 4 January session is over
        paused = service.recurring_pause(actor=users["patient"], series=change.series)
        db.session.commit()
    assert days(paused.cancelled) == weekly(date(2027, 1, 11), 3)
    assert days(bookings_of(change.series.id, status="confirmed")) == [MONDAY]
    rows = cancellations_of(paused.cancelled)
    assert len(rows) == 3 and {r.cancelled_by for r in rows} == {users["patient"].id}
    assert {r.reason for r in rows} == {service.PAUSE_REASON}
    audits = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_cancelled")).all()
    assert {a.entity_id for a in audits} == {str(b.id) for b in paused.cancelled}
    history = db.session.scalars(sa.select(BookingStatusHistory.booking_id).where(
        BookingStatusHistory.to_status == "cancelled")).all()
    assert sorted(history) == sorted(b.id for b in paused.cancelled)
    # a paused series is left alone by the dispatcher
    assert run(date(2027, 1, 6), datetime(2027, 1, 6, 2, tzinfo=UTC))["count"] == 0


def test_resume_books_the_horizon_again_even_the_dates_cancelled_by_the_pause(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    with clock.frozen(datetime(2027, 1, 5, tzinfo=UTC)):
        service.recurring_pause(actor=users["patient"], series=change.series)
        db.session.commit()
    with clock.frozen(datetime(2027, 1, 6, tzinfo=UTC)):
        resumed = service.recurring_resume(actor=users["patient"], series=change.series)
        db.session.commit()
    # 6 Jan + 28 = 3 Feb: 11, 18, 25 Jan (booked again) and 1 Feb
    assert days(resumed.booked) == weekly(date(2027, 1, 11), 4)
    assert days(bookings_of(change.series.id, status="confirmed")) == [MONDAY, *weekly(date(2027, 1, 11), 4)]
    assert len(bookings_of(change.series.id, status="cancelled")) == 3


def test_end_cancels_the_booked_future_sessions_and_the_dispatcher_books_no_more(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    with clock.frozen(datetime(2027, 1, 2, tzinfo=UTC)):
        with pytest.raises(Forbidden):  # admins oversee; only the parties cancel bookings
            service.recurring_end(actor=users["admin"], series=change.series)
        db.session.rollback()
        ended = service.recurring_end(actor=users["patient"], series=change.series)
        db.session.commit()
    assert len(ended.cancelled) == 4
    assert {r.cancelled_by for r in cancellations_of(ended.cancelled)} == {users["patient"].id}
    assert bookings_of(change.series.id, status="confirmed") == []
    assert run(date(2027, 1, 10), datetime(2027, 1, 10, 2, tzinfo=UTC))["count"] == 0
    with pytest.raises(Conflict):
        service.recurring_resume(actor=users["patient"], series=change.series)


def test_cancel_this_and_following_ends_the_series_before_that_date(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    with clock.frozen(datetime(2027, 1, 2, tzinfo=UTC)):
        cut = service.recurring_cancel_following(actor=users["patient"], series=change.series,
                                                 from_date=date(2027, 1, 18), reason="Moving away")
        db.session.commit()
    assert days(cut.cancelled) == [date(2027, 1, 18), date(2027, 1, 25)]
    assert days(bookings_of(change.series.id, status="confirmed")) == [MONDAY, date(2027, 1, 11)]
    series = db.session.get(RecurringBooking, change.series.id)
    assert series.end_date == date(2027, 1, 17) and series.is_active is False
    assert {r.reason for r in cancellations_of(cut.cancelled)} == {"Moving away"}
    audit = db.session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "recurring_booking_cancelled_following")).one()
    assert "Moving away" not in str(audit.new_values) + str(audit.old_values)
    assert run(date(2027, 1, 10), datetime(2027, 1, 10, 2, tzinfo=UTC))["count"] == 0


def test_cancel_following_from_the_first_session_ends_the_whole_series(users, make_specialist):
    change = create(users["patient"], make_specialist(hours=EVERY_DAY))
    with clock.frozen(NOW):
        cut = service.recurring_cancel_following(actor=users["patient"], series=change.series,
                                                 from_date=MONDAY, reason="Changed my mind")
        db.session.commit()
    assert len(cut.cancelled) == 4
    assert db.session.get(RecurringBooking, change.series.id).is_active is False


@pytest.mark.parametrize("from_date, reason, field", [
    (date(2026, 12, 1), "x", "from_date"), (None, "x", "from_date"), (date(2027, 1, 18), "  ", "reason")])
def test_cancel_following_refuses_bad_input_and_changes_nothing(users, make_specialist, from_date, reason, field):
    change = create(users["patient"], make_specialist(hours=EVERY_DAY))
    with pytest.raises(ServiceError) as refused, clock.frozen(NOW):
        service.recurring_cancel_following(actor=users["patient"], series=change.series,
                                           from_date=from_date, reason=reason)
    assert field in refused.value.fields
    db.session.rollback()
    assert len(bookings_of(change.series.id, status="confirmed")) == 4


def test_a_single_occurrence_can_be_cancelled_alone_and_the_series_carries_on(users, make_specialist):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    second = change.booked[1]
    with clock.frozen(NOW):
        booking_cancel(actor=users["patient"], booking_id=second.id, reason="Dentist")
        db.session.commit()
    result = run(date(2027, 1, 4), datetime(2027, 1, 4, 2, tzinfo=UTC))
    assert result["count"] == 1  # 1 February; 11 January is not booked again
    assert days(bookings_of(change.series.id, status="confirmed")) == [
        MONDAY, date(2027, 1, 18), date(2027, 1, 25), date(2027, 2, 1)]
    assert db.session.get(RecurringBooking, change.series.id).is_active


def test_resume_does_not_book_again_a_session_cancelled_on_its_own_before_the_pause(users, make_specialist):
    change = create(users["patient"], make_specialist(hours=EVERY_DAY))
    with clock.frozen(datetime(2027, 1, 2, tzinfo=UTC)):
        booking_cancel(actor=users["patient"], booking_id=change.booked[2].id, reason="Holiday")  # 18 January
        db.session.commit()
    with clock.frozen(datetime(2027, 1, 5, tzinfo=UTC)):
        service.recurring_pause(actor=users["patient"], series=change.series)
        db.session.commit()
    for pause_again in (False, True):
        with clock.frozen(datetime(2027, 1, 6, tzinfo=UTC)):
            if pause_again:  # a second pause and resume: what the first resume booked comes back again
                service.recurring_pause(actor=users["patient"], series=change.series)
                db.session.commit()
            resumed = service.recurring_resume(actor=users["patient"], series=change.series)
            db.session.commit()
        assert days(resumed.booked) == [date(2027, 1, 11), date(2027, 1, 25), date(2027, 2, 1)]
        assert [s.occurrence_date for s in db.session.scalars(sa.select(RecurringOccurrenceSkip).where(
            RecurringOccurrenceSkip.recurring_booking_id == change.series.id))] == [date(2027, 1, 18)]
    assert days(bookings_of(change.series.id, status="confirmed")) == [
        MONDAY, date(2027, 1, 11), date(2027, 1, 25), date(2027, 2, 1)]


def test_moving_the_end_date_earlier_cancels_the_sessions_booked_after_it(client, users, make_specialist,
                                                                         api_headers):
    change = create(users["patient"], make_specialist(hours=EVERY_DAY))
    with clock.frozen(datetime(2027, 1, 2, tzinfo=UTC)):
        response = client.patch(f"/api/v1/recurring-bookings/{change.series.id}", json={"end_date": "2027-01-12"},
                                 headers=api_headers(users["patient"]))
    assert response.status_code == 200
    assert sorted(b["occurrence_date"] for b in response.get_json()["cancelled"]) == ["2027-01-18", "2027-01-25"]
    assert days(bookings_of(change.series.id, status="confirmed")) == [MONDAY, date(2027, 1, 11)]
    cancelled = bookings_of(change.series.id, status="cancelled")
    assert {(r.reason, r.cancelled_by) for r in cancellations_of(cancelled)} == {
        (service.END_DATE_REASON, users["patient"].id)}
    assert run(date(2027, 1, 12), datetime(2027, 1, 12, 2, tzinfo=UTC))["count"] == 0


@pytest.mark.parametrize("affected", ["keep", "cancel"])
def test_a_new_exception_over_booked_occurrences_keeps_them_flagged_or_cancels_them(
        users, make_specialist, affected):
    specialist = make_specialist(hours=EVERY_DAY)
    change = create(users["patient"], specialist)
    with clock.frozen(NOW):
        _, hit = exception_create(actor=specialist, specialist_id=specialist.id,
                                  data=ExceptionInput(date(2027, 1, 11), "vacation"), affected=affected,
                                  cancel_reason="Away" if affected == "cancel" else None)
        db.session.commit()
    assert [b.id for b in hit] == [change.booked[1].id]
    booking = db.session.get(Booking, change.booked[1].id)
    if affected == "keep":
        assert booking.status == "confirmed" and "unavailable" in booking.attention_reason
    else:
        assert booking.status == "cancelled"
    others = [b for b in bookings_of(change.series.id) if b.id != booking.id]
    assert {b.status for b in others} == {"confirmed"}
