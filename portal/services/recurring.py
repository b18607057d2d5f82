"""Recurring series: a patient's standing appointment with a specialist.

The dates of a series' occurrences are pure rules (portal/domain/recurrence.py).
A series is a standing appointment: it holds its occurrences booked ahead,
within RECURRING_HORIZON_DAYS. Creating or resuming a series books its
horizon at once, through the dispatcher's own rules (recurring_dispatch.book_series);
the nightly dispatcher keeps the horizon full. Pausing, ending and "cancel this
and following" cancel the booked future occurrences through the cancellation
service. Like every service these flush but never commit (except the dispatcher).

recurring_create / recurring_resume / recurring_pause / recurring_end /
recurring_cancel_following return a SeriesChange: the series, the bookings
made, the occurrences that could not be booked (with why) and the bookings
cancelled, so a page, the API or a mail can list them."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from portal import clock, policies
from portal.domain.booking_rules import (
    OUTSIDE_BOOKING_WINDOW,
    SKIP_REASONS,
    TOO_SHORT_NOTICE,
    notice_refusal,
    refusal_message,
    start_date_refusal,
)
from portal.domain.inputs import WINDOW_MESSAGE, date_in_window
from portal.domain.recurrence import (
    FREQUENCIES,
    first_index_from,
    occurrence_date,
    occurrence_start,
)
from portal.domain.zones import zone_of
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import Booking, RecurringBooking, RecurringOccurrenceSkip, Role, User
from portal.models.row_security import as_owner
from portal.selectors.booking_rules import booking_rules_of
from portal.selectors.recurring import occurrences_cancelled_before, upcoming_of_series
from portal.selectors.specialists import specialist_get
from portal.services.audit import audit_record, changed_fields
from portal.services.booking_rules import BookingRuleBroken, max_ahead_days
from portal.services.cancellations import booking_cancel, clean_reason
from portal.services.recurring_dispatch import dispatch, run

PAUSE_REASON = "Recurring series paused"
END_REASON = "Recurring series ended"
END_DATE_REASON = "Recurring series' end date moved earlier"
CANCELLED_ALONE = "Cancelled on its own before the pause"

log = logging.getLogger(__name__)

DEFAULT_TIME = time(10, 0)


@dataclass(frozen=True)
class SkippedOccurrence:
    occurrence_date: date
    reason: str


@dataclass
class SeriesChange:
    """What a change to a series did: `booked` the bookings it made (by start), `skipped` the
    occurrences it could not book and why, `cancelled` the bookings it cancelled."""

    series: RecurringBooking
    booked: list[Booking] = field(default_factory=list)
    skipped: list[SkippedOccurrence] = field(default_factory=list)
    cancelled: list[Booking] = field(default_factory=list)


def _book_horizon(series: RecurringBooking, skipped: set[date] | None = None, rules=None, row=None,
                  cache=None) -> SeriesChange:
    # The dispatcher's statements write a booking and its history in one statement, which a
    # per-row policy cannot see together: they run as the system's, the actor's right to the
    # series checked by the caller.
    with as_owner():
        plan = run.book_series(series.id, skipped=skipped, rules=rules, row=row, cache=cache)
    # The plan wrote the series' advance with SQL of its own; the object takes the same values.
    for advance in plan.advances:
        for key in ("next_occurrence_index", "next_booking_date", "last_generated_date", "is_active"):
            set_committed_value(series, key, advance[key])
        db.session.expire(series, ["updated_at"])  # read again only if someone asks
    ids = [b["id"] for b in plan.bookings]
    booked = list(db.session.scalars(
        sa.select(Booking).where(Booking.id.in_(ids)).order_by(Booking.starts_at))) if ids else []
    skipped = sorted((SkippedOccurrence(s["occurrence_date"], s["reason"]) for s in plan.skips),
                     key=lambda s: s.occurrence_date)
    return SeriesChange(series, booked, skipped)


def _cancel_upcoming(actor: User, series: RecurringBooking, reason: str,
                     from_date: date | None = None) -> list[Booking]:
    """Cancel through the cancellation service: status history, cancellation row, audit.

    Only the booking's parties may cancel it (admins oversee but do not act for them), so an
    admin is refused before anything changes when there are sessions to cancel."""
    upcoming = upcoming_of_series(series_id=series.id, from_date=from_date)
    if upcoming and not policies.can_cancel(actor, upcoming[0]):
        raise Forbidden(f"{len(upcoming)} booked session(s) would be cancelled; only the patient or the "
                        "specialist may cancel them.")
    return [booking_cancel(actor=actor, booking_id=b.id, reason=reason) for b in upcoming]


def series_status(series: RecurringBooking) -> str:
    if not series.is_active:
        return "ended"
    return "paused" if series.paused_at else "active"


def _check_window(rules, specialist: User, start_date: date) -> None:
    """A series' start date lies within the booking window (its later occurrences need not)."""
    limit = max_ahead_days()
    if start_date_refusal(rules, start_date, clock.today(zone_of(specialist).key), limit):
        message = refusal_message(OUTSIDE_BOOKING_WINDOW, rules, limit)
        raise BookingRuleBroken(message, code=OUTSIDE_BOOKING_WINDOW, fields={"start_date": message})


def _skip_inside_notice(series: RecurringBooking, rules, zone: ZoneInfo) -> list[date]:
    """Move the series past the occurrences still to come that start inside the minimum
    notice; their dates, to be recorded as skipped. Occurrences already past are left
    for the first-session check to refuse."""
    now, skipped = clock.now(), []
    index = series.next_occurrence_index
    while True:
        day = occurrence_date(series.start_date, series.frequency, index)
        starts_at = occurrence_start(day, series.time_of_day, zone)
        if starts_at <= now or not notice_refusal(rules, starts_at, now):
            break
        skipped.append(day)
        index += 1
    if series.end_date and day > series.end_date:
        message = refusal_message(TOO_SHORT_NOTICE, rules, max_ahead_days())
        raise BookingRuleBroken(message, code=TOO_SHORT_NOTICE, fields={"start_date": message})
    series.next_occurrence_index, series.next_booking_date = index, day
    return skipped


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.", fields={"specialist_id": "No such specialist."})
    return specialist


def _check_dates(start_date: date, end_date: date | None) -> None:
    for name, day in (("start_date", start_date), ("end_date", end_date)):
        if day is not None and not date_in_window(day):  # 9999: the dispatcher could not step past it
            raise ServiceError(WINDOW_MESSAGE, fields={name: WINDOW_MESSAGE})
    if end_date is not None and end_date < start_date:
        raise ServiceError("The end date is before the start date.",
                           fields={"end_date": "Must be on or after the start date."})


def recurring_create(*, actor: User, patient: User, specialist_id: uuid.UUID, frequency: str,
                     start_date: date, end_date: date | None = None,
                     time_of_day: time | None = None, service_id: uuid.UUID | None = None) -> SeriesChange:
    """A new series; its first occurrence must be a bookable slot right now. Every occurrence
    inside the horizon is booked at once (or skipped, with its reason).

    Its start date must lie within the specialist's booking window (409
    OUTSIDE_BOOKING_WINDOW); occurrences that would start inside their minimum
    notice are recorded as skipped (TOO_SHORT_NOTICE) and the series starts after them."""
    from portal.services.booking_rules import may_override
    from portal.services.bookings import SlotUnavailable, bookable_service, booking_check, require_confirmed_address

    require_confirmed_address(patient)
    if frequency not in FREQUENCIES:
        raise ServiceError("Unknown frequency.", fields={"frequency": "weekly, biweekly or monthly."})
    _check_dates(start_date, end_date)
    specialist = _specialist(specialist_id)
    service_id = bookable_service(specialist, service_id)
    series = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency=frequency,
                              service_id=service_id,
                              start_date=start_date, end_date=end_date,
                              time_of_day=time_of_day or DEFAULT_TIME, is_active=True,
                              next_booking_date=start_date, next_occurrence_index=0)
    if patient.role != Role.PATIENT or not policies.can("create", actor, series):
        raise Forbidden("You may not create this series.")
    rules = booking_rules_of(specialist.id)
    _check_window(rules, specialist, start_date)
    zone = zone_of(specialist)
    inside_notice = _skip_inside_notice(series, rules, zone)
    first = occurrence_start(series.next_booking_date, series.time_of_day, zone)
    # The first session's day is read once, in the form booking the horizon next needs.
    series.id = uuid.uuid4()
    row = run.series_row(series, specialist)
    cache, first_day = run.first_session_rules(row)
    try:
        booking_check(specialist=specialist, patient_id=patient.id, starts_at=first, day_rules=first_day,
                      service_id=service_id, staff=may_override(actor, specialist.id))
    except SlotUnavailable as error:
        raise SlotUnavailable(f"The first session cannot be booked: {error.message}", code=error.code,
                              fields={"start_date": error.message}) from error
    db.session.add(series)
    db.session.flush()
    db.session.add_all(RecurringOccurrenceSkip(recurring_booking_id=series.id, occurrence_date=day,
                                               reason=SKIP_REASONS[TOO_SHORT_NOTICE]) for day in inside_notice)
    audit_record(actor=actor, action="recurring_booking_created", entity_type="recurring_booking",
                 entity_id=series.id,
                 new_values={"specialist_id": specialist.id, "user_id": patient.id,
                             "frequency": frequency, "start_date": start_date, "end_date": end_date,
                             "service_id": service_id,
                             "time_of_day": series.time_of_day})
    change = _book_horizon(series, skipped=set(inside_notice), rules=rules, row=row, cache=cache)
    notice = [SkippedOccurrence(day, SKIP_REASONS[TOO_SHORT_NOTICE]) for day in inside_notice]
    change.skipped = sorted(notice + change.skipped, key=lambda skip: skip.occurrence_date)
    series_mail(series, event="created")  # after booking: the mail lists the sessions it holds
    return change


def series_mail(series: RecurringBooking, *, event: str) -> None:
    """One confirmation per series event ("created", "resumed") to the patient and the specialist,
    listing its sessions: never one mail per occurrence. In the caller's transaction, written in
    one statement (creating a series is on a patient's click path)."""
    from portal.services.outbox import outbox_add_many

    now = clock.now().isoformat()
    stamp = "" if event == "created" else f":{now}"
    outbox_add_many([{"recipient_id": user_id, "template": "series_confirmed",
                      "about": {"recurring_id": series.id, "resumed": event == "resumed", "from": now},
                      "dedup_key": f"series_{event}:{series.id}{stamp}:{user_id}"}
                     for user_id in (series.user_id, series.specialist_id)])


def _require(action: str, actor: User, series: RecurringBooking) -> None:
    if not policies.can(action, actor, series):
        raise Forbidden("You may not change this series.")


def _require_locked(actor: User, series: RecurringBooking) -> None:
    """_require("update"), then hold the series row until the transaction ends, read afresh.

    A booking run holds the rows of the series it is booking until its batch commits; waiting
    for it here means the sessions read next (to cancel them) include the ones it booked, and a
    run that starts later skips this series until this change commits (FOR UPDATE SKIP LOCKED)."""
    _require("update", actor, series)
    db.session.execute(sa.select(RecurringBooking).where(RecurringBooking.id == series.id).with_for_update()
                       .execution_options(populate_existing=True)).scalars().one()


def _update(actor: User, series: RecurringBooking, action: str, values: dict) -> RecurringBooking:
    old, new = changed_fields(series, values)
    for key, value in values.items():
        setattr(series, key, value)
    db.session.flush()
    audit_record(actor=actor, action=action, entity_type="recurring_booking", entity_id=series.id,
                 old_values=old, new_values=new)
    return series


def recurring_pause(*, actor: User, series: RecurringBooking) -> SeriesChange:
    """Pause, cancelling the booked sessions that have not started."""
    _require_locked(actor, series)
    if not series.is_active:
        raise Conflict("This series has ended.")
    if series.paused_at:
        return SeriesChange(series)
    paused_at = clock.now()  # before the cancellations: resuming tells them from ones made earlier
    cancelled = _cancel_upcoming(actor, series, PAUSE_REASON)
    _update(actor, series, "recurring_booking_paused", {"paused_at": paused_at})
    return SeriesChange(series, cancelled=cancelled)


def recurring_resume(*, actor: User, series: RecurringBooking) -> SeriesChange:
    """Resume from now: occurrences that fell inside the pause are not booked; those inside
    the horizon are booked at once again."""
    _require_locked(actor, series)
    if not series.is_active:
        raise Conflict("This series has ended.")
    if not series.paused_at:
        return SeriesChange(series)
    index, next_date = _first_ahead(series, clock.now())
    _keep_cancelled_alone(series, from_date=next_date)
    values = {"paused_at": None, "next_occurrence_index": index, "next_booking_date": next_date}
    if series.end_date and next_date > series.end_date:
        values["is_active"] = False
    _update(actor, series, "recurring_booking_resumed", values)
    change = _book_horizon(series) if series.is_active else SeriesChange(series)
    if series.is_active:
        series_mail(series, event="resumed")
    return change


def _keep_cancelled_alone(series: RecurringBooking, *, from_date: date) -> None:
    """Resuming books again what the pause cancelled, not a session someone had cancelled on its
    own before: such occurrences are recorded as skipped, which the booking run leaves alone."""
    for day in occurrences_cancelled_before(series_id=series.id, moment=series.paused_at, from_date=from_date):
        db.session.add(RecurringOccurrenceSkip(recurring_booking_id=series.id, occurrence_date=day,
                                               reason=CANCELLED_ALONE))
    db.session.flush()


def _first_ahead(series: RecurringBooking, now: datetime) -> tuple[int, date]:
    """The index and date of the series' first occurrence that starts after `now` (counted from the
    start: the sessions booked ahead were cancelled by the pause and are booked again)."""
    zone = zone_of(db.session.get(User, series.specialist_id))
    index = first_index_from(series.start_date, series.frequency, 0, now.astimezone(zone).date())
    while True:
        day = occurrence_date(series.start_date, series.frequency, index)
        if occurrence_start(day, series.time_of_day, zone) > now:
            return index, day
        index += 1


def recurring_end(*, actor: User, series: RecurringBooking) -> SeriesChange:
    """Stop the series for good, cancelling its booked sessions that have not started."""
    _require_locked(actor, series)
    if not series.is_active:
        return SeriesChange(series)
    cancelled = _cancel_upcoming(actor, series, END_REASON)
    _update(actor, series, "recurring_booking_ended", {"is_active": False, "paused_at": None})
    return SeriesChange(series, cancelled=cancelled)


def recurring_cancel_following(*, actor: User, series: RecurringBooking, from_date: date,
                               reason) -> SeriesChange:
    """"Cancel this and following": end the series before `from_date` and cancel its booked
    occurrences on and after that date (nothing earlier). The reason goes to each
    cancellation row only."""
    _require_locked(actor, series)
    reason = clean_reason(reason)
    if not isinstance(from_date, date):
        raise ServiceError("Give the first date to cancel.", fields={"from_date": "Use YYYY-MM-DD."})
    if from_date < series.start_date:
        raise ServiceError("The series starts later than that date.",
                           fields={"from_date": "Must be on or after the series' start date."})
    last_kept = from_date - timedelta(days=1)
    values: dict = {"is_active": False, "paused_at": None} if last_kept < series.start_date else {}
    if last_kept >= series.start_date and (series.end_date is None or series.end_date > last_kept):
        values["end_date"] = last_kept
        if series.next_booking_date and series.next_booking_date > last_kept:
            values["is_active"] = False
    cancelled = _cancel_upcoming(actor, series, reason, from_date=from_date)
    _update(actor, series, "recurring_booking_cancelled_following", values)
    return SeriesChange(series, cancelled=cancelled)


def recurring_set_end_date(*, actor: User, series: RecurringBooking, end_date: date | None) -> SeriesChange:
    """Set (or clear) the last date; sessions already booked after a new, earlier end are cancelled."""
    _require_locked(actor, series)
    _check_dates(series.start_date, end_date)
    values: dict = {"end_date": end_date}
    if end_date and series.next_booking_date and series.next_booking_date > end_date:
        values["is_active"] = False
    cancelled = (_cancel_upcoming(actor, series, END_DATE_REASON, from_date=end_date + timedelta(days=1))
                 if end_date else [])
    _update(actor, series, "recurring_booking_updated", values)
    return SeriesChange(series, cancelled=cancelled)


def recurring_delete(*, actor: User, series: RecurringBooking) -> None:
    """Delete the series and its skip records; its bookings stay (unlinked)."""
    if not policies.can("delete", actor, series):
        raise Forbidden("You may not delete this series.")
    series_id = series.id
    db.session.delete(series)
    db.session.flush()
    audit_record(actor=actor, action="recurring_booking_deleted", entity_type="recurring_booking",
                 entity_id=series_id)


def portal_today() -> date:
    """Today in PORTAL_TIMEZONE: the dispatcher's default run date."""
    return run.portal_today()


def recurring_dispatch(*, run_date: date | None = None, actor=None) -> dict:
    """Book every due occurrence of every active series (see recurring_dispatch).

    Unlike other services this one COMMITS, once per batch of series, so that a
    failing series never undoes the others' work; call it outside a request's
    own unit of work. It books for everyone: the system's work, whoever starts it."""
    with as_owner():
        return dispatch(run_date=run_date, actor=actor)
