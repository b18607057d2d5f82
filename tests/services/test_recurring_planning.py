"""The dispatcher's planning, on rows built in memory: no app, no database."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from portal.domain.intervals import HoursRange
from portal.services.recurring_dispatch.planning import (
    MISSED,
    NO_RATE,
    PATIENT_BUSY,
    SLOT_TAKEN,
    UNAVAILABLE,
    OtherBookings,
    Plan,
    RunCache,
    Series,
    check,
    due_occurrences,
    plan_batch,
)

RUN_DATE = date(2027, 1, 4)  # a Monday
NOW = datetime(2027, 1, 4, 2, tzinfo=UTC)
EVERY_DAY = [HoursRange(d, time(8), time(18)) for d in range(7)]


def series(*, frequency="weekly", start=RUN_DATE, end=None, at=time(10), index=0, zone="UTC",
           specialist_id=None, patient_id=None, specialist_active=True) -> Series:
    return Series(uuid.uuid4(), patient_id or uuid.uuid4(), specialist_id or uuid.uuid4(), frequency, start,
                  end, at, index, None, ZoneInfo(zone), specialist_active)


def rate(minutes=60, effective_from=date(2000, 1, 1), price="100.00", service_id=None):
    """A rate of the default service (or of `service_id`), as the reads hand it over."""
    return SimpleNamespace(duration_minutes=minutes, effective_from=effective_from, price=Decimal(price),
                           currency="USD", service_id=service_id or DEFAULT_SERVICE, is_default=service_id is None)


def vacation(specialist_id, day):
    return SimpleNamespace(specialist_id=specialist_id, exception_date=day, is_available=False, all_day=True,
                           start_time=None, end_time=None)


DEFAULT_SERVICE = uuid.uuid4()


def cache_for(serieses, *, hours=EVERY_DAY, rates=None, exceptions=None, run_date=RUN_DATE) -> RunCache:
    """What reads.load_rules would put in the cache, from the rows given."""
    cache = RunCache(run_date)
    specialists = {s.specialist_id for s in serieses}
    cache.add_specialists(specialists, {sid: hours for sid in specialists},
                          {sid: [rate()] for sid in specialists} if rates is None else rates)
    occurrences = [o for s in serieses for o in due_occurrences(s, run_date).occurrences]
    cache.add_windows(occurrences, exceptions or {})
    return cache


def no_bookings(done=()) -> OtherBookings:
    return OtherBookings(defaultdict(list), defaultdict(list), set(done))


def test_monthly_occurrences_keep_to_the_start_day_where_the_month_has_it():
    monthly = series(frequency="monthly", start=date(2027, 1, 31))
    due = due_occurrences(monthly, date(2027, 4, 29))
    assert [o.day for o in due.occurrences] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]
    assert (due.next_index, due.next_day) == (3, date(2027, 4, 30))


def test_due_occurrences_start_at_the_series_index_and_stop_at_its_end_date():
    weekly = series(start=date(2026, 12, 7), index=2, end=date(2026, 12, 28))
    due = due_occurrences(weekly, RUN_DATE)
    assert [o.day for o in due.occurrences] == [date(2026, 12, 21), date(2026, 12, 28)]
    assert (due.next_index, due.next_day) == (4, date(2027, 1, 4))


def test_occurrences_start_at_local_time_across_a_dst_change():
    berlin = series(start=date(2027, 3, 22), zone="Europe/Berlin")  # the clocks go forward on 28 March
    due = due_occurrences(berlin, date(2027, 3, 29))
    assert [o.starts_at for o in due.occurrences] == [datetime(2027, 3, 22, 9, tzinfo=UTC),
                                                     datetime(2027, 3, 29, 8, tzinfo=UTC)]


def test_check_gives_the_first_rule_an_occurrence_breaks():
    on_time = series()
    [occ] = due_occurrences(on_time, RUN_DATE).occurrences
    cache = cache_for([on_time])
    assert check(cache, occ, NOW) == (None, cache.rates[on_time.specialist_id][0])
    assert check(cache, occ, occ.starts_at) == (MISSED, None)
    assert check(cache_for([on_time], rates={}), occ, NOW) == (NO_RATE, None)
    assert check(cache_for([on_time], hours=[]), occ, NOW) == (UNAVAILABLE, None)
    on_vacation = {(on_time.specialist_id, RUN_DATE): [vacation(on_time.specialist_id, RUN_DATE)]}
    assert check(cache_for([on_time], exceptions=on_vacation), occ, NOW) == (UNAVAILABLE, None)
    inactive = series(specialist_active=False)
    [inactive_occ] = due_occurrences(inactive, RUN_DATE).occurrences
    assert check(cache_for([inactive]), inactive_occ, NOW) == (UNAVAILABLE, None)


def test_a_session_must_end_inside_the_working_hours():
    late = series(at=time(17, 30))
    [occ] = due_occurrences(late, RUN_DATE).occurrences
    assert check(cache_for([late]), occ, NOW) == (UNAVAILABLE, None)


def test_the_rate_in_effect_on_the_day_sets_length_and_price():
    weekly = series()
    newest_first = [rate(90, effective_from=date(2027, 2, 1), price="120.00"), rate(45, price="80.00")]
    plan = plan_batch([due_occurrences(weekly, RUN_DATE)],
                      cache_for([weekly], rates={weekly.specialist_id: newest_first}), None, NOW)
    [booking] = plan.bookings
    assert (booking["price"], booking["ends_at"]) == (Decimal("80.00"), datetime(2027, 1, 4, 10, 45, tzinfo=UTC))


def test_a_catch_up_skips_the_missed_occurrences_and_books_the_rest():
    behind = series(start=date(2026, 12, 21))
    plan = plan_batch([due_occurrences(behind, RUN_DATE)], cache_for([behind]), None,
                      datetime(2026, 12, 29, tzinfo=UTC))
    assert [(s["occurrence_date"], s["reason"]) for s in plan.skips] == [(date(2026, 12, 21), MISSED),
                                                                         (date(2026, 12, 28), MISSED)]
    assert [b["occurrence_date"] for b in plan.bookings] == [RUN_DATE]
    assert plan.errors == [{"recurring_id": str(behind.id), "error": MISSED}] * 2
    assert plan.advances == [{"id": behind.id, "next_occurrence_index": 3, "next_booking_date": date(2027, 1, 11),
                              "last_generated_date": None, "is_active": True}]


def test_a_series_past_its_end_date_is_advanced_as_ended():
    last = series(end=RUN_DATE)
    plan = plan_batch([due_occurrences(last, RUN_DATE)], cache_for([last]), None, NOW)
    assert len(plan.bookings) == 1
    assert plan.advances[0]["is_active"] is False


def test_other_bookings_refuse_clashes_with_the_specialist_or_the_patient():
    specialist, patient = uuid.uuid4(), uuid.uuid4()
    taken = series(specialist_id=specialist)
    busy = series(patient_id=patient, at=time(12))
    others = no_bookings()
    others.of_specialist[specialist].append((datetime(2027, 1, 4, 9, 30, tzinfo=UTC),
                                             datetime(2027, 1, 4, 10, 30, tzinfo=UTC)))
    others.of_patient[patient].append((datetime(2027, 1, 4, 12, 59, tzinfo=UTC),
                                       datetime(2027, 1, 4, 14, tzinfo=UTC)))
    dues = [due_occurrences(s, RUN_DATE) for s in (taken, busy)]
    plan = plan_batch(dues, cache_for([taken, busy]), others, NOW)
    assert plan.bookings == []
    assert [(s["recurring_booking_id"], s["reason"]) for s in plan.skips] == [(taken.id, SLOT_TAKEN),
                                                                              (busy.id, PATIENT_BUSY)]


def test_bookings_planned_in_the_batch_count_as_other_bookings():
    specialist = uuid.uuid4()
    first, second = series(specialist_id=specialist), series(specialist_id=specialist, at=time(10, 30))
    dues = [due_occurrences(s, RUN_DATE) for s in (first, second)]
    plan = plan_batch(dues, cache_for([first, second]), no_bookings(), NOW)
    assert [b["recurring_booking_id"] for b in plan.bookings] == [first.id]
    assert [(s["recurring_booking_id"], s["reason"]) for s in plan.skips] == [(second.id, SLOT_TAKEN)]


def test_occurrences_already_done_are_neither_booked_nor_skipped_again():
    done = series()
    plan = plan_batch([due_occurrences(done, RUN_DATE)], cache_for([done]),
                      no_bookings(done={(done.id, RUN_DATE)}), NOW)
    assert (plan.bookings, plan.skips) == ([], [])
    assert plan.advances[0]["next_booking_date"] == date(2027, 1, 11)


def test_the_last_generated_date_is_the_last_booking_the_database_took():
    weekly = series(start=date(2026, 12, 28))
    plan = plan_batch([due_occurrences(weekly, RUN_DATE)], cache_for([weekly]), None,
                      datetime(2026, 12, 27, tzinfo=UTC))
    plan.bookings = plan.bookings[:1]  # as if the database refused the second
    plan.note_last_booked()
    assert plan.advances[0]["last_generated_date"] == date(2026, 12, 28)
    untouched = Plan(advances=[{"id": uuid.uuid4(), "last_generated_date": date(2026, 1, 1)}])
    untouched.note_last_booked()
    assert untouched.advances[0]["last_generated_date"] == date(2026, 1, 1)


def test_headroom_is_what_a_pair_may_hold_for_all_its_new_bookings_to_pass_the_limit():
    """The read-ahead's fast check agrees with booking one by one under limit_refusal."""
    from portal.domain.booking_rules import BookingRules, limit_refusal
    from portal.services.recurring_dispatch.planning import NO_LIMIT, headroom

    patient, specialist, idle = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rules = {specialist: BookingRules(max_upcoming_per_patient=3), idle: BookingRules(max_upcoming_per_patient=1)}
    for new in range(5):
        bookings = [{"patient_id": patient, "specialist_id": specialist}] * new
        room, idle_room = headroom([(patient, specialist), (patient, idle)], bookings, rules)
        assert idle_room == NO_LIMIT  # no new booking with that specialist: nothing to refuse
        for held in range(6):
            one_by_one = all(limit_refusal(rules[specialist], held + k) is None for k in range(new))
            assert (held <= room) == one_by_one
